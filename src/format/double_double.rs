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
#[inline(always)]
pub(super) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let b_part = s - a;
    (s, (a - (s - b_part)) + (b - b_part))
}

/// s + e = a + b exactly, when |a| ≥ |b| (Dekker's FastTwoSum).
#[inline(always)]
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

/// x·y + acc on (hi, lo) pairs: the product, then the sum, with the roundings and the special
/// cases of [`DoubleDouble::product`] and [`DoubleDouble::sum`], but without branches (every
/// candidate is computed and the special one selected at the end), so that the matmul kernels
/// can run it in SIMD lanes, one output per lane, and get the bits of the scalar `mul_add`.
#[inline(always)]
pub(crate) fn mul_add_parts(x: (f64, f64), y: (f64, f64), acc: (f64, f64)) -> (f64, f64) {
    // The product: p + e, or (p, 0) when p is not finite.
    let p = x.0 * y.0;
    let e = x.0.mul_add(y.0, -p) + (x.0 * y.1 + x.1 * y.0);
    let product_hi = p + e;
    let product_lo = e - (product_hi - p);
    let p_finite = p.is_finite();
    let (product_hi, product_lo) = (
        if p_finite { product_hi } else { p },
        if p_finite { product_lo } else { 0.0 },
    );
    // The sum of the product and the accumulator: (s, 0) when s is not finite.
    let (s, e) = two_sum(product_hi, acc.0);
    let (t, f) = two_sum(product_lo, acc.1);
    let (s2, e2) = fast_two_sum(s, e + t);
    let (s3, e3) = fast_two_sum(s2, e2 + f);
    let s2_finite = s2.is_finite();
    let (hi, lo) = (
        if s2_finite { s3 } else { s2 },
        if s2_finite { e3 } else { 0.0 },
    );
    if s.is_finite() { (hi, lo) } else { (s, 0.0) }
}

/// [`mul_add_parts`] for the case where the product `p`, the sum `s` and its renormalisation
/// `s2` are all finite, without the selects of the other cases: ten fewer operations per term.
///
/// A sum over k of such terms gives the bits of the sum of [`mul_add_parts`] terms whenever its
/// result's hi is finite. Up to the first term where p, s or s2 is not finite, the two compute
/// the same operations. At that term this one makes hi NaN (∞ − ∞ appears in the error term
/// of the product or of TwoSum, or in the renormalisation), and a NaN or infinite hi stays
/// non-finite through every later term. So a finite result never met a special case, and a
/// non-finite one must be summed again with [`mul_add_parts`].
#[inline(always)]
pub(crate) fn mul_add_parts_finite(x: (f64, f64), y: (f64, f64), acc: (f64, f64)) -> (f64, f64) {
    let p = x.0 * y.0;
    let e = x.0.mul_add(y.0, -p) + (x.0 * y.1 + x.1 * y.0);
    let (product_hi, product_lo) = fast_two_sum(p, e);
    let (s, e) = two_sum(product_hi, acc.0);
    let (t, f) = two_sum(product_lo, acc.1);
    let (s2, e2) = fast_two_sum(s, e + t);
    fast_two_sum(s2, e2 + f)
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
        let (hi, lo) = mul_add_parts((self.hi, self.lo), (a.hi, a.lo), (b.hi, b.lo));
        DoubleDouble { hi, lo }
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
    fn branch_free_mul_add_is_product_then_sum() {
        // Specials, signed zeros, subnormals, overflow of the product and of the sum, and
        // cancellation: every pair of these as x, y and the accumulator.
        let values = [
            (0.0, 0.0),
            (-0.0, 0.0),
            (1.0, 2f64.powi(-60)),
            (-3.0, -2f64.powi(-55)),
            (1.0 / 3.0, 1.850371707708594e-17),
            (f64::MIN_POSITIVE / 3.0, 0.0),
            (2f64.powi(-540), 2f64.powi(-600)),
            (f64::MAX, 9.9e291),
            (-f64::MAX, 0.0),
            (2f64.powi(600), -1.0),
            (f64::INFINITY, 0.0),
            (f64::NEG_INFINITY, 0.0),
            (f64::NAN, 0.0),
        ];
        let dd = |(hi, lo): (f64, f64)| DoubleDouble { hi, lo };
        let bits = |x: DoubleDouble| (x.hi.to_bits(), x.lo.to_bits());
        for &x in &values {
            for &y in &values {
                for &acc in &values {
                    let expected = dd(x).product(&dd(y)).sum(&dd(acc));
                    let branch_free = dd(x).mul_add(&dd(y), &dd(acc));
                    if expected.hi.is_nan() {
                        assert!(branch_free.hi.is_nan() && branch_free.lo == 0.0);
                    } else {
                        assert_eq!(bits(branch_free), bits(expected), "{x:?}·{y:?} + {acc:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn round_trips_through_mpfr() {
        let x = Float::with_val(200, 1) / 7u32;
        let dd = DoubleDouble::from_big(&x, &());
        assert!(rel_error(&dd, &x) < 2f64.powi(-105));
    }
}
