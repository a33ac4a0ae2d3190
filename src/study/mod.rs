//! Is the drift real? Statistics over seeds (paired drift against the reference, seed noise,
//! a verdict) and the epsilon advisor (what a format does to `eps` and which values work).

pub mod advisor;
pub mod grid;
pub mod orders;
pub mod stats;
pub mod sweep;

pub use advisor::{EpsAdvice, advice, advise};
pub use stats::{PairedDrift, Significance, Summary, paired_drift, summarize, verdict};

/// Named tolerances for this module's tests, in one place.
#[cfg(test)]
pub(crate) mod prec {
    /// Relative tolerance for values that pass through statrs' Student-t (regularized
    /// incomplete beta): statrs 0.19 agrees with 40-digit mpmath values to about 2e-15 on the
    /// cases here; 1e-13 leaves room for a libm's last bit and still rejects scipy's
    /// t_{0.975,3} = 3.182446305284263, which is 1.7e-13 off.
    pub(crate) const STATRS_T: f64 = 1e-13;

    /// Asserts `|actual − expected| ≤ relative · |expected|`.
    #[track_caller]
    pub(crate) fn assert_close(actual: f64, expected: f64, relative: f64) {
        assert!(
            (actual - expected).abs() <= relative * expected.abs(),
            "{actual} is not within a relative {relative} of {expected}"
        );
    }
}
