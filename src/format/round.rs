//! Correct rounding: round-to-nearest-even narrowing from f64, and round-to-odd from MPFR values.
//!
//! Narrowing an exact value to a format in two steps (exact → f64 → f16) can round twice and
//! land on the wrong side of a tie. Rounding the first step to *odd* instead (truncate, then set
//! the last bit when anything was discarded) keeps the information the second step needs, as
//! long as the intermediate has at least two more bits than the target (Boldo & Melquiond,
//! "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd", 2008).

use std::cmp::Ordering;

use rug::Float;
use rug::float::Round;

use super::facts::{Overflow, Spec, pow2};

/// Rounds `x` to the nearest value of `spec` (ties to even), with gradual underflow and
/// `spec`'s own overflow rule (±inf for the IEEE formats), and returns that value held exactly in
/// an f64.
///
/// `spec` must fit inside f64 (f16, bf16, f32 and the narrow formats): its values, including
/// subnormals, are then f64 normals or zero. The result is correct when `x` is exact, or is a
/// round-to-odd value with at least `spec.precision + 2` bits.
#[inline]
pub fn round_f64_to(x: f64, spec: &Spec) -> f64 {
    round_f64_with(x, spec, spec.overflow).value
}

/// A value rounded to a format, and whether rounding overflowed: the value rounded with an
/// unbounded exponent was beyond the format's largest finite value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rounded {
    /// The stored value, exactly.
    pub value: f64,
    /// Whether the overflow rule decided it.
    pub overflow: bool,
}

/// [`round_f64_to`] with the overflow rule `overflow` (which must [fit](Overflow::fits) `spec`).
#[inline]
pub fn round_f64_with(x: f64, spec: &Spec, overflow: Overflow) -> Rounded {
    if !x.is_finite() || x == 0.0 {
        // An infinite input is beyond the largest finite value: the rule decides (as CUDA's
        // SATFINITE saturates infinities too); ±inf stays ±inf under IEEE's.
        let value = if x.is_infinite() {
            overflowed(x, spec, overflow)
        } else {
            x
        };
        return Rounded {
            value,
            overflow: false,
        };
    }
    let t = spec.precision as i32;
    // The quantum: the weight of the last significand bit the result may keep.
    let quantum_exp = exponent(x).max(spec.emin) - (t - 1);
    // Scaling by powers of two is exact here: both factors and results stay normal f64s.
    let scaled = x * pow2(-quantum_exp);
    let rounded = round_ties_even(scaled) * pow2(quantum_exp);
    if rounded.abs() > max_finite(spec) {
        Rounded {
            value: overflowed(x, spec, overflow),
            overflow: true,
        }
    } else {
        Rounded {
            value: rounded,
            overflow: false,
        }
    }
}

/// `x.round_ties_even()` without a call into the C library, which a baseline x86-64 build makes
/// (it has no rounding instruction before SSE4.1): below 2^52, adding and subtracting 2^52 rounds
/// to an integer in the default rounding mode, to nearest even; from 2^52 up every f64 is one.
#[inline]
pub(crate) fn round_ties_even(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let magnitude = x.abs();
    if magnitude < TWO_52 {
        ((magnitude + TWO_52) - TWO_52).copysign(x)
    } else {
        x
    }
}

fn max_finite(spec: &Spec) -> f64 {
    spec.max_finite()
        .expect("round_f64_to needs a format inside f64's range")
}

/// What `overflow` stores for a value of `x`'s sign beyond `spec`'s range.
pub(crate) fn overflowed(x: f64, spec: &Spec, overflow: Overflow) -> f64 {
    debug_assert!(overflow.fits(spec), "{overflow} overflow in {}", spec.name);
    match overflow {
        Overflow::Ieee => f64::INFINITY.copysign(x),
        Overflow::Saturate => max_finite(spec).copysign(x),
        Overflow::Nan => f64::NAN,
    }
}

/// floor(log2 |x|) of a finite nonzero f64, subnormals included.
pub fn exponent(x: f64) -> i32 {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        let mantissa = bits & ((1u64 << 52) - 1);
        (63 - mantissa.leading_zeros() as i32) - 1074
    } else {
        biased - 1023
    }
}

/// Sets the sticky bit of a value that was rounded toward zero to `prec - 1` bits: the result
/// is the round-to-odd value of the exact one at `prec` bits.
fn make_odd(mut truncated: Float, ordering: Ordering, prec: u32) -> Float {
    truncated.set_prec(prec);
    if ordering != Ordering::Equal
        && let Some(exp) = truncated.get_exp()
    {
        // With m in [0.5, 1), one unit in the last place of a prec-bit value is 2^(exp-prec).
        let half_unit = Float::with_val(2, 1u32) << (exp - prec as i32);
        if truncated.is_sign_negative() {
            truncated -= half_unit;
        } else {
            truncated += half_unit;
        }
    }
    truncated
}

/// The round-to-odd value at `prec` bits of an MPFR computation.
///
/// `eval` assigns the exact result rounded toward zero at the precision it is given and returns
/// the ternary value (how the stored result compares with the exact one), as MPFR does.
pub fn round_to_odd<F>(prec: u32, eval: F) -> Float
where
    F: FnOnce(u32) -> (Float, Ordering),
{
    let (truncated, ordering) = eval(prec - 1);
    make_odd(truncated, ordering, prec)
}

