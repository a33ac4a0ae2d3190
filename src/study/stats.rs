//! Statistics over seeds: summaries with Student-t intervals, the paired drift test against the
//! reference, and the verdict that says whether a format's drift is the arithmetic or the seed.
//!
//! Every sum here runs left to right over the slice in f64, so the results are the same bits on
//! every machine. Quantiles and tail probabilities of Student's t come from statrs.

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::format::text::shortest;

/// The coverage of every confidence interval here: 95 %, two-sided.
pub const CONFIDENCE: f64 = 0.95;

/// The significance level of the paired test: a drift is distinguishable from zero when its
/// two-sided p-value is below this.
pub const ALPHA: f64 = 0.05;

/// Mean, spread and a 95 % confidence interval of one quantity over seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The number of values, non-finite ones included.
    pub n: usize,
    /// How many of the values are inf or NaN.
    pub nonfinite: usize,
    /// The arithmetic mean, summed left to right in f64 and divided by `n` once; exactly the
    /// common value when all values are equal.
    pub mean: f64,
    /// The sample standard deviation (divisor `n − 1`).
    pub std_dev: f64,
    /// `mean ± t_{0.975, n−1} · std_dev / √n`.
    pub ci95: (f64, f64),
}

/// Summarizes `values` (one per seed).
///
/// Edge cases, chosen so that nothing is hidden:
/// - `n = 0`: mean, standard deviation and both bounds are NaN.
/// - `n = 1`: the standard deviation is 0 (no spread was observed) but both bounds of the
///   interval are NaN: one value says nothing about the spread, and `(mean, mean)` would claim a
///   certainty that a single seed cannot give (t with 0 degrees of freedom does not exist).
/// - Non-finite values are counted in `nonfinite` and are *not* dropped: the mean follows IEEE
///   arithmetic (`[1, inf, 2]` has mean inf, `[inf, -inf]` or any NaN gives NaN), so a diverged
///   seed stays visible. The standard deviation and the interval bounds are then NaN, because a
///   spread around an infinite mean means nothing.
///
/// ```
/// use precision_audit::study::summarize;
///
/// let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!((s.n, s.mean), (4, 2.5));
/// assert!((s.std_dev - 1.2909944487358056).abs() < 1e-15);
///
/// let diverged = summarize(&[1.0, f64::INFINITY, 2.0]);
/// assert_eq!((diverged.mean, diverged.nonfinite), (f64::INFINITY, 1));
/// ```
pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len();
    let nonfinite = values.iter().filter(|v| !v.is_finite()).count();
    let mean = mean(values);
    if n == 0 || nonfinite > 0 {
        return Summary {
            n,
            nonfinite,
            mean,
            std_dev: f64::NAN,
            ci95: (f64::NAN, f64::NAN),
        };
    }
    let std_dev = sample_std_dev(values, mean);
    Summary {
        n,
        nonfinite,
        mean,
        std_dev,
        ci95: t_interval(mean, std_dev, n),
    }
}

/// The drift of one format's final loss from the reference's, paired by seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedDrift {
    /// The mean of `format − reference` over seeds (signed: positive means the format's loss
    /// is higher).
    pub mean: f64,
    /// The 95 % confidence interval of that mean.
    pub ci95: (f64, f64),
    /// The paired t statistic `mean / (s_d / √n)`.
    pub t: f64,
    /// The two-sided p-value of the paired t-test of "the mean drift is 0", with `n − 1`
    /// degrees of freedom.
    pub p_value: f64,
    /// The reference's seed-to-seed standard deviation of the final loss: how much the loss
    /// moves when only the seed changes.
    pub noise_floor: f64,
    /// `|mean| / noise_floor`: the drift in units of seed noise.
    pub ratio_to_noise: f64,
}

