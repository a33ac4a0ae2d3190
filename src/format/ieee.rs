//! f16, bf16, f32 and f64 as [`Scalar`]s: native where the hardware is IEEE, emulated otherwise.
//!
//! f16 and bf16 compute +, −, ×, ÷ and √ in f64 and round once: f64 has at least 2t + 2 bits for
//! both, which makes the double rounding innocuous (Figueroa, 1995), and its exponent range keeps
//! their subnormals normal. Their fused multiply-add uses an exact product and a round-to-odd sum.

use half::{bf16, f16};
use rug::Float;

use super::elementary::{Function, odd};
use super::round::{odd_to_f64_for_narrowing, round_f64_to, round_to_odd_value, sum_odd};
use super::stochastic;
use super::{Class, Format, Scalar, Spec};

/// Signed-magnitude bits to a position on the number line, both zeros at 0.
fn ordinal_from_bits(bits: u64, sign_bit: u32) -> i64 {
    let magnitude = (bits & ((1u64 << sign_bit) - 1)) as i64;
    if bits >> sign_bit & 1 == 1 {
        -magnitude
    } else {
        magnitude
    }
}

/// The round-to-odd value of f(x) at `prec` bits.
fn elementary_odd(function: Function, x: f64, prec: u32) -> Float {
    odd(function, &Float::with_val(53, x), prec)
}

/// The round-to-odd value of f(x) at 53 bits as an f64, ready for narrowing to f16, bf16 or a
/// narrow format.
pub(super) fn elementary_for_narrowing(function: Function, x: f64) -> f64 {
    odd_to_f64_for_narrowing(&elementary_odd(function, x, 53))
}

/// The exact f64 of an f16, by its bits: `half`'s conversion, which goes through the F16C
/// instruction behind a run-time check and a call, without the call.
#[inline]
fn f16_to_f64(x: f16) -> f64 {
    let bits = x.to_bits();
    let sign = u64::from(bits & 0x8000) << 48;
    let exponent = u64::from(bits >> 10 & 0x1f);
    let fraction = u64::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: fraction · 2^-24, exact.
        0 => fraction as f64 * f64::from_bits((1023 - 24) << 52),
        // Infinities, and NaN made quiet as F16C makes it.
        0x1f => {
            f64::from_bits(0x7ff0_0000_0000_0000 | fraction << 42 | u64::from(fraction != 0) << 51)
        }
        _ => f64::from_bits((exponent + 1023 - 15) << 52 | fraction << 42),
    };
    f64::from_bits(magnitude.to_bits() | sign)
}

/// The exact f64 of a bf16 (the upper half of an f32).
#[inline]
fn bf16_to_f64(x: bf16) -> f64 {
    f64::from(f32::from_bits(u32::from(x.to_bits()) << 16))
}

/// The f16 of an f64 that holds a value of f16 exactly (or ±inf, or NaN), by its bits: no
/// rounding left to do, so none of `half`'s general conversion.
#[inline]
fn f16_from_exact(x: f64) -> f16 {
    let bits = x.to_bits();
    let sign = (bits >> 48) as u16 & 0x8000;
    let magnitude = x.abs();
    let rest = if x.is_nan() {
        // Quiet, with the payload's leading bits, as `half` (and F16C) make it.
        0x7e00 | (bits >> 42) as u16 & 0x3ff
    } else if magnitude.is_infinite() {
        0x7c00
    } else if magnitude < f64::from_bits((1023 - 14) << 52) {
        // Zero and subnormals: the count of 2^-24 steps, an integer below 2^10.
        (magnitude * f64::from_bits((1023 + 24) << 52)) as u16
    } else {
        let exponent = (bits >> 52 & 0x7ff) as u16 - (1023 - 15);
        exponent << 10 | (bits >> 42) as u16 & 0x3ff
    };
    f16::from_bits(sign | rest)
}

/// The bf16 of an f64 that holds a value of bf16 exactly (or ±inf, or NaN): the upper half of
/// its f32, which holds it exactly too.
#[inline]
fn bf16_from_exact(x: f64) -> bf16 {
    bf16::from_bits(((x as f32).to_bits() >> 16) as u16)
}

