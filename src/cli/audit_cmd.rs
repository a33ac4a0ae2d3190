//! The audit command: run, stream steps.csv, write the report, decide the exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::audit::{self, AuditConfig, AuditResult, StepRow, StepSink};
use crate::cli::args::{AuditArgs, Output};
use crate::cli::config::{FailOn, audit_config, fail_on};
use crate::data::params::write_params_to;
use crate::data::{Dataset, StagedFile};
use crate::error::Error;
use crate::model::{Loss, ParamSet};
use crate::report::audit_csv::{self as tables, step_row};
use crate::report::csv_out::number;
use crate::report::csv_out::write_rows;
use crate::report::{audit_text, json_out, study_report};
use crate::study::{EpsAdvice, advise};
use crate::train::Optimizer;

/// `steps.csv`, written row by row as steps finish, under a temporary name until the end.
struct StepsFile {
    staged: StagedFile,
}

impl StepSink for StepsFile {
    fn rows(&mut self, rows: &[StepRow]) -> crate::Result<()> {
        let mut buffer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        for row in rows {
            buffer
                .write_record(step_row(row))
                .map_err(|e| self.staged.error(std::io::Error::other(e)))?;
        }
        let bytes = buffer
            .into_inner()
            .map_err(|e| self.staged.error(e.into_error()))?;
        self.staged
            .writer()
            .write_all(&bytes)
            .map_err(|e| self.staged.error(e))
    }
}

/// A sink that drops rows (no --csv).
struct Discard;

impl StepSink for Discard {
    fn rows(&mut self, _: &[StepRow]) -> crate::Result<()> {
        Ok(())
    }
}

