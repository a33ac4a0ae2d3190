//! Stochastic rounding of a difference: the exact value to one of its two neighbours in the
//! format, the upper one with probability (exact − lower)/(upper − lower), so that the rounding
//! is unbiased (Connolly, Higham & Mary, "Stochastic rounding and its probabilistic backward
//! error analysis", 2021, mode 1).
//!
//! The difference of two values of f16, bf16, f32 or f64 is exactly hi + lo, two f64s from
//! TwoSum, and every step below is exact in f64, so the only approximation is the uniform
//! u = k·2⁻⁵³ itself: the upper neighbour is taken when u < p, which happens with probability
//! ⌈p·2⁵³⌉·2⁻⁵³, within 2⁻⁵³ of p.

use super::double_double::two_sum;
use super::round::exponent;
use super::{Scalar, Spec, pow2};

/// `a − b` rounded stochastically to the format of `S` with the uniform `u` in [0, 1): the
/// neighbour of larger magnitude when `u` is below the exact difference's distance from the
/// smaller one, in units of their spacing.
///
/// Exact differences (zero included, with nearest's sign), infinities and NaN come out as
/// [`Scalar::sub`] gives them, and so does a difference that rounds to infinity to nearest. A
/// finite difference beyond the largest finite value that nearest keeps finite gives that value:
/// stochastic rounding never overflows where nearest does not.
pub(super) fn sub<S: Scalar<Context = ()>>(a: &S, b: &S, u: f64) -> S {
    let nearest = a.sub(b);
    // Values of S are f64s exactly; their difference is hi + lo exactly, unless it overflows
    // f64 (then `nearest` is infinite too).
    let (hi, lo) = two_sum(a.to_f64(), -b.to_f64());
    if !nearest.is_finite() || (lo == 0.0 && nearest.to_f64() == hi) {
        return nearest;
    }
    S::from_f64(round_inexact(hi, lo, u, &S::spec(&())), &())
}

