//! Regression checks: a new audit's summary and ops tables against a saved `--csv` directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audit::AuditResult;
use crate::error::Error;
use crate::report::audit_tables::{self as tables, ConfigRow};
use crate::report::schema::{Cell, Schema};

/// Keys config.csv gained after its first release, with the value every earlier run had.
const ADDED_KEYS: &[(&str, &str)] = &[("update_rounding", "nearest"), ("loss_scale", "none")];

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
    /// Rows of the new audit the baseline does not have, e.g. `ops.csv: f16 opt.sgd.step`.
    pub unmatched: Vec<String>,
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

impl Comparison {
    /// The outcome as the terminal shows it: a line, and the values that moved.
    pub fn render(&self, tolerance: f64, baseline: &Path) -> String {
        let mut text = if self.moved.is_empty() {
            format!(
                "no regression: {} values within a relative tolerance of {tolerance} of {}\n",
                self.checked,
                baseline.display()
            )
        } else {
            let mut table =
                crate::report::Table::new(["file", "format", "op", "column", "baseline", "now"]);
            for m in &self.moved {
                table.row([m.file, &m.format, &m.op, &m.column, &m.baseline, &m.current]);
            }
            format!(
                "regression: {} of {} values grew by more than a relative {tolerance} against {}\n\n{}",
                self.moved.len(),
                self.checked,
                baseline.display(),
                table.render()
            )
        };
        if !self.unmatched.is_empty() {
            text.push_str(&format!(
                "\nnot in the baseline (not compared): {}\n",
                self.unmatched.join(", ")
            ));
        }
        text
    }
}

/// A CSV file as rows of named cells.
struct Table {
    path: PathBuf,
    rows: Vec<HashMap<String, String>>,
}

fn read_table(dir: &Path, name: &str, required: &[&str]) -> Result<Table, Error> {
    let path = dir.join(name);
    let bad = |line: u64, message: String| Error::BadFile {
        path: path.clone(),
        line,
        column: None,
        message,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            path: path.clone(),
            source,
        },
        other => bad(1, format!("{other:?}")),
    })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(1, format!("unreadable header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(missing) = required.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(bad(
            1,
            format!("no column `{missing}`: is this a precision-audit --csv directory?"),
        ));
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(index as u64 + 2, format!("{e}")))?;
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect(),
        );
    }
    Ok(Table { path, rows })
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

/// A saved `--csv` directory's summary and ops tables.
pub struct Baseline {
    config: Table,
    summary: Table,
    ops: Table,
}

impl Baseline {
    /// Reads `config.csv`, `summary.csv` and `ops.csv` from `dir`.
    pub fn read(dir: &Path) -> Result<Baseline, Error> {
        if !dir.is_dir() {
            return Err(Error::InvalidFlag {
                flag: "--baseline".into(),
                message: format!("{} is not a directory written by --csv", dir.display()),
            });
        }
        Ok(Baseline {
            config: read_table(dir, "config.csv", &["key", "value"])?,
            summary: read_table(
                dir,
                "summary.csv",
                &["format", "steps", "first_nonfinite_step"],
            )?,
            ops: read_table(dir, "ops.csv", &["format", "op"])?,
        })
    }

    /// Refuses a baseline made with another configuration: comparing those would report
    /// differences of setup as regressions. The formats audited may differ.
    pub fn same_config(&self, current: &[ConfigRow]) -> Result<(), Error> {
        let saved: HashMap<&str, &str> = self
            .config
            .rows
            .iter()
            .map(|row| (row["key"].as_str(), row["value"].as_str()))
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
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidData {
                what: format!("baseline {}", self.config.path.display()),
                message: format!(
                    "made with another configuration ({}): run the check with the baseline's flags",
                    differences.join("; ")
                ),
            })
        }
    }

    /// Compares `result` with the baseline.
    pub fn compare(&self, result: &AuditResult, tolerance: f64) -> Result<Comparison, Error> {
        compare(&self.summary, &self.ops, result, tolerance)
    }
}

fn compare(
    summary: &Table,
    ops: &Table,
    result: &AuditResult,
    tolerance: f64,
) -> Result<Comparison, Error> {
    let mut comparison = Comparison::default();
    let schema = tables::summary();
    for row in &result.formats {
        let format = row.lane.to_string();
        let Some(old) = summary.rows.iter().find(|r| r["format"] == format) else {
            comparison.unmatched.push(format!("summary.csv: {format}"));
            continue;
        };
        let steps = row.steps.to_string();
        if old["steps"] != steps {
            return Err(Error::InvalidData {
                what: format!("baseline {}", summary.path.display()),
                message: format!(
                    "{format} ran {} steps there and {steps} here: run the check with the baseline's flags",
                    old["steps"]
                ),
            });
        }
        for column in SUMMARY_COLUMNS {
            check(
                &mut comparison,
                "summary.csv",
                (&format, ""),
                old,
                &schema,
                row,
                column,
                tolerance,
            );
        }
        // A loss that turns non-finite, or turns non-finite earlier, is a regression too.
        let now = row.first_nonfinite_step.map_or(f64::INFINITY, |s| s as f64);
        let before = old["first_nonfinite_step"]
            .parse::<f64>()
            .unwrap_or(f64::INFINITY);
        comparison.checked += 1;
        if now < before {
            comparison.moved.push(Moved {
                file: "summary.csv",
                format: format.to_string(),
                op: String::new(),
                column: "first_nonfinite_step".into(),
                baseline: old["first_nonfinite_step"].clone(),
                current: Cell::from(row.first_nonfinite_step).csv(),
            });
        }
    }
    let schema = tables::ops();
    for row in tables::op_rows(&result.formats) {
        let (format, op) = (row.0.lane.to_string(), row.1.op.as_str());
        let Some(old) = ops
            .rows
            .iter()
            .find(|r| r["format"] == format && r["op"] == op)
        else {
            comparison.unmatched.push(format!("ops.csv: {format} {op}"));
            continue;
        };
        for column in OPS_COLUMNS {
            check(
                &mut comparison,
                "ops.csv",
                (&format, op),
                old,
                &schema,
                &row,
                column,
                tolerance,
            );
        }
    }
    Ok(comparison)
}

/// Compares one column of one row: the baseline's cell as written, the current one as the
/// table defines it.
#[allow(clippy::too_many_arguments)]
fn check<R>(
    comparison: &mut Comparison,
    file: &'static str,
    (format, op): (&str, &str),
    old: &HashMap<String, String>,
    schema: &Schema<'_, R>,
    row: &R,
    column: &str,
    tolerance: f64,
) {
    let (Some(baseline), Some(current)) = (old.get(column), schema.column(column)) else {
        return;
    };
    let current = current.cell(row);
    comparison.checked += 1;
    if grew(
        baseline.parse().unwrap_or(f64::NAN),
        current.value(),
        tolerance,
    ) {
        comparison.moved.push(Moved {
            file,
            format: format.to_string(),
            op: op.to_string(),
            column: column.to_string(),
            baseline: baseline.clone(),
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
