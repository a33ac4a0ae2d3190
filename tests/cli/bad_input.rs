//! Bad input: each refusal exits 2 with one clear message on stderr that names the flag, file
//! or line at fault, prints no report, and leaves the `--csv` directory without a file (not
//! even a hidden temporary one).

use crate::common::fixture;
use crate::support::{Outcome, Scratch, entries, run};

/// Runs the audit with `args` and `--csv` pointing at an empty directory; asserts exit 2,
/// nothing on stdout, the directory still empty, and returns stderr.
pub(crate) fn refused(args: &[&str]) -> String {
    let dir = Scratch::dir("refused");
    let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    full.extend(["--csv".to_string(), dir.path.to_string_lossy().into_owned()]);
    let out = run(&full);
    assert_refused(&out, args);
    assert_eq!(
        entries(&dir.path),
        Vec::<String>::new(),
        "`{}` leaves no file in the --csv directory",
        args.join(" ")
    );
    out.stderr
}

fn assert_refused(out: &Outcome, args: &[&str]) {
    assert_eq!(
        out.code,
        Some(2),
        "`{}` exits 2; stderr: {}",
        args.join(" "),
        out.stderr
    );
    assert_eq!(out.stdout, "", "`{}` prints no report", args.join(" "));
    assert!(
        out.stderr.contains("error"),
        "`{}` says it is an error: {}",
        args.join(" "),
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "a refusal, not a crash: {}",
        out.stderr
    );
}

fn assert_mentions(stderr: &str, parts: &[&str]) {
    for part in parts {
        assert!(stderr.contains(part), "stderr names `{part}`: {stderr}");
    }
}

#[test]
fn unknown_format() {
    let stderr = refused(&["--formats", "f17"]);
    assert_mentions(&stderr, &["--formats", "f17", "f16, bf16, f32, f64"]);
}

#[test]
fn negative_eps() {
    let stderr = refused(&["--loss", "relative", "--eps", "-1"]);
    assert_mentions(&stderr, &["--eps", "-1", "≥ 0"]);
}

#[test]
fn eps_that_is_not_a_number() {
    let stderr = refused(&["--eps", "1e-8x"]);
    assert_mentions(&stderr, &["--eps", "`1e-8x` is not a number"]);
}

#[test]
fn zero_batch_size() {
    let stderr = refused(&["--batch-size", "0"]);
    assert_mentions(&stderr, &["--batch-size", "at least 1"]);
}

#[test]
fn zero_epochs() {
    let stderr = refused(&["--epochs", "0"]);
    assert_mentions(&stderr, &["--epochs", "at least 1"]);
}

#[test]
fn dropout_of_one() {
    let stderr = refused(&["--dropout", "1"]);
    assert_mentions(&stderr, &["--dropout", "[0, 1)", "got 1"]);
}

#[test]
fn zero_width_layer() {
    let stderr = refused(&["--layers", "10,0"]);
    assert_mentions(&stderr, &["--layers", "`0`"]);
}

#[test]
fn unknown_loss() {
    let stderr = refused(&["--loss", "hinge"]);
    assert_mentions(&stderr, &["--loss", "hinge", "mse, mae, relative, huber"]);
}

/// Each refusal of a loss expression names the flag and points at the column at fault.
#[test]
fn bad_loss_expressions_point_at_their_column() {
    for (expression, consts, column, what) in [
        (
            "abs(y - p) / cosh(y)",
            &[][..],
            14,
            "unknown function `cosh`",
        ),
        ("abs(y - p / (abs(y) + 1)", &[], 4, "unbalanced `(`"),
        ("abs(y - p))", &[], 11, "unbalanced `)`"),
        (
            "abs(y - p) / (abs(y) + delta)",
            &[],
            24,
            "unknown constant `delta`",
        ),
        (
            "abs(y - p) / (abs(y) + delta)",
            &["--const", "eps=1"],
            24,
            "unknown constant `delta`",
        ),
        ("p^2", &[], 1, "`y` (the target) does not appear"),
        ("(y - 1)^2", &[], 1, "`p` (the prediction) does not appear"),
        ("(p - y)^0.5", &[], 9, "an exponent is an integer"),
    ] {
        let mut args = vec!["--loss-expr", expression];
        args.extend_from_slice(consts);
        let stderr = refused(&args);
        assert_mentions(
            &stderr,
            &[
                "precision-audit: error: --loss-expr:",
                what,
                &format!("at column {column}"),
            ],
        );
    }
}