/// The paired drift of `format_losses` from `reference_losses`; index `i` of both is seed `i`.
///
/// Pairing by seed removes the seed's own effect from the comparison: both losses come from the
/// same data, initialisation and batches, so `format − reference` is what the arithmetic did.
///
/// Edge cases:
/// - All drifts equal (zero variance): the interval is `(mean, mean)`; if the mean is nonzero,
///   `t = ±inf` and `p = 0` (every seed shows the same nonzero drift); if it is zero, `t = 0`
///   and `p = 1` (there is no drift at all).
/// - A noise floor of 0 (the reference's loss is the same for every seed): `ratio_to_noise` is
///   inf for a nonzero mean drift and 0 for a zero one.
/// - Fewer than two seeds: `t`, `p_value`, the interval, `noise_floor` and `ratio_to_noise`
///   are NaN; there is nothing to test against.
/// - Non-finite losses are not dropped: they make the mean drift non-finite and `t`, `p_value`
///   NaN. Count them with [`summarize`] and pass the count to [`verdict`], which reports them.
///
/// # Panics
///
/// If the slices differ in length: pairing them is then a bug in the caller.
///
/// ```
/// use precision_audit::study::paired_drift;
///
/// let drift = paired_drift(&[1.5, 3.5, 4.0, 5.0], &[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(drift.mean, 1.0);
/// assert!((drift.t - 24f64.sqrt()).abs() < 1e-12);
/// assert!(drift.p_value < 0.05);
/// ```
pub fn paired_drift(format_losses: &[f64], reference_losses: &[f64]) -> PairedDrift {
    assert_eq!(
        format_losses.len(),
        reference_losses.len(),
        "paired_drift needs one format loss per reference loss"
    );
    let drifts: Vec<f64> = format_losses
        .iter()
        .zip(reference_losses)
        .map(|(format, reference)| format - reference)
        .collect();
    let drift = summarize(&drifts);
    let n = drift.n;
    let (t, p_value) = if n < 2 || !drift.mean.is_finite() {
        (f64::NAN, f64::NAN)
    } else if drift.std_dev == 0.0 {
        if drift.mean == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY.copysign(drift.mean), 0.0)
        }
    } else {
        let t = drift.mean / (drift.std_dev / (n as f64).sqrt());
        (t, two_sided_p(t, n - 1))
    };
    let noise_floor = if n < 2 {
        f64::NAN
    } else {
        summarize(reference_losses).std_dev
    };
    let ratio_to_noise = if noise_floor.is_nan() || drift.mean.is_nan() {
        f64::NAN
    } else if noise_floor == 0.0 {
        if drift.mean == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        drift.mean.abs() / noise_floor
    };
    PairedDrift {
        mean: drift.mean,
        ci95: drift.ci95,
        t,
        p_value,
        noise_floor,
        ratio_to_noise,
    }
}

crate::named_enum! {
    /// What a seed sweep says about one format's drift.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Significance {
        /// The drift is consistent across seeds and at least as large as seed noise: the
        /// arithmetic explains it.
        Arithmetic = "arithmetic",
        /// The drift is not distinguishable from zero, or smaller than what changing the seed
        /// does.
        WithinNoise = "within_noise",
        /// At least one seed ended with an inf or NaN loss.
        Diverged = "diverged",
        /// Fewer than two seeds: there is no seed noise to compare with.
        Undetermined = "undetermined",
    }
}

