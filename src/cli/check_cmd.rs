//! `precision-audit check`: run an audit and compare it with a saved `--csv` directory.

use std::io::Write;

use crate::cli::args::CheckArgs;
use crate::cli::audit_cmd::{config_rows, execute};
use crate::error::Error;
use crate::report::Table;
use crate::report::baseline::Baseline;

/// Exit code when a value grew beyond the tolerance.
const REGRESSION: u8 = 3;

/// Runs the check; returns the process exit code.
pub fn run(args: &CheckArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    if !(args.tolerance >= 0.0 && args.tolerance.is_finite()) {
        return Err(Error::InvalidFlag {
            flag: "--tolerance".into(),
            message: format!("must be a finite number ≥ 0, got {}", args.tolerance),
        });
    }
    if !args.baseline.is_dir() {
        return Err(Error::InvalidFlag {
            flag: "--baseline".into(),
            message: format!(
                "{} is not a directory written by --csv",
                args.baseline.display()
            ),
        });
    }
    // Read the baseline before the run, so a bad directory fails at once.
    let baseline = Baseline::read(&args.baseline)?;
    let audited = execute(&args.audit)?;
    baseline.same_config(&config_rows(&audited.config))?;
    let comparison = baseline.compare(&audited.result, args.tolerance)?;
    let mut text = String::new();
    if comparison.moved.is_empty() {
        text.push_str(&format!(
            "no regression: {} values within a relative tolerance of {} of {}\n",
            comparison.checked,
            args.tolerance,
            args.baseline.display()
        ));
    } else {
        text.push_str(&format!(
            "regression: {} of {} values grew by more than a relative {} against {}\n\n",
            comparison.moved.len(),
            comparison.checked,
            args.tolerance,
            args.baseline.display()
        ));
        let mut table = Table::new(["file", "format", "op", "column", "baseline", "now"]);
        for m in &comparison.moved {
            table.row([m.file, &m.format, &m.op, &m.column, &m.baseline, &m.current]);
        }
        text.push_str(&table.render());
    }
    if !comparison.unmatched.is_empty() {
        text.push_str(&format!(
            "\nnot in the baseline (not compared): {}\n",
            comparison.unmatched.join(", ")
        ));
    }
    crate::cli::print(stdout, &text)?;
    Ok(if comparison.moved.is_empty() {
        0
    } else {
        REGRESSION
    })
}
