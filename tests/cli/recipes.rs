//! Scaled low-precision recipes end to end: the default job with the relative loss in pure FP8
//! lanes and in the recipes that scale FP8 (per tensor, Transformer Engine's delayed scaling)
//! and MX (blocks of 32), pinned as a snapshot with the facts asserted next to it: eps = 1e-8
//! is 0 in e4m3, e4m3 overflows (to NaN) where scaled FP8 only clips, quantization ops carry
//! the error and the events, and `--mx-scale` is validated.

use crate::bad_input::refused;
use crate::common::{Audit, MATRIX_DIGITS, significant_digits, steps_excerpt};
use crate::snapshot;
use crate::support::Scratch;

const LANES: &str = "e4m3,e5m2,fp8-tensor,mxfp8-e4m3";

fn recipes(extra: &[&str]) -> Audit {
    let mut args = vec!["--loss", "relative", "--eps", "1e-8", "--formats", LANES];
    args.extend(extra);
    let audit = Audit::run(&args);
    audit.assert_ok();
    audit
}

#[test]
fn fp8_and_mx_recipes_report_snapshot_and_facts() {
    let audit = recipes(&[]);
    let mut text = format!("── stdout ──\n{}", audit.outcome.stdout);
    for file in ["summary.csv", "constants.csv", "config.csv"] {
        text.push_str(&format!("\n── {file} ──\n{}", audit.file(file)));
    }
    text.push_str(&format!(
        "\n── steps.csv, first and last 3 rows per format ──\n{}",
        steps_excerpt(audit.file("steps.csv"), 3)
    ));
    snapshot(
        "recipes__fp8_mx",
        &audit.command(),
        &significant_digits(&text, MATRIX_DIGITS),
    );

    // eps = 1e-8 is below e4m3's smallest subnormal (2^-9): stored as 0. The recipes keep
    // the loss in f32, where it is a normal number.
    let constants = audit.table("constants.csv");
    let eps = |lane: &str| {
        constants
            .row_matching(&[("format", lane), ("constant", "eps")])
            .f64("stored")
    };
    assert_eq!(eps("e4m3"), 0.0);
    assert_eq!(eps("fp8-tensor"), f64::from(1e-8f32));

    // e4m3 overflows, and its overflow rule stores NaN: the lane is NaN from step 1. Scaled
    // FP8 clips (saturates) the elements its scale puts above 448 / 57344 and stays finite.
    let summary = audit.table("summary.csv");
    let e4m3 = summary.row_where("format", "e4m3");
    assert!(e4m3.u64("overflow") > 0);
    assert_eq!(e4m3.get("first_nonfinite_step"), "1");
    for recipe in ["fp8-tensor", "mxfp8-e4m3"] {
        let row = summary.row_where("format", recipe);
        assert_eq!(row.get("first_nonfinite_step"), "", "{recipe}");
        assert!(row.f64("final_loss").is_finite(), "{recipe}");
        for kind in ["nan", "nan_propagated", "inf"] {
            assert_eq!(row.u64(kind), 0, "{recipe}: {kind}");
        }
    }

    // The recipes' overflows are clips, all in quantization ops; delayed scaling clips only
    // while its amax history catches up with the growing gradients (scale 1 at step 1).
    let ops = audit.table("ops.csv");
    for recipe in ["fp8-tensor", "mxfp8-e4m3"] {
        let clipping: Vec<&str> = ops
            .rows_where("format", recipe)
            .filter(|row| row.u64("overflow") > 0)
            .map(|row| row.get("op"))
            .collect();
        assert!(!clipping.is_empty(), "{recipe} clips");
        assert!(
            clipping.iter().all(|op| op.starts_with("quant.")),
            "{recipe}: {clipping:?}"
        );
    }
    let steps = audit.table("steps.csv");
    let late_clips: u64 = steps
        .rows_where("format", "fp8-tensor")
        .filter(|row| row.u64("step") > 100)
        .map(|row| row.u64("overflow"))
        .sum();
    assert_eq!(late_clips, 0);

    // Both operands of each of the default network's five matmuls (two forward, two weight
    // gradients, one input gradient) are quantized. The quantization ops carry the error; the
    // matmuls then only accumulate in f32.
    for recipe in ["fp8-tensor", "mxfp8-e4m3"] {
        let quant: Vec<&str> = ops
            .rows_where("format", recipe)
            .map(|row| row.get("op"))
            .filter(|op| op.starts_with("quant."))
            .collect();
        assert_eq!(quant.len(), 2 * 5, "{recipe}: {quant:?}");
        let matmul = ops.row_matching(&[("format", recipe), ("op", "fwd.dense1.matmul")]);
        let quantized =
            ops.row_matching(&[("format", recipe), ("op", "quant.fwd.dense1.matmul.lhs")]);
        // In bits of f32 (the lanes' format): about 17 lost in quantization, under one in the
        // matmul. (fp8-tensor's matmul has a large maximum relative error all the same: its
        // operands are rounded to f32 after dequantization, so dot products that cancel
        // exactly on the FP8 grid leave an f32 residue; see the recipe module.)
        let bits = |row: &crate::support::Row| row.f64("local_mean_bits");
        assert!(bits(&quantized) > 16.0, "{recipe}");
        assert!(bits(&matmul) < 1.0, "{recipe}");
    }
}

