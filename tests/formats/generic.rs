//! One test body for every format, the MPFR reference included, instantiated by `format_tests!`:
//! identities, exact conversions, correctly rounded arithmetic and elementary functions,
//! IEEE 754-2019 maximum/minimum, classification and ordinals.

use precision_audit::format::minifloat::{Custom, E5m2, Tf32};
use precision_audit::format::{Class, Mpfr, Scalar, Spec};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rug::Float;

use super::exhaustive::{
    reference_exp, reference_ln, reference_sigmoid, reference_sqrt, reference_tanh,
};
use super::narrow::target as narrow_target;
use super::oracle::{
    BF16, F16, F32, F64, Tally, Target, big, exact_add, exact_mul, exact_mul_add, exact_sub, round,
    same, show, wide_div,
};

/// What a generic test needs to know about its format.
pub struct Subject<S: Scalar> {
    pub name: &'static str,
    pub ctx: S::Context,
    pub target: Target,
}

impl<S: Scalar> Subject<S> {
    /// `x` rounded into the format.
    fn value(&self, x: f64) -> S {
        S::from_f64(x, &self.ctx)
    }

    /// A seeded stream per format and per test, so each test's cases never change.
    fn rng(&self, salt: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(u64::from(self.target.precision) << 32 | salt)
    }

    /// A random f64 with a random full significand and floor(log2 |x|) in lo..=hi.
    fn random_f64_between(&self, rng: &mut ChaCha20Rng, lo: i32, hi: i32) -> f64 {
        let mantissa = rng.next_u64() >> 11 | 1 << 52;
        let exponent = lo + (rng.next_u64() % (hi - lo + 1) as u64) as i32;
        let magnitude = mantissa as f64 * 2f64.powi(exponent - 52);
        if rng.next_u64() & 1 == 1 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// The exponents of moderate values the format holds: within ±30, and for the narrow
    /// formats their whole range, subnormals (from `emin − t`) included when `subnormals`.
    fn exponent_range(&self, subnormals: bool) -> (i32, i32) {
        let t = self.target.precision as i32;
        let lo = self.target.emin.map_or(-30, |emin| {
            (if subnormals { emin - t } else { emin }).max(-30)
        });
        let hi = self.target.emax.map_or(30, |emax| emax.min(30));
        (lo, hi)
    }

    /// A random f64 of moderate magnitude, in or just around the format's range.
    fn random_f64(&self, rng: &mut ChaCha20Rng) -> f64 {
        let (lo, hi) = self.exponent_range(true);
        self.random_f64_between(rng, lo, hi)
    }

    /// A random value with 192 random significant bits, in or just around the format's range,
    /// rounded into the format: full-width significands for every format, the reference's too.
    fn random_value(&self, rng: &mut ChaCha20Rng) -> S {
        let (lo, hi) = self.exponent_range(true);
        let mut significand = Float::with_val(192, rng.next_u64() | 1 << 63);
        for _ in 0..2 {
            significand <<= 64;
            significand += rng.next_u64();
        }
        let exponent = lo + (rng.next_u64() % (hi - lo + 1) as u64) as i32;
        let magnitude = significand << (exponent - 191);
        let x = if rng.next_u64() & 1 == 1 {
            -magnitude
        } else {
            magnitude
        };
        S::from_big(&x, &self.ctx)
    }

    /// The values every property is checked on: specials, the format's own edge values where it
    /// has them, and seeded random values rounded into the format.
    fn sample(&self, random: usize) -> Vec<S> {
        let mut values: Vec<S> = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            3.0,
            -7.25,
            1.0 / 3.0,
            1e-3,
            1e4,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ]
        .into_iter()
        .map(|x| self.value(x))
        .collect();
        values.extend(self.edges().iter().map(|x| S::from_big(x, &self.ctx)));
        let mut rng = self.rng(1);
        values.extend((0..random).map(|_| self.random_value(&mut rng)));
        values
    }

