//! The audit and `check`: run, write `--csv`, print, decide the exit code.

use std::io::Write;

use super::progress::Progress;
use super::{FINDING, print};
use crate::audit::{self, AuditConfig, AuditResult, DiscardSteps, FailOnList, StepSink};
use crate::error::Error;
use crate::flags::{AuditArgs, CheckArgs, audit_config};
use crate::plot::{self, KeepSteps, Run};
use crate::report::CsvDir;
use crate::report::audit_out::{self, StepsFile};
use crate::report::audit_tables::config_rows;
use crate::report::baseline::{self, Baseline};
use crate::study::{EpsAdvice, advice};

/// What an audit produced.
struct Audited {
    config: AuditConfig,
    result: AuditResult,
    advice: Vec<EpsAdvice>,
}

/// Validates the flags, runs the audit and writes `--csv` if asked.
fn execute(args: &AuditArgs) -> Result<Audited, Error> {
    let config = audit_config(args)?;
    let advice = advice(&config);
    let dir = args.csv.as_deref().map(CsvDir::create).transpose()?;
    let mut steps = dir.as_ref().map(StepsFile::create).transpose()?;
    let sink: &mut dyn StepSink = match steps.as_mut() {
        Some(file) => file,
        None => &mut DiscardSteps,
    };
    // --plot keeps the rows of steps.csv to draw them with the rest.
    let mut kept = KeepSteps::new(sink);
    let sink: &mut dyn StepSink = if args.plot { &mut kept } else { kept.inner() };
    let mut progress = Progress::new();
    let result = audit::run(&config, sink, &mut |done, total| {
        progress.update(done, total)
    });
    progress.finish();
    let result = result?;
    let step_records = std::mem::take(&mut kept.records);
    if let (Some(mut dir), Some(steps)) = (dir, steps) {
        if args.plot {
            plot::stage(&mut dir, &Run::from_audit(&config, &result, step_records)?)?;
        }
        audit_out::write_csv_dir(dir, steps, &config, &result, &advice)?;
    }
    Ok(Audited {
        config,
        result,
        advice,
    })
}

/// Runs the audit; returns the process exit code.
pub fn audit(args: &AuditArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    // Parsed before the run, so that a typo is reported at once.
    let fail_on: FailOnList = args.fail_on.as_deref().unwrap_or_default().parse()?;
    let Audited { result, advice, .. } = execute(args)?;
    print(stdout, &audit_out::render(args.output, &result, &advice))?;
    let failed = fail_on.failures(&result);
    for line in &failed {
        eprintln!("precision-audit: --fail-on: {line}");
    }
    Ok(if failed.is_empty() { 0 } else { FINDING })
}

/// Runs the audit and compares it with the baseline; returns the process exit code.
pub fn check(args: &CheckArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    baseline::check_tolerance(args.tolerance)?;
    // Read the baseline before the run, so a bad directory fails at once.
    let baseline = Baseline::read(&args.baseline)?;
    let audited = execute(&args.audit)?;
    baseline.same_config(&config_rows(&audited.config))?;
    let comparison = baseline.compare(&audited.result, args.tolerance)?;
    print(stdout, &comparison.render(args.tolerance, &args.baseline))?;
    Ok(if comparison.moved.is_empty() {
        0
    } else {
        FINDING
    })
}