#[test]
fn rceil_never_clips_an_mx_block() {
    let floor = recipes(&[]);
    let rceil = recipes(&["--mx-scale", "rceil"]);
    let overflow = |audit: &Audit| {
        audit
            .table("summary.csv")
            .row_where("format", "mxfp8-e4m3")
            .u64("overflow")
    };
    assert!(
        overflow(&floor) > 0,
        "OCP's floor clips block maxima above 448"
    );
    assert_eq!(overflow(&rceil), 0);
    let config = rceil.table("config.csv");
    assert_eq!(config.row_where("key", "mx_scale").get("value"), "rceil");
}

#[test]
fn mx_scale_needs_an_mx_lane() {
    let message = refused(&["--formats", "f16,fp8-tensor", "--mx-scale", "rceil"]);
    assert!(message.contains("--mx-scale"), "{message}");
    assert!(message.contains("no lane is an MX recipe"), "{message}");
}

/// A quantization op's `underflow` counts the nonzero elements it flushes, not the zeros its
/// operand already held where the reference's operand is tiny (found by
/// scripts/crosscheck_recipes.py, whose stress job counted them twice). In a batch of rows of
/// f32 subnormals and rows of zeros, MXFP6 flushes the subnormals (their block scale clamped
/// at 2^-127), so the lane's first matmul is 0 where the reference's is tiny: an underflow of
/// `fwd.dense1.matmul`. The hidden activations are then 0 in the lane (biases start at 0) and
/// tiny or 0 in the reference: dense2's operand quantization flushes nothing.
#[test]
fn a_quantization_underflows_only_where_it_flushes() {
    let dir = Scratch::dir("recipe-underflow");
    let mut text = String::from("x1,x2,x3,y\n");
    for k in 1..=8 {
        text.push_str(&format!("{k}e-41,{}e-41,3e-41,0.5\n0,0,0,-0.5\n", k + 1));
    }
    let path = dir.join("subnormal.csv");
    std::fs::write(&path, text).expect("the data set is written");
    let path = path.to_string_lossy().into_owned();
    let audit = Audit::run(&[
        "--data",
        &path,
        "--formats",
        "mxfp6-e3m2",
        "--layers",
        "6,4",
        "--epochs",
        "1",
        "--batch-size",
        "16",
    ]);
    audit.assert_ok();
    let ops = audit.table("ops.csv");
    let events = |op: &str, kind: &str| {
        ops.row_matching(&[("format", "mxfp6-e3m2"), ("op", op)])
            .u64(kind)
    };
    assert_eq!(events("quant.fwd.dense1.matmul.lhs", "underflow"), 8 * 3);
    assert_eq!(events("quant.fwd.dense1.matmul.lhs", "scale_saturated"), 8);
    assert!(events("fwd.dense1.matmul", "underflow") > 0);
    assert_eq!(events("quant.fwd.dense2.matmul.lhs", "underflow"), 0);
}
