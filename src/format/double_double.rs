//! Double-double: an unevaluated sum of two f64s, about 106 bits, about 1,000× cheaper than MPFR.
//!
//! It is a yardstick and a fast reference, not an IEEE format: + − × ÷ √ have relative errors
//! of a few units of 2^-104 (Joldes, Muller & Popescu, "Tight and rigorous error bounds for
//! basic building blocks of double-word arithmetic", 2017), not a single correct rounding.
//! exp, ln, tanh and sigmoid go through MPFR at 128 bits.

use std::cmp::Ordering;

use rug::Float;

use super::elementary::{Function, odd};
use super::{Class, Scalar, Spec};

/// hi + lo with |lo| ≤ ulp(hi)/2.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DoubleDouble {
    /// The value rounded to f64.
    pub hi: f64,
    /// The remainder.
    pub lo: f64,
}

/// The nominal precision of a double-double.
pub const DOUBLE_DOUBLE_BITS: u32 = 106;

/// s + e = a + b exactly (Knuth's TwoSum).
pub(super) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let b_part = s - a;
    (s, (a - (s - b_part)) + (b - b_part))
}

/// s + e = a + b exactly, when |a| ≥ |b| (Dekker's FastTwoSum).
fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

impl DoubleDouble {
    fn new(hi: f64, lo: f64) -> Self {
        if hi.is_finite() {
            let (hi, lo) = fast_two_sum(hi, lo);
            DoubleDouble { hi, lo }
        } else {
            DoubleDouble { hi, lo: 0.0 }
        }
    }

    fn special(x: f64) -> Option<Self> {
        (!x.is_finite()).then_some(DoubleDouble { hi: x, lo: 0.0 })
    }

    fn product(&self, rhs: &Self) -> Self {
        let p = self.hi * rhs.hi;
        if let Some(special) = Self::special(p) {
            return special;
        }
        let e = self.hi.mul_add(rhs.hi, -p) + (self.hi * rhs.lo + self.lo * rhs.hi);
        Self::new(p, e)
    }

    fn sum(&self, rhs: &Self) -> Self {
        let (s, e) = two_sum(self.hi, rhs.hi);
        if let Some(special) = Self::special(s) {
            return special;
        }
        let (t, f) = two_sum(self.lo, rhs.lo);
        let (s, e) = fast_two_sum(s, e + t);
        Self::new(s, e + f)
    }

    fn elementary(&self, function: Function) -> Self {
        let x = self.to_big(2200);
        Self::from_big(&odd(function, &x, 128), &())
    }
}

impl PartialOrd for DoubleDouble {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match self.hi.partial_cmp(&other.hi) {
            Some(Ordering::Equal) => self.lo.partial_cmp(&other.lo),
            ordering => ordering,
        }
    }
}

impl Scalar for DoubleDouble {
    type Context = ();

