//! The audit's outputs: the terminal report, the summary as CSV, everything as JSON, and the
//! `--csv` directory.

use serde_json::{Value, json};

use crate::audit::{AuditConfig, AuditResult, StepRow, StepSink, causes, verdict};
use crate::report::audit_tables as tables;
use crate::report::files::{CsvDir, Stream};
use crate::report::schema::{Cell, json_text};
use crate::report::{Output, audit_text, study_report};
use crate::study::EpsAdvice;
use crate::train::LaneSpec;

/// The audit as `--output` asks for it.
/// `steps` are the rows of steps.csv, which JSON includes.
pub fn render(
    output: Output,
    result: &AuditResult,
    advice: &[EpsAdvice],
    steps: &[StepRow],
) -> String {
    match output {
        Output::Table => audit_text::render(result) + &study_report::advice_text(advice),
        Output::Csv => tables::summary().csv_text(&result.formats),
        Output::Json => json_text(&audit_json(result, advice, steps)),
    }
}

/// The audit as JSON: the tables of the `--csv` files under their own keys (steps.csv's rows
/// included), plus the reference's self-check and the verdicts.
fn audit_json(result: &AuditResult, advice: &[EpsAdvice], steps: &[StepRow]) -> Value {
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
    let causes: serde_json::Map<String, Value> = result
        .formats
        .iter()
        .map(|f| {
            let causes: Vec<Value> = causes(f)
                .into_iter()
                .map(|c| json!({"kind": c.kind.name(), "op": c.op, "text": c.text}))
                .collect();
            (f.lane.to_string(), causes.into())
        })
        .collect();
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
        "steps": tables::steps().json(steps),
        "events": tables::events().json(&tables::event_rows(&result.formats)),
        "chains": tables::chains().json(&tables::chain_rows(&result.formats)),
        "exponents": tables::exponents().json(&tables::exponent_rows(&result.formats)),
        "constants": tables::constants().json(tables::constant_rows(&result.formats)),
        "advice": study_report::advice().json(advice),
        "reference_check": reference_check,
        "verdicts": verdicts,
        "causes": causes,
        "dominant_rows": result.dominant_rows.map(|d| d.sentence()),
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

/// The tables an audit's `--csv` directory holds, besides `steps.csv` and the parameters.
const TABLES: [&str; 11] = [
    "summary.csv",
    "ops.csv",
    "events.csv",
    "chains.csv",
    "exponents.csv",
    "constants.csv",
    "config.csv",
    "advice.csv",
    "data.csv",
    "schedule.csv",
    "rows.csv",
];

/// The stems of the parameter files: `initial`, `reference` and every lane.
fn params_stems(config: &AuditConfig) -> Vec<String> {
    ["initial".to_string(), "reference".to_string()]
        .into_iter()
        .chain(config.formats.iter().map(LaneSpec::to_string))
        .collect()
}

/// The files [`stage_csv_dir`] writes for `config`, for [`CsvDir::expect`] before the run.
pub fn file_names(config: &AuditConfig) -> Vec<String> {
    let mut names: Vec<String> = TABLES.map(String::from).to_vec();
    names.push("steps.csv".into());
    for stem in params_stems(config) {
        names.push(format!("params_{stem}.csv"));
        names.push(format!("params_{stem}.safetensors"));
    }
    names
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
    let formats = &result.formats;
    for name in TABLES {
        match name {
            "summary.csv" => dir.table(name, &tables::summary(), formats)?,
            "ops.csv" => dir.table(name, &tables::ops(), &tables::op_rows(formats))?,
            "events.csv" => dir.table(name, &tables::events(), &tables::event_rows(formats))?,
            "chains.csv" => dir.table(name, &tables::chains(), &tables::chain_rows(formats))?,
            "exponents.csv" => {
                dir.table(name, &tables::exponents(), &tables::exponent_rows(formats))?
            }
            "constants.csv" => {
                dir.table(name, &tables::constants(), tables::constant_rows(formats))?
            }
            "config.csv" => dir.table(name, &tables::config(), &tables::config_rows(config))?,
            "advice.csv" => dir.table(name, &study_report::advice(), advice)?,
            "data.csv" => dir.table(
                name,
                &tables::data(&config.data),
                &tables::data_rows(&config.data),
            )?,
            "schedule.csv" => {
                let schedule: Vec<_> = config
                    .schedule()
                    .flat_map(|plan| tables::schedule_rows(&plan).collect::<Vec<_>>())
                    .collect();
                dir.table(name, &tables::schedule(), &schedule)?
            }
            "rows.csv" => dir.table(name, &tables::rows(), &tables::row_terms(config, result))?,
            other => unreachable!("{other} is in TABLES without a writer"),
        }
    }
    let finals = formats.iter().map(|f| &f.final_params);
    let activation = config.train.architecture.activation;
    let params = [&config.init, &result.reference_params]
        .into_iter()
        .chain(finals);
    for (stem, params) in params_stems(config).into_iter().zip(params) {
        dir.params(&format!("params_{stem}.csv"), params)?;
        dir.safetensors(&format!("params_{stem}.safetensors"), params, activation)?;
    }
    dir.add(steps.0);
    Ok(dir)
}