    /// ± the smallest subnormal, the smallest normal and the largest finite value, for formats
    /// with an exponent range.
    fn edges(&self) -> Vec<Float> {
        let (Some(emin), Some(max)) = (self.target.emin, self.target.max_finite()) else {
            return Vec::new();
        };
        let t = self.target.precision as i32;
        let positive = [
            Float::with_val(8, 1) << (emin - t + 1),
            Float::with_val(8, 1) << emin,
            max,
        ];
        positive
            .iter()
            .flat_map(|x| [x.clone(), -x.clone()])
            .collect()
    }

    fn rounded(&self, exact: &Float) -> Float {
        round(exact, &self.target)
    }

    fn tally(&self, what: &str) -> Tally {
        Tally::new(format!("{} {what}", self.name))
    }
}

fn describe<S: Scalar>(x: &S) -> String {
    show(&big(x))
}

/// x + (−0), x − (+0), x × 1 and x ÷ 1 are x, sign of zero included; x + (+0) is x except that
/// −0 + +0 = +0; neg(neg(x)) is x; neg flips only the sign and abs clears it.
pub fn identities<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("identities");
    let (pos_zero, neg_zero, one) = (s.value(0.0), s.value(-0.0), S::one(&s.ctx));
    tally.check(same(&S::zero(&s.ctx), &Float::with_val(8, 0)), || {
        format!("zero() = {}", describe(&S::zero(&s.ctx)))
    });
    tally.check(same(&one, &Float::with_val(8, 1)), || {
        format!("one() = {}", describe(&one))
    });
    for x in s.sample(500) {
        let exact = big(&x);
        let checks: [(&str, S, Float); 7] = [
            ("x + (-0)", x.add(&neg_zero), exact.clone()),
            ("x - (+0)", x.sub(&pos_zero), exact.clone()),
            (
                "x + (+0)",
                x.add(&pos_zero),
                if x.is_zero() {
                    Float::with_val(8, 0)
                } else {
                    exact.clone()
                },
            ),
            ("x * 1", x.mul(&one), exact.clone()),
            ("x / 1", x.div(&one), exact.clone()),
            ("neg(neg(x))", x.neg().neg(), exact.clone()),
            (
                "abs(x)",
                x.abs(),
                Float::with_val(exact.prec(), exact.abs_ref()),
            ),
        ];
        for (what, got, want) in checks {
            tally.check(same(&got, &want), || {
                format!("{what} with x = {}: got {}", show(&exact), describe(&got))
            });
        }
        let negated = x.neg();
        let flipped = x.is_nan()
            || (negated.is_sign_negative() != x.is_sign_negative()
                && same(&negated, &Float::with_val(exact.prec(), -&exact)));
        tally.check(flipped, || {
            format!("neg({}) = {}", show(&exact), describe(&negated))
        });
        let mut accumulated = x.clone();
        accumulated.add_assign(&neg_zero);
        tally.check(same(&accumulated, &exact), || {
            format!("x += -0 with x = {}", show(&exact))
        });
    }
    tally.assert_all_passed();
}

/// from_f64 and from_big of a value the format holds return it unchanged, and to_f64 gives it back.
pub fn representable_values_convert_exactly<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("exact conversions of representable values");
    let t = s.target.precision.min(53);
    let mut rng = s.rng(2);
    let mut values: Vec<f64> = (0..2000)
        .map(|_| {
            // Keep only the top t bits of a normal value's significand: the format holds it.
            let (lo, hi) = s.exponent_range(false);
            let x = s.random_f64_between(&mut rng, lo, hi);
            f64::from_bits(x.to_bits() & !((1u64 << (53 - t)) - 1))
        })
        .collect();
    values.extend([0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1.0, -2.5]);
    values.extend(s.edges().iter().map(Float::to_f64));
    if let Some(emin) = s.target.emin {
        // Every subnormal spacing multiple below 2^emin with few bits (all of them when the
        // format has fewer than 64 subnormals, as e5m2).
        let quantum = 2f64.powi(emin - s.target.precision as i32 + 1);
        let below_emin = 1u32 << (s.target.precision - 1).min(6);
        values.extend((1..below_emin).map(|k| f64::from(k) * quantum));
    }
    for v in values {
        let x = s.value(v);
        let wide = Float::with_val(64, v);
        tally.check(
            same(&x, &wide) && x.to_f64().to_bits() == v.to_bits(),
            || format!("from_f64({v:e}) = {}", describe(&x)),
        );
        let from_big = S::from_big(&wide, &s.ctx);
        tally.check(same(&from_big, &wide), || {
            format!("from_big({v:e}) = {}", describe(&from_big))
        });
    }
    tally.assert_all_passed();
}

