//! The audit's outputs: the terminal report, the summary as CSV, everything as JSON, and the
//! `--csv` directory.

use serde_json::{Value, json};

use crate::audit::{AuditConfig, AuditResult, StepRow, StepSink, verdict};
use crate::report::audit_tables as tables;
use crate::report::files::{CsvDir, Stream};
use crate::report::schema::{Cell, json_text};
use crate::report::{Output, audit_text, study_report};
use crate::study::EpsAdvice;
use crate::train::LaneSpec;

/// The audit as `--output` asks for it.
pub fn render(output: Output, result: &AuditResult, advice: &[EpsAdvice]) -> String {
    match output {
        Output::Table => audit_text::render(result) + &study_report::advice_text(advice),
        Output::Csv => tables::summary().csv_text(&result.formats),
        Output::Json => json_text(&audit_json(result, advice)),
    }
}

/// The audit as JSON: the tables of the `--csv` files under their own keys, plus the
/// reference's self-check and the verdicts.
fn audit_json(result: &AuditResult, advice: &[EpsAdvice]) -> Value {
    let number = |x: f64| Cell::Number(x).json();
    let reference_check = result.reference_check.as_ref().map(|check| {
        json!({
            "bits": check.bits,
            "check_bits": check.check_bits,
            "max_loss_rel_diff": number(check.max_loss_rel_diff),
            "param_rel_diff": number(check.param_rel_diff),
            "agreeing_digits": number(check.agreeing_digits()),
        })
    });
    let verdicts: serde_json::Map<String, Value> = result
        .formats
        .iter()
        .map(|f| (f.lane.to_string(), verdict(f, &result.formats).into()))
        .collect();
    json!({
        "reference": result.reference,
        "reference_bits": result.reference_bits,
        "steps": result.steps,
        "formats": tables::summary().json(&result.formats),
        "ops": tables::ops().json(&tables::op_rows(&result.formats)),
        "events": tables::events().json(&tables::event_rows(&result.formats)),
        "constants": tables::constants().json(tables::constant_rows(&result.formats)),
        "advice": study_report::advice().json(advice),
        "reference_check": reference_check,
        "verdicts": verdicts,
    })
}

/// `steps.csv`, written as steps finish and committed with the rest of the directory.
pub struct StepsFile(Stream<'static, StepRow>);

impl StepsFile {
    /// Stages `steps.csv` in `dir`.
    pub fn create(dir: &CsvDir) -> crate::Result<StepsFile> {
        dir.stream("steps.csv", tables::steps()).map(StepsFile)
    }
}

impl StepSink for StepsFile {
    fn rows(&mut self, rows: &[StepRow]) -> crate::Result<()> {
        self.0.rows(rows)
    }
}

/// The files [`stage_csv_dir`] writes for `config`, for [`CsvDir::expect`] before the run.
pub fn file_names(config: &AuditConfig) -> Vec<String> {
    let mut names: Vec<String> = [
        "summary.csv",
        "ops.csv",
        "events.csv",
        "constants.csv",
        "config.csv",
        "advice.csv",
        "data.csv",
        "schedule.csv",
        "params_initial.csv",
        "params_reference.csv",
        "steps.csv",
    ]
    .map(String::from)
    .to_vec();
    names.extend(config.formats.iter().map(|&lane| params_file(lane)));
    names
}

/// The final parameters of `lane`.
fn params_file(lane: LaneSpec) -> String {
    format!("params_{lane}.csv")
}

/// Stages every file of the audit's `--csv` directory, `steps.csv` included; the caller commits
/// them, all or none.
pub fn stage_csv_dir(
    mut dir: CsvDir,
    steps: StepsFile,
    config: &AuditConfig,
    result: &AuditResult,
    advice: &[EpsAdvice],
) -> crate::Result<CsvDir> {
    dir.table("summary.csv", &tables::summary(), &result.formats)?;
    dir.table("ops.csv", &tables::ops(), &tables::op_rows(&result.formats))?;
    dir.table(
        "events.csv",
        &tables::events(),
        &tables::event_rows(&result.formats),
    )?;
    dir.table(
        "constants.csv",
        &tables::constants(),
        tables::constant_rows(&result.formats),
    )?;
    dir.table(
        "config.csv",
        &tables::config(),
        &tables::config_rows(config),
    )?;
    dir.table("advice.csv", &study_report::advice(), advice)?;
    dir.table(
        "data.csv",
        &tables::data(&config.data),
        &tables::data_rows(&config.data),
    )?;
    let schedule: Vec<_> = config
        .schedule()
        .flat_map(|plan| tables::schedule_rows(&plan).collect::<Vec<_>>())
        .collect();
    dir.table("schedule.csv", &tables::schedule(), &schedule)?;
    dir.params("params_initial.csv", &config.init)?;
    dir.params("params_reference.csv", &result.reference_params)?;
    for f in &result.formats {
        dir.params(&params_file(f.lane), &f.final_params)?;
    }
    dir.add(steps.0);
    Ok(dir)
}
