//! `--loss-expr`: the built-in losses written as expressions give the same numbers as the
//! presets (the op names differ, the bits do not), and two written losses pinned as snapshots.

use crate::common::{Audit, MATRIX_DIGITS, SMALL_EPOCHS, significant_digits, steps_excerpt};
use crate::snapshot;
use crate::support::Table;

/// The columns of a table that hold numbers or verdicts rather than op names.
fn columns_without_op_names(table: &Table, columns: &[&str]) -> Vec<Vec<String>> {
    table
        .rows()
        .map(|row| columns.iter().map(|c| row.get(c).to_string()).collect())
        .collect()
}

/// Runs the preset and the expression for a few epochs and compares every number a user reads:
/// steps.csv's losses and drifts, summary.csv's numbers and the trained parameters.
fn same_numbers(preset: &[&str], expression: &[&str]) {
    let run = |flags: &[&str]| {
        let mut args = vec!["--epochs", SMALL_EPOCHS];
        args.extend_from_slice(flags);
        let audit = Audit::run(&args);
        audit.assert_ok();
        audit
    };
    let (preset, expression) = (run(preset), run(expression));
    let case = format!("`{}` vs `{}`", preset.command(), expression.command());
    let steps = [
        "format",
        "step",
        "loss",
        "reference_loss",
        "abs_drift",
        "rel_drift",
        "param_rel_drift",
    ];
    assert_eq!(
        columns_without_op_names(&preset.table("steps.csv"), &steps),
        columns_without_op_names(&expression.table("steps.csv"), &steps),
        "{case}: steps.csv"
    );
    let summary = [
        "format",
        "final_loss",
        "reference_loss",
        "loss_abs_drift",
        "loss_rel_drift",
        "max_rel_drift",
        "param_rel_drift",
        "first_nonfinite_step",
    ];
    assert_eq!(
        columns_without_op_names(&preset.table("summary.csv"), &summary),
        columns_without_op_names(&expression.table("summary.csv"), &summary),
        "{case}: summary.csv"
    );
    let params: Vec<&String> = preset
        .files
        .keys()
        .filter(|name| name.starts_with("params"))
        .collect();
    assert!(params.len() >= 4, "{case}: parameter files {params:?}");
    for name in params {
        assert_eq!(
            preset.files[name], expression.files[name],
            "{case}: {name} differs"
        );
    }
}

#[test]
fn relative_is_its_expression() {
    same_numbers(
        &["--loss", "relative", "--eps", "1e-8"],
        &[
            "--loss-expr",
            "abs(y - p) / (abs(y) + eps)",
            "--const",
            "eps=1e-8",
        ],
    );
}

#[test]
fn mse_is_its_expression() {
    same_numbers(&["--loss", "mse"], &["--loss-expr", "(p - y)^2"]);
}

#[test]
fn mae_is_its_expression() {
    same_numbers(&["--loss", "mae"], &["--loss-expr", "abs(p - y)"]);
}

/// Runs a written loss and pins what it printed and wrote, as the matrix snapshots do.
fn written(name: &str, flags: &[&str]) -> Audit {
    let mut args = vec!["--epochs", SMALL_EPOCHS];
    args.extend_from_slice(flags);
    let audit = Audit::run(&args);
    audit.assert_ok();
    let mut text = format!("── stdout ──\n{}", audit.outcome.stdout);
    for file in ["summary.csv", "constants.csv", "ops.csv"] {
        text.push_str(&format!("\n── {file} ──\n{}", audit.file(file)));
    }
    text.push_str(&format!(
        "\n── steps.csv, first and last 3 rows per format ──\n{}",
        steps_excerpt(audit.file("steps.csv"), 3)
    ));
    snapshot(
        &format!("loss_expr__{name}"),
        &audit.command(),
        &significant_digits(&text, MATRIX_DIGITS),
    );
    audit
}

#[test]
fn pseudo_huber_snapshot() {
    let audit = written(
        "pseudo_huber",
        &[
            "--loss-expr",
            "delta^2 * (sqrt(1 + ((p - y) / delta)^2) - 1)",
            "--const",
            "delta=0.5",
        ],
    );
    // Every node is an op with its name, forward and backward; delta is a reported constant.
    let ops = audit.table("ops.csv");
    for op in [
        "loss.n7.div",
        "loss.n10.sqrt",
        "bwd.loss.n10.div",
        "bwd.loss.n7.div",
        "loss.mean",
        "bwd.loss.mean",
    ] {
        assert!(
            ops.rows().any(|row| row.get("op") == op),
            "ops.csv has {op}"
        );
    }
    let constants = audit.table("constants.csv");
    let f16 = constants.row_matching(&[("format", "f16"), ("constant", "delta")]);
    assert_eq!(f16.get("stored"), "0.5");
}

#[test]
fn summed_log_error_snapshot() {
    let audit = written(
        "summed_log_error",
        &[
            "--loss-expr",
            "log1p(abs(p - y) / (abs(y) + eps))",
            "--const",
            "eps=1e-3",
            "--loss-reduce",
            "sum",
        ],
    );
    let ops = audit.table("ops.csv");
    for op in ["loss.sum", "bwd.loss.sum", "loss.n9.log1p"] {
        assert!(
            ops.rows().any(|row| row.get("op") == op),
            "ops.csv has {op}"
        );
    }
    assert!(
        ops.rows().all(|row| row.get("op") != "loss.mean"),
        "a summed loss has no mean"
    );
}