/// Shows "step k of n" on stderr when it is a terminal and the run lasts more than a moment.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    fn new() -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
            && done < total
        {
            return;
        }
        self.last = Some(Instant::now());
        let width = 30;
        let filled = (done * width / total.max(1)) as usize;
        eprint!(
            "\r[{}{}] step {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        );
    }

    fn finish(&self) {
        if self.last.is_some() {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}

fn csv_file(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<StagedFile, Error> {
    let mut staged = StagedFile::create(&dir.join(name))?;
    write_rows(staged.writer(), header, rows).map_err(|e| staged.error(e))?;
    Ok(staged)
}

fn params_file(dir: &Path, name: &str, params: &ParamSet) -> Result<StagedFile, Error> {
    let mut staged = StagedFile::create(&dir.join(name))?;
    write_params_to(staged.writer(), params).map_err(|e| staged.error(e))?;
    Ok(staged)
}

/// FNV-1a over the bits of `values`: a fingerprint that changes when any value does.
fn fingerprint<'a>(values: impl Iterator<Item = &'a f64>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for value in values {
        for byte in value.to_bits().to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The configuration of an audit as (key, value) rows: `config.csv`. `check` refuses a
/// baseline whose configuration differs (except in the formats audited).
pub fn config_rows(config: &AuditConfig) -> Vec<Vec<String>> {
    let train = &config.train;
    let optimizer = &train.optimizer;
    let widths: Vec<String> = train
        .architecture
        .widths
        .iter()
        .map(usize::to_string)
        .collect();
    let init = config
        .init
        .layers
        .iter()
        .flat_map(|l| l.weight.iter().chain(l.bias.iter()));
    [
        (
            "formats",
            config
                .formats
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("reference", config.reference.name()),
        ("loss", train.loss.name().to_string()),
        ("eps", train.eps.text().to_string()),
        ("widths", widths.join(",")),
        (
            "activation",
            train.architecture.activation.name().to_string(),
        ),
        ("dropout", number(train.architecture.dropout)),
        ("optimizer", optimizer.kind.name().to_string()),
        ("lr", optimizer.lr.text().to_string()),
        ("momentum", optimizer.momentum.text().to_string()),
        ("beta1", optimizer.beta1.text().to_string()),
        ("beta2", optimizer.beta2.text().to_string()),
        ("adam_eps", optimizer.adam_eps.text().to_string()),
        ("epochs", train.epochs.to_string()),
        ("batch_size", train.batch_size.to_string()),
        ("seed", train.seed.to_string()),
        ("accumulate", train.reduction.accumulate.name().to_string()),
        ("order", train.reduction.order.name().to_string()),
        ("data", config.data.source.clone()),
        (
            "data_fingerprint",
            fingerprint(
                config
                    .data
                    .features
                    .iter()
                    .chain(config.data.targets.iter()),
            ),
        ),
        ("init_fingerprint", fingerprint(init)),
    ]
    .into_iter()
    .map(|(key, value)| vec![key.to_string(), value])
    .collect()
}

/// The data set as the audit used it, full precision: `data.csv`.
fn data_rows(data: &Dataset) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = data.feature_names.clone();
    header.push(data.target_name.clone());
    let rows = data
        .features
        .rows()
        .into_iter()
        .zip(data.targets.iter())
        .map(|(x, y)| x.iter().chain([y]).map(|v| number(*v)).collect())
        .collect();
    (header, rows)
}

/// Which data rows each step used, in order: `schedule.csv` (step, epoch, position, row; rows
/// 0-based as in data.csv's data lines).
fn schedule_rows(config: &AuditConfig) -> Vec<Vec<String>> {
    config
        .schedule()
        .flat_map(|plan| {
            plan.rows
                .iter()
                .enumerate()
                .map(|(position, row)| {
                    vec![
                        plan.step.to_string(),
                        plan.epoch.to_string(),
                        position.to_string(),
                        row.to_string(),
                    ]
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn write_report(
    dir: &Path,
    result: &AuditResult,
    advice: &[EpsAdvice],
    config: &AuditConfig,
    steps: StepsFile,
) -> Result<(), Error> {
    let init = &config.init;
    let ops_header = tables::ops_header();
    let (data_header, data) = data_rows(&config.data);
    let data_header: Vec<&str> = data_header.iter().map(String::as_str).collect();
    let mut staged = vec![
        csv_file(
            dir,
            "summary.csv",
            tables::SUMMARY_HEADER,
            &tables::summary_rows(result),
        )?,
        csv_file(dir, "ops.csv", &ops_header, &tables::ops_rows(result))?,
        csv_file(
            dir,
            "events.csv",
            tables::EVENTS_HEADER,
            &tables::events_rows(result),
        )?,
        csv_file(
            dir,
            "constants.csv",
            tables::CONSTANTS_HEADER,
            &tables::constants_rows(result),
        )?,
        csv_file(dir, "config.csv", &["key", "value"], &config_rows(config))?,
        csv_file(
            dir,
            "advice.csv",
            study_report::ADVICE_HEADER,
            &study_report::advice_rows(advice),
        )?,
        csv_file(dir, "data.csv", &data_header, &data)?,
        csv_file(
            dir,
            "schedule.csv",
            &["step", "epoch", "position", "row"],
            &schedule_rows(config),
        )?,
        params_file(dir, "params_initial.csv", init)?,
        params_file(dir, "params_reference.csv", &result.reference_params)?,
    ];
    for f in &result.formats {
        staged.push(params_file(
            dir,
            &format!("params_{}.csv", f.format.name()),
            &f.final_params,
        )?);
    }
    staged.push(steps.staged);
    crate::data::commit_all(staged)
}

/// Whether any --fail-on condition holds, with a line saying which.
fn failures(result: &AuditResult, conditions: &[FailOn]) -> Vec<String> {
    let mut found = Vec::new();
    for f in &result.formats {
        for condition in conditions {
            match condition {
                FailOn::Event(kind) if f.events.get(*kind) > 0 => found.push(format!(
                    "{}: {} {} event(s)",
                    f.format.name(),
                    f.events.get(*kind),
                    kind.name()
                )),
                FailOn::Drift(limit) if f.loss_rel_drift.is_nan() || f.loss_rel_drift > *limit => {
                    found.push(format!(
                        "{}: final relative loss drift {} exceeds {limit}",
                        f.format.name(),
                        f.loss_rel_drift
                    ))
                }
                _ => {}
            }
        }
    }
    found
}

/// The epsilon advice for every audited format: the loss's eps for the relative loss, Adam's
/// for Adam.
fn advice(config: &AuditConfig) -> Vec<EpsAdvice> {
    let targets: Vec<f64> = config.data.targets.iter().copied().collect();
    let train = &config.train;
    config
        .formats
        .iter()
        .flat_map(|&format| {
            let mut advice = Vec::new();
            if train.loss == Loss::Relative {
                advice.push(advise(format, "eps", &train.eps, &targets));
            }
            if train.optimizer.kind == Optimizer::Adam {
                advice.push(advise(
                    format,
                    "adam_eps",
                    &train.optimizer.adam_eps,
                    &targets,
                ));
            }
            advice
        })
        .collect()
}

/// What an audit produced.
pub struct Audited {
    /// The configuration that ran.
    pub config: AuditConfig,
    /// The findings.
    pub result: AuditResult,
    /// The epsilon advice.
    pub advice: Vec<EpsAdvice>,
}

/// Validates the flags, runs the audit and writes `--csv` if asked.
pub fn execute(args: &AuditArgs) -> Result<Audited, Error> {
    let config = audit_config(args)?;
    let advice = advice(&config);
    let mut steps = match &args.csv {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            let mut staged = StagedFile::create(&dir.join("steps.csv"))?;
            write_rows(staged.writer(), &tables::steps_header(), &[])
                .map_err(|e| staged.error(e))?;
            Some(StepsFile { staged })
        }
        None => None,
    };
    let mut progress = Progress::new();
    let sink: &mut dyn StepSink = match steps.as_mut() {
        Some(file) => file,
        None => &mut Discard,
    };
    let result = audit::run(&config, sink, &mut |done, total| {
        progress.update(done, total)
    });
    progress.finish();
    let result = result?;
    if let (Some(dir), Some(steps)) = (&args.csv, steps) {
        write_report(dir, &result, &advice, &config, steps)?;
    }
    Ok(Audited {
        config,
        result,
        advice,
    })
}

fn stdout_error(source: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source,
    }
}

/// The audit as JSON: the CSV tables under their file names, plus the reference check and the
/// verdicts.
fn audit_json(result: &AuditResult, advice: &[EpsAdvice]) -> serde_json::Value {
    let ops_header = tables::ops_header();
    let reference_check = result.reference_check.as_ref().map(|check| {
        serde_json::json!({
            "bits": check.bits,
            "check_bits": check.check_bits,
            "max_loss_rel_diff": json_out::cell(&number(check.max_loss_rel_diff)),
            "param_rel_diff": json_out::cell(&number(check.param_rel_diff)),
            "agreeing_digits": json_out::cell(&number(check.agreeing_digits())),
        })
    });
    let verdicts: serde_json::Map<String, serde_json::Value> = result
        .formats
        .iter()
        .map(|f| (f.format.name().to_string(), audit::verdict(f).into()))
        .collect();
    serde_json::json!({
        "reference": result.reference,
        "reference_bits": result.reference_bits,
        "steps": result.steps,
        "formats": json_out::table(tables::SUMMARY_HEADER, &tables::summary_rows(result)),
        "ops": json_out::table(&ops_header, &tables::ops_rows(result)),
        "events": json_out::table(tables::EVENTS_HEADER, &tables::events_rows(result)),
        "constants": json_out::table(tables::CONSTANTS_HEADER, &tables::constants_rows(result)),
        "advice": json_out::table(study_report::ADVICE_HEADER, &study_report::advice_rows(advice)),
        "reference_check": reference_check,
        "verdicts": verdicts,
    })
}

/// Runs the audit; returns the process exit code.
pub fn run(args: &AuditArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    // Parsed before the run, so that a typo is reported at once.
    let conditions = args
        .fail_on
        .as_deref()
        .map(fail_on)
        .transpose()?
        .unwrap_or_default();
    let Audited { result, advice, .. } = execute(args)?;
    let text = match args.output {
        Output::Table => audit_text::render(&result) + &study_report::advice_text(&advice),
        Output::Csv => {
            let mut bytes = Vec::new();
            write_rows(
                &mut bytes,
                tables::SUMMARY_HEADER,
                &tables::summary_rows(&result),
            )
            .map_err(stdout_error)?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Output::Json => json_out::render(&audit_json(&result, &advice)),
    };
    crate::cli::print(stdout, &text)?;
    let failed = failures(&result, &conditions);
    if failed.is_empty() {
        Ok(0)
    } else {
        for line in &failed {
            eprintln!("precision-audit: --fail-on: {line}");
        }
        Ok(3)
    }
}
