//! The narrow formats (tf32, e5m2, e4m3, e3m2, e2m3, e2m1, and a user's `eXmY` lanes) as
//! [`Scalar`]s: one generic type, `Minifloat<F>`, whose facts `F` gives — those of [`NARROW`]
//! for the named formats, a run-time slot for a user's.
//!
//! A value is held exactly in an f64. +, −, ×, ÷ and √ compute in f64 and round once, as f16
//! and bf16 do: f64 has at least 2t + 2 bits for every one of these formats (t ≤ 24, the limit
//! of a user's lane), which makes the double rounding innocuous (Figueroa, 1995), and its
//! exponent range holds their products and quotients as normals (exponent fields of at most 9
//! bits). The fused multiply-add uses an exact product (2t ≤ 48 bits) and a round-to-odd sum;
//! the elementary functions a 53-bit round-to-odd value.

use std::fmt;
use std::marker::PhantomData;

use rug::Float;

use super::elementary::Function;
use super::ieee::elementary_for_narrowing;
use super::round::{odd_to_f64_for_narrowing, round_f64_to, round_to_odd_value, sum_odd};
use super::stochastic;
use super::{Class, NARROW, Scalar, Spec, Specials};

/// `KIND` of an IEEE-like format: infinities and NaNs, overflow to ±inf.
pub const IEEE: u8 = 0;
/// `KIND` of OCP's FN formats: no infinities, only the all-ones encoding is NaN.
pub const NAN_ALL_ONES: u8 = 1;
/// `KIND` of OCP's FP6 and FP4: no infinities, no NaN.
pub const FINITE_ONLY: u8 = 2;

/// A value of a narrow format whose facts `F` gives, held exactly in an f64.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Minifloat<F: Facts>(f64, PhantomData<F>);

/// Where a [`Minifloat`] type's facts come from: a named format (fixed at compile time) or a
/// slot a user's format fills at run time.
pub trait Facts: Copy + fmt::Debug + PartialEq + PartialOrd + Send + Sync + 'static {
    /// The facts.
    fn spec() -> Spec;
}

/// The named narrow format with `E` exponent bits, `M` fraction bits and the specials `KIND`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Named<const E: u32, const M: u32, const KIND: u8>;

impl<const E: u32, const M: u32, const KIND: u8> Named<E, M, KIND> {
    /// The facts of this format.
    pub const SPEC: Spec = named(E, M, KIND);
}

impl<const E: u32, const M: u32, const KIND: u8> Minifloat<Named<E, M, KIND>> {
    /// The facts of this named format.
    pub const SPEC: Spec = Named::<E, M, KIND>::SPEC;
}

impl<const E: u32, const M: u32, const KIND: u8> Facts for Named<E, M, KIND> {
    fn spec() -> Spec {
        Self::SPEC
    }
}

/// The format in run-time slot `N` (see [`custom`](super::custom)).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Slot<const N: u8>;

impl<const N: u8> Facts for Slot<N> {
    fn spec() -> Spec {
        super::custom::spec(N)
    }
}

/// NVIDIA's TensorFloat-32: f32's range, f16's precision.
pub type Tf32 = Minifloat<Named<8, 10, IEEE>>;
/// OCP FP8 E5M2.
pub type E5m2 = Minifloat<Named<5, 2, IEEE>>;
/// OCP FP8 E4M3FN.
pub type E4m3 = Minifloat<Named<4, 3, NAN_ALL_ONES>>;
/// OCP FP6 E3M2.
pub type E3m2 = Minifloat<Named<3, 2, FINITE_ONLY>>;
/// OCP FP6 E2M3.
pub type E2m3 = Minifloat<Named<2, 3, FINITE_ONLY>>;
/// OCP FP4 E2M1.
pub type E2m1 = Minifloat<Named<2, 1, FINITE_ONLY>>;
/// A user's format (`e5m7`, or a named one with another overflow rule) in slot `N`.
pub type Custom<const N: u8> = Minifloat<Slot<N>>;

/// The spec in [`NARROW`] with these fields; a compile-time error for any other.
const fn named(exp_bits: u32, man_bits: u32, kind: u8) -> Spec {
    let specials = match kind {
        IEEE => Specials::Ieee,
        NAN_ALL_ONES => Specials::NanAllOnes,
        _ => Specials::FiniteOnly,
    };
    let mut i = 0;
    while i < NARROW.len() {
        let s = NARROW[i];
        let bias = (1 << (exp_bits - 1)) - 1;
        if s.precision == man_bits + 1 && s.emin == 1 - bias && s.specials as u8 == specials as u8 {
            return s;
        }
        i += 1;
    }
    panic!("not a named narrow format")
}

impl<F: Facts> Minifloat<F> {
    /// The value `x`, which must be one of the format's.
    fn held(x: f64) -> Self {
        Minifloat(x, PhantomData)
    }

