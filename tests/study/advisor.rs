//! The epsilon advisor in the audit: advice.csv and the "Epsilon advice" section say what each
//! format stores for `eps` and `adam_eps`, what that does to the targets, and which values
//! would work.

use crate::common::{Run, default_job};
use crate::support::FORMATS;

#[test]
fn f16_flushes_eps_and_bf16_keeps_it() {
    let job = default_job();
    let advice = job.table("advice.csv");
    let f16 = advice
        .rows_where("format", "f16")
        .find(|row| row.get("constant") == "eps")
        .expect("an f16 eps row");
    assert_eq!((f16.get("given"), f16.get("stored")), ("1e-8", "0"));
    assert_eq!(f16.get("class"), "zero");
    // The smallest subnormal 2^-24: a positive eps survives exactly when above half of it.
    assert_eq!(f16.f64("smallest_unflushed"), 5.960464477539063e-08);
    assert_eq!(f16.f64("smallest_unflushed"), 2f64.powi(-24));
    let bf16 = advice
        .rows_where("format", "bf16")
        .find(|row| row.get("constant") == "eps")
        .expect("a bf16 eps row");
    // 1e-8 = 1.34217728 × 2^-27; 8 bits keep 1.34375 × 2^-27 = 172 × 2^-34.
    assert_eq!(bf16.f64("stored"), 1.0011717677116394e-08);
    assert_eq!(bf16.f64("stored"), 172.0 * 2f64.powi(-34));
    assert_eq!(bf16.get("class"), "normal");
}

#[test]
fn f16_zero_denominators_agree_with_constants_csv() {
    let job = default_job();
    let advice = job.table("advice.csv");
    let constants = job.table("constants.csv");
    for format in FORMATS {
        let advised = advice
            .rows_where("format", format)
            .find(|row| row.get("constant") == "eps")
            .expect("an eps row");
        let constant = constants
            .rows_where("format", format)
            .find(|row| row.get("constant") == "eps")
            .expect("an eps row in constants.csv");
        assert_eq!(
            advised.get("zero_denominators"),
            constant.get("zero_denominators"),
            "{format}: advice.csv and constants.csv count the same division by zero"
        );
    }
    let f16 = advice
        .rows_where("format", "f16")
        .find(|row| row.get("constant") == "eps")
        .expect("an f16 eps row");
    // 13 targets are 0 and 7 are of order 1e-9 (below 2^-25, so 0 in f16): 20 of 100.
    assert_eq!(f16.get("zero_denominators"), "20");
}

#[test]
fn f16_range_is_empty_so_the_advice_is_its_lower_end() {
    let advice = default_job().table("advice.csv");
    let f16 = advice
        .rows_where("format", "f16")
        .find(|row| row.get("constant") == "eps")
        .expect("an f16 eps row");
    // Lower end: the smallest normal 2^-14 = 6.103515625e-05 rounded up to two digits. The
    // upper end, 1 % of the 10th-percentile nonzero |y| (5.2e-08), is far below it.
    assert_eq!(
        (f16.get("recommended_low"), f16.get("recommended_high")),
        ("0.000062", "0.000062")
    );
    assert!(f16.f64("recommended_low") > 2f64.powi(-14));
    assert!(
        f16.get("reason")
            .contains("no eps keeps the bias on the 10th-percentile target below 1 % in f16"),
        "{}",
        f16.get("reason")
    );
    // eps is flushed: a zero target's term is |p|/0, and the bias on small targets is 0.
    assert_eq!(
        (f16.get("zero_target_weight"), f16.get("small_target_bias")),
        ("inf", "0")
    );
    assert_eq!(f16.get("guards"), "denominator");
    // 50 × 2^-24 = 2.98e-06: from there up f16 stores eps within 1 %.
    assert_eq!(f16.f64("accurate_from"), 3e-06);
    // In f32, eps = 1e-8 makes a zero target weigh (m + eps)/eps ≈ 6338 typical ones (m = the
    // median nonzero |y|, 6.3e-05) and biases the 10th percentile (5.2e-08) by 19 %.
    let f32_eps = advice.row_matching(&[("format", "f32"), ("constant", "eps")]);
    let weight = f32_eps.f64("zero_target_weight");
    assert!((6300.0..6400.0).contains(&weight), "{weight}");
    let bias = f32_eps.f64("small_target_bias");
    assert!((0.18..0.2).contains(&bias), "{bias}");
    assert_eq!(f32_eps.get("recommended_high"), "5.2e-10");
    // In f32 and f64 the range is not empty.
    for format in ["f32", "f64"] {
        let row = advice
            .rows_where("format", format)
            .find(|row| row.get("constant") == "eps")
            .expect("an eps row");
        assert!(
            row.f64("recommended_low") < row.f64("recommended_high"),
            "{format}: {}",
            row.get("reason")
        );
    }
}