macro_rules! half_width_format {
    ($ty:ty, $format:expr, $rounded:ident, $widen:ident, $narrow:ident, $exponent_bits:expr) => {
        /// `x` rounded to the format; the conversion after rounding is exact.
        #[inline]
        fn $rounded(x: f64) -> $ty {
            $narrow(round_f64_to(x, &<$ty as Scalar>::spec(&())))
        }

        impl Scalar for $ty {
            type Context = ();

            fn spec(_: &()) -> Spec {
                const SPEC: Spec = $format.named_spec().expect("a named format");
                SPEC
            }
            fn from_f64(x: f64, _: &()) -> Self {
                $rounded(x)
            }
            fn from_big(x: &Float, _: &()) -> Self {
                $rounded(odd_to_f64_for_narrowing(&round_to_odd_value(x, 53)))
            }
            fn to_f64(&self) -> f64 {
                $widen(*self)
            }
            fn to_big(&self, prec: u32) -> Float {
                Float::with_val(prec, Scalar::to_f64(self))
            }
            fn precision(&self) -> u32 {
                $format.spec().precision
            }
            fn add(&self, rhs: &Self) -> Self {
                $rounded($widen(*self) + $widen(*rhs))
            }
            fn sub(&self, rhs: &Self) -> Self {
                $rounded($widen(*self) - $widen(*rhs))
            }
            fn sub_stochastic(&self, rhs: &Self, u: f64) -> Self {
                stochastic::sub(self, rhs, u)
            }
            fn mul(&self, rhs: &Self) -> Self {
                $rounded($widen(*self) * $widen(*rhs))
            }
            fn div(&self, rhs: &Self) -> Self {
                $rounded($widen(*self) / $widen(*rhs))
            }
            fn mul_add(&self, a: &Self, b: &Self) -> Self {
                // The product of two such values has at most 22 bits: exact in f64.
                let product = $widen(*self) * $widen(*a);
                $rounded(sum_odd(product, $widen(*b)))
            }
            fn sqrt(&self) -> Self {
                $rounded($widen(*self).sqrt())
            }
            fn neg(&self) -> Self {
                -*self
            }
            fn abs(&self) -> Self {
                <$ty>::from_bits(self.to_bits() & 0x7fff)
            }
            fn exp(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Exp, $widen(*self)))
            }
            fn ln(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Ln, $widen(*self)))
            }
            fn ln_1p(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Ln1p, $widen(*self)))
            }
            fn tanh(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Tanh, $widen(*self)))
            }
            fn sigmoid(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Sigmoid, $widen(*self)))
            }
            fn classify(&self) -> Class {
                // By the bits: an exponent field of all ones is ∞ or NaN, of zeros 0 or
                // subnormal.
                const FRACTION: u16 = (1 << (15 - $exponent_bits)) - 1;
                const EXPONENT: u16 = 0x7fff & !FRACTION;
                let bits = self.to_bits();
                match (bits & EXPONENT, bits & FRACTION) {
                    (EXPONENT, 0) => Class::Infinite,
                    (EXPONENT, _) => Class::Nan,
                    (0, 0) => Class::Zero,
                    (0, _) => Class::Subnormal,
                    _ => Class::Normal,
                }
            }
            fn is_sign_negative(&self) -> bool {
                self.to_bits() & 0x8000 != 0
            }
            fn ordinal(&self) -> Option<i64> {
                (!self.is_nan()).then(|| ordinal_from_bits(u64::from(self.to_bits()), 15))
            }
        }
    };
}

half_width_format!(
    f16,
    Format::F16,
    round_to_f16,
    f16_to_f64,
    f16_from_exact,
    5
);
half_width_format!(
    bf16,
    Format::Bf16,
    round_to_bf16,
    bf16_to_f64,
    bf16_from_exact,
    8
);

/// A round-to-odd value of at most 53 bits as an f32: [`odd_to_f64_for_narrowing`] holds it
/// in an f64 (magnitudes far outside f32 as stand-ins that round the same way), and Rust's `as`
/// then rounds to nearest, ties to even, with gradual underflow.
fn f32_from_odd(odd: &Float) -> f32 {
    odd_to_f64_for_narrowing(odd) as f32
}

