//! f16, bf16, f32 and f64 as [`Scalar`]s: native where the hardware is IEEE, emulated otherwise.
//!
//! f16 and bf16 compute +, −, ×, ÷ and √ in f64 and round once: f64 has at least 2t + 2 bits for
//! both, which makes the double rounding innocuous (Figueroa, 1995), and its exponent range keeps
//! their subnormals normal. Their fused multiply-add uses an exact product and a round-to-odd sum.

use half::{bf16, f16};
use rug::Float;

use super::elementary::{Function, odd};
use super::round::{odd_to_f64_for_narrowing, round_f64_to, round_to_odd_value, sum_odd};
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

/// The round-to-odd value of f(x) at 53 bits as an f64, ready for narrowing to f16, bf16 or f32.
fn elementary_for_narrowing(function: Function, x: f64) -> f64 {
    odd_to_f64_for_narrowing(&odd(function, &Float::with_val(53, x), 53))
}

macro_rules! half_width_format {
    ($ty:ty, $format:expr, $rounded:ident) => {
        /// `x` rounded to the format; the conversion after rounding is exact.
        fn $rounded(x: f64) -> $ty {
            <$ty>::from_f64(round_f64_to(x, &$format.spec()))
        }

        impl Scalar for $ty {
            type Context = ();

            fn spec(_: &()) -> Spec {
                $format.spec()
            }
            fn from_f64(x: f64, _: &()) -> Self {
                $rounded(x)
            }
            fn from_big(x: &Float, _: &()) -> Self {
                $rounded(odd_to_f64_for_narrowing(&round_to_odd_value(x, 53)))
            }
            fn to_f64(&self) -> f64 {
                <$ty>::to_f64(*self)
            }
            fn to_big(&self, prec: u32) -> Float {
                Float::with_val(prec, Scalar::to_f64(self))
            }
            fn precision(&self) -> u32 {
                $format.spec().precision
            }
            fn add(&self, rhs: &Self) -> Self {
                $rounded(<$ty>::to_f64(*self) + <$ty>::to_f64(*rhs))
            }
            fn sub(&self, rhs: &Self) -> Self {
                $rounded(<$ty>::to_f64(*self) - <$ty>::to_f64(*rhs))
            }
            fn mul(&self, rhs: &Self) -> Self {
                $rounded(<$ty>::to_f64(*self) * <$ty>::to_f64(*rhs))
            }
            fn div(&self, rhs: &Self) -> Self {
                $rounded(<$ty>::to_f64(*self) / <$ty>::to_f64(*rhs))
            }
            fn mul_add(&self, a: &Self, b: &Self) -> Self {
                // The product of two such values has at most 22 bits: exact in f64.
                let product = <$ty>::to_f64(*self) * <$ty>::to_f64(*a);
                $rounded(sum_odd(product, <$ty>::to_f64(*b)))
            }
            fn sqrt(&self) -> Self {
                $rounded(<$ty>::to_f64(*self).sqrt())
            }
            fn neg(&self) -> Self {
                -*self
            }
            fn abs(&self) -> Self {
                <$ty>::from_bits(self.to_bits() & 0x7fff)
            }
            fn exp(&self) -> Self {
                $rounded(elementary_for_narrowing(
                    Function::Exp,
                    <$ty>::to_f64(*self),
                ))
            }
            fn ln(&self) -> Self {
                $rounded(elementary_for_narrowing(Function::Ln, <$ty>::to_f64(*self)))
            }
            fn tanh(&self) -> Self {
                $rounded(elementary_for_narrowing(
                    Function::Tanh,
                    <$ty>::to_f64(*self),
                ))
            }
            fn sigmoid(&self) -> Self {
                $rounded(elementary_for_narrowing(
                    Function::Sigmoid,
                    <$ty>::to_f64(*self),
                ))
            }
            fn classify(&self) -> Class {
                $format.spec().classify_f64(<$ty>::to_f64(*self))
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

half_width_format!(f16, Format::F16, round_to_f16);
half_width_format!(bf16, Format::Bf16, round_to_bf16);

/// Sequential dot products of the native formats: a plain multiply-add loop when products are
/// exact, else a loop of fused multiply-adds compiled for the FMA instruction when the CPU has it
/// (the same correctly rounded result as the software fallback, so no bit depends on the CPU).
macro_rules! native_dot {
    ($ty:ty, $fused:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "fma")]
        fn $fused(a: &[$ty], b: &[$ty]) -> $ty {
            let mut acc: $ty = 0.0;
            for (x, y) in a.iter().zip(b) {
                acc = <$ty>::mul_add(*x, *y, acc);
            }
            acc
        }

        impl NativeDot for $ty {
            fn dot(a: &[$ty], b: &[$ty], products_exact: bool) -> $ty {
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
        }
    };
}

trait NativeDot: Sized {
    fn dot(a: &[Self], b: &[Self], products_exact: bool) -> Self;
}

native_dot!(f32, dot_f32_fma);
native_dot!(f64, dot_f64_fma);

impl Scalar for f32 {
    type Context = ();

    fn dot_sequential(a: &[f32], b: &[f32], products_exact: bool, _: &()) -> f32 {
        NativeDot::dot(a, b, products_exact)
    }

    fn spec(_: &()) -> Spec {
        Format::F32.spec()
    }
    fn from_f64(x: f64, _: &()) -> Self {
        // Rust's `as` rounds to nearest, ties to even, with gradual underflow.
        x as f32
    }
    fn from_big(x: &Float, _: &()) -> Self {
        odd_to_f64_for_narrowing(&round_to_odd_value(x, 53)) as f32
    }
    fn to_f64(&self) -> f64 {
        f64::from(*self)
    }
    fn to_big(&self, prec: u32) -> Float {
        Float::with_val(prec, *self)
    }
    fn precision(&self) -> u32 {
        24
    }
    fn add(&self, rhs: &Self) -> Self {
        self + rhs
    }
    fn sub(&self, rhs: &Self) -> Self {
        self - rhs
    }
    fn mul(&self, rhs: &Self) -> Self {
        self * rhs
    }
    fn div(&self, rhs: &Self) -> Self {
        self / rhs
    }
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        // A fused operation with one rounding, in hardware or in libm's exact software fmaf.
        f32::mul_add(*self, *a, *b)
    }
    fn sqrt(&self) -> Self {
        f32::sqrt(*self)
    }
    fn neg(&self) -> Self {
        -*self
    }
    fn abs(&self) -> Self {
        f32::abs(*self)
    }
    fn exp(&self) -> Self {
        elementary_for_narrowing(Function::Exp, f64::from(*self)) as f32
    }
    fn ln(&self) -> Self {
        elementary_for_narrowing(Function::Ln, f64::from(*self)) as f32
    }
    fn tanh(&self) -> Self {
        elementary_for_narrowing(Function::Tanh, f64::from(*self)) as f32
    }
    fn sigmoid(&self) -> Self {
        elementary_for_narrowing(Function::Sigmoid, f64::from(*self)) as f32
    }
    fn classify(&self) -> Class {
        Format::F32.spec().classify_f64(f64::from(*self))
    }
    fn is_sign_negative(&self) -> bool {
        f32::is_sign_negative(*self)
    }
    fn ordinal(&self) -> Option<i64> {
        (!self.is_nan()).then(|| ordinal_from_bits(u64::from(self.to_bits()), 31))
    }
}

/// f(x) correctly rounded to f64: round to odd at 55 bits, then MPFR's conversion rounds to
/// nearest-even once more, subnormals included.
fn elementary_f64(function: Function, x: f64) -> f64 {
    odd(function, &Float::with_val(53, x), 55).to_f64()
}

impl Scalar for f64 {
    type Context = ();

    fn dot_sequential(a: &[f64], b: &[f64], products_exact: bool, _: &()) -> f64 {
        NativeDot::dot(a, b, products_exact)
    }

    fn spec(_: &()) -> Spec {
        Format::F64.spec()
    }
    fn from_f64(x: f64, _: &()) -> Self {
        x
    }
    fn from_big(x: &Float, _: &()) -> Self {
        round_to_odd_value(x, 55).to_f64()
    }
    fn to_f64(&self) -> f64 {
        *self
    }
    fn to_big(&self, prec: u32) -> Float {
        Float::with_val(prec, *self)
    }
    fn precision(&self) -> u32 {
        53
    }
    fn add(&self, rhs: &Self) -> Self {
        self + rhs
    }
    fn sub(&self, rhs: &Self) -> Self {
        self - rhs
    }
    fn mul(&self, rhs: &Self) -> Self {
        self * rhs
    }
    fn div(&self, rhs: &Self) -> Self {
        self / rhs
    }
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        f64::mul_add(*self, *a, *b)
    }
    fn sqrt(&self) -> Self {
        f64::sqrt(*self)
    }
    fn neg(&self) -> Self {
        -*self
    }
    fn abs(&self) -> Self {
        f64::abs(*self)
    }
    fn exp(&self) -> Self {
        elementary_f64(Function::Exp, *self)
    }
    fn ln(&self) -> Self {
        elementary_f64(Function::Ln, *self)
    }
    fn tanh(&self) -> Self {
        elementary_f64(Function::Tanh, *self)
    }
    fn sigmoid(&self) -> Self {
        elementary_f64(Function::Sigmoid, *self)
    }
    fn classify(&self) -> Class {
        Format::F64.spec().classify_f64(*self)
    }
    fn is_sign_negative(&self) -> bool {
        f64::is_sign_negative(*self)
    }
    fn ordinal(&self) -> Option<i64> {
        (!self.is_nan()).then(|| ordinal_from_bits(self.to_bits(), 63))
    }
}