#[test]
fn a_constant_the_loss_does_not_use_is_refused() {
    let stderr = refused(&["--loss", "mse", "--const", "delta=2"]);
    assert_mentions(&stderr, &["--const", "no constant `delta`"]);
    let stderr = refused(&["--loss", "huber", "--const", "2x=1"]);
    assert_mentions(&stderr, &["--const", "`2x` is not a constant's name"]);
}

#[test]
fn unknown_optimizer_and_activation() {
    let stderr = refused(&["--optimizer", "rmsprop"]);
    assert_mentions(&stderr, &["--optimizer", "rmsprop"]);
    let stderr = refused(&["--activation", "gelu"]);
    assert_mentions(&stderr, &["--activation", "gelu"]);
}

#[test]
fn unknown_update_rounding() {
    let stderr = refused(&["--update-rounding", "up"]);
    assert_mentions(
        &stderr,
        &["--update-rounding", "`up`", "nearest, stochastic or kahan"],
    );
}

#[test]
fn unknown_fail_on_condition() {
    let stderr = refused(&["--fail-on", "nan,typo"]);
    assert_mentions(&stderr, &["--fail-on", "typo"]);
    let stderr = refused(&["--fail-on", "drift=-1"]);
    assert_mentions(&stderr, &["--fail-on", "drift"]);
}

#[test]
fn reference_bits_out_of_range() {
    let stderr = refused(&["--reference-bits", "10"]);
    assert_mentions(&stderr, &["--reference-bits", "10"]);
}

#[test]
fn ragged_data_file() {
    let path = fixture("ragged.csv");
    let stderr = refused(&["--data", &path]);
    // Line 4 is `1,0`: two fields under a three-column header.
    assert_mentions(&stderr, &[&path, "line 4", "3 fields", "found 2"]);
}

#[test]
fn non_numeric_data_file() {
    let path = fixture("nonnumeric.csv");
    let stderr = refused(&["--data", &path]);
    assert_mentions(&stderr, &[&path, "line 3", "column x2", "`abc`"]);
}

#[test]
fn nan_in_data_file() {
    let path = fixture("nan.csv");
    let stderr = refused(&["--data", &path]);
    assert_mentions(&stderr, &[&path, "line 3", "column y", "NaN", "finite"]);
}

#[test]
fn missing_data_file() {
    let path = "fixtures/data/missing.csv";
    assert!(
        !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(path)
            .exists()
    );
    let stderr = refused(&["--data", path]);
    assert_mentions(&stderr, &[path, "No such file"]);
}

#[test]
fn unknown_target_column() {
    let path = fixture("tiny.csv");
    let stderr = refused(&["--data", &path, "--target", "z"]);
    assert_mentions(&stderr, &[&path, "`z`", "x1, x2, y"]);
}

#[test]
fn init_params_of_the_wrong_shape() {
    let path = fixture("params-2-3-1.csv");
    let stderr = refused(&["--init-params", &path, "--layers", "4"]);
    // What is wrong, tensor by tensor.
    assert_mentions(
        &stderr,
        &["[2, 3, 1]", "[2, 4, 1]", "layer 1 weight is 2×3"],
    );
}

#[test]
fn init_params_of_the_wrong_shape_names_the_file() {
    let path = fixture("params-2-3-1.csv");
    let stderr = refused(&["--init-params", &path, "--layers", "4"]);
    assert_mentions(&stderr, &["params-2-3-1.csv"]);
}

#[test]
fn init_params_that_are_not_a_parameter_file() {
    let path = fixture("tiny.csv");
    let stderr = refused(&["--init-params", &path]);
    assert_mentions(&stderr, &[&path, "line 1", "layer,tensor,row,column,value"]);
}

#[test]
fn csv_directory_under_a_regular_file() {
    // Root ignores permission bits, so the directory is made impossible instead: its parent is
    // a regular file.
    let file = Scratch::path("regular-file");
    std::fs::write(&file.path, "not a directory\n").expect("a regular file");
    let dir = file.path.join("out");
    let dir_text = dir.to_string_lossy().into_owned();
    let args = ["--epochs", "1", "--csv", &dir_text];
    let out = run(&args);
    assert_refused(&out, &args);
    assert_mentions(&out.stderr, &[&dir_text, "Not a directory"]);
    assert_eq!(
        std::fs::read_to_string(&file.path).expect("still a file"),
        "not a directory\n"
    );
}

