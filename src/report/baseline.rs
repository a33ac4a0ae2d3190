//! Regression checks: a new audit's summary and ops tables against a saved `--csv` directory,
//! which must be complete and well formed (its manifest verified, every compared cell a number,
//! every row of the new audit present) or is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::audit::AuditResult;
use crate::error::Error;
use crate::report::Output;
use crate::report::audit_tables::{self as tables, ConfigRow};
use crate::report::saved::{Manifest, Row, Table, read_table};
use crate::report::schema::{Cell, Column, Schema, Style, json_text};

/// Keys config.csv gained after its first release, with the value every earlier run had.
const ADDED_KEYS: &[(&str, &str)] = &[
    ("update_rounding", "nearest"),
    ("loss_scale", "none"),
    ("promote", ""),
    ("mx_scale", "floor"),
];

/// Columns of summary.csv that must not grow.
const SUMMARY_COLUMNS: &[&str] = &["loss_rel_drift", "max_rel_drift", "param_rel_drift"];

/// Columns of ops.csv that must not grow.
const OPS_COLUMNS: &[&str] = &[
    "acc_max_rel",
    "acc_mean_rel",
    "acc_mean_bits",
    "local_max_rel",
    "local_mean_rel",
    "local_mean_bits",
];

/// One value that grew beyond the tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    /// `summary.csv` or `ops.csv`.
    pub file: &'static str,
    /// The format.
    pub format: String,
    /// The op (ops.csv only).
    pub op: String,
    /// The column.
    pub column: String,
    /// The baseline's value, as written.
    pub baseline: String,
    /// The new value, as written.
    pub current: String,
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparison {
    /// Values that grew beyond the tolerance.
    pub moved: Vec<Moved>,
    /// Values compared.
    pub checked: usize,
}

/// Refuses a tolerance that is negative or not finite.
pub fn check_tolerance(tolerance: f64) -> Result<(), Error> {
    if tolerance >= 0.0 && tolerance.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidFlag {
            flag: "--tolerance".into(),
            message: format!("must be a finite number ≥ 0, got {tolerance}"),
        })
    }
}

/// The values that moved, one table for the terminal, CSV and JSON.
fn moved() -> Schema<'static, Moved> {
    let text = |name: &'static str, title: &'static str, cell: fn(&Moved) -> String| {
        Column::new(name, title, "", Style::Plain, move |m: &Moved| cell(m))
    };
    Schema::new(vec![
        text("file", "file", |m| m.file.to_string()),
        text("format", "format", |m| m.format.clone()),
        text("op", "op", |m| m.op.clone()),
        text("column", "column", |m| m.column.clone()),
        text("baseline", "baseline", |m| m.baseline.clone()),
        text("current", "now", |m| m.current.clone()),
    ])
}

impl Comparison {
    /// The outcome as `--output` asks for it: on the terminal a line and the values that
    /// moved; as CSV the values that moved; as JSON everything.
    pub fn render(&self, output: Output, tolerance: f64, baseline: &Path) -> String {
        match output {
            Output::Table => self.text(tolerance, baseline),
            Output::Csv => moved().csv_text(&self.moved),
            Output::Json => json_text(&json!({
                "baseline": baseline.display().to_string(),
                "tolerance": Cell::Number(tolerance).json(),
                "checked": self.checked,
                "regression": !self.moved.is_empty(),
                "moved": moved().json(&self.moved),
            })),
        }
    }

    fn text(&self, tolerance: f64, baseline: &Path) -> String {
        if self.moved.is_empty() {
            format!(
                "no regression: {} values within a relative tolerance of {tolerance} of {}\n",
                self.checked,
                baseline.display()
            )
        } else {
            format!(
                "regression: {} of {} values grew by more than a relative {tolerance} against {}\n\n{}",
                self.moved.len(),
                self.checked,
                baseline.display(),
                moved().table(&self.moved).render()
            )
        }
    }
}

