//! What only the study tests need: runs with `--csv` that must succeed, the shared default
//! sweep and audit, and the statistics as the studies define them. Running the binary,
//! scratch directories, CSV tables and the named tolerances are shared with the other suites
//! in `tests/support`.

use crate::support::{CsvRun, DEFAULT_JOB};

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