/// A round-to-odd value of 55 bits as an f64: MPFR's conversion rounds to nearest-even once
/// more, subnormals included.
fn f64_from_odd(odd: &Float) -> f64 {
    odd.to_f64()
}

/// f32 and f64, computed by the hardware. What differs between them is only how a value held
/// at higher precision (an MPFR value, or an elementary function's round-to-odd result at
/// `$odd_bits` ≥ t + 2 bits) is rounded to the format, `$from_odd`, and the name of the
/// FMA-compiled dot product, `$fused`.
///
/// Sequential dot products are a plain multiply-add loop when products are exact, else a loop
/// of fused multiply-adds compiled for the FMA instruction when the CPU has it (the same
/// correctly rounded result as the software fallback, so no bit depends on the CPU).
macro_rules! native_format {
    ($ty:ty, $format:expr, $odd_bits:expr, $from_odd:ident, $fused:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "fma")]
        fn $fused(a: &[$ty], b: &[$ty]) -> $ty {
            let mut acc: $ty = 0.0;
            for (x, y) in a.iter().zip(b) {
                acc = <$ty>::mul_add(*x, *y, acc);
            }
            acc
        }

        impl Scalar for $ty {
            type Context = ();

            fn dot_sequential(a: &[$ty], b: &[$ty], products_exact: bool, _: &()) -> $ty {
                if products_exact {
                    let mut acc: $ty = 0.0;
                    for (x, y) in a.iter().zip(b) {
                        acc += x * y;
                    }
                    return acc;
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports FMA, checked just above.
                    return unsafe { $fused(a, b) };
                }
                let mut acc: $ty = 0.0;
                for (x, y) in a.iter().zip(b) {
                    acc = <$ty>::mul_add(*x, *y, acc);
                }
                acc
            }

            fn spec(_: &()) -> Spec {
                const SPEC: Spec = $format.named_spec().expect("a named format");
                SPEC
            }
            fn from_f64(x: f64, _: &()) -> Self {
                // Rust's `as` rounds to nearest, ties to even, with gradual underflow.
                x as $ty
            }
            fn from_big(x: &Float, _: &()) -> Self {
                $from_odd(&round_to_odd_value(x, $odd_bits))
            }
            fn to_f64(&self) -> f64 {
                f64::from(*self)
            }
            fn to_big(&self, prec: u32) -> Float {
                Float::with_val(prec, *self)
            }
            fn precision(&self) -> u32 {
                <$ty>::MANTISSA_DIGITS
            }
            fn add(&self, rhs: &Self) -> Self {
                self + rhs
            }
            fn sub(&self, rhs: &Self) -> Self {
                self - rhs
            }
            fn sub_stochastic(&self, rhs: &Self, u: f64) -> Self {
                stochastic::sub(self, rhs, u)
            }
            fn mul(&self, rhs: &Self) -> Self {
                self * rhs
            }
            fn div(&self, rhs: &Self) -> Self {
                self / rhs
            }
            fn mul_add(&self, a: &Self, b: &Self) -> Self {
                // A fused operation with one rounding, in hardware or in libm's exact software fma.
                <$ty>::mul_add(*self, *a, *b)
            }
            fn sqrt(&self) -> Self {
                <$ty>::sqrt(*self)
            }
            fn neg(&self) -> Self {
                -*self
            }
            fn abs(&self) -> Self {
                <$ty>::abs(*self)
            }
            fn exp(&self) -> Self {
                $from_odd(&elementary_odd(Function::Exp, f64::from(*self), $odd_bits))
            }
            fn ln(&self) -> Self {
                $from_odd(&elementary_odd(Function::Ln, f64::from(*self), $odd_bits))
            }
            fn ln_1p(&self) -> Self {
                $from_odd(&elementary_odd(Function::Ln1p, f64::from(*self), $odd_bits))
            }
            fn tanh(&self) -> Self {
                $from_odd(&elementary_odd(Function::Tanh, f64::from(*self), $odd_bits))
            }
            fn sigmoid(&self) -> Self {
                $from_odd(&elementary_odd(
                    Function::Sigmoid,
                    f64::from(*self),
                    $odd_bits,
                ))
            }
            fn classify(&self) -> Class {
                match <$ty>::classify(*self) {
                    std::num::FpCategory::Nan => Class::Nan,
                    std::num::FpCategory::Infinite => Class::Infinite,
                    std::num::FpCategory::Zero => Class::Zero,
                    std::num::FpCategory::Subnormal => Class::Subnormal,
                    std::num::FpCategory::Normal => Class::Normal,
                }
            }
            fn is_sign_negative(&self) -> bool {
                <$ty>::is_sign_negative(*self)
            }
            fn ordinal(&self) -> Option<i64> {
                const SIGN_BIT: u32 = 8 * std::mem::size_of::<$ty>() as u32 - 1;
                (!self.is_nan()).then(|| ordinal_from_bits(u64::from(self.to_bits()), SIGN_BIT))
            }
        }
    };
}

