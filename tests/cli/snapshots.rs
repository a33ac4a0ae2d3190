//! Snapshots of what the binary prints and writes: the default job file by file at full
//! precision, and a matrix of small configurations (one snapshot each, numbers at
//! [`MATRIX_DIGITS`] significant digits) that also pass the cross-file checks.

use crate::common::{
    Audit, MATRIX_DIGITS, SMALL_EPOCHS, default_job, significant_digits, steps_excerpt,
};
use crate::consistency::{self, Expected};
use crate::snapshot;
use crate::support::run;

fn default_file(name: &str) {
    let job = default_job().assert_ok();
    snapshot(
        &format!("default__{}", name.replace('.', "_")),
        &format!("{} --csv DIR: {name}", job.command()),
        job.file(name),
    );
}

#[test]
fn default_report() {
    let job = default_job().assert_ok();
    snapshot("default__report", &job.command(), &job.outcome.stdout);
}

#[test]
fn default_summary_csv() {
    default_file("summary.csv");
}

#[test]
fn default_ops_csv() {
    default_file("ops.csv");
}

#[test]
fn default_events_csv() {
    default_file("events.csv");
}

#[test]
fn default_constants_csv() {
    default_file("constants.csv");
}

#[test]
fn default_data_csv() {
    default_file("data.csv");
}

#[test]
fn default_params_initial_csv() {
    default_file("params_initial.csv");
}

#[test]
fn default_params_f64_csv() {
    default_file("params_f64.csv");
}

#[test]
fn default_steps_csv_excerpt() {
    let job = default_job().assert_ok();
    snapshot(
        "default__steps_csv_excerpt",
        &format!(
            "{} --csv DIR: steps.csv, first and last 5 rows per format",
            job.command()
        ),
        &steps_excerpt(job.file("steps.csv"), 5),
    );
}

#[test]
fn default_job_files_agree() {
    consistency::check(
        default_job(),
        &Expected::from_args(&crate::support::DEFAULT_JOB),
    );
}

#[test]
fn formats_table() {
    let out = run(&["formats"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot("formats__table", "precision-audit formats", &out.stdout);
}

#[test]
fn formats_csv() {
    let out = run(&["formats", "--output", "csv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot(
        "formats__csv",
        "precision-audit formats --output csv",
        &out.stdout,
    );
}

#[test]
fn round_table() {
    let out = run(&["round", "1e-8", "0.1", "65520"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot(
        "round__table",
        "precision-audit round 1e-8 0.1 65520",
        &out.stdout,
    );
}

#[test]
fn round_csv() {
    let out = run(&["round", "1e-8", "0.1", "65520", "--output", "csv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot(
        "round__csv",
        "precision-audit round 1e-8 0.1 65520 --output csv",
        &out.stdout,
    );
}

#[test]
fn round_edges_csv() {
    // Negative values after `--`; the f16 overflow threshold 65520 and just below it; the
    // smallest f16 subnormal's neighbourhood; the non-finite values.
    let args = [
        "round", "--output", "csv", "--", "-1e-8", "65519.99", "-65520", "6e-8", "2.9e-8", "3e-8",
        "1e40", "inf", "-inf", "nan",
    ];
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    snapshot(
        "round__edges_csv",
        &format!("precision-audit {}", args.join(" ")),
        &out.stdout,
    );
}

/// Runs one small configuration, pins everything it printed and wrote at [`MATRIX_DIGITS`]
/// significant digits, and checks the files, at full precision, against each other and against
/// its flags.
fn configuration(name: &str, flags: &[&str]) {
    let mut args = vec!["--epochs", SMALL_EPOCHS];
    args.extend_from_slice(flags);
    let audit = Audit::run(&args);
    audit.assert_ok();
    let mut text = format!("── stdout ──\n{}", audit.outcome.stdout);
    for file in ["summary.csv", "events.csv", "constants.csv", "ops.csv"] {
        text.push_str(&format!("\n── {file} ──\n{}", audit.file(file)));
    }
    text.push_str(&format!(
        "\n── steps.csv, first and last 3 rows per format ──\n{}",
        steps_excerpt(audit.file("steps.csv"), 3)
    ));
    snapshot(
        &format!("matrix__{name}"),
        &audit.command(),
        &significant_digits(&text, MATRIX_DIGITS),
    );
    consistency::check(&audit, &Expected::from_args(&args));
}

macro_rules! matrix {
    ($($name:ident: [$($flag:expr),* $(,)?];)*) => {$(
        #[test]
        fn $name() {
            configuration(stringify!($name), &[$($flag),*]);
        }
    )*};
}

/// Each configuration changes one thing from the defaults (mse, Adam, relu, one hidden layer
/// of 10, f32 accumulation, sequential sums); the last changes many at once.
mod matrix {
    use super::configuration;

    matrix! {
        loss_mse: ["--loss", "mse"];
        loss_mae: ["--loss", "mae"];
        loss_relative: ["--loss", "relative"];
        sgd: ["--optimizer", "sgd"];
        sgd_momentum: ["--optimizer", "sgd", "--momentum", "0.9"];
        adam_eps_1e_8: ["--optimizer", "adam", "--adam-eps", "1e-8"];
        tanh: ["--activation", "tanh"];
        sigmoid: ["--activation", "sigmoid"];
        dropout: ["--dropout", "0.2"];
        accumulate_same: ["--accumulate", "same"];
        accumulate_f64: ["--accumulate", "f64"];
        order_pairwise: ["--order", "pairwise"];
        order_kahan: ["--order", "kahan"];
        update_stochastic: ["--update-rounding", "stochastic"];
        update_kahan: ["--update-rounding", "kahan"];
        two_layers_sgd_tanh_dropout_kahan: [
            "--loss", "relative", "--optimizer", "sgd", "--momentum", "0.9",
            "--activation", "tanh", "--dropout", "0.2", "--accumulate", "same",
            "--order", "kahan", "--layers", "8,4",
        ];
    }
}