#[test]
fn the_report_ends_with_the_advice() {
    let job = default_job();
    let stdout = &job.outcome.stdout;
    let section = stdout
        .find("Epsilon advice:")
        .map(|at| &stdout[at..])
        .expect("the report has an Epsilon advice section");
    assert!(
        section.contains("f16: eps = 1e-8 is flushed to 0"),
        "{section}"
    );
    // One table row per advice.csv row, in the same order.
    let advice = job.table("advice.csv");
    let table_rows: Vec<(&str, &str)> = section
        .lines()
        .filter_map(|line| {
            let mut cells = line.split_whitespace();
            Some((cells.next()?, cells.next()?))
        })
        .filter(|(format, _)| FORMATS.contains(format))
        .collect();
    let csv_rows: Vec<(&str, &str)> = advice
        .rows()
        .map(|row| (row.get("format"), row.get("constant")))
        .collect();
    assert_eq!(table_rows, csv_rows);
    // The section closes the report: its last line is the last constant's reason.
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("  f64: adam_eps = 1e-7"), "{last}");
}

/// Which constants a run uses: the loss's `eps` only with `--loss relative`, `adam_eps` only
/// with `--optimizer adam`.
#[test]
fn advice_only_for_constants_the_run_uses() {
    let constants_of = |args: &[&str]| -> Vec<(String, String)> {
        let run = Run::ok(&[args, &["--epochs", "1"]].concat());
        run.table("advice.csv")
            .rows()
            .map(|row| {
                (
                    row.get("format").to_string(),
                    row.get("constant").to_string(),
                )
            })
            .collect()
    };
    let both: Vec<(String, String)> = FORMATS
        .iter()
        .flat_map(|f| {
            [
                (f.to_string(), "eps".to_string()),
                (f.to_string(), "adam_eps".to_string()),
            ]
        })
        .collect();
    let only = |constant: &str| -> Vec<(String, String)> {
        FORMATS
            .iter()
            .map(|f| (f.to_string(), constant.to_string()))
            .collect()
    };
    let default: Vec<(String, String)> = default_job()
        .table("advice.csv")
        .rows()
        .map(|row| {
            (
                row.get("format").to_string(),
                row.get("constant").to_string(),
            )
        })
        .collect();
    assert_eq!(default, both, "relative loss with Adam: both constants");
    assert_eq!(
        constants_of(&["--loss", "mse"]),
        only("adam_eps"),
        "no eps with mse"
    );
    assert_eq!(
        constants_of(&["--loss", "relative", "--optimizer", "sgd"]),
        only("eps"),
        "no adam_eps with sgd"
    );
    assert_eq!(
        constants_of(&["--loss", "mae", "--optimizer", "sgd"]),
        Vec::<(String, String)>::new(),
        "neither"
    );
}

/// The advice closes the loop: on the default job, f16 with the advised `eps` and `adam_eps`
/// (both 0.000062, the lower ends of advice.csv) trains without an inf or NaN loss in any of 8
/// seeds, where with the defaults it diverges in all of them. Its drift is then the
/// arithmetic's (measured: +1.1e3, 24× the seed noise, p = 0.0061), and f64 stays within
/// noise. Fixing `eps` alone is not enough: Adam's `adam_eps` = 1e-7, a subnormal in f16,
/// still sends seed 45 to NaN at step 2.
#[test]
fn following_the_advice_keeps_f16_finite() {
    let advice = default_job().table("advice.csv");
    let low = |constant: &str| -> String {
        advice
            .rows_where("format", "f16")
            .find(|row| row.get("constant") == constant)
            .unwrap_or_else(|| panic!("an f16 {constant} row"))
            .get("recommended_low")
            .to_string()
    };
    let (eps, adam_eps) = (low("eps"), low("adam_eps"));
    assert_eq!((eps.as_str(), adam_eps.as_str()), ("0.000062", "0.000062"));

    let advised = Run::ok(&[
        "--loss",
        "relative",
        "--eps",
        &eps,
        "--adam-eps",
        &adam_eps,
        "--seeds",
        "8",
    ]);
    let summary = advised.table("sweep_summary.csv");
    let f16 = summary.row_where("format", "f16");
    assert_eq!(f16.get("nonfinite_seeds"), "0", "{}", f16.get("verdict"));
    assert_eq!(
        f16.get("significance"),
        "arithmetic",
        "{}",
        f16.get("verdict")
    );
    assert_eq!(
        summary.row_where("format", "f64").get("significance"),
        "within_noise"
    );

    let eps_only = Run::ok(&["--loss", "relative", "--eps", &eps, "--seeds", "8"]);
    let sweep = eps_only.table("sweep.csv");
    let diverged: Vec<&str> = sweep
        .rows_where("format", "f16")
        .filter(|row| !row.f64("final_loss").is_finite())
        .map(|row| row.get("seed"))
        .collect();
    assert_eq!(
        diverged,
        ["45"],
        "with the default adam_eps, f16 still diverges"
    );
}
