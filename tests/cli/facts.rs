//! The findings the audit exists to report, asserted from its CSV and JSON output: what f16 and
//! bf16 make of eps = 1e-8, where f16 breaks, how close f64 stays, how far the reference agrees
//! with itself; `round` and `formats`; determinism; `--fail-on`; input files honoured.

use std::collections::BTreeMap;

use crate::common::{Audit, default_job, fixture};
use crate::support::{DEFAULT_JOB, FORMATS, Table, prec, run};

// ---- the default job: --loss relative --eps 1e-8 ----

#[test]
fn f16_stores_eps_1e_8_as_zero() {
    let constants = default_job().assert_ok().table("constants.csv");
    let eps = constants.row_matching(&[("format", "f16"), ("constant", "eps")]);
    assert_eq!(eps.get("given"), "1e-8");
    assert_eq!(eps.f64("stored"), 0.0, "1e-8 is below half f16's 2^-24");
    assert_eq!(eps.get("class"), "zero");
    assert_eq!(eps.f64("rel_error"), 1.0, "all of eps is lost");
    // With eps gone, a target that f16 stores as 0 leaves the denominator |y| + eps at zero:
    // the zero targets of the built-in data set and those up to half the smallest subnormal,
    // 2^-25 (the tie goes to the even 0).
    let data = default_job().table("data.csv");
    let targets: Vec<f64> = data.rows().map(|r| r.f64("y")).collect();
    let zero = targets.iter().filter(|y| **y == 0.0).count() as u64;
    let f16_zero = targets.iter().filter(|y| y.abs() <= 2f64.powi(-25)).count() as u64;
    assert!(
        0 < zero && zero < f16_zero,
        "some targets are 0, more are 0 in f16"
    );
    assert_eq!(eps.u64("zero_denominators"), f16_zero);
    assert_eq!(eps.f64("eps_lost_share"), 1.0, "adding 0 never changes |y|");
}

#[test]
fn bf16_stores_eps_1e_8_as_a_near_neighbour() {
    let constants = default_job().assert_ok().table("constants.csv");
    let eps = constants.row_matching(&[("format", "bf16"), ("constant", "eps")]);
    assert_eq!(eps.get("stored"), "1.0011717677116394e-08");
    assert_eq!(eps.f64("stored"), 1.0011717677116394e-08);
    assert_eq!(eps.get("class"), "normal", "bf16 has f32's exponent range");
    assert_eq!(eps.u64("zero_denominators"), 0);
    for format in ["bf16", "f32", "f64"] {
        let row = constants.row_matching(&[("format", format), ("constant", "eps")]);
        assert!(row.f64("stored") > 0.0, "{format} keeps eps");
    }
}

#[test]
fn f16_denominator_underflows_and_the_division_is_by_zero() {
    let ops = default_job().assert_ok().table("ops.csv");
    let denominator = ops.row_matching(&[("format", "f16"), ("op", "loss.denominator")]);
    assert!(denominator.u64("underflow") > 0, "|y| + eps underflows");
    let div = ops.row_matching(&[("format", "f16"), ("op", "loss.div")]);
    assert!(div.u64("div_by_zero") > 0, "|y − p| / 0");
    // The wider formats keep eps, so no denominator is zero.
    for format in ["bf16", "f32", "f64"] {
        let div = ops.row_matching(&[("format", format), ("op", "loss.div")]);
        assert_eq!(div.u64("div_by_zero"), 0, "{format} divides by eps, not 0");
        let denominator = ops.row_matching(&[("format", format), ("op", "loss.denominator")]);
        assert_eq!(denominator.u64("underflow"), 0, "{format}");
    }
}

#[test]
fn f16_loss_is_not_finite_from_step_1() {
    let job = default_job().assert_ok();
    let summary = job.table("summary.csv");
    let f16 = summary.row_matching(&[("format", "f16")]);
    assert_eq!(f16.u64("first_nonfinite_step"), 1);
    assert!(!f16.f64("final_loss").is_finite());
    let steps = job.table("steps.csv");
    let step1 = steps.row_matching(&[("format", "f16"), ("step", "1")]);
    assert!(!step1.f64("loss").is_finite(), "f16's step-1 loss");
    assert!(step1.f64("reference_loss").is_finite(), "the reference's");
    for format in ["bf16", "f32", "f64"] {
        let row = summary.row_matching(&[("format", format)]);
        assert_eq!(row.get("first_nonfinite_step"), "", "{format} stays finite");
        assert!(row.f64("final_loss").is_finite(), "{format}");
    }
}