/// The verdict on one format's drift over `seeds` seeds, of which `nonfinite_seeds` ended with
/// an inf or NaN loss, and a sentence saying it in plain words.
///
/// The rule, in order:
/// 1. [`Significance::Diverged`] if any seed's loss is not finite (or the mean drift is not):
///    no statistic of a sample with an infinite member means anything.
/// 2. [`Significance::Undetermined`] with fewer than two seeds.
/// 3. [`Significance::Arithmetic`] when `p < 0.05` **and** `ratio_to_noise ≥ 1`.
/// 4. [`Significance::WithinNoise`] otherwise.
///
/// Why both conditions. The paired test alone is too eager: pairing cancels the seed, so with
/// enough seeds even a drift a thousand times smaller than seed noise gets a tiny p-value. It
/// is real, but nobody comparing two runs could see it behind the seed. The ratio alone is too
/// trusting: one large drift in a few seeds, of changing sign, gives a large mean without any
/// consistency. A user should blame the arithmetic only for a drift that is both consistent
/// across seeds (p) and as large as what re-seeding does (ratio).
///
/// ```
/// use precision_audit::study::{Significance, paired_drift, verdict};
///
/// // The reference barely moves with the seed; the format is consistently 1 higher.
/// let reference = [1.0, 1.25, 1.0, 1.25];
/// let format = [1.5, 2.75, 2.0, 2.25];
/// let (significance, sentence) = verdict("f16", &paired_drift(&format, &reference), 0, 4);
/// assert_eq!(significance, Significance::Arithmetic);
/// assert!(sentence.contains("the arithmetic, not the seed, explains it"), "{sentence}");
/// ```
pub fn verdict(
    format: &str,
    drift: &PairedDrift,
    nonfinite_seeds: usize,
    seeds: usize,
) -> (Significance, String) {
    if nonfinite_seeds > 0 {
        return (
            Significance::Diverged,
            format!("{format} diverged (inf or NaN loss) in {nonfinite_seeds} of {seeds} seeds"),
        );
    }
    if seeds > 0 && !drift.mean.is_finite() {
        return (
            Significance::Diverged,
            format!(
                "{format}'s mean drift is {}: some seed's loss was inf or NaN",
                short(drift.mean)
            ),
        );
    }
    if seeds < 2 || drift.p_value.is_nan() {
        return (
            Significance::Undetermined,
            format!(
                "{format}: with {seeds} seed{} the drift cannot be compared with seed noise; \
                 run at least 2 seeds (8 or more to see a small drift)",
                if seeds == 1 { "" } else { "s" }
            ),
        );
    }
    let consistent = drift.p_value < ALPHA;
    let large = drift.ratio_to_noise >= 1.0;
    let mean = signed(drift.mean);
    let ratio = short(drift.ratio_to_noise);
    let p = short(drift.p_value);
    if consistent && large {
        let sentence = if drift.noise_floor == 0.0 {
            format!(
                "{format}'s drift ({mean}) is the same in every seed (p = {p}) and the \
                 reference's loss does not move with the seed at all: the arithmetic, not the \
                 seed, explains it"
            )
        } else {
            format!(
                "{format}'s drift ({mean}) is {ratio}× the seed-to-seed spread (p = {p}): the \
                 arithmetic, not the seed, explains it"
            )
        };
        return (Significance::Arithmetic, sentence);
    }
    let sentence = if drift.mean == 0.0 && drift.ci95 == (0.0, 0.0) {
        format!("{format}'s final loss equals the reference's in all {seeds} seeds: no drift")
    } else if consistent {
        format!(
            "{format}'s drift ({mean}) is consistent across seeds (p = {p}) but only {ratio}× \
             the seed-to-seed spread: real, yet smaller than what changing the seed does"
        )
    } else if large {
        format!(
            "{format}'s drift ({mean}) is {ratio}× the seed-to-seed spread but changes from \
             seed to seed (p = {p}): with {seeds} seeds it cannot be told apart from noise"
        )
    } else {
        format!("{format}'s drift is within seed noise ({ratio}× the seed-to-seed spread, p = {p})")
    };
    (Significance::WithinNoise, sentence)
}

/// The mean of `values` summed left to right in f64, or their common value when all are equal
/// (the rounded sum divided by `n` need not give it back: 3 × 0.1 / 3 ≠ 0.1).
fn mean(values: &[f64]) -> f64 {
    match values.first() {
        None => f64::NAN,
        Some(&first) if values.iter().all(|&v| v == first) => first,
        Some(_) => values.iter().sum::<f64>() / values.len() as f64,
    }
}

/// The sample standard deviation around `mean` (two-pass, divisor `n − 1`); 0 for fewer than
/// two values or when all values are equal.
fn sample_std_dev(values: &[f64], mean: f64) -> f64 {
    let n = values.len();
    if n < 2 || values.iter().all(|&v| v == values[0]) {
        return 0.0;
    }
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (n - 1) as f64).sqrt()
}

