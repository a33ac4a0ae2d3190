//! Every one of the 65,536 bit patterns of f16 and bf16: conversions, the rounding boundary
//! above each value, the unary operations, classification and ordinals.

use precision_audit::format::{Class, Scalar};
use rug::Float;

use super::oracle::{Ieee, Layout, Tally, WIDE, round, same_bits, show};

fn all_patterns() -> impl Iterator<Item = u64> {
    0..=u64::from(u16::MAX)
}

/// The exact value of `bits` and the bits the crate's value carries.
fn describe<S: Ieee>(bits: u64) -> String {
    let layout = S::LAYOUT;
    format!("{} {}", layout.hex(bits), show(&layout.decode(bits)))
}

/// to_f64 is exact, and from_f64, from_big and to_big take every value back to itself.
pub fn conversions_round_trip<S: Ieee>() {
    let layout = S::LAYOUT;
    let mut tally = Tally::new(format!("{} conversions round trip", layout.name));
    for bits in all_patterns() {
        let x = S::from_bits(bits);
        let exact = layout.decode(bits);
        let wide = Scalar::to_f64(&x);
        let wide_is_exact = if exact.is_nan() {
            wide.is_nan()
        } else {
            exact == wide && exact.is_sign_negative() == wide.is_sign_negative()
        };
        tally.check(wide_is_exact, || {
            format!("to_f64({}) = {wide:e}", describe::<S>(bits))
        });
        let back = S::from_f64(wide, &()).bits();
        tally.check(same_bits(&layout, back, bits), || {
            format!(
                "from_f64(to_f64({})) = {}",
                describe::<S>(bits),
                layout.hex(back)
            )
        });
        let from_big = S::from_big(&exact, &()).bits();
        tally.check(same_bits(&layout, from_big, bits), || {
            format!(
                "from_big({}) = {}",
                describe::<S>(bits),
                layout.hex(from_big)
            )
        });
        let to_big = x.to_big(64);
        let to_big_is_exact = if exact.is_nan() {
            to_big.is_nan()
        } else {
            to_big == exact && to_big.is_sign_negative() == exact.is_sign_negative()
        };
        tally.check(to_big_is_exact, || {
            format!("to_big({}) = {}", describe::<S>(bits), show(&to_big))
        });
    }
    tally.assert_all_passed();
}

/// Above every finite value, the midpoint to the next one, and values a hair either side of it,
/// convert to the right neighbour from MPFR and from f64: ties to even, gradual underflow, and
/// overflow at (max + half an ulp), which rounds to the "even" infinity pattern.
pub fn conversion_boundaries<S: Ieee>() {
    let layout = S::LAYOUT;
    let mut tally = Tally::new(format!(
        "{} conversions at rounding boundaries",
        layout.name
    ));
    let infinity = layout.infinity();
    for below in 0..infinity {
        let lower = layout.decode(below);
        // The next value up; past the largest finite one, the power of two it would be if the
        // exponent range went on, which is where IEEE's overflow threshold comes from.
        let upper = if below + 1 == infinity {
            Float::with_val(64, 1) << (layout.emax() + 1)
        } else {
            layout.decode(below + 1)
        };
        let midpoint = Float::with_val(64, &lower + &upper) >> 1;
        let hair = Float::with_val(8, 1) << (super::oracle::exponent(&midpoint) - 200);
        let even = if below % 2 == 0 { below } else { below + 1 };
        for negative in [false, true] {
            let sign = |bits: u64| {
                if negative {
                    bits | layout.sign_bit()
                } else {
                    bits
                }
            };
            let signed = |x: Float| if negative { -x } else { x };
            let mid = signed(midpoint.clone());
            let cases = [
                (signed(Float::with_val(256, &midpoint - &hair)), sign(below)),
                (mid.clone(), sign(even)),
                (
                    signed(Float::with_val(256, &midpoint + &hair)),
                    sign(below + 1),
                ),
            ];
            for (x, want) in &cases {
                let got = S::from_big(x, &()).bits();
                tally.check(got == *want, || {
                    format!(
                        "from_big({}): expected {}, got {}",
                        show(x),
                        layout.hex(*want),
                        layout.hex(got)
                    )
                });
            }
            // The midpoint is an f64 (every format here fits in f64 with room to spare), and so
            // are its f64 neighbours.
            let mid = mid.to_f64();
            let toward_zero = f64::from_bits(mid.to_bits() - 1);
            let away = f64::from_bits(mid.to_bits() + 1);
            for (x, want) in [
                (toward_zero, sign(below)),
                (mid, sign(even)),
                (away, sign(below + 1)),
            ] {
                let got = S::from_f64(x, &()).bits();
                tally.check(got == want, || {
                    format!(
                        "from_f64({x:e} = {:#018X}): expected {}, got {}",
                        x.to_bits(),
                        layout.hex(want),
                        layout.hex(got)
                    )
                });
            }
        }
    }
    tally.assert_all_passed();
}

