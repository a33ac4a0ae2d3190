//! `--blame`: promotion reruns name the op groups that make a lane drift, on data sets built
//! with a known cause, and the remedy they print brings the lane within the seed noise.

use crate::support::{CsvRun, Scratch, Table, run};

/// A data set of 200 rows of three features uniform in (−1, 1) and a target uniform in
/// (0, `scale`), from a fixed linear congruential generator (the same bytes on every machine).
fn data(tag: &str, scale: f64) -> (Scratch, String) {
    let dir = Scratch::dir(tag);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("x1,x2,x3,y\n");
    for _ in 0..200 {
        let x: Vec<String> = (0..3)
            .map(|_| format!("{:.6}", 2.0 * uniform() - 1.0))
            .collect();
        text.push_str(&format!("{},{:.6e}\n", x.join(","), uniform() * scale));
    }
    let path = dir.join("data.csv");
    std::fs::write(&path, text).expect("the data set is written");
    let arg = path.to_string_lossy().into_owned();
    (dir, arg)
}

/// The verdict line of `lane` in a blame report.
fn verdict<'a>(stdout: &'a str, lane: &str) -> &'a str {
    let prefix = format!("  {lane}: ");
    stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a verdict for {lane} in\n{stdout}"))
}

/// `--blame` of the f16 lane on `data`, as blame.csv printed by `--output csv`.
fn f16_blame(data: &str) -> Table {
    let out = run(&[
        "--data",
        data,
        "--formats",
        "f16",
        "--blame",
        "--output",
        "csv",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    Table::parse("blame.csv", &out.stdout)
}

/// The groups of `lane` in blame.csv, in the report's order.
fn groups(table: &Table, lane: &str) -> Vec<(String, bool)> {
    table
        .rows_where("format", lane)
        .filter(|r| r.get("kind") == "group")
        .map(|r| (r.get("group").to_string(), r.get("in_remedy") == "true"))
        .collect()
}

#[test]
fn lost_updates_in_bf16_are_blamed_on_opt_update_and_f32_weights_fix_them() {
    // The first example of issue 19: a linear model, y uniform in (0, 1), MSE, lr = 1e-4. Most
    // updates are below half an ulp of a bf16 weight and are lost.
    let (_dir, data) = data("blame-bf16", 1.0);
    let args = [
        "--data",
        &data,
        "--layers",
        "",
        "--lr",
        "0.0001",
        "--formats",
        "bf16",
        "--blame",
    ];
    let csv = CsvRun::new("blame-bf16", &args);
    assert_eq!(csv.outcome.code, Some(0), "{}", csv.outcome.stderr);
    let table = csv.table("blame.csv");
    let lane = table.row_matching(&[("format", "bf16"), ("kind", "lane")]);
    assert!(
        lane.f64("loss_drift") > 1e-2,
        "bf16 drifts: {}",
        lane.get("loss_drift")
    );
    // opt.update alone removes most of the drift, more than any other group, and is first.
    let ranked = groups(&table, "bf16");
    assert_eq!(ranked[0].0, "opt.update", "{ranked:?}");
    let update = table.row_matching(&[("format", "bf16"), ("group", "opt.update")]);
    assert!(
        update.f64("loss_share") > 0.9,
        "{}",
        update.get("loss_share")
    );
    let others = table
        .rows_where("format", "bf16")
        .filter(|r| r.get("kind") == "group" && r.get("group") != "opt.update");
    for row in others {
        assert!(
            row.f64("loss_share") < 0.1,
            "{}: {}",
            row.get("group"),
            row.get("loss_share")
        );
    }
    // The remedy's run is within the noise the report states, and the remedy keeps opt.update.
    let remedy = table.row_matching(&[("format", "bf16"), ("kind", "remedy")]);
    assert!(remedy.get("group").split(' ').any(|g| g == "opt.update"));
    let stdout = &csv.outcome.stdout;
    let noise: f64 = stdout
        .split("seed noise: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the report states the noise");
    assert!(
        remedy.f64("loss_drift") <= noise * 1.001,
        "{} > {noise}",
        remedy.get("loss_drift")
    );
    assert!(lane.f64("loss_drift") > noise);
    let line = verdict(stdout, "bf16");
    assert!(
        line.contains("largest single cause is `opt.update`"),
        "{line}"
    );
    assert!(
        line.contains("keep `opt.update`") && line.contains("within noise"),
        "{line}"
    );
}

#[test]
fn an_underflowing_adam_second_moment_is_the_f16_remedy() {
    // The second example: targets of order 1e-4, MSE, f16. The squared gradient underflows in
    // opt.adam.v, the update divides by the Adam eps, the weights explode: inf at step 2.
    let (_dir, data) = data("blame-adam-v", 1e-4);
    let table = f16_blame(&data);
    let lane = table.row_matching(&[("format", "f16"), ("kind", "lane")]);
    assert_eq!(lane.get("first_nonfinite_step"), "2");
    let ranked = groups(&table, "f16");
    assert_eq!(ranked[0], ("opt.adam.v".to_string(), true), "{ranked:?}");
    let remedy = table.row_matching(&[("format", "f16"), ("kind", "remedy")]);
    assert_eq!(
        remedy.get("first_nonfinite_step"),
        "",
        "the remedy keeps the lane finite"
    );
}

#[test]
fn an_overflowing_square_is_in_the_f16_remedy() {
    // The third example: targets of order 1e3, MSE, f16: loss.square overflows at step 1.
    let (_dir, data) = data("blame-square", 1e3);
    let table = f16_blame(&data);
    let ranked = groups(&table, "f16");
    let remedy: Vec<&str> = ranked
        .iter()
        .filter(|g| g.1)
        .map(|g| g.0.as_str())
        .collect();
    assert!(remedy.contains(&"loss.square"), "{remedy:?}");
    assert_eq!(ranked[0].0, "loss.square", "{ranked:?}");
}

#[test]
fn blame_is_the_same_for_any_thread_count_and_groups_by_layer() {
    let (_dir, data) = data("blame-threads", 1.0);
    let base = [
        "--data",
        &data,
        "--layers",
        "4",
        "--epochs",
        "3",
        "--formats",
        "bf16,f32,f64",
        "--blame",
        "--blame-groups",
        "layer",
    ];
    let one = CsvRun::new("blame-t1", &[&base[..], &["--threads", "1"]].concat());
    let two = CsvRun::new("blame-t2", &[&base[..], &["--threads", "2"]].concat());
    assert_eq!(one.outcome.code, Some(0), "{}", one.outcome.stderr);
    assert_eq!(one.file("blame.csv"), two.file("blame.csv"));
    let table = one.table("blame.csv");
    let ranked: Vec<String> = groups(&table, "bf16").into_iter().map(|g| g.0).collect();
    for group in [
        "fwd.dense1.*",
        "bwd.dense2.*",
        "loss.*",
        "bwd.loss.*",
        "opt.*",
        "data.*",
    ] {
        assert!(ranked.iter().any(|g| g == group), "{group} in {ranked:?}");
    }
    // f32 is promoted to f64; f64 has nothing wider and is said so.
    let f32 = table.row_matching(&[("format", "f32"), ("kind", "lane")]);
    assert_eq!(f32.get("promoted_to"), "f64");
    assert!(table.rows_where("format", "f64").next().is_none());
    assert!(
        one.outcome
            .stdout
            .contains("f64: not blamed: no format wider than f64"),
        "{}",
        one.outcome.stdout
    );
}

#[test]
fn blame_flags_are_checked() {
    for (args, needle) in [
        (vec!["--blame", "--blame-groups", "ops"], "--blame-groups"),
        (vec!["--blame-seeds", "3"], "--blame"),
        (vec!["--blame", "--seeds", "2"], "--seeds"),
        (vec!["--blame", "--blame-seeds", "1"], "--blame-seeds"),
    ] {
        let out = run(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn a_promoted_lane_applies_a_remedy_in_an_audit() {
    let (_dir, data) = data("promoted", 1.0);
    let common = ["--data", &data, "--layers", "", "--lr", "0.0001"];
    let blame = run(&[
        &common[..],
        &["--formats", "bf16", "--blame", "--output", "csv"],
    ]
    .concat());
    assert_eq!(blame.code, Some(0), "{}", blame.stderr);
    let blame = Table::parse("blame.csv", &blame.stdout);
    let update = blame.row_matching(&[("format", "bf16"), ("group", "opt.update")]);
    let audit = CsvRun::new(
        "promoted",
        &[
            &common[..],
            &["--formats", "bf16,promoted-bf16", "--promote", "opt.update"],
        ]
        .concat(),
    );
    assert_eq!(audit.outcome.code, Some(0), "{}", audit.outcome.stderr);
    let summary = audit.table("summary.csv");
    let promoted = summary.row_where("format", "promoted-bf16");
    // The audit's promoted lane is blame's run of opt.update: the same final parameters.
    assert_eq!(promoted.get("param_rel_drift"), update.get("param_drift"));
    let pure = summary.row_where("format", "bf16");
    assert!(promoted.f64("param_rel_drift") < pure.f64("param_rel_drift") / 10.0);
}

#[test]
fn a_promotion_that_matches_no_op_is_the_pure_lane_op_by_op() {
    // The audit sees a promoted lane's ops through its per-op formats: with nothing promoted,
    // every measurement is the pure lane's, to the last digit.
    let args = [
        "--formats",
        "bf16,promoted-bf16",
        "--promote",
        "no.such.op",
        "--epochs",
        "5",
        "--dropout",
        "0.2",
        "--layers",
        "6,4",
        "--activation",
        "tanh",
    ];
    let audit = CsvRun::new("promoted-none", &args);
    assert_eq!(audit.outcome.code, Some(0), "{}", audit.outcome.stderr);
    for file in [
        "ops.csv",
        "summary.csv",
        "steps.csv",
        "events.csv",
        "exponents.csv",
    ] {
        let text = audit.file(file);
        let mut lines = text.lines();
        let _header = lines.next();
        let (promoted, pure): (Vec<&str>, Vec<&str>) =
            lines.partition(|l| l.starts_with("promoted-bf16,"));
        let promoted: Vec<String> = promoted
            .iter()
            .map(|l| l.replacen("promoted-bf16,", "bf16,", 1))
            .collect();
        let pure: Vec<&str> = pure
            .into_iter()
            .filter(|l| l.starts_with("bf16,"))
            .collect();
        assert!(!pure.is_empty(), "{file} has bf16 rows");
        assert_eq!(promoted, pure, "{file}");
    }
}

#[test]
fn promotion_flags_are_checked() {
    for (args, needle) in [
        (vec!["--promote", "opt.update"], "no lane is promoted"),
        (vec!["--formats", "promoted-bf16"], "--promote LIST"),
        (
            vec!["--formats", "promoted-f64", "--promote", "opt.*"],
            "no format wider than f64",
        ),
        (
            vec![
                "--formats",
                "promoted-f16",
                "--promote",
                "opt.update,,loss.*",
            ],
            "--promote",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
    }
}