native_format!(f32, Format::F32, 53, f32_from_odd, dot_f32_fma);
native_format!(f64, Format::F64, 55, f64_from_odd, dot_f64_fma);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f16 and bf16 bit pattern: the exact f64 and the class by the bits are `half`'s
    /// conversion and the class of its value (NaN for NaN: payloads are not kept), and the value
    /// converts back to the same bits; f32 and f64 classify as their facts do.
    #[test]
    fn every_half_width_value_widens_and_classifies_as_half_does() {
        for bits in 0..=u16::MAX {
            let (x, y) = (f16::from_bits(bits), bf16::from_bits(bits));
            for (ours, theirs, class, spec) in [
                (
                    Scalar::to_f64(&x),
                    f16::to_f64(x),
                    Scalar::classify(&x),
                    Format::F16.spec(),
                ),
                (
                    Scalar::to_f64(&y),
                    bf16::to_f64(y),
                    Scalar::classify(&y),
                    Format::Bf16.spec(),
                ),
            ] {
                assert_eq!(
                    class,
                    spec.classify_f64(theirs),
                    "{} {bits:#06x}",
                    spec.name
                );
                if theirs.is_nan() {
                    assert!(ours.is_nan(), "{} {bits:#06x}", spec.name);
                } else {
                    assert_eq!(
                        ours.to_bits(),
                        theirs.to_bits(),
                        "{} {bits:#06x}",
                        spec.name
                    );
                }
            }
            // f32 and f64 classify as their facts say, at the patterns' widened values too.
            for value in [
                Scalar::to_f64(&x),
                Scalar::to_f64(&y),
                f64::MIN_POSITIVE / 2.0,
            ] {
                let narrow = value as f32;
                assert_eq!(
                    Scalar::classify(&narrow),
                    Format::F32.spec().classify_f64(f64::from(narrow))
                );
                assert_eq!(
                    Scalar::classify(&value),
                    Format::F64.spec().classify_f64(value)
                );
            }
            // And back, exactly; and NaN as `half` makes it from an f64 NaN.
            let nan = f64::from_bits(0x7ff0_0000_0000_0000 | u64::from(bits) << 36 | 1);
            assert_eq!(f16_from_exact(nan).to_bits(), f16::from_f64(nan).to_bits());
            assert_eq!(
                f16_from_exact(-nan).to_bits(),
                f16::from_f64(-nan).to_bits()
            );
            assert_eq!(
                bf16_from_exact(nan).to_bits(),
                bf16::from_f64(nan).to_bits()
            );
            let back = (
                f16_from_exact(f16_to_f64(x)),
                bf16_from_exact(bf16_to_f64(y)),
            );
            assert!(x.is_nan() == back.0.is_nan() && y.is_nan() == back.1.is_nan());
            if !x.is_nan() {
                assert_eq!(back.0.to_bits(), bits, "f16 {bits:#06x}");
            }
            if !y.is_nan() {
                assert_eq!(back.1.to_bits(), bits, "bf16 {bits:#06x}");
            }
        }
    }
}
