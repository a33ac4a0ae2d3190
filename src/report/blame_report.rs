//! Blame's table (`blame.csv`) and report: per lane, the lane as it runs, every group promoted,
//! each group alone (largest share first) and the remedy the search found.

use std::fmt::Write;

use serde_json::json;

use crate::blame::{Blame, LaneBlame, Outcome};
use crate::error::Error;
use crate::report::Output;
use crate::report::files::CsvDir;
use crate::report::schema::{Cell, Column, Schema, Style, json_text};

/// The files [`stage`] writes.
pub const BLAME_FILES: [&str; 1] = ["blame.csv"];

/// The groups the terminal shows per lane (blame.csv has them all).
const SHOWN_GROUPS: usize = 8;

/// One row of `blame.csv`.
pub struct BlameRow<'a> {
    lane: &'a LaneBlame,
    /// `lane` (as it runs), `all` (every group promoted), `group` or `remedy`.
    kind: &'static str,
    /// The promoted ops: a pattern, or several separated by spaces.
    group: String,
    outcome: &'a Outcome,
    loss_share: Option<f64>,
    param_share: Option<f64>,
    in_remedy: Option<bool>,
}

fn lane_rows(lane: &LaneBlame) -> Vec<BlameRow<'_>> {
    let row = |kind, group: String, outcome| BlameRow {
        lane,
        kind,
        group,
        outcome,
        loss_share: None,
        param_share: None,
        in_remedy: None,
    };
    let mut rows = vec![
        row("lane", String::new(), &lane.base),
        row("all", "*".into(), &lane.all),
    ];
    rows.extend(lane.groups.iter().map(|g| BlameRow {
        loss_share: Some(g.loss_share),
        param_share: Some(g.param_share),
        in_remedy: Some(g.in_remedy),
        ..row("group", g.group.to_string(), &g.outcome)
    }));
    if let Some((groups, outcome)) = &lane.remedy {
        rows.push(row("remedy", names(groups), outcome));
    }
    rows
}

fn names(groups: &[crate::train::OpPattern]) -> String {
    let names: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
    names.join(" ")
}

/// The rows of `blame.csv`, lane by lane.
pub fn rows(blame: &Blame) -> Vec<BlameRow<'_>> {
    blame.lanes.iter().flat_map(lane_rows).collect()
}

/// `blame.csv`.
pub fn table<'a>() -> Schema<'a, BlameRow<'a>> {
    let opt = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Number);
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |r: &BlameRow| {
            r.lane.lane.to_string()
        })
        .files_only(),
        Column::new("promoted_to", "to", "", Style::Plain, |r: &BlameRow| {
            r.lane.promoted_to.to_string()
        })
        .files_only(),
        Column::new("kind", "kind", "", Style::Plain, |r: &BlameRow| r.kind).files_only(),
        Column::new(
            "group",
            "promoted",
            "",
            Style::Plain,
            |r: &BlameRow| match r.kind {
                "lane" => "(none)".to_string(),
                "all" => "(every group)".to_string(),
                _ => r.group.clone(),
            },
        ),
        Column::new(
            "final_loss",
            "final loss",
            "loss",
            Style::Sci,
            |r: &BlameRow| r.outcome.loss,
        ),
        Column::new(
            "loss_drift",
            "loss drift",
            "relative",
            Style::Sci,
            |r: &BlameRow| r.outcome.loss_drift,
        ),
        Column::new(
            "loss_share",
            "share",
            "share",
            Style::Percent,
            move |r: &BlameRow| opt(r.loss_share),
        ),
        Column::new(
            "param_drift",
            "param drift",
            "relative",
            Style::Sci,
            |r: &BlameRow| r.outcome.param_drift,
        ),
        Column::new(
            "param_share",
            "share",
            "share",
            Style::Percent,
            move |r: &BlameRow| opt(r.param_share),
        ),
        Column::new(
            "first_nonfinite_step",
            "nonfinite@",
            "step",
            Style::Plain,
            |r: &BlameRow| r.outcome.first_nonfinite_step,
        ),
        Column::new("in_remedy", "remedy", "", Style::Plain, |r: &BlameRow| {
            r.in_remedy.map_or(Cell::Empty, Cell::Flag)
        }),
    ])
}

fn sci(x: f64) -> String {
    Style::Sci.text(&Cell::Number(x))
}

/// What a run's drift is, in words.
fn drift(outcome: &Outcome) -> String {
    match outcome.first_nonfinite_step {
        Some(step) => format!("inf/NaN from step {step}"),
        None => format!("drift {}", sci(outcome.loss_drift)),
    }
}

