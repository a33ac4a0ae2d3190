//! The narrow formats given as data (tf32, e5m2, e4m3, e3m2, e2m3, e2m1 and a user's `eXmY`):
//! rounding from f64 and from decimals (through MPFR) against exact rational rounding by the
//! oracle, at ties, around the subnormal boundary and the overflow threshold; and their facts:
//! e4m3's 448/464/480 edges under each overflow rule, e2m1's eight magnitudes.

use precision_audit::format::round::round_f64_to;
use precision_audit::format::{Class, NARROW, Overflow, Spec, Storage, store_with};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rug::Float;

use super::oracle::{Tally, Target, round};

/// The formats tested: every named one and two a user might type.
fn formats() -> Vec<Spec> {
    let typed = ["e5m7", "e6m9", "e3m4"].map(|n| Spec::parse_narrow(n).expect("a valid eXmY"));
    NARROW.into_iter().chain(typed).collect()
}

/// The oracle's target with the format's range; its overflow threshold is IEEE's (the largest
/// finite value with an all-ones significand), which e4m3 does not have: see [`expected`].
pub fn target(spec: &Spec) -> Target {
    Target {
        precision: spec.precision,
        emin: Some(spec.emin),
        emax: Some(spec.emax),
    }
}

/// What the format must store for the exact `x` under `rule`: the oracle's rounding, with a
/// value beyond the format's largest finite one replaced as `rule` says.
fn expected(x: &Float, spec: &Spec, rule: Overflow) -> f64 {
    let max = spec.max_finite().expect("narrow formats are inside f64");
    if x.is_nan() {
        return f64::NAN;
    }
    let rounded = round(x, &target(spec)).to_f64();
    if rounded.is_finite() && rounded.abs() <= max {
        return rounded;
    }
    // Beyond the largest finite value, an infinite input included.
    match rule {
        Overflow::Ieee => rounded,
        Overflow::Saturate => max.copysign(rounded),
        Overflow::Nan => f64::NAN,
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The exact decimal expansion of an f64 as `[-]digits` and a power of ten: Rust prints the
/// exact digits when asked for enough of them (an f64 has at most 767 significant digits).
fn exact_digits(x: f64) -> (String, i64) {
    let sci = format!("{:.800e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let digits = mantissa.replace('.', "");
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let exp: i64 = exp.parse().expect("an integer exponent");
    let sign = if x.is_sign_negative() { "-" } else { "" };
    (format!("{sign}{digits}"), exp - (digits.len() as i64 - 1))
}

/// The exact decimal expansion of an f64.
fn exact_decimal(x: f64) -> String {
    let (digits, exp) = exact_digits(x);
    format!("{digits}e{exp}")
}

/// A decimal a hair (30 digits past its last) above or below the nonzero `x` in magnitude: the exact digits
/// followed by 0…01, or with the last digit lowered and followed by 9…9.
fn nudged(x: f64, up: bool) -> String {
    let (mut digits, exp) = exact_digits(x);
    if up {
        digits += &format!("{}1", "0".repeat(29));
    } else {
        let last = digits.pop().expect("nonzero") as u8 - 1;
        digits.push(last as char);
        digits += &"9".repeat(30);
    }
    format!("{digits}e{}", exp - 30)
}

/// Values around every kind of edge of `spec`: random values over its range and beyond, every
/// midpoint between neighbours near 1, the subnormal boundary and the overflow threshold, and
/// the f64s on either side of each midpoint.
fn cases(spec: &Spec, rng: &mut ChaCha20Rng) -> Vec<f64> {
    let t = spec.precision as i32;
    let quantum_at = |e: i32| 2f64.powi(e.max(spec.emin) - (t - 1));
    let mut values = Vec::new();
    let mut midpoints_from = |start: f64, count: usize| {
        let mut v = start;
        for _ in 0..count {
            let step = quantum_at(v.log2().floor() as i32);
            let mid = v + step / 2.0;
            values.extend([mid, mid.next_up(), mid.next_down(), v]);
            v += step;
        }
    };
    let min_sub = spec.min_subnormal().expect("inside f64");
    let max = spec.max_finite().expect("inside f64");
    midpoints_from(min_sub, 64); // subnormals and the first normals
    midpoints_from(1.0, 64);
    // The top binade and the threshold beyond it.
    let top = 2f64.powi(spec.emax);
    midpoints_from(top, 1 << (t - 1).min(6));
    let step = quantum_at(spec.emax);
    values.extend([
        max,
        max + step / 2.0,
        max + step,
        max + step * 1.5,
        max * 4.0,
    ]);
    values.extend([min_sub / 2.0, min_sub / 4.0, min_sub * 0.75, 1e-300, 0.0]);
    for _ in 0..2000 {
        let (lo, hi) = (spec.emin - t - 2, spec.emax + 1);
        let e = lo + (rng.next_u64() % (hi - lo + 1) as u64) as i32;
        let m = (rng.next_u64() >> 11 | 1 << 52) as f64 * 2f64.powi(-52);
        values.push(m * 2f64.powi(e));
    }
    values.iter().flat_map(|&x| [x, -x]).collect()
}

/// Rounding an f64 and rounding its exact decimal (MPFR's path) both give the oracle's answer,
/// under the format's own overflow rule and under every rule it can represent.
#[test]
fn narrow_formats_round_correctly_from_f64_and_from_decimals() {
    for spec in formats() {
        let mut tally = Tally::new(format!("{} rounding", spec.name));
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(spec.precision) << 8 | spec.emax as u64);
        for x in cases(&spec, &mut rng) {
            let exact = Float::with_val(53, x);
            let want = expected(&exact, &spec, spec.overflow);
            let got = round_f64_to(x, &spec);
            tally.check(same(got, want), || {
                format!("round_f64_to({x:e}) = {got:e}, want {want:e}")
            });
            for rule in Overflow::ALL.into_iter().filter(|r| r.fits(&spec)) {
                let text = exact_decimal(x);
                let stored = store_with(Storage::Narrow(spec), &text, Some(rule)).unwrap();
                let want = expected(&exact, &spec, rule);
                tally.check(same(stored.value, want), || {
                    format!("{rule}: round {text} = {:e}, want {want:e}", stored.value)
                });
            }
        }
        assert!(tally.checked() > 5000);
        tally.assert_all_passed();
    }
}

/// Decimals a hair (30 digits past the exact ones) above or below a midpoint: an f64 would land on the
/// midpoint and tie to even; the decimal path must not.
#[test]
fn decimals_near_a_tie_round_to_the_side_they_are_on() {
    for spec in formats() {
        let mut tally = Tally::new(format!("{} near ties", spec.name));
        let mut rng = ChaCha20Rng::seed_from_u64(17 + u64::from(spec.precision));
        for x in cases(&spec, &mut rng)
            .into_iter()
            .filter(|x| x.is_finite() && *x != 0.0)
        {
            for up in [true, false] {
                let text = nudged(x, up);
                let exact = Float::with_val(4000, Float::parse(&text).unwrap());
                let want = expected(&exact, &spec, spec.overflow);
                let stored = store_with(Storage::Narrow(spec), &text, None).unwrap();
                tally.check(same(stored.value, want), || {
                    format!("round {text} = {:e}, want {want:e}", stored.value)
                });
            }
        }
        tally.assert_all_passed();
    }
}

fn stored(format: &str, text: &str, rule: Option<Overflow>) -> (f64, Class, bool, bool) {
    let storage = format.parse().unwrap();
    let s = store_with(storage, text, rule).unwrap();
    (s.value, s.class, s.overflow, s.underflow)
}

#[test]
fn e4m3_underflow_and_its_448_464_480_edges_under_each_overflow_rule() {
    assert_eq!(
        stored("e4m3", "1e-8", None),
        (0.0, Class::Zero, false, true)
    );
    assert_eq!(stored("e4m3", "0.001953125", None).0, 2f64.powi(-9));
    assert_eq!(
        stored("e4m3", "448", None),
        (448.0, Class::Normal, false, false)
    );
    // 464 is the midpoint of 448 (significand 1.110, even) and 480: it ties to 448.
    for rule in [None, Some(Overflow::Nan), Some(Overflow::Saturate)] {
        assert_eq!(
            stored("e4m3", "464", rule),
            (448.0, Class::Normal, false, false)
        );
    }
    // Beyond it: NaN by default, 448 when saturating (CUDA's __NV_SATFINITE). ml_dtypes'
    // float8_e4m3fn gives NaN too, but only from the next float32 above 464 on: it converts an
    // f64 through float32, so the next f64 above 464 becomes 464 and then 448 there (pinned in
    // scripts/crosscheck_narrow.py).
    for text in ["464.0000001", "480", "1e6", "-480"] {
        let (value, class, overflow, _) = stored("e4m3", text, None);
        assert!(value.is_nan() && class == Class::Nan && overflow, "{text}");
        let saturated = stored("e4m3", text, Some(Overflow::Saturate));
        assert_eq!(saturated.0, 448f64.copysign(saturated.0), "{text}");
        assert_eq!(saturated.0.abs(), 448.0);
        assert!(saturated.2, "{text} overflows even when saturated");
    }
    let no_inf = store_with("e4m3".parse().unwrap(), "480", Some(Overflow::Ieee));
    assert!(
        no_inf
            .unwrap_err()
            .to_string()
            .contains("e4m3 has no infinities")
    );
    let e4m3 = Spec::parse_narrow("e4m3").unwrap();
    assert_eq!(
        (e4m3.bias(), e4m3.exp_bits(), e4m3.max_finite()),
        (7, 4, Some(448.0))
    );
}

#[test]
fn e5m2_overflows_to_infinity_at_61440() {
    assert_eq!(stored("e5m2", "61439", None).0, 57344.0);
    assert_eq!(
        stored("e5m2", "61440", None),
        (f64::INFINITY, Class::Infinite, true, false)
    );
    assert_eq!(stored("e5m2", "61440", Some(Overflow::Saturate)).0, 57344.0);
    assert!(stored("e5m2", "61440", Some(Overflow::Nan)).0.is_nan());
    // Saturation takes infinities to the largest finite value too, as SATFINITE does.
    assert_eq!(stored("e5m2", "-inf", Some(Overflow::Saturate)).0, -57344.0);
    assert_eq!(stored("e5m2", "-inf", None).0, f64::NEG_INFINITY);
}

#[test]
fn fp6_and_fp4_saturate_and_have_no_nan() {
    assert_eq!(
        stored("e3m2", "1e9", None),
        (28.0, Class::Normal, true, false)
    );
    assert_eq!(stored("e2m3", "-inf", None).0, -7.5);
    assert_eq!(stored("e2m3", "7.75", None).0, 7.5);
    for rule in [Overflow::Ieee, Overflow::Nan] {
        assert!(store_with("e2m1".parse().unwrap(), "1", Some(rule)).is_err());
    }
}

#[test]
fn e2m1_has_exactly_eight_magnitudes() {
    let mut magnitudes: Vec<f64> = (0..=8 * 64)
        .map(|k| stored("e2m1", &format!("{}", f64::from(k) / 64.0), None).0)
        .collect();
    magnitudes.dedup();
    assert_eq!(magnitudes, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
    let e2m1 = Spec::parse_narrow("e2m1").unwrap();
    assert_eq!(
        (e2m1.min_subnormal(), e2m1.max_finite()),
        (Some(0.5), Some(6.0))
    );
}

#[test]
fn named_and_typed_formats_have_their_documented_facts() {
    let facts = |n: &str| {
        let s = Spec::parse_narrow(n).unwrap();
        (
            s.precision,
            s.emin,
            s.emax,
            s.max_finite(),
            s.min_subnormal(),
        )
    };
    assert_eq!(
        facts("tf32"),
        (
            11,
            -126,
            127,
            Some((2.0 - 2f64.powi(-10)) * 2f64.powi(127)),
            Some(2f64.powi(-136))
        )
    );
    assert_eq!(
        facts("e5m2"),
        (3, -14, 15, Some(57344.0), Some(2f64.powi(-16)))
    );
    assert_eq!(facts("e3m2"), (3, -2, 4, Some(28.0), Some(0.0625)));
    assert_eq!(facts("e2m3"), (4, 0, 2, Some(7.5), Some(0.125)));
    assert_eq!(
        facts("e5m7"),
        (8, -14, 15, Some(65280.0), Some(2f64.powi(-21)))
    );
    for bad in ["e1m3", "e11m2", "e5m0", "e5m51", "e05m2", "e5m", "x5m2"] {
        assert!(Spec::parse_narrow(bad).is_none(), "{bad}");
    }
}
