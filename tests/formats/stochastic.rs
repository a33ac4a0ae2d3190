//! Stochastic rounding of a difference (`Scalar::sub_stochastic`), one generic body for every
//! format: unbiased, each neighbour as often as its probability says, the same bits for the same
//! seed, exact differences and non-finite values as nearest gives them, never an overflow that
//! nearest would not make; the references round to nearest.

use precision_audit::format::{DoubleDouble, Mpfr, Scalar};
use precision_audit::seed::{self, Stream};
use rug::Float;

use crate::support::prec;

/// Roundings per statistical check.
const ROUNDINGS: usize = 100_000;

fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// The uniforms stochastic rounding draws for `seed`: its update-rounding stream.
fn uniforms(seed: u64) -> impl Iterator<Item = f64> {
    let mut rng = seed::generator(seed, Stream::UpdateRounding);
    std::iter::repeat_with(move || seed::uniform(&mut rng))
}

/// Same value, same sign; any NaN equals any NaN.
fn same<S: Scalar>(a: &S, b: &S) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b && a.is_sign_negative() == b.is_sign_negative()
}

/// A difference a − b that falls strictly between two values of the format.
struct Inexact<S> {
    a: S,
    b: S,
    down: f64,
    up: f64,
}

impl<S: Scalar<Context = ()>> Inexact<S> {
    /// 1 + 0.3 of the spacing at 1: up with probability ≈ 0.3.
    fn above_one() -> Self {
        let spacing = spacing_at_one::<S>();
        Inexact {
            a: S::one(&()),
            b: S::from_f64(-0.3 * spacing, &()),
            down: 1.0,
            up: 1.0 + spacing,
        }
    }

    /// −1 + 0.35 of the spacing at 1, where the spacing is half that above 1: up (toward zero)
    /// with probability ≈ 0.7.
    fn below_minus_one() -> Self {
        let spacing = spacing_at_one::<S>() / 2.0;
        Inexact {
            a: S::from_f64(-1.0, &()),
            b: S::from_f64(-0.7 * spacing, &()),
            down: -1.0,
            up: -1.0 + spacing,
        }
    }

    /// a − b, exactly (every operand is an f64; 1100 bits hold any difference of two).
    fn exact(&self) -> Float {
        Float::with_val(1100, self.a.to_f64()) - self.b.to_f64()
    }

    /// P(up) = (exact − down) / (up − down), exactly (the spacing is a power of two).
    fn probability_up(&self) -> f64 {
        let gap = Float::with_val(1100, self.exact() - self.down).to_f64();
        gap / (self.up - self.down)
    }

    /// `ROUNDINGS` stochastic roundings with the uniforms of `seed`.
    fn roundings(&self, seed: u64) -> Vec<S> {
        uniforms(seed)
            .take(ROUNDINGS)
            .map(|u| self.a.sub_stochastic(&self.b, u))
            .collect()
    }
}

/// The spacing of the format's values in [1, 2): 2^(1 − t).
fn spacing_at_one<S: Scalar<Context = ()>>() -> f64 {
    pow2(1 - S::spec(&()).precision as i32)
}

fn is_unbiased<S: Scalar<Context = ()>>(case: Inexact<S>) {
    let p = case.probability_up();
    assert!(0.2 < p && p < 0.8, "the case is inexact: p = {p}");
    let results = case.roundings(1);
    let mut sum = Float::with_val(1100, 0);
    for x in &results {
        let x = x.to_f64();
        assert!(x == case.down || x == case.up, "{x} is a neighbour");
        sum += x;
    }
    let n = results.len() as f64;
    let mean = Float::with_val(1100, sum / n);
    let error = Float::with_val(64, mean - case.exact()).to_f64().abs();
    // The standard deviation of one rounding is (up − down)·√(p(1 − p)).
    let sigma = (case.up - case.down) * (p * (1.0 - p) / n).sqrt();
    assert!(
        error <= prec::SAMPLE_SIGMAS * sigma,
        "the mean misses a − b by {error:e}, σ = {sigma:e}"
    );
    // Nearest would give a constant: the mean would miss by p or 1 − p of a spacing.
    assert!(
        sigma * prec::SAMPLE_SIGMAS < (case.up - case.down) * p.min(1.0 - p),
        "the check tells stochastic rounding from nearest"
    );
}

fn neighbours_come_as_often_as_their_probabilities<S: Scalar<Context = ()>>(case: Inexact<S>) {
    let p = case.probability_up();
    let ups = case
        .roundings(2)
        .iter()
        .filter(|x| x.to_f64() == case.up)
        .count() as f64;
    let n = ROUNDINGS as f64;
    let sigma = (n * p * (1.0 - p)).sqrt();
    assert!(
        (ups - n * p).abs() <= prec::SAMPLE_SIGMAS * sigma,
        "{ups} roundings up of {n}, expected {} ± {sigma}",
        n * p
    );
    assert!(ups > 0.0 && ups < n, "both neighbours are reached");
}

fn the_seed_decides_the_bits<S: Scalar<Context = ()>>() {
    let case = Inexact::<S>::above_one();
    let bits = |seed| -> Vec<f64> {
        case.roundings(seed)
            .iter()
            .take(1000)
            .map(Scalar::to_f64)
            .collect()
    };
    assert_eq!(bits(7), bits(7), "same seed, same bits");
    assert_ne!(bits(7), bits(8), "another seed, other bits");
}