/// The lane's verdict: the largest single cause, then the remedy as a policy (or why there is
/// none), after the lane's name.
pub fn verdict(lane: &LaneBlame, noise: f64) -> String {
    let head = head_sentence(lane).map_or(String::new(), |h| format!("{h}; "));
    format!("{}: {head}{}", lane.lane, remedy_sentence(lane, noise))
}

/// The remedy as a policy, or why there is none.
fn remedy_sentence(lane: &LaneBlame, noise: f64) -> String {
    let name = lane.lane.to_string();
    let to = lane.promoted_to;
    if lane.base.within(noise) {
        return format!(
            "{} is already within the seed noise ({}); nothing to promote",
            drift(&lane.base),
            sci(noise)
        );
    }
    match &lane.remedy {
        Some((groups, outcome)) => {
            let list: Vec<String> = groups.iter().map(|g| format!("`{g}`")).collect();
            let patterns: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
            format!(
                "keep {} in {to}: {} → {}, within noise ({}); audit it with \
                 --formats {name},promoted-{name} --promote '{}'",
                and_list(&list),
                drift(&lane.base),
                drift(outcome),
                sci(noise),
                patterns.join(",")
            )
        }
        None => format!(
            "even with every group in {to}, {} (noise {}): the drift is not the \
             rounding of single ops; a wider format for the whole lane is the remedy",
            drift(&lane.all),
            sci(noise)
        ),
    }
}

/// The group whose promotion alone removes the largest share, in words; `None` when no group
/// alone moves the drift (then the remedy, a set, is the cause).
fn head_sentence(lane: &LaneBlame) -> Option<String> {
    let first = lane
        .groups
        .iter()
        .filter(|g| g.loss_share > 0.0)
        .max_by(|a, b| a.loss_share.total_cmp(&b.loss_share))?;
    Some(format!(
        "the largest single cause is `{}`: in {} alone it removes {:.1}% of the loss drift ({} → {})",
        first.group,
        lane.promoted_to,
        first.loss_share * 100.0,
        drift(&lane.base),
        drift(&first.outcome)
    ))
}

fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The terminal report.
pub fn text(blame: &Blame) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "precision-audit --blame: each op group promoted alone, then the fewest that reach the \
         seed noise\nseed noise: {} (relative standard deviation of the reference's final loss \
         over {} seeds of shuffles and dropout, initial weights kept); groups: {}\n",
        sci(blame.noise),
        blame.seeds,
        blame.grouping
    );
    let schema = table();
    for lane in &blame.lanes {
        let _ = writeln!(
            out,
            "{} (groups promoted to {}, {} runs): final loss {}, {}, parameters drift {}",
            lane.lane,
            lane.promoted_to,
            lane.runs,
            sci(lane.base.loss),
            drift(&lane.base),
            sci(lane.base.param_drift)
        );
        let rows = lane_rows(lane);
        let shown: Vec<&BlameRow> = rows
            .iter()
            .filter(|r| r.kind == "lane" || r.kind == "all")
            .chain(rows.iter().filter(|r| r.kind == "group").take(SHOWN_GROUPS))
            .collect();
        let _ = writeln!(out, "{}", schema.table(shown.into_iter()).render());
    }
    if !blame.lanes.is_empty() {
        let _ = writeln!(out, "Verdict:");
    }
    for lane in &blame.lanes {
        let _ = writeln!(out, "  {}.", verdict(lane, blame.noise));
    }
    for skipped in &blame.skipped {
        let _ = writeln!(out, "  {}: not blamed: {}.", skipped.lane, skipped.reason);
    }
    out
}

/// The report as `--output` asks for it.
pub fn render(output: Output, blame: &Blame) -> String {
    match output {
        Output::Table => text(blame),
        Output::Csv => table().csv_text(&rows(blame)),
        Output::Json => json_text(&json!({
            "noise": blame.noise,
            "seeds": blame.seeds,
            "reference_loss": blame.reference_loss,
            "grouping": blame.grouping.to_string(),
            "runs": table().json(&rows(blame)),
            "verdict": blame.lanes.iter().map(|l| verdict(l, blame.noise)).collect::<Vec<_>>(),
            "skipped": blame.skipped.iter().map(|s| json!({"format": s.lane.to_string(), "reason": s.reason})).collect::<Vec<_>>(),
        })),
    }
}

/// Stages `blame.csv`; the caller commits it.
pub fn stage(files: &mut CsvDir, blame: &Blame) -> Result<(), Error> {
    files.table(BLAME_FILES[0], &table(), &rows(blame))
}
