//! Number formats: the scalar trait, f16/bf16/f32/f64 with correct rounding, the MPFR reference.

pub mod custom;
mod dispatch;
mod double_double;
mod elementary;
mod facts;
mod held;
mod ieee;
pub mod minifloat;
mod reference;
pub mod round;
pub mod scaled;
mod stochastic;
mod stored;
pub mod text;

pub use dispatch::{FormatFn, Native, Reference, ReferenceFn};
pub use double_double::{DOUBLE_DOUBLE_BITS, DoubleDouble};
pub(crate) use double_double::{mul_add_parts, mul_add_parts_finite};
pub(crate) use facts::pow2;
pub use facts::{
    Class, Format, NARROW, NARROW_EXP_BITS, NARROW_MAN_BITS, Overflow, Spec, Specials,
};
pub use held::Held;
pub use reference::{DEFAULT_REFERENCE_BITS, Mpfr};
pub use stored::{Storage, Stored, store, store_with};
pub use text::Decimal;

use std::fmt::Debug;

use rug::Float;

/// A number format the network can run in.
///
/// Every operation returns the exact result rounded once to the format (round to nearest, ties
/// to even), with subnormals, signed zeros, infinities and NaN as IEEE 754 specifies. The trait
/// is `Clone`, not `Copy`, and takes operands by reference so that MPFR values can implement it.
/// Binary operations on [`Mpfr`] values round to the precision of the left operand.
pub trait Scalar: Clone + Debug + PartialEq + PartialOrd + Send + Sync + 'static {
    /// What constructing a value needs besides the number: the precision of the reference, or
    /// nothing for the fixed formats.
    type Context: Clone + Debug + Send + Sync;

    /// The facts of this format in `ctx`.
    fn spec(ctx: &Self::Context) -> Spec;

    /// `x` correctly rounded to this format.
    fn from_f64(x: f64, ctx: &Self::Context) -> Self;

    /// `x` correctly rounded to this format.
    fn from_big(x: &Float, ctx: &Self::Context) -> Self;

    /// The value as an f64: exact for f16, bf16, f32 and f64; correctly rounded for the reference.
    fn to_f64(&self) -> f64;

    /// The value as an MPFR float of `prec` bits: exact when `prec` is at least its precision.
    fn to_big(&self, prec: u32) -> Float;

    /// The precision in bits of this value's format.
    fn precision(&self) -> u32;

    /// The value as an unevaluated sum hi + lo of two f64s: hi is the value correctly rounded
    /// to f64, lo the remainder rounded to f64. Exact (lo = 0) for formats inside f64.
    fn to_f64_pair(&self) -> (f64, f64) {
        (self.to_f64(), 0.0)
    }

    /// self + rhs.
    fn add(&self, rhs: &Self) -> Self;
    /// self − rhs.
    fn sub(&self, rhs: &Self) -> Self;
    /// self − rhs rounded stochastically with the uniform `u` in [0, 1): to the value of the
    /// format just above the exact difference when `u` < (exact − below)/(above − below), else
    /// to the one just below, so that the rounding is unbiased; exact differences, infinities,
    /// NaN and overflow as [`sub`](Scalar::sub). The references (MPFR, double-double) round to
    /// nearest: their trajectory is the exact one that stochastic rounding follows on average.
    fn sub_stochastic(&self, rhs: &Self, u: f64) -> Self;
    /// self × rhs.
    fn mul(&self, rhs: &Self) -> Self;
    /// self ÷ rhs.
    fn div(&self, rhs: &Self) -> Self;
    /// self × a + b with one rounding.
    fn mul_add(&self, a: &Self, b: &Self) -> Self;
    /// √self.
    fn sqrt(&self) -> Self;
    /// −self (exact).
    fn neg(&self) -> Self;
    /// |self| (exact).
    fn abs(&self) -> Self;
    /// e^self, correctly rounded.
    fn exp(&self) -> Self;
    /// ln(self), correctly rounded.
    fn ln(&self) -> Self;
    /// ln(1 + self), correctly rounded (1 + self is not rounded first).
    fn ln_1p(&self) -> Self;
    /// tanh(self), correctly rounded.
    fn tanh(&self) -> Self;
    /// 1 / (1 + e^−self), correctly rounded.
    fn sigmoid(&self) -> Self;

    /// The IEEE class of the value.
    fn classify(&self) -> Class;

    /// Whether the sign bit is set (true for −0 and negative NaN payloads alike).
    fn is_sign_negative(&self) -> bool;

    /// The position of the value in the format's ordered set of values (±0 both at 0), so that
    /// the number of values between `a` and `b` is `|a.ordinal() − b.ordinal()|`. `None` for NaN
    /// and for the reference, whose values are not enumerable in an i64.
    fn ordinal(&self) -> Option<i64>;

    /// self += rhs, in place where the format can avoid allocating.
    fn add_assign(&mut self, rhs: &Self) {
        *self = self.add(rhs);
    }

    /// self = a × b + self with one rounding, in place where the format can avoid allocating.
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        *self = a.mul_add(b, self);
    }

    /// Σ a_k·b_k from zero, left to right, with one fused multiply-add per term. When
    /// `products_exact` (the caller knows every a_k·b_k is exact in this format, e.g. because
    /// the operands were widened from a format of half the precision and range), a multiply and
    /// an add give the same result, and formats may use that to go faster.
    fn dot_sequential(a: &[Self], b: &[Self], products_exact: bool, ctx: &Self::Context) -> Self {
        let _ = products_exact;
        let mut acc = Self::zero(ctx);
        for (x, y) in a.iter().zip(b) {
            acc.mul_add_assign(x, y);
        }
        acc
    }

    /// Zero in this format.
    fn zero(ctx: &Self::Context) -> Self {
        Self::from_f64(0.0, ctx)
    }

    /// One in this format.
    fn one(ctx: &Self::Context) -> Self {
        Self::from_f64(1.0, ctx)
    }

    /// Whether the value is NaN.
    fn is_nan(&self) -> bool {
        self.classify() == Class::Nan
    }

    /// Whether the value is ±0.
    fn is_zero(&self) -> bool {
        self.classify() == Class::Zero
    }

    /// Whether the value is neither infinite nor NaN.
    fn is_finite(&self) -> bool {
        !matches!(self.classify(), Class::Infinite | Class::Nan)
    }

    /// IEEE 754-2019 `maximum`: NaN if either operand is NaN, and +0 is above −0.
    fn maximum(&self, other: &Self) -> Self {
        pick(self, other, |a, b| {
            a > b || (a == b && !a.is_sign_negative())
        })
    }

    /// IEEE 754-2019 `minimum`: NaN if either operand is NaN, and −0 is below +0.
    fn minimum(&self, other: &Self) -> Self {
        pick(self, other, |a, b| {
            a < b || (a == b && a.is_sign_negative())
        })
    }
}

fn pick<S: Scalar>(a: &S, b: &S, a_wins: impl Fn(&S, &S) -> bool) -> S {
    if a.is_nan() {
        a.clone()
    } else if b.is_nan() || !a_wins(a, b) {
        b.clone()
    } else {
        a.clone()
    }
}

/// Parses a decimal (or `inf`, `nan`) and rounds it once, correctly, to the format of `S`.
pub fn from_decimal<S: Scalar>(text: &str, ctx: &S::Context) -> Result<S, crate::Error> {
    let exact = text::parse_round_to_odd(text, S::spec(ctx).precision + 2)?;
    Ok(S::from_big(&exact, ctx))
}
