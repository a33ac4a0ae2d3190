//! The statistics of the seed sweep, by hand, for three seeds: summaries, the paired drift test
//! against the reference and the verdict, through the library's public API.
//!
//! With n = 3 there are 2 degrees of freedom, where Student's t has closed forms:
//! - the CDF is F(t) = 1/2 + t / (2√(t² + 2)), so the two-sided p-value is
//!   p = 2(1 − F(|t|)) = 1 − |t| / √(t² + 2);
//! - the 0.975 quantile solves t / √(t² + 2) = 0.95: t² = 2 · 0.95² / (1 − 0.95²) =
//!   1.805 / 0.0975, t = 4.3026527297494638523… (40 digits with mpmath), whose nearest f64 is
//!   4.302652729749464.
//!
//! The value 4.302652729911275, sometimes quoted for this quantile, is 3.8e-11 too high: by the
//! closed form its CDF is 0.975 + 1.7e-12. statrs gets the quantile right, so the value here is
//! the closed form's; the other hand values below were checked to 40 digits with mpmath.

use precision_audit::study::{Significance, paired_drift, summarize, verdict};

use crate::support::prec;

/// t_{0.975, 2}, from the closed form above.
const T_975_2: f64 = 4.302652729749464;

/// The two-sided p-value of t with 2 degrees of freedom, from the closed form.
fn p_two_sided_2(t: f64) -> f64 {
    1.0 - t.abs() / (t * t + 2.0).sqrt()
}

#[test]
fn the_quantile_is_the_closed_form() {
    let closed_form: f64 = (2.0 * 0.95 * 0.95 / (1.0 - 0.95 * 0.95f64)).sqrt();
    prec::assert_close(closed_form, T_975_2, prec::F64_FEW_ROUNDINGS, "t_{0.975,2}");
}

/// Reference losses 1, 2, 3 over seeds; the format's 3, 5, 7: drifts 2, 3, 4.
///
/// Format's loss: mean (3 + 5 + 7) / 3 = 5; deviations −2, 0, 2; sample variance
/// (4 + 0 + 4) / 2 = 4, std 2; CI 5 ± 4.302652729749464 · 2 / √3 = 5 ± 4.968275423500662.
///
/// Drift: mean (2 + 3 + 4) / 3 = 3; deviations −1, 0, 1; variance (1 + 0 + 1) / 2 = 1, std 1;
/// CI 3 ± 4.302652729749464 / √3 = 3 ± 2.484137711750331 = [0.515862288249669,
/// 5.484137711750331]; t = 3 / (1 / √3) = 3√3 = 5.196152422706632;
/// p = 1 − 5.196152422706632 / √29 = 0.03509871864598465.
///
/// The interval's ends are compared through their half-widths: the quantile's last-bit error
/// (relative 1e-15) becomes 1.5e-13 of the lower end 0.0317 after the cancellation 5 − 4.97.
///
/// Noise floor: the reference's std, deviations −1, 0, 1: 1. Drift / noise = 3.
/// p < 0.05 and ratio ≥ 1: the arithmetic.
#[test]
fn consistent_drift_three_times_the_noise_is_arithmetic() {
    let reference = [1.0, 2.0, 3.0];
    let format = [3.0, 5.0, 7.0];

    let loss = summarize(&format);
    assert_eq!((loss.n, loss.nonfinite), (3, 0));
    assert_eq!((loss.mean, loss.std_dev), (5.0, 2.0), "exact in f64");
    let half_width = T_975_2 * 2.0 / 3f64.sqrt();
    prec::assert_close(
        half_width,
        4.968275423500662,
        prec::F64_FEW_ROUNDINGS,
        "hand",
    );
    prec::assert_close(
        5.0 - loss.ci95.0,
        half_width,
        prec::STATRS_T,
        "loss CI low side",
    );
    prec::assert_close(
        loss.ci95.1 - 5.0,
        half_width,
        prec::STATRS_T,
        "loss CI high side",
    );

    let drift = paired_drift(&format, &reference);
    assert_eq!(drift.mean, 3.0);
    prec::assert_close(
        drift.ci95.0,
        0.515862288249669,
        prec::STATRS_T,
        "drift CI low",
    );
    prec::assert_close(
        drift.ci95.1,
        5.484137711750331,
        prec::STATRS_T,
        "drift CI high",
    );
    let drift_half_width = T_975_2 / 3f64.sqrt();
    prec::assert_close(
        3.0 - drift.ci95.0,
        drift_half_width,
        prec::STATRS_T,
        "drift CI",
    );
    prec::assert_close(drift.t, 3.0 * 3f64.sqrt(), prec::F64_FEW_ROUNDINGS, "t");
    prec::assert_close(
        drift.t,
        5.196152422706632,
        prec::F64_FEW_ROUNDINGS,
        "t by hand",
    );
    prec::assert_close(drift.p_value, p_two_sided_2(drift.t), prec::STATRS_T, "p");
    prec::assert_close(
        drift.p_value,
        0.03509871864598465,
        prec::STATRS_T,
        "p by hand",
    );
    assert_eq!(drift.noise_floor, 1.0, "std of 1, 2, 3");
    assert_eq!(drift.ratio_to_noise, 3.0);

    let (significance, sentence) = verdict("f16", &drift, loss.nonfinite, 3);
    assert_eq!(significance, Significance::Arithmetic, "{sentence}");
    assert!(
        sentence.contains("3× the seed-to-seed spread"),
        "{sentence}"
    );
    assert!(sentence.contains("p = 0.035"), "{sentence}");
}