#[test]
fn f64_final_loss_drift_is_tiny_and_narrower_formats_drift_more() {
    let summary = default_job().assert_ok().table("summary.csv");
    let drift = |format: &str| {
        summary
            .row_matching(&[("format", format)])
            .f64("loss_rel_drift")
    };
    assert!(
        drift("f64") < prec::F64_FINAL_DRIFT_MAX,
        "f64 drift {} < {}",
        drift("f64"),
        prec::F64_FINAL_DRIFT_MAX
    );
    assert!(drift("f64") < drift("f32"), "f32 drifts more than f64");
    assert!(drift("f32") < drift("bf16"), "bf16 drifts more than f32");
}

#[test]
fn verify_reference_agrees_to_many_more_digits_than_f64() {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--verify-reference", "--output", "json"]);
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    let check = &json["reference_check"];
    assert_eq!(check["bits"], 113, "{check}");
    assert_eq!(check["check_bits"], 226, "twice the bits");
    let loss = check["max_loss_rel_diff"].as_f64().expect("a number");
    let params = check["param_rel_diff"].as_f64().expect("a number");
    let f64_lane = json["formats"]
        .as_array()
        .expect("formats")
        .iter()
        .find(|f| {
            f["format"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("f64"))
        })
        .expect("an f64 lane");
    let f64_drift = f64_lane["max_rel_drift"].as_f64().expect("a number");
    assert!(
        loss < prec::REFERENCE_SELF_AGREEMENT_MAX && params < prec::REFERENCE_SELF_AGREEMENT_MAX,
        "113 against 226 bits: loss {loss:e}, parameters {params:e}"
    );
    assert!(
        loss < f64_drift * prec::REFERENCE_SELF_AGREEMENT_PER_F64_DRIFT,
        "the reference agrees with itself ({loss:e}) far better than f64 with it ({f64_drift:e})"
    );
}

