//! `--seeds N` and `--orders K`: the studies that say whether a drift is larger than the noise;
//! `--blame`: the study that says which ops make it.
//! As in the audit, the `--csv` directory is checked before the study starts, and the report is
//! printed before the files are committed.

use std::io::Write;

use super::progress::Progress;
use crate::blame::{Grouping, blame as run_blame};
use crate::error::Error;
use crate::flags::{AuditArgs, audit_plan};
use crate::report::CsvDir;
use crate::report::blame_report;
use crate::report::study_report as report;
use crate::study::orders::{outcomes, run_orders, summarize_orders};
use crate::study::sweep::{summarize_sweep, sweep as run_sweep};

/// Runs a seed sweep of `seeds` seeds.
pub fn sweep(args: &AuditArgs, seeds: u32, stdout: &mut dyn Write) -> Result<u8, Error> {
    let plan = audit_plan(args)?;
    let mut files = output(args, &report::SWEEP_FILES)?;
    super::announce(&plan);
    let config = plan.config;
    let redraw_init = args.init_params.is_none();
    let runs = run_sweep(&config, seeds as usize, redraw_init, config.threads);
    let formats = summarize_sweep(&runs);
    if let Some(files) = files.as_mut() {
        report::stage_sweep(files, &runs, &formats)?;
    }
    let reference = config.reference.name();
    let text = report::render_sweep(args.output, &reference, &runs, &formats);
    super::print(stdout, &text)?;
    files.map_or(Ok(()), CsvDir::commit)?;
    Ok(0)
}

/// Runs the order study with `orders` summation orders.
pub fn orders(args: &AuditArgs, orders: u32, stdout: &mut dyn Write) -> Result<u8, Error> {
    let plan = audit_plan(args)?;
    let mut files = output(args, &report::ORDERS_FILES)?;
    super::announce(&plan);
    let config = plan.config;
    let results = run_orders(&config, u64::from(orders), config.threads)?;
    let (formats, ops) = summarize_orders(&results);
    let outcomes = outcomes(&results);
    if let Some(files) = files.as_mut() {
        report::stage_orders(files, &outcomes, &formats, &ops)?;
    }
    let text = report::render_orders(args.output, u64::from(orders), &outcomes, &formats, &ops);
    super::print(stdout, &text)?;
    files.map_or(Ok(()), CsvDir::commit)?;
    Ok(0)
}

/// Runs blame by promotion.
pub fn blame(args: &AuditArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    let grouping: Grouping = args.blame_groups.parse()?;
    // Memory as for one audit: blame's runs train one lane each, --threads at a time.
    let plan = audit_plan(args)?;
    let files = output(args, &blame_report::BLAME_FILES)?;
    super::announce(&plan);
    let config = plan.config;
    let mut progress = Progress::new();
    let mut tell = |done, total| progress.update(done, total);
    let blame = run_blame(&config, args.blame_seeds as usize, grouping, &mut tell);
    progress.finish();
    let mut files = files;
    if let Some(files) = files.as_mut() {
        blame_report::stage(files, &blame)?;
    }
    super::print(stdout, &blame_report::render(args.output, &blame))?;
    files.map_or(Ok(()), CsvDir::commit)?;
    Ok(0)
}

/// The `--csv` directory, checked with the files it will get before the study starts: a bad
/// path fails at once, not after the whole study (the grid's tasks too).
pub(super) fn output(args: &AuditArgs, names: &[&str]) -> Result<Option<CsvDir>, Error> {
    let Some(dir) = &args.csv else {
        return Ok(None);
    };
    let files = CsvDir::create(dir)?;
    files.expect(names)?;
    Ok(Some(files))
}