/// The round-to-odd value at `prec` bits of a value already held in MPFR.
pub fn round_to_odd_value(x: &Float, prec: u32) -> Float {
    round_to_odd(prec, |p| Float::with_val_round(p, x, Round::Zero))
}

/// Converts a round-to-odd value with at most 53 bits to an f64 for narrowing to f16, bf16 or
/// f32. Magnitudes far outside those formats' ranges become stand-ins that round the same way:
/// tiny values a tiny f64 (rounds to ±0), huge values ±2^1000 (rounds to ±inf).
pub fn odd_to_f64_for_narrowing(odd: &Float) -> f64 {
    match odd.get_exp() {
        Some(exp) if exp > 1000 => pow2(1000).copysign(sign_of(odd)),
        Some(exp) if exp < -1000 => pow2(-1000).copysign(sign_of(odd)),
        // Exact: at most 53 bits, in f64's normal range; NaN, inf and ±0 convert as they are.
        _ => odd.to_f64(),
    }
}

fn sign_of(x: &Float) -> f64 {
    if x.is_sign_negative() { -1.0 } else { 1.0 }
}

/// The round-to-odd sum `p + c` in f64, for operands whose exact sum needs more than 53 bits.
///
/// With f16 or bf16 operands the product `a * b` is exact in f64, so `fma_odd(a * b, c)`
/// followed by [`round_f64_to`] is a correctly rounded fused multiply-add.
pub fn sum_odd(p: f64, c: f64) -> f64 {
    let s = p + c;
    if !s.is_finite() {
        return s;
    }
    // TwoSum (Knuth): the exact rounding error of s, without branches.
    let c_part = s - p;
    let err = (p - (s - c_part)) + (c - c_part);
    if err == 0.0 || s.to_bits() & 1 == 1 {
        return s;
    }
    // s is even and inexact: the odd neighbour on the side of the exact sum is the answer.
    let toward_larger_magnitude = (err > 0.0) == (s > 0.0);
    if toward_larger_magnitude {
        f64::from_bits(s.to_bits() + 1)
    } else {
        f64::from_bits(s.to_bits() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;

    /// The library-free rounding agrees with the standard library's bit for bit: on ties
    /// (odd and even), both zeros, near 2^52, beyond it, subnormals, infinities, and a sweep of
    /// pseudo-random bit patterns.
    #[test]
    fn round_ties_even_is_the_standard_librarys() {
        let two_52 = 2f64.powi(52);
        let mut cases = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            1e-310,
            -1e-310,
            two_52 - 0.5,
            two_52 - 1.5,
            -(two_52 - 0.5),
            two_52,
            two_52 + 1.0,
            2f64.powi(53),
            1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            // Bias the sweep towards the range where rounding does anything.
            cases.push(if x.is_finite() { x % 4096.0 } else { x });
            cases.push(x);
        }
        for x in cases {
            assert_eq!(
                round_ties_even(x).to_bits(),
                x.round_ties_even().to_bits(),
                "{x:e}"
            );
        }
    }

    #[test]
    fn ties_round_to_even_in_f16() {
        let f16 = Format::F16.spec();
        // 2049 is halfway between 2048 and 2050 in f16: ties to the even significand, 2048.
        assert_eq!(round_f64_to(2049.0, &f16), 2048.0);
        assert_eq!(round_f64_to(2051.0, &f16), 2052.0);
        // Half the smallest subnormal is a tie between 0 and 2^-24: zero is even.
        assert_eq!(round_f64_to(pow2(-25), &f16), 0.0);
        assert_eq!(round_f64_to(pow2(-25) * 1.5, &f16), pow2(-24));
        assert_eq!(
            round_f64_to(-pow2(-26), &f16).to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn overflow_threshold_in_f16() {
        let f16 = Format::F16.spec();
        // 65520 is the midpoint between 65504 and 2^16: it rounds up and overflows.
        assert_eq!(round_f64_to(65519.99, &f16), 65504.0);
        assert_eq!(round_f64_to(65520.0, &f16), f64::INFINITY);
        assert_eq!(round_f64_to(-65520.0, &f16), f64::NEG_INFINITY);
    }

    #[test]
    fn sum_odd_keeps_the_sticky_bit() {
        // 1 + 2^-60 is 1 in f64 round-to-nearest; to odd it is 1 + 2^-52.
        assert_eq!(sum_odd(1.0, pow2(-60)), 1.0 + pow2(-52));
        assert_eq!(sum_odd(1.0, -pow2(-60)), 1.0 - pow2(-53));
        assert_eq!(sum_odd(1.0, 0.5), 1.5);
    }

    #[test]
    fn round_to_odd_sets_the_last_bit_only_when_inexact() {
        let third = Float::with_val(200, 1) / 3u32;
        let odd = round_to_odd_value(&third, 53);
        assert_eq!(odd.to_f64().to_bits() & 1, 1);
        let exact = round_to_odd_value(&Float::with_val(53, 0.75), 53);
        assert_eq!(exact.to_f64(), 0.75);
    }
}