fn exact_differences_are_returned_unchanged<S: Scalar<Context = ()>>() {
    let v = |x: f64| S::from_f64(x, &());
    let spec = S::spec(&());
    let tiny = spec.min_subnormal().expect("a format with subnormals");
    let min_normal = spec.min_normal().expect("a format inside f64");
    let cases = [
        (v(1.0), v(0.5)),
        (v(3.0), v(-0.25)),
        (v(1.0), v(spacing_at_one::<S>())),
        (v(0.75), v(0.75)),
        (v(-0.0), v(0.0)),
        (v(0.0), v(-0.0)),
        (v(-0.0), v(-0.0)),
        (v(3.0 * tiny), v(min_normal)),
        (v(min_normal), v(tiny)),
    ];
    for (a, b) in &cases {
        let nearest = a.sub(b);
        for u in uniforms(3).take(50).chain([0.0, 1.0 - pow2(-53)]) {
            let got = a.sub_stochastic(b, u);
            assert!(
                same(&got, &nearest),
                "{a:?} − {b:?}: {got:?}, not {nearest:?}"
            );
        }
    }
    // The zeros keep nearest's signs: x − x is +0, −0 − +0 is −0.
    assert!(!v(0.75).sub_stochastic(&v(0.75), 0.5).is_sign_negative());
    assert!(v(-0.0).sub_stochastic(&v(0.0), 0.5).is_sign_negative());
}

fn infinities_and_nan_are_as_nearest<S: Scalar<Context = ()>>() {
    let v = |x: f64| S::from_f64(x, &());
    let spec = S::spec(&());
    let max = spec.max_finite().expect("a format inside f64");
    // The spacing just below the largest finite value.
    let top = pow2(spec.emax - spec.precision as i32 + 1);
    let cases = [
        (v(f64::INFINITY), v(1.0)),
        (v(1.0), v(f64::INFINITY)),
        (v(f64::NEG_INFINITY), v(f64::NEG_INFINITY)),
        (v(f64::INFINITY), v(f64::INFINITY)),
        (v(f64::NAN), v(1.0)),
        (v(1.0), v(f64::NAN)),
        // Overflow to nearest: max + max, and max + one spacing (past the halfway point).
        (v(max), v(-max)),
        (v(-max), v(top)),
    ];
    for (a, b) in &cases {
        let nearest = a.sub(b);
        assert!(!nearest.is_finite(), "{a:?} − {b:?} is not finite");
        for u in uniforms(4).take(50).chain([0.0, 1.0 - pow2(-53)]) {
            let got = a.sub_stochastic(b, u);
            assert!(
                same(&got, &nearest),
                "{a:?} − {b:?}: {got:?}, not {nearest:?}"
            );
        }
    }
    // max + a quarter of a spacing is max to nearest; stochastically it never becomes inf.
    let (a, b) = (v(max), v(-top / 4.0));
    assert_eq!(a.sub(&b).to_f64(), max);
    for u in uniforms(5).take(1000).chain([0.0]) {
        assert_eq!(a.sub_stochastic(&b, u).to_f64(), max, "u = {u}");
        assert_eq!(
            a.neg().sub_stochastic(&b.neg(), u).to_f64(),
            -max,
            "u = {u}"
        );
    }
}

macro_rules! stochastic_tests {
    ($module:ident, $ty:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn unbiased_above_one() {
                is_unbiased(Inexact::<$ty>::above_one());
            }
            #[test]
            fn unbiased_below_minus_one() {
                is_unbiased(Inexact::<$ty>::below_minus_one());
            }
            #[test]
            fn neighbour_frequencies() {
                neighbours_come_as_often_as_their_probabilities(Inexact::<$ty>::above_one());
                neighbours_come_as_often_as_their_probabilities(Inexact::<$ty>::below_minus_one());
            }
            #[test]
            fn seeded() {
                the_seed_decides_the_bits::<$ty>();
            }
            #[test]
            fn exact_differences() {
                exact_differences_are_returned_unchanged::<$ty>();
            }
            #[test]
            fn non_finite() {
                infinities_and_nan_are_as_nearest::<$ty>();
            }
        }
    };
}

stochastic_tests!(f16_tests, half::f16);
stochastic_tests!(bf16_tests, half::bf16);
stochastic_tests!(f32_tests, f32);
stochastic_tests!(f64_tests, f64);

/// The reference trajectory is the exact one: the references round to nearest whatever `u`.
#[test]
fn references_round_to_nearest() {
    let third = Mpfr::from_f64(1.0, &113).div(&Mpfr::from_f64(3.0, &113));
    let tiny = Mpfr::from_f64(pow2(-200), &113);
    let dd_third = DoubleDouble::from_f64(1.0, &()).div(&DoubleDouble::from_f64(3.0, &()));
    let dd_tiny = DoubleDouble::from_f64(pow2(-200), &());
    for u in uniforms(6).take(100).chain([0.0, 1.0 - pow2(-53)]) {
        assert_eq!(third.sub_stochastic(&tiny, u), third.sub(&tiny));
        assert_eq!(dd_third.sub_stochastic(&dd_tiny, u), dd_third.sub(&dd_tiny));
    }
}
