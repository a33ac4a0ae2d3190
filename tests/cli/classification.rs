//! Classification and several outputs end to end: the built-in classification data with the
//! softmax cross-entropy in both forms and with binary cross-entropy, pinned as a snapshot with
//! facts asserted next to it (the naive form overflows in f16 where the stable one does not),
//! rows.csv for class labels, several target columns, and label validation (exit 2 naming the
//! file, line and column).

use crate::bad_input::refused;
use crate::common::{
    Audit, MATRIX_DIGITS, SMALL_EPOCHS, fixture, significant_digits, steps_excerpt,
};
use crate::snapshot;

/// A learning rate and momentum large enough that the logits pass ln(65504) ≈ 11.09 within
/// 100 epochs: the naive softmax's exp overflows f16 (at step 25) while the stable form, fed
/// the same data, trains to the end.
const CONFIDENT: [&str; 12] = [
    "--task",
    "classification",
    "--formats",
    "f16,f32",
    "--optimizer",
    "sgd",
    "--lr",
    "1",
    "--momentum",
    "0.9",
    "--epochs",
    "100",
];

fn confident(loss: &str) -> Audit {
    let mut args = CONFIDENT.to_vec();
    args.extend(["--loss", loss]);
    let audit = Audit::run(&args);
    audit.assert_ok();
    audit
}

#[test]
fn naive_softmax_overflows_f16_where_the_stable_form_does_not() {
    let naive = confident("softmax-ce-naive");
    let stable = confident("softmax-ce");
    let exp = |audit: &Audit| {
        let ops = audit.table("ops.csv");
        let row = ops.row_matching(&[("format", "f16"), ("op", "loss.softmax.exp")]);
        (row.u64("overflow"), row.u64("inf"))
    };
    let (overflow, inf) = exp(&naive);
    assert!(
        overflow > 0 && inf > 0,
        "naive: {overflow} overflows, {inf} inf"
    );
    assert_eq!(exp(&stable), (0, 0), "the stable form's exp(p − max) ≤ 1");
    let summary = |audit: &Audit, format: &str| {
        let table = audit.table("summary.csv");
        let row = table.row_where("format", format);
        (
            row.get("first_nonfinite_step").to_string(),
            row.f64("final_loss"),
        )
    };
    assert_eq!(summary(&naive, "f16").0, "25");
    assert!(summary(&naive, "f16").1.is_nan());
    assert_eq!(summary(&stable, "f16").0, "");
    assert!(summary(&stable, "f16").1.is_finite());
    // f32's exp reaches 3.4e38 only at logits above 88: both forms stay finite there.
    assert!(summary(&naive, "f32").1.is_finite());
    // The stable form's ops: max, shift, exp, sum, log, pick, ce; and the gradient's two.
    let ops = stable.table("ops.csv");
    for op in [
        "loss.softmax.max",
        "loss.softmax.shift",
        "loss.softmax.sum",
        "loss.softmax.log",
        "loss.softmax.pick",
        "loss.softmax.ce",
        "bwd.loss.softmax.prob",
        "bwd.loss.softmax.sub",
    ] {
        assert!(
            ops.rows().any(|row| row.get("op") == op),
            "ops.csv has {op}"
        );
    }
}

#[test]
fn classification_report_snapshot() {
    let args = [
        "--task",
        "classification",
        "--loss",
        "softmax-ce",
        "--epochs",
        SMALL_EPOCHS,
    ];
    let audit = Audit::run(&args);
    audit.assert_ok();
    let mut text = format!("── stdout ──\n{}", audit.outcome.stdout);
    for file in ["summary.csv", "ops.csv"] {
        text.push_str(&format!("\n── {file} ──\n{}", audit.file(file)));
    }
    let rows: String = audit
        .file("rows.csv")
        .lines()
        .take(13)
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("\n── rows.csv, first 12 rows ──\n{rows}"));
    text.push_str(&format!(
        "\n── steps.csv, first and last 3 rows per format ──\n{}",
        steps_excerpt(audit.file("steps.csv"), 3)
    ));
    snapshot(
        "classification__softmax_ce",
        &audit.command(),
        &significant_digits(&text, MATRIX_DIGITS),
    );
    // The network has 3 outputs (K = 3 classes), data.csv ends with the label column.
    let params = audit.table("params_initial.csv");
    let top = params
        .rows()
        .filter(|r| r.get("layer") == "2" && r.get("tensor") == "bias");
    assert_eq!(top.count(), 3);
    let data = audit.file("data.csv");
    assert!(data.starts_with("x1,x2,class\n"), "{data}");
    // rows.csv: one row per data row and lane, a row's term is its cross-entropy, and class
    // labels are never "zero targets".
    let rows = audit.table("rows.csv");
    assert_eq!(rows.rows().count(), 4 * 100);
    for row in rows.rows() {
        assert_eq!((row.get("zero_target"), row.get("small_target")), ("", ""));
        assert!(row.f64("reference_term") > 0.0);
    }
    // No constant guards softmax cross-entropy: only Adam's eps is advised on.
    let advice = audit.table("advice.csv");
    assert!(advice.rows().all(|row| row.get("constant") == "adam_eps"));
}