#[test]
fn verify_reference_is_reported_in_the_table() {
    let mut args = DEFAULT_JOB.to_vec();
    args.push("--verify-reference");
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Reference check:"))
        .expect("a reference check line");
    let digits: f64 = line
        .split(" agree to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("digits in `{line}`"));
    assert!(digits >= 25.0, "{line}");
    assert!(line.contains("113 bits against 226 bits"), "{line}");
    // Without the flag there is no such line: the check costs a second reference run.
    assert!(!default_job().outcome.stdout.contains("Reference check:"));
}

#[test]
fn output_csv_is_summary_csv() {
    let out = run(&DEFAULT_JOB);
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--output", "csv"]);
    let csv_out = run(&args);
    assert_eq!(csv_out.code, Some(0), "{}", csv_out.stderr);
    assert_eq!(csv_out.stdout, default_job().file("summary.csv"));
    assert_eq!(
        out.stdout,
        default_job().outcome.stdout,
        "same report twice"
    );
}

// ---- round and formats ----

#[test]
fn round_stores_what_each_format_can() {
    let out = run(&["round", "1e-8", "0.1", "65520", "--output", "csv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let table = Table::parse("round", &out.stdout);
    let cell =
        |value: &str, format: &str| table.row_matching(&[("value", value), ("format", format)]);

    let f16_eps = cell("1e-8", "f16");
    assert_eq!(f16_eps.f64("stored"), 0.0);
    assert_eq!(f16_eps.get("underflow"), "true");
    assert_eq!(f16_eps.get("class"), "zero");
    assert_eq!(cell("0.1", "f16").f64("stored"), 0.0999755859375);
    let f16_big = cell("65520", "f16");
    assert_eq!(
        f16_big.f64("stored"),
        f64::INFINITY,
        "65520 is f16's tie to inf"
    );
    assert_eq!(f16_big.get("overflow"), "true");

    assert_eq!(cell("1e-8", "bf16").f64("stored"), 1.0011717677116394e-08);
    assert_eq!(cell("0.1", "bf16").f64("stored"), 0.10009765625);
    let bf16_big = cell("65520", "bf16");
    assert_eq!(bf16_big.f64("stored"), 65536.0);
    assert_eq!(bf16_big.get("overflow"), "false");

    assert_eq!(cell("65520", "f32").f64("rel_error"), 0.0, "exact in f32");
    assert_eq!(cell("0.1", "f64").f64("stored"), 0.1);
    assert_eq!(table.records.len(), 3 * FORMATS.len());
}

#[test]
fn formats_lists_precision_and_range() {
    let out = run(&["formats", "--output", "csv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let table = Table::parse("formats", &out.stdout);
    let f16 = table.row_matching(&[("format", "f16")]);
    assert_eq!(f16.u64("precision_bits"), 11);
    assert_eq!(f16.f64("max_finite"), 65504.0);
    assert_eq!(f16.f64("min_subnormal"), 2f64.powi(-24));
    assert_eq!(f16.f64("min_normal"), 2f64.powi(-14));
    assert_eq!(f16.f64("unit_roundoff"), 2f64.powi(-11));
    let bf16 = table.row_matching(&[("format", "bf16")]);
    assert_eq!(bf16.u64("precision_bits"), 8);
    assert_eq!(bf16.f64("min_subnormal"), 2f64.powi(-133));
    assert_eq!(bf16.f64("min_normal"), f32::MIN_POSITIVE as f64);
    assert_eq!(
        bf16.f64("max_finite"),
        (2.0 - 2f64.powi(-7)) * 2f64.powi(127)
    );
    let f32 = table.row_matching(&[("format", "f32")]);
    assert_eq!(f32.u64("precision_bits"), 24);
    assert_eq!(f32.f64("max_finite"), f32::MAX as f64);
    let f64 = table.row_matching(&[("format", "f64")]);
    assert_eq!(f64.u64("precision_bits"), 53);
    assert_eq!(f64.f64("min_subnormal"), 5e-324);

    let table = run(&["formats"]).stdout;
    assert!(
        table.contains("(2^-24)"),
        "f16's smallest subnormal as a power of two"
    );
    assert!(table.contains("(2^-133)"), "bf16's");
}

#[test]
fn round_and_formats_take_narrow_formats_and_an_overflow_rule() {
    let cell = |args: &[&str], value: &str, format: &str| {
        let out = run(&[&["round", "--output", "csv"], args].concat());
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let table = Table::parse("round", &out.stdout);
        let row = table.row_matching(&[("value", value), ("format", format)]);
        (row.f64("stored"), row.get("overflow").to_string())
    };
    let both = ["--formats", "e4m3,e5m2", "1e-8", "464", "480"];
    assert_eq!(cell(&both, "1e-8", "e4m3").0, 0.0, "underflow");
    assert_eq!(cell(&both, "464", "e4m3").0, 448.0, "ties to the even 448");
    assert!(
        cell(&both, "480", "e4m3").0.is_nan(),
        "e4m3 overflows to NaN"
    );
    assert_eq!(cell(&both, "480", "e5m2").0, 512.0);
    let saturated = cell(
        &[&both[..], &["--overflow", "saturate"]].concat(),
        "480",
        "e4m3",
    );
    assert_eq!(saturated, (448.0, "true".to_string()));
    assert_eq!(
        cell(&["--formats", "e6m9", "0.1"], "0.1", "e6m9").0,
        0.0999755859375
    );

    let refused = run(&["round", "1", "--formats", "e2m1", "--overflow", "nan"]);
    assert_eq!(refused.code, Some(2));
    assert!(
        refused.stderr.contains("e2m1 has no NaN"),
        "{}",
        refused.stderr
    );
    let unknown = run(&["round", "1", "--formats", "e12m3"]);
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr.contains("eXmY"), "{}", unknown.stderr);

    let out = run(&["formats", "--formats", "e4m3,e5m7", "--output", "csv"]);
    let table = Table::parse("formats", &out.stdout);
    assert_eq!(
        table.row_matching(&[("format", "e4m3")]).f64("max_finite"),
        448.0
    );
    let e5m7 = table.row_matching(&[("format", "e5m7")]);
    assert_eq!(
        (e5m7.u64("precision_bits"), e5m7.f64("max_finite")),
        (8, 65280.0)
    );
    let text = run(&["formats"]).stdout;
    assert!(
        text.contains("no inf; NaN S.1111.111"),
        "e4m3's NaN encoding"
    );
}

#[test]
fn narrow_lanes_train_and_find_what_their_formats_lose() {
    let job = Audit::run(&[
        "--formats",
        "tf32,e4m3",
        "--loss",
        "relative",
        "--epochs",
        "2",
        "--optimizer",
        "sgd",
    ]);
    let constants = job.assert_ok().table("constants.csv");
    // eps = 1e-8 is far below e4m3's smallest subnormal 2^-9; tf32 has f32's range.
    let e4m3 = constants.row_matching(&[("format", "e4m3"), ("constant", "eps")]);
    assert_eq!((e4m3.f64("stored"), e4m3.get("class")), (0.0, "zero"));
    let tf32 = constants.row_matching(&[("format", "tf32"), ("constant", "eps")]);
    assert_eq!(tf32.f64("stored"), 9.997165761888027e-9);
    let summary = job.table("summary.csv");
    let tf32 = summary.row_matching(&[("format", "tf32")]);
    assert!(
        tf32.f64("final_loss").is_finite(),
        "tf32 trains the default job"
    );

    // Past 464, e4m3 stores NaN: an overflow, not a NaN from NaN-free inputs.
    let blown = Audit::run(&[
        "--formats",
        "e4m3",
        "--epochs",
        "3",
        "--lr",
        "200",
        "--optimizer",
        "sgd",
    ]);
    let summary = blown.assert_ok().table("summary.csv");
    let e4m3 = summary.row_matching(&[("format", "e4m3")]);
    assert!(e4m3.u64("overflow") > 0 && e4m3.u64("nan") == 0);
    assert!(e4m3.f64("final_loss").is_nan());
}

// ---- determinism ----

#[test]
fn the_same_command_twice_writes_identical_files() {
    let again = Audit::run(&DEFAULT_JOB);
    again.assert_ok();
    let first = default_job().assert_ok();
    assert_eq!(
        again.files.keys().collect::<Vec<_>>(),
        first.files.keys().collect::<Vec<_>>()
    );
    for (name, text) in &first.files {
        assert!(
            again.files[name] == *text,
            "{name} differs between two runs"
        );
    }
    assert_eq!(again.outcome.stdout, first.outcome.stdout);
}

#[test]
fn thread_count_changes_no_byte() {
    let files = |threads: &str| -> BTreeMap<String, Vec<u8>> {
        let mut args = DEFAULT_JOB.to_vec();
        args.extend(["--epochs", "10", "--threads", threads]);
        let audit = Audit::run(&args);
        audit.assert_ok();
        audit.files
    };
    let one = files("1");
    let two = files("2");
    let five = files("5");
    assert_eq!(
        one.len(),
        25,
        "19 CSV files (manifest.csv included) and 6 safetensors files"
    );
    for (name, text) in &one {
        assert!(two[name] == *text, "{name}: --threads 1 and 2 differ");
        assert!(five[name] == *text, "{name}: --threads 1 and 5 differ");
    }
}

// ---- --fail-on ----

#[test]
fn fail_on_nan_fails_when_f16_produces_nan() {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--fail-on", "nan"]);
    let out = run(&args);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("--fail-on"), "{}", out.stderr);
    assert!(
        out.stderr.contains("f16"),
        "names the format: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("bf16"),
        "only f16 has NaN: {}",
        out.stderr
    );
    assert_eq!(
        out.stdout,
        default_job().outcome.stdout,
        "the report is still printed"
    );
}

#[test]
fn fail_on_nan_passes_without_f16() {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--fail-on", "nan", "--formats", "bf16,f32,f64"]);
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn fail_on_drift_names_the_formats_over_the_limit() {
    let summary = default_job().table("summary.csv");
    let f32_drift = summary
        .row_matching(&[("format", "f32")])
        .f64("loss_rel_drift");
    let f64_drift = summary
        .row_matching(&[("format", "f64")])
        .f64("loss_rel_drift");
    assert!(f64_drift < 1e-12 && 1e-12 < f32_drift);
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--formats", "f32,f64", "--fail-on", "drift=1e-12"]);
    let out = run(&args);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("f32"), "{}", out.stderr);
    assert!(!out.stderr.contains("f64"), "{}", out.stderr);

    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--formats", "f32,f64", "--fail-on", "drift=1e-3"]);
    assert_eq!(run(&args).code, Some(0));
}

// ---- input files ----

#[test]
fn init_params_are_the_initial_parameters() {
    let params = fixture("params-2-3-1.csv");
    let audit = Audit::run(&["--init-params", &params, "--layers", "3", "--epochs", "1"]);
    audit.assert_ok();
    let by_key = |table: &Table| -> BTreeMap<(u64, String, u64, u64), f64> {
        table
            .rows()
            .map(|r| {
                (
                    (
                        r.u64("layer"),
                        r.get("tensor").to_string(),
                        r.u64("row"),
                        r.u64("column"),
                    ),
                    r.f64("value"),
                )
            })
            .collect()
    };
    let given =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&params))
            .expect("fixture");
    let given = by_key(&Table::parse(&params, &given));
    assert_eq!(given.len(), 13, "2×3 + 3 + 3×1 + 1 parameters");
    assert_eq!(by_key(&audit.table("params_initial.csv")), given);
}

#[test]
fn a_data_file_is_used_as_given() {
    let data = fixture("tiny.csv");
    let audit = Audit::run(&[
        "--data",
        &data,
        "--loss",
        "relative",
        "--epochs",
        "2",
        "--batch-size",
        "2",
    ]);
    audit.assert_ok();
    let written = audit.table("data.csv");
    assert_eq!(written.header, ["x1", "x2", "y"]);
    let targets: Vec<f64> = written.rows().map(|r| r.f64("y")).collect();
    assert_eq!(targets, [0.75, 0.0001875, 0.0, 1e-9]);
    let summary = audit.table("summary.csv");
    assert_eq!(
        summary.row_matching(&[("format", "f64")]).u64("steps"),
        4,
        "2 epochs × 2 batches"
    );
    // In f16 both y = 0 and y = 1e-9 (below half of 2^-24) are 0, and eps = 1e-8 is 0 too.
    let constants = audit.table("constants.csv");
    let zero = |format: &str| {
        constants
            .row_matching(&[("format", format), ("constant", "eps")])
            .u64("zero_denominators")
    };
    assert_eq!(zero("f16"), 2);
    assert_eq!(zero("bf16"), 0);
    assert_eq!(
        constants
            .row_matching(&[("format", "f16"), ("constant", "eps")])
            .u64("targets"),
        4
    );
}

#[test]
fn a_single_format_audit_lists_only_it() {
    let audit = Audit::run(&["--formats", "bf16", "--epochs", "1"]);
    audit.assert_ok();
    let summary = audit.table("summary.csv");
    assert_eq!(summary.distinct("format"), ["bf16"]);
    assert!(audit.files.contains_key("params_bf16.csv"));
    assert!(!audit.files.contains_key("params_f16.csv"));
}

// ---- report wording against the numbers ----

/// When the loss goes non-finite, the verdict tells the chain from its origin to the op that
/// first stores inf or NaN: the chain's last link is the op events.csv gives for the first inf,
/// its head is the denominator that is the flushed eps, and chains.csv has the same links.
#[test]
fn verdict_names_the_op_where_non_finite_values_start() {
    let job = default_job().assert_ok();
    let events = job.table("events.csv");
    let first_inf = events.row_matching(&[("format", "f16"), ("kind", "inf")]);
    let verdict = job
        .outcome
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("f16:"))
        .expect("an f16 verdict");
    let chains = job.table("chains.csv");
    let links: Vec<_> = chains.rows_where("format", "f16").collect();
    assert_eq!(links.len(), 2, "{verdict}");
    assert_eq!(
        (
            links[0].get("op"),
            links[0].get("event"),
            links[0].get("constant")
        ),
        ("loss.denominator", "constant", "eps")
    );
    let last = links[links.len() - 1];
    assert_eq!(last.get("op"), first_inf.get("op"));
    assert_eq!(last.get("event"), "div_by_zero");
    let claim = format!(
        "the loss is inf at step 1 and NaN at the end, from loss.denominator = eps = 0 (step 1) → {} divides by zero (step 1)",
        first_inf.get("op")
    );
    assert!(verdict.contains(&claim), "`{verdict}` says `{claim}`");
}