#[test]
fn csv_directory_that_is_a_regular_file() {
    let file = Scratch::path("csv-is-a-file");
    std::fs::write(&file.path, "keep\n").expect("a regular file");
    let path = file.path.to_string_lossy().into_owned();
    let args = ["--epochs", "1", "--csv", &path];
    let out = run(&args);
    assert_refused(&out, &args);
    assert_mentions(&out.stderr, &[&path]);
    assert_eq!(std::fs::read_to_string(&file.path).unwrap(), "keep\n");
}

/// A report file that cannot be put in place (a directory is in the way of `steps.csv`) fails
/// the run; the other files must not be left behind as a partial report.
#[test]
fn report_is_written_whole_or_not_at_all() {
    let dir = Scratch::dir("blocked");
    std::fs::create_dir(dir.join("steps.csv")).expect("a directory in the way");
    let path = dir.path.to_string_lossy().into_owned();
    let args = ["--epochs", "1", "--csv", &path];
    let out = run(&args);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_mentions(&out.stderr, &["steps.csv"]);
    assert_eq!(
        entries(&dir.path),
        ["steps.csv"],
        "only what was there before"
    );
}

#[test]
fn a_blocked_report_file_leaves_no_temporary_file() {
    let dir = Scratch::dir("blocked-tmp");
    std::fs::create_dir(dir.join("ops.csv")).expect("a directory in the way");
    let path = dir.path.to_string_lossy().into_owned();
    let out = run(&["--epochs", "1", "--csv", &path]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert_mentions(&out.stderr, &["ops.csv", "is a directory"]);
    let hidden: Vec<String> = entries(&dir.path)
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    assert_eq!(hidden, Vec::<String>::new(), "no temporary file is left");
}

#[test]
fn round_of_a_non_number() {
    let out = run(&["round", "abc"]);
    assert_refused(&out, &["round", "abc"]);
    assert_mentions(&out.stderr, &["`abc` is not a number"]);
}

#[test]
fn round_without_values() {
    let out = run(&["round"]);
    assert_refused(&out, &["round"]);
    assert_mentions(&out.stderr, &["<VALUES>"]);
}

#[test]
fn round_to_an_unknown_format() {
    let out = run(&["round", "0.1", "--formats", "f8"]);
    assert_refused(&out, &["round", "0.1", "--formats", "f8"]);
    assert_mentions(&out.stderr, &["--formats", "f8"]);
}

#[test]
fn unknown_flag() {
    let out = run(&["--epoch", "5"]);
    assert_refused(&out, &["--epoch", "5"]);
    assert_mentions(&out.stderr, &["--epoch"]);
}

/// `--output json` is documented as the audit's only; `round` must then refuse it rather than
/// print something else.
#[test]
fn round_output_json_is_json_or_refused() {
    let out = run(&["round", "1e-8", "--output", "json"]);
    if out.code == Some(0) {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(&out.stdout);
        assert!(parsed.is_ok(), "--output json printed: {}", out.stdout);
    } else {
        assert_refused(&out, &["round", "1e-8", "--output", "json"]);
        assert_mentions(&out.stderr, &["--output"]);
    }
}

/// Issue 15, item 9: a refusal never contradicts the value it refuses, and an accepted value is
/// judged by what was typed, not by its f64 rounding.
#[test]
fn messages_agree_with_the_value_refused() {
    // 1e-310 is > 0 (an f64 subnormal): accepted.
    let out = run(&["--lr", "1e-310", "--epochs", "1", "--formats", "f64"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Below 1, but 1 once held as an f64: refused for that reason, not as "not in [0, 1)".
    let stderr = refused(&["--dropout", "0.99999999999999999999"]);
    assert_mentions(&stderr, &["--dropout", "rounds to 1"]);
    // Negative values of counts name their flag.
    for flag in ["--epochs", "--seed", "--samples", "--batch-size"] {
        let stderr = refused(&[flag, "-1"]);
        assert_mentions(&stderr, &[flag, "-1"]);
    }
    // A decimal beyond even MPFR's exponent range overflows; it is not "exact".
    let out = run(&[
        "round",
        "--output",
        "csv",
        "--formats",
        "f64",
        "1e1000000000",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(",inf,inf,infinite,inf,true,false"),
        "{}",
        out.stdout
    );
}
