//! The MPFR reference: a [`Scalar`] whose precision is chosen at run time.

use std::cmp::Ordering;

use rug::Float;

use super::elementary::{Function, odd};
use super::{Class, Scalar, Spec};

/// The default precision of the reference: binary128's, enough that its own rounding errors
/// are about 2^60 times smaller than f64's.
pub const DEFAULT_REFERENCE_BITS: u32 = 113;

/// An MPFR float. Results round to nearest-even at the precision of the left operand, with
/// MPFR's exponent range (about ±2^30 in the exponent), so it neither overflows nor underflows
/// in practice and has no subnormals.
#[derive(Clone, Debug, PartialEq)]
pub struct Mpfr(pub Float);

impl PartialOrd for Mpfr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

impl Mpfr {
    fn prec(&self) -> u32 {
        self.0.prec()
    }

    fn elementary(&self, function: Function) -> Self {
        let prec = self.prec();
        Mpfr(Float::with_val(prec, odd(function, &self.0, prec + 2)))
    }
}

impl Scalar for Mpfr {
    type Context = u32;

    fn spec(prec: &u32) -> Spec {
        Spec::reference(*prec)
    }
    fn from_f64(x: f64, prec: &u32) -> Self {
        Mpfr(Float::with_val(*prec, x))
    }
    fn from_big(x: &Float, prec: &u32) -> Self {
        Mpfr(Float::with_val(*prec, x))
    }
    fn to_f64(&self) -> f64 {
        self.0.to_f64()
    }
    fn to_big(&self, prec: u32) -> Float {
        Float::with_val(prec, &self.0)
    }
    fn to_f64_pair(&self) -> (f64, f64) {
        let hi = self.0.to_f64();
        if !hi.is_finite() {
            return (hi, 0.0);
        }
        // The remainder in a reused scratch value: no allocation per element.
        thread_local! {
            static REMAINDER: std::cell::RefCell<Float> = std::cell::RefCell::new(Float::new(53));
        }
        let lo = REMAINDER.with_borrow_mut(|remainder| {
            rug::Assign::assign(remainder, &self.0 - hi);
            remainder.to_f64()
        });
        (hi, lo)
    }
    fn precision(&self) -> u32 {
        self.prec()
    }
    fn add(&self, rhs: &Self) -> Self {
        Mpfr(Float::with_val(self.prec(), &self.0 + &rhs.0))
    }
    fn sub(&self, rhs: &Self) -> Self {
        Mpfr(Float::with_val(self.prec(), &self.0 - &rhs.0))
    }
    fn sub_stochastic(&self, rhs: &Self, _: f64) -> Self {
        self.sub(rhs)
    }
    fn mul(&self, rhs: &Self) -> Self {
        Mpfr(Float::with_val(self.prec(), &self.0 * &rhs.0))
    }
    fn div(&self, rhs: &Self) -> Self {
        Mpfr(Float::with_val(self.prec(), &self.0 / &rhs.0))
    }
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.mul_add_ref(&a.0, &b.0)))
    }
    fn sqrt(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.sqrt_ref()))
    }
    fn neg(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), -&self.0))
    }
    fn abs(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.abs_ref()))
    }
    fn exp(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.exp_ref()))
    }
    fn ln(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.ln_ref()))
    }
    fn ln_1p(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.ln_1p_ref()))
    }
    fn tanh(&self) -> Self {
        Mpfr(Float::with_val(self.prec(), self.0.tanh_ref()))
    }
    fn sigmoid(&self) -> Self {
        self.elementary(Function::Sigmoid)
    }
    fn classify(&self) -> Class {
        if self.0.is_nan() {
            Class::Nan
        } else if self.0.is_infinite() {
            Class::Infinite
        } else if self.0.is_zero() {
            Class::Zero
        } else {
            Class::Normal
        }
    }
    fn is_sign_negative(&self) -> bool {
        self.0.is_sign_negative()
    }
    fn ordinal(&self) -> Option<i64> {
        None
    }
    fn add_assign(&mut self, rhs: &Self) {
        self.0 += &rhs.0;
    }
    fn mul_add_assign(&mut self, a: &Self, b: &Self) {
        // rug evaluates `x += a * b` as one fused MPFR operation.
        self.0 += &a.0 * &b.0;
    }
}
