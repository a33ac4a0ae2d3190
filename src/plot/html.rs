//! report.html: one self-contained page — the run's configuration, the summary table (the
//! terminal's view of summary.csv, through the summary's schema), the verdicts when they are
//! known, and every picture inline. No script, no external file, no timestamp; well-formed
//! XML, so it parses as XHTML too.

use std::fmt::Write;

use super::input::Run;
use super::svg::escape;
use crate::report::Cell;
use crate::report::audit_tables;

/// A picture as the page shows it.
pub struct Figure<'a> {
    /// Its heading.
    pub heading: &'a str,
    /// What it shows and how to read it.
    pub caption: &'a str,
    /// The `<svg>` element.
    pub svg: &'a str,
}

const STYLE: &str = "body{font-family:sans-serif;color:#222;max-width:1100px;margin:2em auto;\
padding:0 1em}table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;\
border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}th{background:#f2f2f2}\
th:first-child,td:first-child{text-align:left}.config{color:#555;font-size:13px}\
.verdicts li{margin-bottom:.4em}figure{margin:1.5em 0}figcaption{color:#444;margin-bottom:.6em}\
svg{max-width:100%;height:auto}";

/// The page.
pub fn render(run: &Run, figures: &[Figure<'_>], missing: &[&str]) -> String {
    let mut page = String::new();
    let title = format!(
        "precision-audit: {} against {}",
        run.lanes.join(", "),
        run.reference
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    if !run.config.is_empty() {
        let settings: Vec<String> = run
            .config
            .iter()
            .map(|(k, v)| format!("<b>{}</b> {}", escape(k), escape(v)))
            .collect();
        let _ = writeln!(page, "<p class=\"config\">{}</p>", settings.join(" · "));
    }
    page.push_str("<h2>Summary</h2>\n");
    page.push_str(&summary_table(run));
    if !run.verdicts.is_empty() {
        page.push_str("<h2>Verdicts</h2>\n<ul class=\"verdicts\">\n");
        for (lane, verdict) in &run.verdicts {
            // A verdict names its lane first (`f16: …`).
            let text = verdict
                .strip_prefix(lane.as_str())
                .and_then(|rest| rest.strip_prefix(": "))
                .unwrap_or(verdict);
            let _ = writeln!(page, "<li><b>{}</b>: {}</li>", escape(lane), escape(text));
        }
        page.push_str("</ul>\n");
    }
    for figure in figures {
        let _ = write!(
            page,
            "<h2>{}</h2>\n<figure>\n<figcaption>{}</figcaption>\n{}</figure>\n",
            escape(figure.heading),
            escape(figure.caption),
            figure.svg
        );
    }
    for note in missing {
        let _ = writeln!(page, "<p class=\"config\">{}</p>", escape(note));
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// summary.csv as the terminal shows it: the same columns, titles and number styles.
fn summary_table(run: &Run) -> String {
    let schema = audit_tables::summary();
    let columns = schema.terminal_columns();
    let header = run.summary.header();
    let mut table = String::from("<table>\n<tr>");
    for column in &columns {
        let _ = write!(table, "<th>{}</th>", escape(&column.title));
    }
    table.push_str("</tr>\n");
    for row in run.summary.rows() {
        table.push_str("<tr>");
        for column in &columns {
            let cell = header
                .iter()
                .position(|h| *h == column.name)
                .map_or(Cell::Empty, |i| cell(&row[i]));
            let _ = write!(table, "<td>{}</td>", escape(&column.style.text(&cell)));
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</table>\n");
    table
}

/// A CSV cell read back: a number where it is one, text otherwise, nothing when empty.
fn cell(text: &str) -> Cell {
    match text.parse::<f64>() {
        _ if text.is_empty() => Cell::Empty,
        Ok(x) => Cell::Number(x),
        Err(_) => Cell::Text(text.to_string()),
    }
}