/// from_f64 and from_big round once, correctly: random full-width f64s, random 200-bit values,
/// and for each sampled value the midpoint to its upper neighbour and a hair either side of it.
pub fn conversions_are_correctly_rounded<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("from_f64/from_big correctly rounded");
    let mut rng = s.rng(5);
    let t = s.target.precision as i32;
    let check_big = |tally: &mut Tally, x: &Float| {
        let want = s.rounded(x);
        let got = S::from_big(x, &s.ctx);
        tally.check(same(&got, &want), || {
            format!(
                "from_big({}): expected {}, got {}",
                show(x),
                show(&want),
                describe(&got)
            )
        });
    };
    for x in s.sample(2000) {
        let v = big(&x);
        if !v.is_finite() {
            check_big(&mut tally, &v);
            continue;
        }
        // The spacing of format values just above |v| (the subnormal spacing below 2^emin).
        let e = if v.is_zero() {
            s.target.emin.unwrap_or(0)
        } else {
            super::oracle::exponent(&v)
        };
        let quantum_exp = s.target.emin.map_or(e, |emin| e.max(emin)) - t + 1;
        let half_step = Float::with_val(8, 1) << (quantum_exp - 1);
        let hair = Float::with_val(8, 1) << (quantum_exp - 250);
        let magnitude = Float::with_val(v.prec(), v.abs_ref());
        let midpoint = Float::with_val(1000, &magnitude + &half_step);
        let midpoint = if v.is_sign_negative() {
            -midpoint
        } else {
            midpoint
        };
        for x in [
            Float::with_val(1000, &midpoint - &hair),
            midpoint.clone(),
            Float::with_val(1000, &midpoint + &hair),
        ] {
            check_big(&mut tally, &x);
        }
        // Random values with 64 bits below v's last bit: between v and its upper neighbour.
        for _ in 0..4 {
            let offset = Float::with_val(64, rng.next_u64()) << (quantum_exp - 64);
            let between = Float::with_val(1000, &magnitude + &offset);
            check_big(
                &mut tally,
                &if v.is_sign_negative() {
                    -between
                } else {
                    between
                },
            );
        }
        // The midpoint as an f64 and its f64 neighbours, where f64 has the bits to hold them.
        if t <= 51 {
            let mid = midpoint.to_f64();
            if mid.is_finite() && mid != 0.0 {
                for m in [
                    f64::from_bits(mid.to_bits() - 1),
                    mid,
                    f64::from_bits(mid.to_bits() + 1),
                ] {
                    let want = s.rounded(&Float::with_val(64, m));
                    let got = s.value(m);
                    tally.check(same(&got, &want), || {
                        format!(
                            "from_f64({m:e}): expected {}, got {}",
                            show(&want),
                            describe(&got)
                        )
                    });
                }
            }
        }
    }
    for _ in 0..5000 {
        let m = s.random_f64(&mut rng);
        let want = s.rounded(&Float::with_val(64, m));
        let got = s.value(m);
        tally.check(same(&got, &want), || {
            format!(
                "from_f64({m:e}): expected {}, got {}",
                show(&want),
                describe(&got)
            )
        });
    }
    tally.assert_all_passed();
}

