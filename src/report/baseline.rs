//! Regression checks: a new audit's summary and ops tables against a saved `--csv` directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::audit::AuditResult;
use crate::error::Error;
use crate::report::audit_csv::{SUMMARY_HEADER, ops_header, ops_rows, summary_rows};

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

fn as_table(header: &[&str], rows: Vec<Vec<String>>) -> Vec<HashMap<String, String>> {
    rows.into_iter()
        .map(|row| header.iter().map(|h| h.to_string()).zip(row).collect())
        .collect()
}

fn value(cell: &str) -> f64 {
    cell.parse().unwrap_or(f64::NAN)
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
    /// Reads `summary.csv` and `ops.csv` from `dir`.
    pub fn read(dir: &Path) -> Result<Baseline, Error> {
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
    pub fn same_config(&self, current: &[Vec<String>]) -> Result<(), Error> {
        let saved: HashMap<&str, &str> = self
            .config
            .rows
            .iter()
            .map(|row| (row["key"].as_str(), row["value"].as_str()))
            .collect();
        let differences: Vec<String> = current
            .iter()
            .filter(|row| row[0] != "formats")
            .filter(|row| saved.get(row[0].as_str()).copied() != Some(row[1].as_str()))
            .map(|row| {
                format!(
                    "{} is {} there and {} here",
                    row[0],
                    saved.get(row[0].as_str()).copied().unwrap_or("missing"),
                    row[1]
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
    let current_summary = as_table(SUMMARY_HEADER, summary_rows(result));
    let current_ops = as_table(&ops_header(), ops_rows(result));
    for row in &current_summary {
        let format = &row["format"];
        let Some(old) = summary.rows.iter().find(|r| &r["format"] == format) else {
            comparison.unmatched.push(format!("summary.csv: {format}"));
            continue;
        };
        if old["steps"] != row["steps"] {
            return Err(Error::InvalidData {
                what: format!("baseline {}", summary.path.display()),
                message: format!(
                    "{format} ran {} steps there and {} here: run the check with the baseline's flags",
                    old["steps"], row["steps"]
                ),
            });
        }
        for column in SUMMARY_COLUMNS {
            check(
                &mut comparison,
                "summary.csv",
                old,
                row,
                column,
                "",
                tolerance,
            );
        }
        // A loss that turns non-finite, or turns non-finite earlier, is a regression too.
        let step = |r: &HashMap<String, String>| {
            r["first_nonfinite_step"]
                .parse::<f64>()
                .unwrap_or(f64::INFINITY)
        };
        comparison.checked += 1;
        if step(row) < step(old) {
            comparison
                .moved
                .push(moved("summary.csv", row, "", "first_nonfinite_step", old));
        }
    }
    for row in &current_ops {
        let (format, op) = (&row["format"], &row["op"]);
        let Some(old) = ops
            .rows
            .iter()
            .find(|r| &r["format"] == format && &r["op"] == op)
        else {
            comparison.unmatched.push(format!("ops.csv: {format} {op}"));
            continue;
        };
        for column in OPS_COLUMNS {
            check(&mut comparison, "ops.csv", old, row, column, op, tolerance);
        }
    }
    Ok(comparison)
}

fn moved(
    file: &'static str,
    row: &HashMap<String, String>,
    op: &str,
    column: &str,
    old: &HashMap<String, String>,
) -> Moved {
    Moved {
        file,
        format: row["format"].clone(),
        op: op.to_string(),
        column: column.to_string(),
        baseline: old.get(column).cloned().unwrap_or_default(),
        current: row[column].clone(),
    }
}

fn check(
    comparison: &mut Comparison,
    file: &'static str,
    old: &HashMap<String, String>,
    row: &HashMap<String, String>,
    column: &str,
    op: &str,
    tolerance: f64,
) {
    let Some(baseline) = old.get(column) else {
        return;
    };
    comparison.checked += 1;
    if grew(value(baseline), value(&row[column]), tolerance) {
        comparison.moved.push(moved(file, row, op, column, old));
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