/// The upper `(1 + CONFIDENCE) / 2` quantile of Student's t with `freedom` degrees of freedom.
fn t_quantile(freedom: usize) -> f64 {
    StudentsT::new(0.0, 1.0, freedom as f64)
        .map_or(f64::NAN, |t| t.inverse_cdf((1.0 + CONFIDENCE) / 2.0))
}

/// `P(|T| ≥ |t|)` for Student's t with `freedom` degrees of freedom, from the survival function
/// (no cancellation in `1 − cdf` for large |t|).
fn two_sided_p(t: f64, freedom: usize) -> f64 {
    StudentsT::new(0.0, 1.0, freedom as f64)
        .map_or(f64::NAN, |dist| (2.0 * dist.sf(t.abs())).min(1.0))
}

/// `mean ± t_{0.975, n−1} · std_dev / √n`; NaN bounds for fewer than two values.
fn t_interval(mean: f64, std_dev: f64, n: usize) -> (f64, f64) {
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    if std_dev == 0.0 {
        return (mean, mean);
    }
    let half_width = t_quantile(n - 1) * std_dev / (n as f64).sqrt();
    (mean - half_width, mean + half_width)
}

/// `x` to two significant digits for a sentence: `40`, `0.3`, `2.1`, `1e-06`, `1.2e+04`
/// (exponents written as [`shortest`] writes them).
pub(crate) fn short(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return shortest(x);
    }
    let magnitude = x.abs();
    if (1e-3..1e4).contains(&magnitude) {
        let decimals = (1 - magnitude.log10().floor() as i32).max(0) as usize;
        return trim_zeros(&format!("{x:.decimals$}"));
    }
    let text = format!("{x:.1e}");
    let (mantissa, exponent) = text.split_once('e').expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{}e{sign}{:02}", trim_zeros(mantissa), exponent.abs())
}

/// `x` to two significant digits with its sign: `+0.012`, `-3e-5`.
fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", short(x))
    } else {
        short(x)
    }
}