/// hi + lo (TwoSum's output: |lo| ≤ ½ ulp(hi), hi ≠ 0), which is not a value of `spec`, rounded
/// stochastically with `u`, as an f64 that holds a value of `spec` exactly.
fn round_inexact(hi: f64, lo: f64, u: f64, spec: &Spec) -> f64 {
    // Work on the magnitude |x| = magnitude + below (below may be negative) and restore the sign
    // at the end: rounding away from zero with probability (|x| − lower)/spacing is rounding up
    // with probability (x − down)/(up − down) for either sign.
    let sign = 1f64.copysign(hi);
    let (magnitude, below) = (hi.abs(), lo * sign);
    // The binade of |x|; |x| lies below |hi| when hi is a power of two and lo points to zero.
    let mut binade = exponent(magnitude);
    if below < 0.0 && magnitude == pow2(binade) {
        binade -= 1;
    }
    let t = spec.precision as i32;
    let spacing_exp = binade.max(spec.emin) - t + 1;
    // u·spacing must not underflow: work at a scale where spacing ≥ 2^−1021 (at most 2^53 up,
    // exact, and far from overflow for values this small).
    let scale_exp = (-1021 - spacing_exp).max(0);
    let (scale, unscale) = (pow2(scale_exp), pow2(-scale_exp));
    let (magnitude, below) = (magnitude * scale, below * scale);
    let spacing = pow2(spacing_exp) * scale;
    // The format's values in this binade are the multiples of `spacing`: |x| lies strictly
    // between `lower` and `lower + spacing`.
    let mut lower = (magnitude / spacing).floor() * spacing;
    if lower == magnitude && below < 0.0 {
        lower -= spacing;
    }
    // |x| − lower = (magnitude − lower) + below, the first difference exact (Sterbenz: lower is
    // 0 or at least half of magnitude). Round away when u·spacing < that, compared exactly.
    let (gap, gap_error) = two_sum(magnitude - lower, below);
    let threshold = u * spacing;
    let away = threshold < gap || (threshold == gap && gap_error > 0.0);
    let max = spec.max_finite().map_or(f64::INFINITY, |max| max * scale);
    let rounded = if away && lower + spacing <= max {
        lower + spacing
    } else {
        lower
    };
    sign * (rounded * unscale)
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};

    use super::*;

    #[test]
    fn a_quarter_of_a_spacing_rounds_up_below_a_quarter() {
        // 1 + 2^-9 is a quarter of bf16's spacing 2^-7 above 1.
        let (one, step) = (bf16::from_f64(1.0), bf16::from_f64(-pow2(-9)));
        assert_eq!(sub(&one, &step, 0.0).to_f64(), 1.0 + pow2(-7));
        assert_eq!(sub(&one, &step, 0.25 - pow2(-53)).to_f64(), 1.0 + pow2(-7));
        assert_eq!(sub(&one, &step, 0.25).to_f64(), 1.0);
        assert_eq!(sub(&one, &step, 0.9).to_f64(), 1.0);
    }

    #[test]
    fn below_a_power_of_two_the_spacing_halves() {
        // 1 − 2^-12 lies between 1 − 2^-8 and 1 (spacing 2^-8), fifteen sixteenths above the
        // lower one.
        let (one, step) = (bf16::from_f64(1.0), bf16::from_f64(pow2(-12)));
        assert_eq!(sub(&one, &step, 0.0).to_f64(), 1.0);
        assert_eq!(sub(&one, &step, 0.9375 - pow2(-53)).to_f64(), 1.0);
        assert_eq!(sub(&one, &step, 0.9375).to_f64(), 1.0 - pow2(-8));
        // −1 − 2^-12 lies a thirty-second of the spacing 2^-7 below −1: down (away from zero)
        // with probability 1/32.
        let minus_one = bf16::from_f64(-1.0);
        assert_eq!(sub(&minus_one, &step, 0.5).to_f64(), -1.0);
        assert_eq!(sub(&minus_one, &step, 0.03125).to_f64(), -1.0);
        assert_eq!(
            sub(&minus_one, &step, 0.03125 - pow2(-53)).to_f64(),
            -1.0 - pow2(-7)
        );
    }

    #[test]
    fn f64_differences_round_from_their_exact_remainder() {
        // 1 − 2^-80 is 1 to nearest; stochastically 1 − 2^-53 with probability 2^-27.
        assert_eq!(sub(&1.0f64, &pow2(-80), 0.5), 1.0);
        assert_eq!(sub(&1.0f64, &pow2(-80), 1.0 - pow2(-27) - pow2(-53)), 1.0);
        assert_eq!(sub(&1.0f64, &pow2(-80), 1.0 - pow2(-27)), 1.0 - pow2(-53));
        // Near the bottom of the normal range (spacing 2^-1053 below 2^-1000), where u times
        // the spacing would underflow: x minus the smallest subnormal, 2^-21 of a spacing below
        // x, is x but with probability 2^-21.
        let x = pow2(-1000);
        let below_x = f64::from_bits(x.to_bits() - 1);
        assert_eq!(sub(&x, &pow2(-1074), 0.0), x);
        assert_eq!(sub(&x, &pow2(-1074), 1.0 - pow2(-21) - pow2(-53)), x);
        assert_eq!(sub(&x, &pow2(-1074), 1.0 - pow2(-21)), below_x);
    }

    #[test]
    fn differences_in_the_subnormal_range_are_exact_and_kept() {
        // Every value of a format is a multiple of its smallest subnormal, so a difference below
        // the smallest normal is one of its subnormals (or zero): no draw can move it.
        let (a, b) = (f16::from_f64(3.0 * pow2(-24)), f16::from_f64(pow2(-14)));
        let exact = -(pow2(-14) - 3.0 * pow2(-24));
        for u in [0.0, 0.5, 1.0 - pow2(-53)] {
            assert_eq!(sub(&a, &b, u).to_f64(), exact);
            assert!(!sub(&a, &a, u).is_sign_negative(), "x − x is +0");
            assert_eq!(sub(&a.neg(), &a, u).to_f64(), -6.0 * pow2(-24));
        }
        let minus_zero = f16::from_f64(-0.0);
        assert!(
            sub(&minus_zero, &f16::from_f64(0.0), 0.3).is_sign_negative(),
            "−0 − +0 is −0"
        );
    }

    #[test]
    fn never_rounds_up_to_infinity_where_nearest_stays_finite() {
        let max = f16::MAX;
        // max + 8: a quarter of the spacing 32 above max; nearest gives max.
        let eight = f16::from_f64(-8.0);
        assert_eq!(Scalar::sub(&max, &eight), max);
        assert_eq!(sub(&max, &eight, 0.0), max);
        // max + 16 is the halfway point 65520: inf to nearest, and so stochastically.
        let sixteen = f16::from_f64(-16.0);
        assert_eq!(Scalar::sub(&max, &sixteen), f16::INFINITY);
        assert_eq!(sub(&max, &sixteen, 0.99), f16::INFINITY);
    }
}