/// Whether `current` is worse than `baseline` by more than the relative `tolerance`. NaN is
/// worse than any number; an error that appears where there was none grew.
fn grew(baseline: f64, current: f64, tolerance: f64) -> bool {
    if current.is_nan() {
        return !baseline.is_nan();
    }
    if baseline.is_nan() {
        return false;
    }
    current > baseline && current > baseline * (1.0 + tolerance)
}

/// A saved `--csv` directory's configuration, summary and ops tables, read and checked whole:
/// every compared cell parses, every format of its configuration has its rows, and every file
/// is the one its manifest records.
pub struct Baseline {
    /// The directory, canonical.
    dir: PathBuf,
    config: Table,
    /// The lanes the baseline audited (its config.csv `formats`).
    formats: Vec<String>,
    summary: Table,
    ops: Table,
    /// Row of `ops` by (format, op).
    op_rows: HashMap<(String, String), usize>,
}

impl Baseline {
    /// Reads and checks `config.csv`, `summary.csv`, `ops.csv` and `manifest.csv` from `dir`.
    pub fn read(dir: &Path) -> Result<Baseline, Error> {
        if !dir.is_dir() {
            return Err(Error::InvalidFlag {
                flag: "--baseline".into(),
                message: format!("{} is not a directory written by --csv", dir.display()),
            });
        }
        let config = read_table(dir, "config.csv", &["key", "value"])?;
        let formats: Vec<String> = config
            .rows
            .iter()
            .find(|row| row.get("key") == "formats")
            .map(|row| row.get("value").split(',').map(str::to_string).collect())
            .ok_or_else(|| config.bad(1, None, "no `formats` row"))?;
        let summary_columns = [
            &["format", "steps", "first_nonfinite_step"],
            SUMMARY_COLUMNS,
        ]
        .concat();
        let summary = read_table(dir, "summary.csv", &summary_columns)?;
        for row in &summary.rows {
            summary.count(row, "steps", false)?;
            summary.count(row, "first_nonfinite_step", true)?;
            for column in SUMMARY_COLUMNS {
                summary.number(row, column)?;
            }
        }
        one_row_per_format(&summary, &formats)?;
        let ops = read_table(dir, "ops.csv", &[&["format", "op"], OPS_COLUMNS].concat())?;
        let mut op_rows = HashMap::with_capacity(ops.rows.len());
        for (index, row) in ops.rows.iter().enumerate() {
            known_format(&ops, row, &formats)?;
            for column in OPS_COLUMNS {
                ops.number(row, column)?;
            }
            let key = (row.get("format").to_string(), row.get("op").to_string());
            if op_rows.insert(key, index).is_some() {
                return Err(ops.bad(row.line, Some("op"), "a second row for this format and op"));
            }
        }
        if let Some(format) = formats
            .iter()
            .find(|f| !ops.rows.iter().any(|row| row.get("format") == f.as_str()))
        {
            return Err(ops.bad(
                ops.rows.len() as u64 + 1,
                None,
                format!("no row for {format}, which config.csv lists: the file is incomplete"),
            ));
        }
        Manifest::read(dir)?.verify(&["config.csv", "summary.csv", "ops.csv"])?;
        Ok(Baseline {
            dir: dir.canonicalize().map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?,
            config,
            formats,
            summary,
            ops,
            op_rows,
        })
    }

    /// Refuses `--csv` at the baseline or inside it (after resolving symbolic links, `..` and
    /// relative paths): `check` never writes into its baseline.
    pub fn refuse_output(&self, csv: &Path) -> Result<(), Error> {
        if resolved(csv).starts_with(&self.dir) {
            return Err(Error::InvalidFlag {
                flag: "--csv".into(),
                message: format!(
                    "{} is the baseline {} or inside it; check never writes into its baseline: \
                     write the new files elsewhere",
                    csv.display(),
                    self.dir.display()
                ),
            });
        }
        Ok(())
    }