/// An operation of the format checked on every pattern against MPFR plus the test's rounding.
pub fn unary<S: Ieee>(name: &str, op: fn(&S) -> S, reference: fn(&Float) -> Float) {
    let layout = S::LAYOUT;
    let target = layout.target();
    let mut tally = Tally::new(format!("{} {name} on all patterns", layout.name));
    for bits in all_patterns() {
        let want = layout.encode(&round(&reference(&layout.decode(bits)), &target));
        let got = op(&S::from_bits(bits)).bits();
        tally.check(same_bits(&layout, got, want), || {
            format!(
                "{name}({}): expected {}, got {}",
                describe::<S>(bits),
                layout.hex(want),
                layout.hex(got)
            )
        });
    }
    tally.assert_all_passed();
}

pub fn reference_sqrt(x: &Float) -> Float {
    Float::with_val(WIDE, x.sqrt_ref())
}
pub fn reference_exp(x: &Float) -> Float {
    Float::with_val(WIDE, x.exp_ref())
}
pub fn reference_ln(x: &Float) -> Float {
    Float::with_val(WIDE, x.ln_ref())
}
pub fn reference_tanh(x: &Float) -> Float {
    Float::with_val(WIDE, x.tanh_ref())
}
/// 1 / (1 + e^−x), each step at 300 bits: the errors of three roundings there are far below
/// anything that could move a 16-bit result.
pub fn reference_sigmoid(x: &Float) -> Float {
    let exp_minus_x = Float::with_val(WIDE, -x).exp();
    Float::with_val(WIDE, 1u32 / (exp_minus_x + 1u32))
}
pub fn reference_neg(x: &Float) -> Float {
    Float::with_val(x.prec(), -x)
}
pub fn reference_abs(x: &Float) -> Float {
    Float::with_val(x.prec(), x.abs_ref())
}

/// The IEEE class read off the bit fields, not off the value.
fn class_of_bits(layout: &Layout, bits: u64) -> Class {
    let biased = layout.biased_exponent(bits);
    let fraction = bits & layout.fraction_mask();
    match (biased, fraction) {
        (0, 0) => Class::Zero,
        (0, _) => Class::Subnormal,
        (b, 0) if b == layout.max_biased() => Class::Infinite,
        (b, _) if b == layout.max_biased() => Class::Nan,
        _ => Class::Normal,
    }
}

