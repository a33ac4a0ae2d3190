//! The audit and `check`: run, stage `--csv`, print, commit the files, decide the exit code.
//!
//! The report is printed before the `--csv` files are committed: when stdout cannot be written
//! (a full disk, `>/dev/full`), the run exits 2 and leaves no result set behind that would pass
//! for a successful one.

use std::io::Write;

use super::progress::Progress;
use super::{FINDING, print};
use crate::audit::{
    self, AuditConfig, AuditResult, DiscardSteps, FailOnList, KeepSteps, StepRow, StepSink,
};
use crate::error::Error;
use crate::flags::{AuditArgs, CheckArgs, audit_plan};
use crate::plot::{self, Run};
use crate::report::CsvDir;
use crate::report::Output;
use crate::report::audit_out::{self, StepsFile};
use crate::report::audit_tables;
use crate::report::audit_tables::config_rows;
use crate::report::baseline::{self, Baseline};
use crate::study::{EpsAdvice, advice};

/// What an audit produced: its results and, with `--csv`, its files, staged but not committed.
struct Audited {
    result: AuditResult,
    advice: Vec<EpsAdvice>,
    /// Every step's rows, when an output needs them after the run (JSON, pictures).
    steps: Vec<StepRow>,
    files: Option<CsvDir>,
}

impl Audited {
    /// Puts the staged `--csv` files in place.
    fn commit(self) -> Result<(), Error> {
        self.files.map_or(Ok(()), CsvDir::commit)
    }
}

/// Runs the audit of the validated `config` and stages `--csv` if asked.
fn execute(args: &AuditArgs, config: AuditConfig) -> Result<Audited, Error> {
    let advice = advice(&config);
    let dir = args.csv.as_deref().map(CsvDir::create).transpose()?;
    if let Some(dir) = &dir {
        dir.expect(&audit_out::file_names(&config))?;
    }
    let mut steps = dir.as_ref().map(StepsFile::create).transpose()?;
    let sink: &mut dyn StepSink = match steps.as_mut() {
        Some(file) => file,
        None => &mut DiscardSteps,
    };
    // The pictures and the JSON output need the steps after the run; the others stream them.
    let mut kept = KeepSteps::new(sink);
    let keep = args.plot || args.output == Output::Json;
    let sink: &mut dyn StepSink = if keep { &mut kept } else { kept.inner() };
    let mut progress = Progress::new();
    let result = audit::run(&config, sink, &mut |done, total| {
        progress.update(done, total)
    });
    progress.finish();
    let result = result?;
    let step_rows = std::mem::take(&mut kept.rows);
    let files = match (dir, steps) {
        (Some(mut dir), Some(steps)) => {
            if args.plot {
                // As steps.csv writes them, so that a picture drawn now and one drawn later
                // from the directory are the same bytes.
                let schema = audit_tables::steps();
                let records = step_rows.iter().map(|r| schema.record(r)).collect();
                plot::stage(&mut dir, &Run::from_audit(&config, &result, records)?)?;
            }
            Some(audit_out::stage_csv_dir(
                dir, steps, &config, &result, &advice,
            )?)
        }
        _ => None,
    };
    Ok(Audited {
        result,
        advice,
        steps: step_rows,
        files,
    })
}

/// Runs the audit; returns the process exit code.
pub fn audit(args: &AuditArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    // Parsed before the run, so that a typo is reported at once.
    let fail_on: FailOnList = args.fail_on.as_deref().unwrap_or_default().parse()?;
    let plan = audit_plan(args)?;
    super::announce(&plan);
    let audited = execute(args, plan.config)?;
    let (result, advice) = (&audited.result, &audited.advice);
    print(
        stdout,
        &audit_out::render(args.output, result, advice, &audited.steps),
    )?;
    let failed = failed(&fail_on, result);
    audited.commit()?;
    Ok(if failed { FINDING } else { 0 })
}

/// Reports on stderr each `--fail-on` condition that holds in `result`; whether any does.
fn failed(fail_on: &FailOnList, result: &AuditResult) -> bool {
    let failures = fail_on.failures(result);
    for line in &failures {
        super::warn(&format!("--fail-on: {line}"));
    }
    !failures.is_empty()
}

/// Runs the audit and compares it with the baseline; returns the process exit code.
pub fn check(args: &CheckArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    baseline::check_tolerance(args.tolerance)?;
    refuse_studies(&args.audit)?;
    let fail_on: FailOnList = args.audit.fail_on.as_deref().unwrap_or_default().parse()?;
    // Everything that can be refused is refused before the run: a damaged baseline, an output
    // into it, another configuration.
    let baseline = Baseline::read(&args.baseline)?;
    if let Some(csv) = &args.audit.csv {
        baseline.refuse_output(csv)?;
    }
    let plan = audit_plan(&args.audit)?;
    baseline.same_config(&config_rows(&plan.config))?;
    super::announce(&plan);
    let config = plan.config;
    let audited = execute(&args.audit, config)?;
    let comparison = baseline.compare(&audited.result, args.tolerance)?;
    let text = comparison.render(args.audit.output, args.tolerance, &args.baseline);
    print(stdout, &text)?;
    let failed = failed(&fail_on, &audited.result);
    audited.commit()?;
    Ok(if comparison.moved.is_empty() && !failed {
        0
    } else {
        FINDING
    })
}

/// `check` compares one audit with its baseline: the studies' flags have nothing to compare.
fn refuse_studies(args: &AuditArgs) -> Result<(), Error> {
    let flag = match (args.seeds, args.orders) {
        (Some(_), _) => "--seeds",
        (_, Some(_)) => "--orders",
        _ if !args.grid.is_empty() => "--grid",
        _ if args.blame => "--blame",
        _ => return Ok(()),
    };
    Err(Error::InvalidFlag {
        flag: flag.into(),
        message: "check compares one audit with its baseline and does not run studies".into(),
    })
}