#[test]
fn binary_cross_entropy_on_two_classes_flushes_eps_in_f16() {
    let audit = Audit::run(&[
        "--task",
        "classification",
        "--loss",
        "bce",
        "--epochs",
        SMALL_EPOCHS,
    ]);
    audit.assert_ok();
    let data = audit.table("data.csv");
    assert!(
        data.rows()
            .all(|row| ["0", "1"].contains(&row.get("class")))
    );
    assert!(data.rows().any(|row| row.get("class") == "0"));
    assert!(data.rows().any(|row| row.get("class") == "1"));
    let constants = audit.table("constants.csv");
    let f16 = constants.row_matching(&[("format", "f16"), ("constant", "eps")]);
    assert_eq!((f16.get("stored"), f16.get("class")), ("0", "zero"));
    // eps guards two logs of p: advice with the log rule, no target counts.
    let advice = audit.table("advice.csv");
    let f16 = advice.row_matching(&[("format", "f16"), ("constant", "eps")]);
    assert_eq!(f16.get("guards"), "log with p");
    assert_eq!(f16.get("zero_denominators"), "");
    assert_eq!(f16.f64("recommended_low"), 0.000062);
}

#[test]
fn several_targets_train_one_output_each_averaged() {
    let path = fixture("two_targets.csv");
    let audit = Audit::run(&[
        "--data",
        &path,
        "--target",
        "y1,y2",
        "--loss",
        "relative",
        "--epochs",
        SMALL_EPOCHS,
    ]);
    audit.assert_ok();
    assert!(audit.file("data.csv").starts_with("a,b,y1,y2\n"));
    let ops = audit.table("ops.csv");
    let div = ops.row_matching(&[("format", "f64"), ("op", "loss.div")]);
    let mean = ops.row_matching(&[("format", "f64"), ("op", "loss.mean")]);
    // Two outputs per row: twice the elements of a one-target loss per step.
    assert_eq!(div.u64("elements"), 2 * 24 * 5);
    assert_eq!(mean.u64("elements"), 5);
    // rows.csv reads each row's smallest |y|: the rows with y2 = 0 are zero targets.
    let rows = audit.table("rows.csv");
    let zero = rows
        .rows_where("format", "f64")
        .filter(|row| row.get("zero_target") == "true")
        .count();
    let data = audit.table("data.csv");
    let expected = data.rows().filter(|row| row.get("y2") == "0").count();
    assert!(expected > 0);
    assert_eq!(zero, expected);
    // The same two columns named by 1-based index.
    let by_index = Audit::run(&[
        "--data",
        &path,
        "--target",
        "2,4",
        "--loss",
        "relative",
        "--epochs",
        SMALL_EPOCHS,
    ]);
    by_index.assert_ok();
    assert_eq!(by_index.file("summary.csv"), audit.file("summary.csv"));
}

#[test]
fn bad_labels_exit_2_naming_file_line_and_column() {
    let path = fixture("labels_fraction.csv");
    let stderr = refused(&["--data", &path, "--loss", "softmax-ce"]);
    assert!(
        stderr.contains(&format!(
            "{path}, line 4, column 3 (class): `1.5` is not a class label"
        )),
        "{stderr}"
    );
    let labels = fixture("labels.csv");
    let stderr = refused(&["--data", &labels, "--loss", "softmax-ce", "--classes", "2"]);
    assert!(
        stderr.contains("with 2 classes a label is 0 to 1"),
        "{stderr}"
    );
    assert!(stderr.contains(", column 3 (class)"), "{stderr}");
    let stderr = refused(&["--data", &labels, "--loss", "bce"]);
    assert!(
        stderr.contains("binary cross-entropy takes labels 0 or 1"),
        "{stderr}"
    );
    // The regression data are not labels.
    let stderr = refused(&["--loss", "softmax-ce"]);
    assert!(stderr.contains("is not a class label"), "{stderr}");
    let stderr = refused(&["--loss", "mse", "--classes", "3"]);
    assert!(stderr.contains("--classes"), "{stderr}");
    let stderr = refused(&["--task", "clustering"]);
    assert!(stderr.contains("unknown task `clustering`"), "{stderr}");
    let two = fixture("two_targets.csv");
    let stderr = refused(&["--data", &two, "--target", "y1,y1"]);
    assert!(stderr.contains("named twice"), "{stderr}");
    let stderr = refused(&["--data", &two, "--target", "y1,y2", "--loss", "softmax-ce"]);
    assert!(stderr.contains("one target column"), "{stderr}");
}

#[test]
fn labels_from_a_file_set_the_classes() {
    let labels = fixture("labels.csv");
    let audit = Audit::run(&[
        "--data",
        &labels,
        "--loss",
        "softmax-ce-naive",
        "--epochs",
        SMALL_EPOCHS,
    ]);
    audit.assert_ok();
    let params = audit.table("params_initial.csv");
    let top = params
        .rows()
        .filter(|r| r.get("layer") == "2" && r.get("tensor") == "bias");
    assert_eq!(top.count(), 3, "labels 0..2: three logits");
    let wider = Audit::run(&[
        "--data",
        &labels,
        "--loss",
        "softmax-ce",
        "--classes",
        "5",
        "--epochs",
        "1",
    ]);
    wider.assert_ok();
    let params = wider.table("params_initial.csv");
    let top = params
        .rows()
        .filter(|r| r.get("layer") == "2" && r.get("tensor") == "bias");
    assert_eq!(top.count(), 5);
}
