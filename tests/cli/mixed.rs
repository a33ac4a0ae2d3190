//! Mixed-precision lanes (f32 master weights, the loss in f32, compute in f16/bf16) and loss
//! scaling: the facts the issue asks for, the GradScaler rules, and snapshots of a mixed run.

use crate::common::{Audit, steps_excerpt};
use crate::snapshot;
use crate::support::{DEFAULT_JOB, run};

/// The default relative-loss job with a pure and a mixed f16 lane and `scaling`.
fn relative_job(scaling: &str) -> Audit {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--formats", "f16,mixed-f16", "--loss-scale", scaling]);
    Audit::run(&args)
}

/// PyTorch's GradScaler, re-stated: the scale a step uses, from whether the steps before it
/// found an inf or NaN gradient.
fn grad_scaler(found: &[bool], init: f64, interval: u32) -> Vec<f64> {
    let (mut scale, mut tracker) = (init, 0);
    let mut used = Vec::new();
    for &found_inf in found {
        used.push(scale);
        if found_inf {
            scale *= 0.5;
            tracker = 0;
        } else if tracker + 1 == interval {
            scale *= 2.0;
            tracker = 0;
        } else {
            tracker += 1;
        }
    }
    used
}

#[test]
fn the_scale_follows_grad_scaler_backing_off_growing_and_skipping() {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend([
        "--formats",
        "mixed-f16",
        "--loss-scale",
        "dynamic",
        "--scale-growth-interval",
        "3",
        "--epochs",
        "20",
    ]);
    let audit = Audit::run(&args);
    audit.assert_ok();
    let steps = audit.table("steps.csv");
    let found: Vec<bool> = steps
        .rows()
        .map(|r| !r.get("first_nonfinite_grad").is_empty())
        .collect();
    let skipped: Vec<bool> = steps.rows().map(|r| r.get("skipped") == "true").collect();
    let scales: Vec<f64> = steps.rows().map(|r| r.f64("loss_scale")).collect();
    assert_eq!(
        skipped, found,
        "a step is skipped exactly when a gradient is inf or NaN"
    );
    assert_eq!(scales, grad_scaler(&found, 65536.0, 3));
    let grew = scales.windows(2).filter(|w| w[1] > w[0]).count();
    let backed_off = scales.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(
        grew > 0 && backed_off > 0,
        "{grew} growths, {backed_off} backoffs"
    );
    let summary = audit.table("summary.csv");
    let lane = summary.row_where("format", "mixed-f16");
    assert_eq!(
        lane.u64("skipped_steps"),
        found.iter().filter(|f| **f).count() as u64
    );
    let min = scales.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(lane.f64("min_scale"), min);
    assert_eq!(lane.f64("final_scale"), *scales.last().unwrap());
}

#[test]
fn without_scaling_the_mixed_loss_is_finite_at_step_1_but_its_gradient_overflows_f16() {
    let audit = relative_job("none");
    audit.assert_ok();
    let steps = audit.table("steps.csv");
    let step = |lane: &str, n: &str| steps.row_matching(&[("format", lane), ("step", n)]);
    // Pure f16 flushes eps to 0: the loss is inf at step 1 already.
    assert!(step("f16", "1").f64("loss").is_infinite());
    // The mixed lane keeps the loss and eps in f32: its first loss is finite and close to the
    // reference's ...
    let first = step("mixed-f16", "1");
    assert!(first.f64("loss").is_finite());
    assert!(first.f64("rel_drift") < 1e-3, "{}", first.f64("rel_drift"));
    // ... but d loss / d prediction, about 1/(32 × 1e-8), overflows when it is cast to f16
    // for the backward pass, and the update makes the weights NaN.
    assert_eq!(first.get("first_nonfinite_grad"), "dense2.weight");
    let events = audit.table("events.csv");
    let overflow = events.row_matching(&[("format", "mixed-f16"), ("kind", "overflow")]);
    assert_eq!(
        (overflow.get("op"), overflow.get("step")),
        ("cast.output_grad", "1")
    );
    assert!(step("mixed-f16", "2").f64("loss").is_nan());
}