    /// Refuses a baseline made with another configuration: comparing those would report
    /// differences of setup as regressions. The run may audit fewer lanes than the baseline,
    /// not others.
    pub fn same_config(&self, current: &[ConfigRow]) -> Result<(), Error> {
        let saved: HashMap<&str, &str> = self
            .config
            .rows
            .iter()
            .map(|row| (row.get("key"), row.get("value")))
            .collect();
        // A key added to config.csv after a baseline was written was, in that run, at the
        // value the tool then always used.
        let saved_value = |key: &str| {
            saved.get(key).copied().or_else(|| {
                ADDED_KEYS
                    .iter()
                    .find(|(added, _)| *added == key)
                    .map(|(_, default)| *default)
            })
        };
        let differences: Vec<String> = current
            .iter()
            .filter(|(key, _)| *key != "formats")
            .filter(|(key, value)| saved_value(key) != Some(value.as_str()))
            .map(|(key, value)| {
                format!(
                    "{key} is {} there and {value} here",
                    saved_value(key).unwrap_or("missing"),
                )
            })
            .collect();
        if !differences.is_empty() {
            return Err(Error::InvalidData {
                what: format!("baseline {}", self.config.path.display()),
                message: format!(
                    "made with another configuration ({}): run the check with the baseline's flags",
                    differences.join("; ")
                ),
            });
        }
        let lanes = current
            .iter()
            .find(|(key, _)| *key == "formats")
            .map_or("", |(_, value)| value.as_str());
        match lanes
            .split(',')
            .find(|lane| !self.formats.iter().any(|f| f == lane))
        {
            Some(lane) => Err(Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!(
                    "{lane} is not in the baseline, which has {}: check those or fewer",
                    self.formats.join(",")
                ),
            }),
            None => Ok(()),
        }
    }

    /// Compares `result` with the baseline; a row of `result` the baseline lacks is refused.
    pub fn compare(&self, result: &AuditResult, tolerance: f64) -> Result<Comparison, Error> {
        let mut comparison = Comparison::default();
        let schema = tables::summary();
        for row in &result.formats {
            let format = row.lane.to_string();
            let old = self
                .summary
                .rows
                .iter()
                .find(|r| r.get("format") == format)
                .ok_or_else(|| self.missing(&self.summary, &format))?;
            let steps = row.steps.to_string();
            if old.get("steps") != steps {
                return Err(Error::InvalidData {
                    what: format!("baseline {}", self.summary.path.display()),
                    message: format!(
                        "{format} ran {} steps there and {steps} here: run the check with the baseline's flags",
                        old.get("steps")
                    ),
                });
            }
            for column in SUMMARY_COLUMNS {
                let before = self.summary.number(old, column)?;
                check(
                    &mut comparison,
                    "summary.csv",
                    (&format, ""),
                    (old, before),
                    &schema,
                    row,
                    column,
                    tolerance,
                );
            }
            // A loss that turns non-finite, or turns non-finite earlier, is a regression too.
            let now = row.first_nonfinite_step.map_or(f64::INFINITY, |s| s as f64);
            let before = self
                .summary
                .count(old, "first_nonfinite_step", true)?
                .map_or(f64::INFINITY, |s| s as f64);
            comparison.checked += 1;
            if now < before {
                comparison.moved.push(Moved {
                    file: "summary.csv",
                    format: format.to_string(),
                    op: String::new(),
                    column: "first_nonfinite_step".into(),
                    baseline: old.get("first_nonfinite_step").to_string(),
                    current: Cell::from(row.first_nonfinite_step).csv(),
                });
            }
        }
        let schema = tables::ops();
        for row in tables::op_rows(&result.formats) {
            let (format, op) = (row.0.lane.to_string(), row.1.op.as_str());
            let old = self
                .op_rows
                .get(&(format.clone(), op.to_string()))
                .map(|&index| &self.ops.rows[index])
                .ok_or_else(|| self.missing(&self.ops, &format!("{format} {op}")))?;
            for column in OPS_COLUMNS {
                let before = self.ops.number(old, column)?;
                check(
                    &mut comparison,
                    "ops.csv",
                    (&format, op),
                    (old, before),
                    &schema,
                    &row,
                    column,
                    tolerance,
                );
            }
        }
        Ok(comparison)
    }

    /// The refusal of a baseline that lacks a row this audit has.
    fn missing(&self, table: &Table, row: &str) -> Error {
        Error::InvalidData {
            what: format!("baseline {}", table.path.display()),
            message: format!(
                "has no row for {row}, which this audit has: the baseline is incomplete or was \
                 written by another version of precision-audit"
            ),
        }
    }
}