/// +, −, ×, ÷, √ and add_assign on seeded random pairs and all pairs of the special values, each
/// against the exact (or 300-bit) result rounded by the test.
pub fn arithmetic_is_correctly_rounded<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("+ - * / sqrt correctly rounded");
    let values = s.sample(150);
    for x in &values {
        let a = big(x);
        let want = s.rounded(&reference_sqrt(&a));
        let got = x.sqrt();
        tally.check(same(&got, &want), || {
            format!(
                "sqrt({}): expected {}, got {}",
                show(&a),
                show(&want),
                describe(&got)
            )
        });
        for y in &values {
            let b = big(y);
            let cases = [
                ("+", x.add(y), exact_add(&a, &b)),
                ("-", x.sub(y), exact_sub(&a, &b)),
                ("*", x.mul(y), exact_mul(&a, &b)),
                ("/", x.div(y), wide_div(&a, &b)),
            ];
            for (op, got, exact) in cases {
                let want = s.rounded(&exact);
                tally.check(same(&got, &want), || {
                    format!(
                        "{} {op} {}: expected {}, got {}",
                        show(&a),
                        show(&b),
                        show(&want),
                        describe(&got)
                    )
                });
            }
            let mut sum = x.clone();
            sum.add_assign(y);
            tally.check(same(&sum, &s.rounded(&exact_add(&a, &b))), || {
                format!("{} += {}: got {}", show(&a), show(&b), describe(&sum))
            });
        }
    }
    tally.assert_all_passed();
}

/// mul_add(a, b, c) and c.mul_add_assign(a, b) equal a × b + c rounded once.
pub fn mul_add_is_fused<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("mul_add correctly rounded");
    let values = s.sample(30);
    let mut rng = s.rng(3);
    let mut triples: Vec<[usize; 3]> = Vec::new();
    // Every triple of specials and edges; random triples of the rest.
    let specials = values.len() - 30;
    for i in 0..specials {
        for j in 0..specials {
            for k in 0..specials {
                triples.push([i, j, k]);
            }
        }
    }
    let n = values.len() as u64;
    triples.extend((0..20_000).map(|_| [0, 0, 0].map(|_: usize| (rng.next_u64() % n) as usize)));
    // Cancelling triples: c = −(a × b rounded), where only the fused result is not zero.
    let cancelling: Vec<(S, S, S)> = (0..2000)
        .map(|_| {
            let a = s.random_value(&mut rng);
            let b = s.random_value(&mut rng);
            let c = a.mul(&b).neg();
            (a, b, c)
        })
        .collect();
    let all = triples
        .iter()
        .map(|[i, j, k]| (values[*i].clone(), values[*j].clone(), values[*k].clone()))
        .chain(cancelling);
    for (x, y, z) in all {
        let (a, b, c) = (big(&x), big(&y), big(&z));
        let want = s.rounded(&exact_mul_add(&a, &b, &c));
        let got = x.mul_add(&y, &z);
        tally.check(same(&got, &want), || {
            format!(
                "mul_add({}, {}, {}): expected {}, got {}",
                show(&a),
                show(&b),
                show(&c),
                show(&want),
                describe(&got)
            )
        });
        let mut accumulator = z.clone();
        accumulator.mul_add_assign(&x, &y);
        tally.check(same(&accumulator, &want), || {
            format!(
                "{} .mul_add_assign({}, {}): expected {}, got {}",
                show(&c),
                show(&a),
                show(&b),
                show(&want),
                describe(&accumulator)
            )
        });
    }
    tally.assert_all_passed();
}