#[test]
fn dynamic_scaling_keeps_the_mixed_lane_finite_and_the_verdict_names_the_remedy() {
    let audit = relative_job("dynamic");
    audit.assert_ok();
    let summary = audit.table("summary.csv");
    let mixed = summary.row_where("format", "mixed-f16");
    assert_eq!(mixed.get("first_nonfinite_step"), "", "finite throughout");
    assert!(mixed.u64("skipped_steps") > 0);
    assert_eq!(
        summary
            .row_where("format", "f16")
            .get("first_nonfinite_step"),
        "1"
    );
    let report = &audit.outcome.stdout;
    let verdict = report
        .lines()
        .find(|l| l.trim_start().starts_with("mixed-f16: "))
        .expect("a verdict for the mixed lane");
    for part in ["steps skipped", "against pure f16", "inf from step 1 there"] {
        assert!(verdict.contains(part), "`{part}` in {verdict}");
    }
    assert!(report.contains("Precision policy"), "{report}");
}

#[test]
fn adding_a_mixed_lane_changes_no_byte_of_a_pure_lane() {
    let alone = Audit::run(&DEFAULT_JOB);
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--formats", "f16,bf16,f32,f64,mixed-bf16"]);
    let with_mixed = Audit::run(&args);
    let pure_rows = |audit: &Audit| -> Vec<String> {
        audit
            .file("steps.csv")
            .lines()
            .filter(|l| !l.starts_with("mixed-"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(pure_rows(&alone), pure_rows(&with_mixed));
    let ops = |audit: &Audit| -> Vec<String> {
        let ops = audit.file("ops.csv");
        ops.lines()
            .filter(|l| !l.starts_with("mixed-"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(ops(&alone), ops(&with_mixed));
}

#[test]
fn f32_master_weights_lose_fewer_updates_than_pure_bf16() {
    let audit = Audit::run(&["--loss", "mse", "--formats", "bf16,mixed-bf16"]);
    audit.assert_ok();
    let summary = audit.table("summary.csv");
    let lost = |lane: &str| summary.row_where("format", lane).f64("lost_updates");
    assert!(
        lost("mixed-bf16") < lost("bf16") / 2.0,
        "{} vs {}",
        lost("mixed-bf16"),
        lost("bf16")
    );
    // Every cast is an audited op with its own row.
    let ops = audit.table("ops.csv");
    let casts: Vec<String> = ops
        .rows_where("format", "mixed-bf16")
        .map(|r| r.get("op").to_string())
        .filter(|op| op.starts_with("cast."))
        .collect();
    for op in [
        "cast.dense1.weight",
        "cast.dense2.bias",
        "cast.output",
        "cast.output_grad",
        "cast.dense1.weight_grad",
    ] {
        assert!(casts.iter().any(|c| c == op), "{op} in {casts:?}");
    }
}

#[test]
fn refused_lane_and_scaling_flags_say_why() {
    for (args, says) in [
        (vec!["--formats", "mixed-f32"], "f16 or bf16"),
        (vec!["--loss-scale", "sometimes"], "--loss-scale"),
        (vec!["--loss-scale", "static:0"], "finite number > 0"),
        (vec!["--scale-init", "8"], "only a dynamic loss scale"),
        (
            vec!["--loss-scale", "dynamic", "--scale-backoff", "2"],
            "--scale-backoff",
        ),
        (vec!["--policy", "half"], "--policy"),
    ] {
        let out = run(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn mixed_job_snapshots() {
    let audit = relative_job("dynamic");
    audit.assert_ok();
    let command = audit.command();
    snapshot("mixed__report", &command, &audit.outcome.stdout);
    snapshot("mixed__summary_csv", &command, audit.file("summary.csv"));
    snapshot(
        "mixed__steps_csv_excerpt",
        &command,
        &steps_excerpt(audit.file("steps.csv"), 30),
    );
}

#[test]
fn json_carries_every_step_as_steps_csv_does() {
    let audit = Audit::run(&[
        "--loss",
        "relative",
        "--formats",
        "mixed-f16",
        "--loss-scale",
        "dynamic",
        "--epochs",
        "3",
        "--output",
        "json",
    ]);
    audit.assert_ok();
    let json: serde_json::Value = serde_json::from_str(&audit.outcome.stdout).expect("JSON");
    let rows = json["steps"].as_array().expect("a steps array");
    let steps = audit.table("steps.csv");
    assert_eq!(rows.len(), steps.records.len());
    for (row, csv) in rows.iter().zip(steps.rows()) {
        assert_eq!(row["step"].as_u64().unwrap().to_string(), csv.get("step"));
        assert_eq!(row["loss_scale"].as_f64().unwrap(), csv.f64("loss_scale"));
        assert_eq!(
            row["skipped"].as_bool().unwrap(),
            csv.get("skipped") == "true"
        );
    }
}