/// eps only enters the relative loss, and the Adam eps only Adam: a run with neither must not
/// warn about them.
#[test]
fn verdict_warns_only_about_constants_in_use() {
    let out = run(&["--loss", "mse", "--optimizer", "sgd", "--epochs", "1"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let verdict = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("f16:"))
        .expect("an f16 verdict");
    assert!(!verdict.contains("eps"), "{verdict}");
    assert!(!verdict.contains("denominators"), "{verdict}");
}

/// The JSON output keeps what the CSV says: f16's final loss is NaN and its drift inf.
#[test]
fn json_keeps_non_finite_values_apart() {
    let mut args = DEFAULT_JOB.to_vec();
    args.extend(["--output", "json", "--epochs", "1"]);
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let f16 = &json["formats"][0];
    assert!(
        !f16["final_loss"].is_null(),
        "final_loss: {}",
        f16["final_loss"]
    );
    assert_eq!(f16["final_loss"], "nan", "{f16}");
    assert_eq!(
        f16["loss_rel_drift"], "nan",
        "a NaN loss drifts by NaN: {f16}"
    );
    assert_eq!(
        f16["max_rel_drift"], "inf",
        "the maximum counts NaN as inf: {f16}"
    );
}

/// Issue 12's attribution: with eps = 1e-8 the relative loss is about the rows whose target is
/// zero or tiny, and rows.csv and the verdict say so.
#[test]
fn the_relative_loss_is_carried_by_near_zero_targets_and_rows_csv_names_them() {
    let job = default_job();
    let rows = job.table("rows.csv");
    let f64_rows: Vec<_> = rows.rows_where("format", "f64").collect();
    assert_eq!(f64_rows.len(), 100, "one row per data row and lane");
    let zero = f64_rows
        .iter()
        .filter(|r| r.get("zero_target") == "true")
        .count();
    let small = f64_rows
        .iter()
        .filter(|r| r.get("small_target") == "true")
        .count();
    assert_eq!((zero, small), (13, 22));
    // A zero target's term is |p| / eps: above every ordinary row's.
    let term = |flag: &str| -> f64 {
        f64_rows
            .iter()
            .filter(|r| r.get(flag) == "true")
            .map(|r| r.f64("reference_term"))
            .fold(f64::INFINITY, f64::min)
    };
    let ordinary_max = f64_rows
        .iter()
        .filter(|r| r.get("zero_target") == "false" && r.get("small_target") == "false")
        .map(|r| r.f64("reference_term"))
        .fold(0.0, f64::max);
    assert!(
        term("zero_target") > ordinary_max,
        "{} vs {ordinary_max}",
        term("zero_target")
    );
    // f16 flushes eps to zero: its zero-target terms are not finite.
    assert!(
        rows.rows_where("format", "f16")
            .filter(|r| r.get("zero_target") == "true")
            .all(|r| r.get("nonfinite") == "true")
    );
    let verdict = job
        .outcome
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("rows: "));
    let verdict = verdict.expect("a line on the rows that carry the loss");
    assert!(verdict.contains("35 of 100 rows"), "{verdict}");
    assert!(
        verdict.contains("13 with y = 0, 22 with 0 < |y| < 10·eps"),
        "{verdict}"
    );
}