/// Drops trailing zeros of a fraction (and a bare point): `0.30` → `0.3`, `1.0` → `1`.
fn trim_zeros(number: &str) -> String {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.').into()
    } else {
        number.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::prec::{STATRS_T, assert_close};

    // values [1, 2, 3, 4], by hand:
    //   mean = 10 / 4 = 2.5
    //   deviations −1.5, −0.5, 0.5, 1.5; squares 2.25 + 0.25 + 0.25 + 2.25 = 5
    //   s² = 5 / 3, s = √(5/3) = 1.2909944487358056
    //   s / √4 = 0.6454972243679028
    //   t_{0.975,3}: for 3 degrees of freedom the CDF has the closed form
    //     F(t) = 1/2 + (1/π)·(x/(1 + x²) + atan x) with x = t/√3;
    //   solving F(t) = 0.975 at 40 digits (mpmath) gives 3.18244630528370959…
    //   (scipy prints 3.182446305284263, 1.7e-13 relative too high; statrs is within 2e-15, and
    //   the tolerance STATRS_T = 1e-13 would reject scipy's figure).
    //   half width = 3.1824463052837096 × 0.6454972243679028 = 2.0542602567605220… (mpmath)
    //   CI = (0.44573974323947797…, 4.5542602567605220…)
    const T_975_3: f64 = 3.1824463052837096;

    #[test]
    fn summary_of_one_to_four_matches_the_hand_computation() {
        let s = summarize(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!((s.n, s.nonfinite), (4, 0));
        assert_eq!(s.mean, 2.5);
        assert_close(s.std_dev, 1.2909944487358056, STATRS_T);
        assert_close(t_quantile(3), T_975_3, STATRS_T);
        assert_close(s.ci95.0, 0.44573974323947797, STATRS_T);
        assert_close(s.ci95.1, 4.554260256760522, STATRS_T);
    }

    #[test]
    fn one_value_has_no_spread_and_no_interval() {
        let s = summarize(&[0.75]);
        assert_eq!((s.n, s.mean, s.std_dev), (1, 0.75, 0.0));
        assert!(s.ci95.0.is_nan() && s.ci95.1.is_nan());
        let empty = summarize(&[]);
        assert!(empty.mean.is_nan() && empty.std_dev.is_nan());
    }

    #[test]
    fn equal_values_give_their_exact_mean_and_a_zero_width_interval() {
        // 0.1 + 0.1 + 0.1 = 0.30000000000000004 in f64, and that / 3 is not 0.1.
        let s = summarize(&[0.1, 0.1, 0.1]);
        assert_eq!((s.mean, s.std_dev, s.ci95), (0.1, 0.0, (0.1, 0.1)));
    }

    #[test]
    fn nonfinite_values_are_counted_and_propagate() {
        let s = summarize(&[1.0, f64::INFINITY, 2.0]);
        assert_eq!((s.n, s.nonfinite, s.mean), (3, 1, f64::INFINITY));
        assert!(s.std_dev.is_nan() && s.ci95.0.is_nan() && s.ci95.1.is_nan());
        let mixed = summarize(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
        assert_eq!(mixed.nonfinite, 3);
        assert!(mixed.mean.is_nan());
    }

    // Paired test, by hand. reference [1, 2, 3, 4], format [1.5, 3.5, 4, 5]:
    //   drifts d = 0.5, 1.5, 1, 1 (exact in f64); mean 1
    //   deviations −0.5, 0.5, 0, 0; squares sum 0.5; s_d² = 0.5/3 = 1/6, s_d = 0.408248290463863
    //   SE = s_d/√4 = 0.2041241452319315; t = 1/SE = √24 = 4.898979485566356
    //   two-sided p with 3 d.o.f.: x = t/√3 = √8, x/(1 + x²) = √8/9, atan √8 = acos(1/3), so
    //     p = 2(1 − F(t)) = 1 − (2/π)(√8/9 + acos(1/3)) = 0.0162766034594285553…
    //   CI = 1 ± 3.1824463052837096 × 0.2041241452319315 = 1 ± 0.64961413181255577… (mpmath)
    //   noise floor = s of [1, 2, 3, 4] = √(5/3); ratio = 1/√(5/3) = √(3/5) = 0.7745966692414834
    const REFERENCE: [f64; 4] = [1.0, 2.0, 3.0, 4.0];
    const FORMAT: [f64; 4] = [1.5, 3.5, 4.0, 5.0];

    #[test]
    fn paired_drift_matches_the_hand_computation() {
        let drift = paired_drift(&FORMAT, &REFERENCE);
        assert_eq!(drift.mean, 1.0);
        assert_close(drift.t, 4.898979485566356, STATRS_T);
        assert_close(drift.p_value, 0.016276603459428555, STATRS_T);
        assert_close(drift.ci95.0, 0.350_385_868_187_444_2, STATRS_T);
        assert_close(drift.ci95.1, 1.649_614_131_812_556, STATRS_T);
        assert_close(drift.noise_floor, 1.2909944487358056, STATRS_T);
        assert_close(drift.ratio_to_noise, 0.7745966692414834, STATRS_T);
    }

    #[test]
    fn a_consistent_drift_smaller_than_seed_noise_is_within_noise() {
        // p = 0.016 < 0.05 but ratio 0.77 < 1: consistent, yet below what re-seeding does.
        let (significance, sentence) = verdict("bf16", &paired_drift(&FORMAT, &REFERENCE), 0, 4);
        assert_eq!(significance, Significance::WithinNoise);
        assert_eq!(
            sentence,
            "bf16's drift (+1) is consistent across seeds (p = 0.016) but only 0.77× the \
             seed-to-seed spread: real, yet smaller than what changing the seed does"
        );
    }

    #[test]
    fn a_consistent_drift_above_seed_noise_is_the_arithmetic() {
        // The same drifts over a reference with s = √(0.0625/3) = 0.14433756729740643:
        // ratio = 1/0.1443… = √48 = 6.928203230275509, p unchanged (0.016).
        let reference = [1.0, 1.25, 1.0, 1.25];
        let format = [1.5, 2.75, 2.0, 2.25];
        let drift = paired_drift(&format, &reference);
        assert_close(drift.ratio_to_noise, 6.928203230275509, STATRS_T);
        let (significance, sentence) = verdict("f16", &drift, 0, 4);
        assert_eq!(significance, Significance::Arithmetic);
        assert_eq!(
            sentence,
            "f16's drift (+1) is 6.9× the seed-to-seed spread (p = 0.016): the arithmetic, \
             not the seed, explains it"
        );
    }

    #[test]
    fn a_large_drift_that_changes_sign_is_within_noise() {
        // drifts 1, −1, 3, 1: mean 1, squares 0 + 4 + 4 + 0 = 8, s_d² = 8/3, SE = √(8/3)/2,
        // t = √1.5 = 1.224744871391589; p = 1 − (2/π)(x/(1 + x²) + atan x) with x = t/√3 = √0.5:
        // 0.30806800925035737 (mpmath). Ratio against s = 0.1443…: √48 again.
        let reference = [1.0, 1.25, 1.0, 1.25];
        let format = [2.0, 0.25, 4.0, 2.25];
        let drift = paired_drift(&format, &reference);
        assert_close(drift.t, 1.224744871391589, STATRS_T);
        assert_close(drift.p_value, 0.308_068_009_250_357_4, STATRS_T);
        let (significance, sentence) = verdict("bf16", &drift, 0, 4);
        assert_eq!(significance, Significance::WithinNoise);
        assert!(
            sentence
                .contains("6.9× the seed-to-seed spread but changes from seed to seed (p = 0.31)"),
            "{sentence}"
        );
    }

    #[test]
    fn zero_variance_and_zero_noise_floor_are_explicit() {
        let constant = paired_drift(&[1.25, 2.25, 3.25], &[1.0, 2.0, 3.0]);
        assert_eq!((constant.t, constant.p_value), (f64::INFINITY, 0.0));
        assert_eq!(constant.ci95, (0.25, 0.25));

        let none = paired_drift(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!((none.mean, none.t, none.p_value), (0.0, 0.0, 1.0));
        assert_eq!(
            verdict("f64", &none, 0, 3).1,
            "f64's final loss equals the reference's in all 3 seeds: no drift"
        );

        let flat = paired_drift(&[2.5, 2.5, 2.5], &[2.0, 2.0, 2.0]);
        assert_eq!(
            (flat.noise_floor, flat.ratio_to_noise),
            (0.0, f64::INFINITY)
        );
        assert_eq!(verdict("f16", &flat, 0, 3).0, Significance::Arithmetic);
        let flat_and_equal = paired_drift(&[2.0, 2.0], &[2.0, 2.0]);
        assert_eq!(flat_and_equal.ratio_to_noise, 0.0);
    }

    #[test]
    fn nonfinite_losses_are_a_divergence() {
        let losses = [f64::INFINITY; 8];
        let drift = paired_drift(&losses, &[0.5; 8]);
        assert_eq!(drift.mean, f64::INFINITY);
        let nonfinite = summarize(&losses).nonfinite;
        let (significance, sentence) = verdict("f16", &drift, nonfinite, 8);
        assert_eq!(significance, Significance::Diverged);
        assert_eq!(sentence, "f16 diverged (inf or NaN loss) in 8 of 8 seeds");
    }

    #[test]
    fn one_seed_is_undetermined() {
        let drift = paired_drift(&[1.5], &[1.0]);
        assert!(drift.p_value.is_nan() && drift.noise_floor.is_nan());
        assert_eq!(verdict("f32", &drift, 0, 1).0, Significance::Undetermined);
    }

    #[test]
    fn numbers_in_sentences_have_two_significant_digits() {
        assert_eq!(short(40.2), "40");
        assert_eq!(short(0.3), "0.3");
        assert_eq!(short(0.41234), "0.41");
        assert_eq!(short(1e-6), "1e-06");
        assert_eq!(short(4.66e-29), "4.7e-29");
        assert_eq!(short(0.001), "0.001");
        assert_eq!(short(9.96), "10");
        assert_eq!(short(12345.0), "1.2e+04");
        assert_eq!(signed(-0.0123), "-0.012");
    }
}