/// `path` made absolute with its longest existing ancestor canonical: where a directory that
/// does not exist yet would be created.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut tail = Vec::new();
    let mut head = absolute.as_path();
    loop {
        if let Ok(canonical) = head.canonicalize() {
            return tail.iter().rev().fold(canonical, |p, c| p.join(c));
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                head = parent;
            }
            _ => return absolute,
        }
    }
}

/// Refuses a row whose format is not among `formats`.
fn known_format(table: &Table, row: &Row, formats: &[String]) -> Result<(), Error> {
    let format = row.get("format");
    if formats.iter().any(|f| f == format) {
        Ok(())
    } else {
        Err(table.bad(
            row.line,
            Some("format"),
            format!(
                "`{format}` is not one of the formats config.csv lists ({})",
                formats.join(",")
            ),
        ))
    }
}

/// Refuses a summary without exactly one row for every format of `formats`.
fn one_row_per_format(summary: &Table, formats: &[String]) -> Result<(), Error> {
    for (index, row) in summary.rows.iter().enumerate() {
        known_format(summary, row, formats)?;
        if summary.rows[..index]
            .iter()
            .any(|r| r.get("format") == row.get("format"))
        {
            return Err(summary.bad(row.line, Some("format"), "a second row for this format"));
        }
    }
    match formats.iter().find(|f| {
        !summary
            .rows
            .iter()
            .any(|row| row.get("format") == f.as_str())
    }) {
        Some(format) => Err(summary.bad(
            summary.rows.len() as u64 + 2,
            None,
            format!("no row for {format}, which config.csv lists: the file is incomplete"),
        )),
        None => Ok(()),
    }
}

/// Compares one column of one row: the baseline's cell (as written, and as its number), the
/// current one as the table defines it.
#[allow(clippy::too_many_arguments)]
fn check<R>(
    comparison: &mut Comparison,
    file: &'static str,
    (format, op): (&str, &str),
    (old, before): (&Row, f64),
    schema: &Schema<'_, R>,
    row: &R,
    column: &str,
    tolerance: f64,
) {
    let Some(current) = schema.column(column) else {
        return;
    };
    let current = current.cell(row);
    comparison.checked += 1;
    if grew(before, current.value(), tolerance) {
        comparison.moved.push(Moved {
            file,
            format: format.to_string(),
            op: op.to_string(),
            column: column.to_string(),
            baseline: old.get(column).to_string(),
            current: current.csv(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::grew;

    #[test]
    fn growth_is_relative_and_nan_is_worst() {
        assert!(!grew(1.0, 1.05, 0.1));
        assert!(grew(1.0, 1.2, 0.1));
        assert!(grew(0.0, 1e-300, 0.1));
        assert!(!grew(2.0, 1.0, 0.0));
        assert!(grew(1.0, f64::NAN, 0.0));
        assert!(!grew(f64::NAN, f64::NAN, 0.0));
        assert!(grew(1.0, f64::INFINITY, 0.5));
        assert!(!grew(f64::INFINITY, f64::INFINITY, 0.0));
    }
}