/// The same drifts 2, 3, 4 against a reference that moves ten times more with the seed
/// (0, 10, 20: std 10). The test is as consistent as before (p = 0.0351), but the drift is
/// only 3 / 10 = 0.3 of the seed noise: real, yet smaller than re-seeding.
#[test]
fn consistent_drift_below_the_noise_is_within_noise() {
    let reference = [0.0, 10.0, 20.0];
    let format = [2.0, 13.0, 24.0];
    let drift = paired_drift(&format, &reference);
    assert_eq!(drift.mean, 3.0);
    prec::assert_close(drift.p_value, 0.03509871864598465, prec::STATRS_T, "p");
    assert_eq!(drift.noise_floor, 10.0);
    prec::assert_close(drift.ratio_to_noise, 0.3, prec::F64_FEW_ROUNDINGS, "ratio");
    let (significance, sentence) = verdict("bf16", &drift, 0, 3);
    assert_eq!(significance, Significance::WithinNoise, "{sentence}");
    assert!(
        sentence.contains("consistent across seeds (p = 0.035) but only 0.3×"),
        "{sentence}"
    );
}

/// Reference 1, 1.5, 2 (deviations −0.5, 0, 0.5: variance 0.5 / 2, std 0.5); format 2, 3.5,
/// 5: drifts 1, 2, 3, mean 2, std 1, t = 2√3 = 3.4641016151377544,
/// p = 1 − 3.4641016151377544 / √14 = 0.07417990022744854. The drift is 2 / 0.5 = 4× the
/// noise, but with p > 0.05 three seeds cannot tell it from noise.
#[test]
fn large_but_inconsistent_drift_is_within_noise() {
    let reference = [1.0, 1.5, 2.0];
    let format = [2.0, 3.5, 5.0];
    let drift = paired_drift(&format, &reference);
    assert_eq!(
        (drift.mean, drift.noise_floor, drift.ratio_to_noise),
        (2.0, 0.5, 4.0)
    );
    prec::assert_close(drift.t, 3.4641016151377544, prec::F64_FEW_ROUNDINGS, "t");
    prec::assert_close(drift.p_value, p_two_sided_2(drift.t), prec::STATRS_T, "p");
    prec::assert_close(
        drift.p_value,
        0.07417990022744854,
        prec::STATRS_T,
        "p by hand",
    );
    let (significance, sentence) = verdict("f32", &drift, 0, 3);
    assert_eq!(significance, Significance::WithinNoise, "{sentence}");
    assert!(
        sentence.contains("cannot be told apart from noise"),
        "{sentence}"
    );
}

/// One infinite loss among three: the mean is inf (IEEE, not dropped), no spread, and the
/// verdict is `diverged` whatever the other seeds say.
#[test]
fn an_infinite_seed_is_diverged() {
    let reference = [1.0, 2.0, 3.0];
    let format = [3.0, f64::INFINITY, 7.0];
    let loss = summarize(&format);
    assert_eq!((loss.mean, loss.nonfinite), (f64::INFINITY, 1));
    assert!(loss.std_dev.is_nan() && loss.ci95.0.is_nan());
    let drift = paired_drift(&format, &reference);
    assert!(drift.t.is_nan() && drift.p_value.is_nan());
    let (significance, sentence) = verdict("f16", &drift, loss.nonfinite, 3);
    assert_eq!(significance, Significance::Diverged);
    assert_eq!(sentence, "f16 diverged (inf or NaN loss) in 1 of 3 seeds");
}