    fn spec(_: &()) -> Spec {
        Spec::double_double()
    }
    fn from_f64(x: f64, _: &()) -> Self {
        DoubleDouble { hi: x, lo: 0.0 }
    }
    fn from_big(x: &Float, _: &()) -> Self {
        let hi = x.to_f64();
        if !hi.is_finite() {
            return DoubleDouble { hi, lo: 0.0 };
        }
        DoubleDouble {
            hi,
            lo: Float::with_val(53, x - hi).to_f64(),
        }
    }
    fn to_f64(&self) -> f64 {
        self.hi
    }
    fn to_f64_pair(&self) -> (f64, f64) {
        (self.hi, self.lo)
    }
    fn to_big(&self, prec: u32) -> Float {
        // 2200 bits hold hi + lo exactly whatever their exponents; then one rounding to prec.
        let mut exact = Float::with_val(2200, self.hi);
        exact += self.lo;
        Float::with_val(prec, exact)
    }
    fn precision(&self) -> u32 {
        DOUBLE_DOUBLE_BITS
    }
    fn add(&self, rhs: &Self) -> Self {
        self.sum(rhs)
    }
    fn sub(&self, rhs: &Self) -> Self {
        self.sum(&rhs.neg())
    }
    fn sub_stochastic(&self, rhs: &Self, _: f64) -> Self {
        self.sub(rhs)
    }
    fn mul(&self, rhs: &Self) -> Self {
        self.product(rhs)
    }
    fn div(&self, rhs: &Self) -> Self {
        let q1 = self.hi / rhs.hi;
        if let Some(special) = Self::special(q1) {
            return special;
        }
        if q1 == 0.0 {
            return DoubleDouble { hi: q1, lo: 0.0 };
        }
        // Two corrections of the f64 quotient by the remainder.
        let r = self.sub(&rhs.product(&Self::from_f64(q1, &())));
        let q2 = r.hi / rhs.hi;
        let r = r.sub(&rhs.product(&Self::from_f64(q2, &())));
        let q3 = r.hi / rhs.hi;
        Self::new(q1, q2).sum(&Self::from_f64(q3, &()))
    }
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        self.product(a).sum(b)
    }
    fn sqrt(&self) -> Self {
        let root = self.hi.sqrt();
        if root == 0.0 || Self::special(root).is_some() {
            return DoubleDouble { hi: root, lo: 0.0 };
        }
        // One Newton step: √a ≈ x + (a − x²) / 2x.
        let square = Self::from_f64(root, &()).product(&Self::from_f64(root, &()));
        let residual = self.sub(&square);
        Self::new(root, residual.hi / (2.0 * root))
    }
    fn neg(&self) -> Self {
        DoubleDouble {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
    fn abs(&self) -> Self {
        if self.hi.is_sign_negative() {
            self.neg()
        } else {
            *self
        }
    }
    fn exp(&self) -> Self {
        self.elementary(Function::Exp)
    }
    fn ln(&self) -> Self {
        self.elementary(Function::Ln)
    }
    fn ln_1p(&self) -> Self {
        self.elementary(Function::Ln1p)
    }
    fn tanh(&self) -> Self {
        self.elementary(Function::Tanh)
    }
    fn sigmoid(&self) -> Self {
        self.elementary(Function::Sigmoid)
    }
    fn classify(&self) -> Class {
        if self.hi.is_nan() {
            Class::Nan
        } else if self.hi.is_infinite() {
            Class::Infinite
        } else if self.hi == 0.0 {
            Class::Zero
        } else {
            Class::Normal
        }
    }
    fn is_sign_negative(&self) -> bool {
        self.hi.is_sign_negative()
    }
    fn ordinal(&self) -> Option<i64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(x: &DoubleDouble) -> Float {
        x.to_big(300)
    }

    fn rel_error(x: &DoubleDouble, exact: &Float) -> f64 {
        Float::with_val(300, (big(x) - exact) / exact)
            .abs()
            .to_f64()
    }

    #[test]
    fn arithmetic_is_accurate_to_about_2_pow_minus_104() {
        let third = DoubleDouble::from_f64(1.0, &()).div(&DoubleDouble::from_f64(3.0, &()));
        let exact = Float::with_val(300, 1) / 3u32;
        assert!(
            rel_error(&third, &exact) < 2f64.powi(-103),
            "{}",
            rel_error(&third, &exact)
        );
        let root = DoubleDouble::from_f64(2.0, &()).sqrt();
        let exact = Float::with_val(300, 2).sqrt();
        assert!(rel_error(&root, &exact) < 2f64.powi(-103));
        // 1 + 2^-80 survives in double-double, not in f64.
        let sum =
            DoubleDouble::from_f64(1.0, &()).add(&DoubleDouble::from_f64(2f64.powi(-80), &()));
        assert_eq!((sum.hi, sum.lo), (1.0, 2f64.powi(-80)));
        let product = sum.mul(&sum);
        assert_eq!((product.hi, product.lo), (1.0, 2f64.powi(-79)));
    }

    #[test]
    fn special_values_pass_through() {
        let inf = DoubleDouble::from_f64(f64::INFINITY, &());
        let one = DoubleDouble::from_f64(1.0, &());
        assert_eq!(inf.add(&one).hi, f64::INFINITY);
        assert!(inf.sub(&inf).hi.is_nan());
        assert_eq!(one.div(&DoubleDouble::from_f64(0.0, &())).hi, f64::INFINITY);
        assert_eq!(
            DoubleDouble::from_f64(-0.0, &()).sqrt().hi.to_bits(),
            (-0.0f64).to_bits()
        );
    }

    #[test]
    fn round_trips_through_mpfr() {
        let x = Float::with_val(200, 1) / 7u32;
        let dd = DoubleDouble::from_big(&x, &());
        assert!(rel_error(&dd, &x) < 2f64.powi(-105));
    }
}
