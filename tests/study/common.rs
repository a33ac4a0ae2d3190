//! What only the study tests need: runs with `--csv` that must succeed, the shared default
//! sweep and audit, the statistics as the studies define them, and the named tolerances of
//! these tests (no test invents its own). Running the binary, scratch directories and CSV
//! tables are shared with the cli tests in `tests/support`.

use crate::support::{CsvRun, DEFAULT_JOB};

/// Named tolerances, in one place.
pub mod prec {
    /// f64's final loss over seeded summation orders: a few hundred steps of 2^-53 rounding move
    /// it by about 1e-16 relative (measured: 3.5e-16 on the order study's configuration). 1e-12
    /// leaves room for a different but sound summation, not for a lost bit per op.
    pub const F64_ORDER_SPREAD_REL_MAX: f64 = 1e-12;

    /// Values that pass through statrs' Student-t (regularized incomplete beta): statrs 0.19
    /// agrees with 40-digit values to about 2e-15 on these cases (the crate's own tests use the
    /// same bound); 1e-13 leaves room for a libm's last bit.
    pub const STATRS_T: f64 = 1e-13;

    /// Values computed through a handful of correctly rounded f64 operations (a square root, a
    /// division, a product): each costs at most 2^-53 relative, so four of them stay below
    /// 4.5e-16; 1e-15 rejects any wrong formula.
    pub const FEW_ROUNDINGS: f64 = 1e-15;

    /// Asserts `|actual − expected| ≤ relative · |expected|`.
    #[track_caller]
    pub fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= relative * expected.abs(),
            "{what}: {actual} is not within a relative {relative} of {expected}"
        );
    }
}

/// A run with `--csv`: see [`CsvRun`].
pub type Run = CsvRun;

impl CsvRun {
    /// Runs the binary with `args` plus `--csv <scratch dir>` and asserts that it succeeded.
    pub fn ok(args: &[&str]) -> Run {
        let run = CsvRun::new("run", args);
        assert_eq!(
            run.outcome.code,
            Some(0),
            "`{}` failed: {}",
            run.command(),
            run.outcome.stderr
        );
        run
    }
}

/// The default job's seed sweep, `--seeds 8` (seeds 42..=49), run once and shared.
pub fn default_sweep() -> &'static Run {
    static SWEEP: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    SWEEP.get_or_init(|| Run::ok(&[&DEFAULT_JOB[..], &["--seeds", "8"]].concat()))
}

/// The mean as the studies define it: summed left to right in f64, divided by `n` once.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample standard deviation (two-pass, divisor `n − 1`).
pub fn sample_std_dev(values: &[f64]) -> f64 {
    let mean = mean(values);
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

/// Asserts that `actual` and `expected` are the same f64 (NaN counts as equal to NaN).
#[track_caller]
pub fn assert_same(actual: f64, expected: f64, what: &str) {
    assert!(
        actual == expected || (actual.is_nan() && expected.is_nan()),
        "{what}: {actual} is not {expected}"
    );
}

/// The default job's audit, run once with `--csv` and shared.
pub fn default_job() -> &'static Run {
    static JOB: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    JOB.get_or_init(|| Run::ok(&DEFAULT_JOB))
}