    /// `x` rounded to the format (ties to even, its own overflow rule).
    fn rounded(x: f64) -> Self {
        Self::held(round_f64_to(x, &F::spec()))
    }

    /// f(self), correctly rounded.
    fn elementary(self, function: Function) -> Self {
        Self::rounded(elementary_for_narrowing(function, self.0))
    }

    /// The position of |x| among the format's non-negative values (an infinity just past the
    /// largest finite value).
    fn magnitude_ordinal(x: f64) -> i64 {
        let spec = F::spec();
        if x.is_infinite() {
            return Self::magnitude_ordinal(spec.max_finite().expect("inside f64")) + 1;
        }
        let x = x.abs();
        if x == 0.0 {
            return 0;
        }
        let e = super::round::exponent(x).max(spec.emin);
        let quantum_exp = e - (spec.precision as i32 - 1);
        let in_binade = (x / super::pow2(quantum_exp)) as i64;
        i64::from(e - spec.emin) * (1 << (spec.precision - 1)) + in_binade
    }
}

impl<F: Facts> Scalar for Minifloat<F> {
    type Context = ();

    fn spec(_: &()) -> Spec {
        F::spec()
    }
    fn from_f64(x: f64, _: &()) -> Self {
        Self::rounded(x)
    }
    fn from_big(x: &Float, _: &()) -> Self {
        Self::rounded(odd_to_f64_for_narrowing(&round_to_odd_value(x, 53)))
    }
    fn to_f64(&self) -> f64 {
        self.0
    }
    fn to_big(&self, prec: u32) -> Float {
        Float::with_val(prec, self.0)
    }
    fn precision(&self) -> u32 {
        F::spec().precision
    }
    fn add(&self, rhs: &Self) -> Self {
        Self::rounded(self.0 + rhs.0)
    }
    fn sub(&self, rhs: &Self) -> Self {
        Self::rounded(self.0 - rhs.0)
    }
    fn sub_stochastic(&self, rhs: &Self, u: f64) -> Self {
        stochastic::sub(self, rhs, u)
    }
    fn mul(&self, rhs: &Self) -> Self {
        Self::rounded(self.0 * rhs.0)
    }
    fn div(&self, rhs: &Self) -> Self {
        Self::rounded(self.0 / rhs.0)
    }
    fn mul_add(&self, a: &Self, b: &Self) -> Self {
        // The product has at most 2t ≤ 48 bits (t ≤ 24, see `custom`): exact in f64.
        Self::rounded(sum_odd(self.0 * a.0, b.0))
    }
    fn sqrt(&self) -> Self {
        Self::rounded(self.0.sqrt())
    }
    fn neg(&self) -> Self {
        Self::held(-self.0)
    }
    fn abs(&self) -> Self {
        Self::held(self.0.abs())
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
        F::spec().classify_f64(self.0)
    }
    fn is_sign_negative(&self) -> bool {
        self.0.is_sign_negative()
    }
    fn ordinal(&self) -> Option<i64> {
        let magnitude = Self::magnitude_ordinal(self.0);
        (!self.0.is_nan()).then_some(if self.0 < 0.0 { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_its_named_facts() {
        let names = [
            Tf32::spec(&()).name,
            E5m2::spec(&()).name,
            E4m3::spec(&()).name,
            E3m2::spec(&()).name,
            E2m3::spec(&()).name,
            E2m1::spec(&()).name,
        ];
        assert_eq!(names, ["tf32", "e5m2", "e4m3", "e3m2", "e2m3", "e2m1"]);
    }

    #[test]
    fn ordinals_count_e2m1_values() {
        let ordinals: Vec<i64> = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -6.0]
            .map(|x| E2m1::from_f64(x, &()).ordinal().unwrap())
            .to_vec();
        assert_eq!(ordinals, [0, 1, 2, 3, 4, 5, 6, 7, -7]);
        assert_eq!(E5m2::from_f64(f64::INFINITY, &()).ordinal(), Some(124));
    }

    #[test]
    fn arithmetic_rounds_once_with_the_formats_overflow_rule() {
        let e4m3 = |x: f64| E4m3::from_f64(x, &());
        assert_eq!(e4m3(448.0).add(&e4m3(16.0)).to_f64(), 448.0); // 464 ties to 448
        assert!(e4m3(448.0).add(&e4m3(32.0)).is_nan());
        assert_eq!(
            E2m1::from_f64(6.0, &())
                .mul(&E2m1::from_f64(2.0, &()))
                .to_f64(),
            6.0
        );
        // 1.5 × 1.5 − 1 = 1.25 exactly, a tie between 1 and 1.5 in e2m1: ties to even, 1.
        let (a, one) = (E2m1::from_f64(1.5, &()), E2m1::from_f64(1.0, &()));
        assert_eq!(a.mul_add(&a, &one.neg()).to_f64(), 1.0);
    }
}
