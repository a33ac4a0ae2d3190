//! The order study, `--orders K`: K seeded summation orders of every reduction, one row per
//! order × format in orders.csv, a summary per format and the ops' spread over orders.

use crate::common::{Run, assert_same, mean};
use crate::support::{FORMATS, Table, prec};

/// SGD on the MSE loss for 20 epochs (80 steps, about a second for 4 orders under MPFR), every
/// format accumulating in itself (`--accumulate same`) so that reordering a sum rounds
/// differently in each format's own arithmetic.
const ORDER_JOB: [&str; 10] = [
    "--loss",
    "mse",
    "--optimizer",
    "sgd",
    "--lr",
    "0.05",
    "--epochs",
    "20",
    "--accumulate",
    "same",
];

fn order_job(extra: &[&str]) -> Run {
    Run::ok(&[&ORDER_JOB[..], extra].concat())
}

/// Per format, its final losses over orders in order-seed order, from orders.csv.
fn losses(orders: &Table, format: &str) -> Vec<f64> {
    orders
        .rows_where("format", format)
        .map(|row| row.f64("final_loss"))
        .collect()
}

#[test]
fn four_orders_spread_every_format_f64_least() {
    let run = order_job(&["--orders", "4"]);
    let orders = run.table("orders.csv");
    assert_eq!(orders.records.len(), 4 * 4, "4 orders × 4 formats");
    let expected: Vec<(String, String)> = (1..=4)
        .flat_map(|order: u64| FORMATS.map(|format| (order.to_string(), format.to_string())))
        .collect();
    let actual: Vec<(String, String)> = orders
        .rows()
        .map(|row| {
            (
                row.get("order_seed").to_string(),
                row.get("format").to_string(),
            )
        })
        .collect();
    assert_eq!(
        actual, expected,
        "order seeds 1..=4, each with every format"
    );

    let summary = run.table("orders_summary.csv");
    assert_eq!(
        summary.column_values("format"),
        FORMATS,
        "one row per format"
    );
    for format in FORMATS {
        let row = summary.row_where("format", format);
        let values = losses(&orders, format);
        assert_eq!(row.get("orders"), "4", "{format}");
        assert_same(
            row.f64("loss_mean"),
            mean(&values),
            &format!("{format} loss_mean"),
        );
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_same(row.f64("loss_min"), min, &format!("{format} loss_min"));
        assert_same(row.f64("loss_max"), max, &format!("{format} loss_max"));
    }

    let f64_row = summary.row_where("format", "f64");
    let f64_relative_spread = f64_row.f64("loss_std") / f64_row.f64("loss_mean");
    assert!(
        f64_relative_spread < prec::F64_ORDER_SPREAD_REL_MAX,
        "f64's loss moves by {f64_relative_spread:e} relative over orders"
    );
    for format in ["f16", "bf16", "f32"] {
        let spread = summary.row_where("format", format).f64("loss_std");
        assert!(
            spread > f64_row.f64("loss_std"),
            "{format}'s spread over orders ({spread:e}) exceeds f64's ({:e})",
            f64_row.f64("loss_std")
        );
    }

    // Every format lists the same ops (the network is the same), each over 4 orders.
    let ops = run.table("orders_ops.csv");
    let ops_of = |format: &str| -> Vec<String> {
        ops.rows_where("format", format)
            .map(|row| row.get("op").to_string())
            .collect()
    };
    let f64_ops = ops_of("f64");
    assert!(
        f64_ops.iter().any(|op| op == "loss.mean") && f64_ops.len() > 10,
        "{f64_ops:?}"
    );
    for format in FORMATS {
        assert_eq!(ops_of(format), f64_ops, "{format} lists every op");
    }
    assert!(ops.rows().all(|row| row.get("orders") == "4"));
    assert_eq!(ops.records.len(), 4 * f64_ops.len());
}

/// With the default accumulator, f16 and bf16 sum in f32 and round once to the format: the
/// order changes only the f32 sum's last bits, which the rounding to 8 or 11 bits absorbs
/// (here at every one of the 80 steps), while f32, accumulating in itself, still moves.
#[test]
fn a_wider_accumulator_hides_the_order() {
    let run = Run::ok(&[
        "--loss",
        "mse",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--epochs",
        "20",
        "--orders",
        "4",
    ]);
    let summary = run.table("orders_summary.csv");
    for format in ["f16", "bf16"] {
        let row = summary.row_where("format", format);
        assert_eq!(row.f64("loss_std"), 0.0, "{format}: {}", row.get("verdict"));
        assert!(
            row.get("verdict")
                .contains("does not move with the summation order"),
            "{}",
            row.get("verdict")
        );
    }
    assert!(summary.row_where("format", "f32").f64("loss_std") > 0.0);
}

#[test]
fn order_bits_do_not_depend_on_threads() {
    let two = order_job(&["--orders", "3"]);
    let one = order_job(&["--orders", "3", "--threads", "1"]);
    for file in ["orders.csv", "orders_summary.csv", "orders_ops.csv"] {
        assert_eq!(
            one.file(file),
            two.file(file),
            "{file}: --threads 1 against 2"
        );
    }
}

/// The sweep trains with its own loop (no per-op audit); the order study runs the audit. The
/// reference (113 bits) is the same trajectory in both: its final loss, rounded to f64, cannot
/// tell the summation orders apart.
#[test]
fn sweep_and_order_study_train_the_same_reference() {
    let sweep = order_job(&["--seeds", "1", "--formats", "f64"]);
    let orders = order_job(&["--orders", "2", "--formats", "f64"]);
    let swept = sweep
        .table("sweep.csv")
        .row_where("format", "f64")
        .f64("reference_loss");
    for row in orders.table("orders.csv").rows() {
        assert_eq!(
            row.f64("reference_loss"),
            swept,
            "order {}",
            row.get("order_seed")
        );
    }
}

/// Regression: a format whose loss is NaN in every order had `loss_min = inf` and
/// `loss_max = -inf` (a fold with `f64::min` skips NaN), a minimum above the maximum. A NaN
/// loss makes the extremes NaN, as it makes the mean NaN.
#[test]
fn diverged_format_has_nan_extremes() {
    let run = Run::ok(&[
        "--loss",
        "relative",
        "--eps",
        "1e-8",
        "--epochs",
        "1",
        "--formats",
        "f16",
        "--orders",
        "2",
    ]);
    let summary = run.table("orders_summary.csv");
    let f16 = summary.row_where("format", "f16");
    assert!(f16.f64("loss_mean").is_nan(), "f16 divides by eps = 0");
    assert_eq!(
        (f16.get("loss_min"), f16.get("loss_max")),
        ("nan", "nan"),
        "the extremes of an all-NaN sample"
    );
}

/// Regression: with one order there is no spread to compare with, yet the verdict said the
/// loss "does not move with the summation order" (the standard deviation of one value is 0)
/// and drift/spread was inf. One order measures nothing about the order.
#[test]
fn one_order_is_no_evidence() {
    let run = order_job(&["--orders", "1", "--formats", "f32,f64"]);
    for row in run.table("orders_summary.csv").rows() {
        let verdict = row.get("verdict");
        assert!(
            !verdict.contains("does not move"),
            "{}: one order cannot show that: {verdict}",
            row.get("format")
        );
        assert!(verdict.contains("at least 2 orders"), "{verdict}");
        assert!(row.f64("drift_to_order_spread").is_nan(), "{verdict}");
    }
}