/// classify and the predicates built on it agree with the encoding, and the sign bit is reported.
pub fn classify<S: Ieee>() {
    let layout = S::LAYOUT;
    let mut tally = Tally::new(format!("{} classify on all patterns", layout.name));
    let min_normal = Float::with_val(64, 1) << layout.emin();
    for bits in all_patterns() {
        let x = S::from_bits(bits);
        let want = class_of_bits(&layout, bits);
        let got = x.classify();
        tally.check(got == want, || {
            format!("classify({}) = {got}, expected {want}", describe::<S>(bits))
        });
        // The class also follows from the value and the format's smallest normal, 2^emin.
        let value = layout.decode(bits).abs();
        let by_value = if value.is_nan() {
            Class::Nan
        } else if value.is_infinite() {
            Class::Infinite
        } else if value.is_zero() {
            Class::Zero
        } else if value < min_normal {
            Class::Subnormal
        } else {
            Class::Normal
        };
        tally.check(by_value == want, || {
            format!(
                "{}: class by value {by_value} != by bits {want}",
                describe::<S>(bits)
            )
        });
        let predicates = (x.is_nan(), x.is_zero(), x.is_finite(), x.is_sign_negative());
        let expected = (
            want == Class::Nan,
            want == Class::Zero,
            !matches!(want, Class::Nan | Class::Infinite),
            bits & layout.sign_bit() != 0,
        );
        tally.check(predicates == expected, || {
            format!(
                "{}: (is_nan, is_zero, is_finite, is_sign_negative) = {predicates:?}, expected {expected:?}",
                describe::<S>(bits)
            )
        });
    }
    tally.assert_all_passed();
}

/// Sorted by value, the non-NaN patterns have ordinals that step by exactly one between
/// neighbours, with +0 and −0 sharing one; NaNs have none.
pub fn ordinal<S: Ieee>() {
    let layout = S::LAYOUT;
    let mut tally = Tally::new(format!("{} ordinal over sorted values", layout.name));
    let mut values: Vec<(Float, u64)> = Vec::new();
    for bits in all_patterns() {
        if layout.is_nan(bits) {
            let ordinal = S::from_bits(bits).ordinal();
            tally.check(ordinal.is_none(), || {
                format!("ordinal(NaN {}) = {ordinal:?}", layout.hex(bits))
            });
        } else {
            values.push((layout.decode(bits), bits));
        }
    }
    values.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("no NaN"));
    for pair in values.windows(2) {
        let (a, a_bits) = &pair[0];
        let (b, b_bits) = &pair[1];
        let (oa, ob) = (
            S::from_bits(*a_bits).ordinal(),
            S::from_bits(*b_bits).ordinal(),
        );
        let step = if a == b { 0 } else { 1 };
        let ok = match (oa, ob) {
            (Some(oa), Some(ob)) => ob - oa == step,
            _ => false,
        };
        tally.check(ok, || {
            format!(
                "ordinal({}) = {oa:?}, ordinal({}) = {ob:?}: expected a step of {step}",
                describe::<S>(*a_bits),
                describe::<S>(*b_bits)
            )
        });
    }
    let zero = S::from_bits(0).ordinal();
    tally.check(zero == Some(0), || format!("ordinal(+0) = {zero:?}"));
    tally.assert_all_passed();
}

macro_rules! exhaustive_tests {
    ($module:ident, $ty:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn conversions_round_trip() {
                super::conversions_round_trip::<$ty>();
            }
            #[test]
            fn conversions_at_rounding_boundaries() {
                super::conversion_boundaries::<$ty>();
            }
            #[test]
            fn sqrt() {
                unary::<$ty>("sqrt", Scalar::sqrt, reference_sqrt);
            }
            #[test]
            fn exp() {
                unary::<$ty>("exp", Scalar::exp, reference_exp);
            }
            #[test]
            fn ln() {
                unary::<$ty>("ln", Scalar::ln, reference_ln);
            }
            #[test]
            fn tanh() {
                unary::<$ty>("tanh", Scalar::tanh, reference_tanh);
            }
            #[test]
            fn sigmoid() {
                unary::<$ty>("sigmoid", Scalar::sigmoid, reference_sigmoid);
            }
            #[test]
            fn neg_and_abs() {
                unary::<$ty>("neg", Scalar::neg, reference_neg);
                unary::<$ty>("abs", Scalar::abs, reference_abs);
            }
            #[test]
            fn classify() {
                super::classify::<$ty>();
            }
            #[test]
            fn ordinal() {
                super::ordinal::<$ty>();
            }
        }
    };
}

exhaustive_tests!(f16_exhaustive, half::f16);
exhaustive_tests!(bf16_exhaustive, half::bf16);