/// exp, ln, tanh and sigmoid against 300-bit MPFR, over the sample and over the ranges where
/// each function does something interesting (saturation, underflow, overflow).
pub fn elementary_functions_are_correctly_rounded<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("exp ln tanh sigmoid correctly rounded");
    let mut values = s.sample(400);
    let mut rng = s.rng(4);
    values.extend((0..1600).map(|i| {
        // Uniform in [-800, 800] and [-40, 40]: past f64's exp overflow and sigmoid saturation.
        let span = if i % 2 == 0 { 800.0 } else { 40.0 };
        let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        s.value((2.0 * unit - 1.0) * span)
    }));
    type Function<S> = (&'static str, fn(&S) -> S, fn(&Float) -> Float);
    let functions: [Function<S>; 4] = [
        ("exp", S::exp, reference_exp),
        ("ln", S::ln, reference_ln),
        ("tanh", S::tanh, reference_tanh),
        ("sigmoid", S::sigmoid, reference_sigmoid),
    ];
    for x in &values {
        let a = big(x);
        for (name, op, reference) in &functions {
            // ln of the negative half of the sample is NaN: check it on |x| too.
            let inputs = if *name == "ln" {
                vec![x.clone(), x.abs()]
            } else {
                vec![x.clone()]
            };
            for input in inputs {
                let want = s.rounded(&reference(&big(&input)));
                let got = op(&input);
                tally.check(same(&got, &want), || {
                    format!(
                        "{name}({}): expected {}, got {} (x was {})",
                        describe(&input),
                        show(&want),
                        describe(&got),
                        show(&a)
                    )
                });
            }
        }
    }
    tally.assert_all_passed();
}

/// IEEE 754-2019 maximum and minimum: NaN from either side, +0 above −0 in either order, and
/// otherwise the larger (smaller) operand.
pub fn maximum_and_minimum<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("maximum/minimum");
    let nan = s.value(f64::NAN);
    let (pos_zero, neg_zero) = (s.value(0.0), s.value(-0.0));
    for (a, b) in [(&pos_zero, &neg_zero), (&neg_zero, &pos_zero)] {
        let (max, min) = (a.maximum(b), a.minimum(b));
        tally.check(max.is_zero() && !max.is_sign_negative(), || {
            format!("maximum({a:?}, {b:?}) = {max:?}, expected +0")
        });
        tally.check(min.is_zero() && min.is_sign_negative(), || {
            format!("minimum({a:?}, {b:?}) = {min:?}, expected -0")
        });
    }
    let values = s.sample(60);
    for x in &values {
        for (a, b) in [(x, &nan), (&nan, x)] {
            let (max, min) = (a.maximum(b), a.minimum(b));
            tally.check(max.is_nan() && min.is_nan(), || {
                format!("maximum/minimum({a:?}, {b:?}) = {max:?} / {min:?}, expected NaN")
            });
        }
        for y in &values {
            if x.is_nan() || y.is_nan() || (x.is_zero() && y.is_zero()) {
                continue;
            }
            let (bx, by) = (big(x), big(y));
            let (max, min) = (x.maximum(y), x.minimum(y));
            let (want_max, want_min) = if bx >= by { (&bx, &by) } else { (&by, &bx) };
            tally.check(same(&max, want_max) && same(&min, want_min), || {
                format!(
                    "maximum/minimum({}, {}) = {} / {}",
                    show(&bx),
                    show(&by),
                    describe(&max),
                    describe(&min)
                )
            });
        }
    }
    tally.assert_all_passed();
}

/// The class of the special and edge values, and ordinals that increase with the value.
pub fn classes_and_ordinals<S: Scalar>(s: &Subject<S>) {
    let mut tally = s.tally("classify and ordinal");
    let mut expectations: Vec<(Float, Class)> = [
        (0.0, Class::Zero),
        (-0.0, Class::Zero),
        (1.0, Class::Normal),
        (-1.5, Class::Normal),
        (f64::INFINITY, Class::Infinite),
        (f64::NEG_INFINITY, Class::Infinite),
        (f64::NAN, Class::Nan),
    ]
    .map(|(v, class)| (Float::with_val(64, v), class))
    .into();
    let bounded = s.target.emin.is_some();
    if let Some(emin) = s.target.emin {
        let t = s.target.precision as i32;
        let one = || Float::with_val(64, 1);
        expectations.extend([
            (one() << emin, Class::Normal),
            (-(one() << (emin - t + 1)), Class::Subnormal),
            (one() << (emin - 1), Class::Subnormal),
            (
                (one() << emin) - (one() << (emin - t + 1)),
                Class::Subnormal,
            ),
        ]);
    }
    for (v, want) in expectations {
        let got = S::from_big(&v, &s.ctx).classify();
        tally.check(got == want, || {
            format!("classify({}) = {got}, expected {want}", show(&v))
        });
    }
    let mut values: Vec<S> = s.sample(500).into_iter().filter(|x| !x.is_nan()).collect();
    values.sort_by(|a, b| big(a).partial_cmp(&big(b)).expect("no NaN"));
    for pair in values.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (oa, ob) = (a.ordinal(), b.ordinal());
        let ok = if bounded {
            match (oa, ob) {
                (Some(oa), Some(ob)) if big(a) == big(b) => oa == ob,
                (Some(oa), Some(ob)) => oa < ob,
                _ => false,
            }
        } else {
            // The reference's values are not enumerable: no ordinal at all.
            oa.is_none() && ob.is_none()
        };
        tally.check(ok, || {
            format!(
                "ordinal({}) = {oa:?}, ordinal({}) = {ob:?}",
                describe(a),
                describe(b)
            )
        });
    }
    let nan = s.value(f64::NAN).ordinal();
    tally.check(nan.is_none(), || format!("ordinal(NaN) = {nan:?}"));
    tally.assert_all_passed();
}

macro_rules! format_tests {
    ($module:ident, $ty:ty, $ctx:expr, $target:expr) => {
        mod $module {
            use super::*;

            fn subject() -> Subject<$ty> {
                Subject {
                    name: stringify!($module),
                    ctx: $ctx,
                    target: $target,
                }
            }

            #[test]
            fn identities() {
                super::identities(&subject());
            }
            #[test]
            fn representable_values_convert_exactly() {
                super::representable_values_convert_exactly(&subject());
            }
            #[test]
            fn conversions_are_correctly_rounded() {
                super::conversions_are_correctly_rounded(&subject());
            }
            #[test]
            fn arithmetic_is_correctly_rounded() {
                super::arithmetic_is_correctly_rounded(&subject());
            }
            #[test]
            fn mul_add_is_fused() {
                super::mul_add_is_fused(&subject());
            }
            #[test]
            fn elementary_functions_are_correctly_rounded() {
                super::elementary_functions_are_correctly_rounded(&subject());
            }
            #[test]
            fn maximum_and_minimum() {
                super::maximum_and_minimum(&subject());
            }
            #[test]
            fn classes_and_ordinals() {
                super::classes_and_ordinals(&subject());
            }
        }
    };
}

format_tests!(f16_tests, half::f16, (), F16.target());
format_tests!(bf16_tests, half::bf16, (), BF16.target());
format_tests!(f32_tests, f32, (), F32.target());
format_tests!(f64_tests, f64, (), F64.target());
format_tests!(mpfr113_tests, Mpfr, 113, Target::unbounded(113));
// The generic narrow type, in the two named formats whose overflow is IEEE's like the oracle's
// (e4m3 and FP6/FP4 overflow by their own rules: tests/formats/narrow.rs).
format_tests!(tf32_tests, Tf32, (), narrow_target(&Tf32::SPEC));
format_tests!(e5m2_tests, E5m2, (), narrow_target(&E5m2::SPEC));
// A user's eXmY lanes: the same generic type with facts from run-time slots 0 and 1.
format_tests!(e5m7_tests, Custom<0>, (), narrow_target(&user_format(0)));
format_tests!(e6m9_tests, Custom<1>, (), narrow_target(&user_format(1)));

/// The user formats e5m7 and e6m9, interned once into this process's run-time slots 0 and 1
/// (no other test of this binary interns a format).
fn user_format(slot: u8) -> Spec {
    use std::sync::OnceLock;
    static INTERNED: OnceLock<[Spec; 2]> = OnceLock::new();
    let specs = INTERNED.get_or_init(|| {
        ["e5m7", "e6m9"].map(|name| {
            let spec = Spec::parse_narrow(name).expect("an eXmY");
            let format = precision_audit::format::custom::intern(spec).expect("a free slot");
            assert_eq!(format.name(), name);
            spec
        })
    });
    assert_eq!(
        precision_audit::format::custom::spec(slot),
        specs[usize::from(slot)]
    );
    specs[usize::from(slot)]
}
