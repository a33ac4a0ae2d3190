//! Known traps, each pinned by name: double rounding in narrowing conversions, fused
//! multiply-add done as two roundings, and the decimal facts from the issue that started this.

use half::{bf16, f16};
use precision_audit::format::{Format, Mpfr, Scalar, from_decimal};
use rug::Float;

use super::oracle::{BF16, F16, F32, F64, Layout, round};

fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

fn f16_bits(x: f16) -> u16 {
    x.to_bits()
}

/// `half::f16::from_f64` goes through f32 (F16C) or drops the low 32 bits of the f64 (software
/// fallback); either way a value just above an f16 midpoint loses the bit that says "above" and
/// the midpoint then ties to even, downward. Ours rounds once.
#[test]
fn f64_to_f16_does_not_round_twice() {
    // 1 + 2^-11 is the midpoint between 1 and 1 + 2^-10; 2^-40 puts x above it.
    let x = 1.0 + pow2(-11) + pow2(-40);
    assert_eq!(f16_bits(<f16 as Scalar>::from_f64(x, &())), 0x3C01);
    assert_eq!(
        f16_bits(f16::from_f64(x)),
        0x3C00,
        "half rounds {x:e} twice, to 1.0; if it no longer does, this trap is gone upstream"
    );
    // The same at the bottom: 2^-25 is half the smallest subnormal, a tie that goes to zero.
    let tiny = pow2(-25) + pow2(-60);
    assert_eq!(f16_bits(<f16 as Scalar>::from_f64(tiny, &())), 0x0001);
    assert_eq!(f16_bits(f16::from_f64(tiny)), 0x0000);
    // The test's own rounding agrees with ours on both.
    for (v, want) in [(x, 0x3C01), (tiny, 0x0001)] {
        assert_eq!(
            F16.encode(&round(&Float::with_val(64, v), &F16.target())),
            want
        );
    }
}

/// Two values just below and above an f16 tie, through f64 → f32 → f16 and directly.
#[test]
fn f64_to_f16_below_a_tie_stays_below() {
    // 1 + 3·2^-11 − 2^-40: just below the midpoint between 1 + 2^-10 (odd) and 1 + 2^-9.
    let x = 1.0 + 3.0 * pow2(-11) - pow2(-40);
    assert_eq!(f16_bits(<f16 as Scalar>::from_f64(x, &())), 0x3C01);
    let through_f32 = f16::from_f32(x as f32);
    assert_eq!(f16_bits(through_f32), 0x3C02, "f32 rounds x onto the tie");
}

/// f16 mul_add is one rounding of the exact a·b + c, not mul then add, and not an f32 fma
/// rounded to f16 (which rounds twice: half's num-traits `mul_add` does exactly that).
#[test]
fn f16_mul_add_is_fused() {
    let h = |x: f64| <f16 as Scalar>::from_f64(x, &());
    // 3 × 683 = 2049, a tie in f16 (spacing 2 at 2048); + 2^-19 puts the exact sum above it.
    let (a, b, c) = (h(3.0), h(683.0), h(pow2(-19)));
    assert_eq!(Scalar::to_f64(&a.mul_add(&b, &c)), 2050.0);
    assert_eq!(Scalar::to_f64(&a.mul(&b).add(&c)), 2048.0, "mul then add");
    let f32_fma = f32::mul_add(3.0, 683.0, pow2(-19) as f32);
    assert_eq!(f32_fma, 2049.0, "f32 drops the 2^-19");
    assert_eq!(
        f16::from_f32(f32_fma).to_f64(),
        2048.0,
        "then f16 ties to even"
    );

    // (1 + 2^-10)² − (1 + 2^-9) = 2^-20 exactly; rounding the product first loses it all.
    let (a, c) = (h(1.0 + pow2(-10)), h(-(1.0 + pow2(-9))));
    assert_eq!(Scalar::to_f64(&a.mul_add(&a, &c)), pow2(-20));
    assert_eq!(Scalar::to_f64(&a.mul(&a).add(&c)), 0.0);

    let mut accumulator = h(pow2(-19));
    accumulator.mul_add_assign(&h(3.0), &h(683.0));
    assert_eq!(
        Scalar::to_f64(&accumulator),
        2050.0,
        "mul_add_assign is fused too"
    );
}

/// The same for bf16: 7 × 37 = 259 is a tie between 258 and 260 (spacing 2 at 256).
#[test]
fn bf16_mul_add_is_fused() {
    let b = |x: f64| <bf16 as Scalar>::from_f64(x, &());
    let (x, y, z) = (b(7.0), b(37.0), b(-pow2(-20)));
    assert_eq!(Scalar::to_f64(&x.mul_add(&y, &z)), 258.0);
    assert_eq!(Scalar::to_f64(&x.mul(&y).add(&z)), 260.0, "mul then add");
    let through_f32 = bf16::from_f32(f32::mul_add(7.0, 37.0, -pow2(-20) as f32));
    assert_eq!(
        through_f32.to_f64(),
        260.0,
        "f32 fma then bf16 rounds twice"
    );
}

/// An f16 running sum stalls at 2048: 2048 + 1 is a tie and goes to the even 2048.
#[test]
fn f16_sum_stalls_at_2048() {
    let h = |x: f64| <f16 as Scalar>::from_f64(x, &());
    let mut sum = h(2048.0);
    for _ in 0..100 {
        sum.add_assign(&h(1.0));
    }
    assert_eq!(Scalar::to_f64(&sum), 2048.0);
    assert_eq!(Scalar::to_f64(&h(2048.0).add(&h(3.0))), 2052.0);
}

/// f32 inputs whose exact exp, ln or sigmoid lies within 2^-27 (down to 2^-52) of an f32 ulp
/// from a midpoint, found by scanning every f32 against a 400-bit MPFR evaluation. An
/// implementation that is only as accurate as f64 (libm in f64, then `as f32`) rounds some of
/// these the wrong way: on glibc 2.x it misrounds every one marked `f64 libm wrong` below.
const F32_HARD_CASES: [(&str, u32); 16] = [
    ("exp", 0xC169_12CD),
    ("exp", 0x377E_FF81),
    ("exp", 0xB300_0000),
    ("ln", 0x3C41_3D3A), // f64 libm wrong
    ("ln", 0x4117_8FEB), // f64 libm wrong
    ("ln", 0x4C5D_65A5), // f64 libm wrong
    ("ln", 0x65D8_90D3), // f64 libm wrong
    ("ln", 0x6F31_A8EC), // f64 libm wrong
    ("ln", 0x1F11_6AB8),
    ("sigmoid", 0x34C0_0000), // f64 libm wrong
    ("sigmoid", 0x3560_0000), // f64 libm wrong
    ("sigmoid", 0xB440_0000), // f64 libm wrong
    ("sigmoid", 0xBA92_8601), // f64 libm wrong
    ("sigmoid", 0xB757_0000), // f64 libm wrong
    ("sigmoid", 0x3400_0000),
    ("sigmoid", 0x3D21_BC81),
];

#[test]
fn f32_elementary_functions_round_hard_cases_correctly() {
    let target = F32.target();
    for (name, bits) in F32_HARD_CASES {
        let x = f32::from_bits(bits);
        let exact = Float::with_val(64, x);
        // Scalar:: spelled out: f32's inherent exp and ln would otherwise be called.
        let (got, reference) = match name {
            "exp" => (Scalar::exp(&x), Float::with_val(400, exact.exp_ref())),
            "ln" => (Scalar::ln(&x), Float::with_val(400, exact.ln_ref())),
            _ => {
                let exp_minus_x = Float::with_val(400, (-exact).exp_ref());
                (
                    Scalar::sigmoid(&x),
                    Float::with_val(400, 1u32 / (exp_minus_x + 1u32)),
                )
            }
        };
        let want = F32.encode(&round(&reference, &target));
        assert_eq!(
            u64::from(got.to_bits()),
            want,
            "{name}({x:e} = {bits:#010X}): expected {want:#010X}, got {:#010X}",
            got.to_bits()
        );
    }
}

fn decimal<S: Scalar<Context = ()>>(text: &str) -> f64 {
    let x: S = from_decimal(text, &()).unwrap_or_else(|e| panic!("{text}: {e}"));
    x.to_f64()
}

/// The issue's facts: eps = 1e-8 vanishes in f16 but not in bf16, 0.1 is not 0.1 in either,
/// and 65520 is past f16's overflow threshold but a plain bf16 value.
#[test]
fn issue_decimal_facts_f16() {
    let eps = decimal::<f16>("1e-8");
    assert_eq!(
        eps.to_bits(),
        0.0f64.to_bits(),
        "1e-8 underflows to +0 in f16"
    );
    assert_eq!(decimal::<f16>("0.1"), 0.0999755859375);
    assert_eq!(decimal::<f16>("65520"), f64::INFINITY);
    assert_eq!(decimal::<f16>("65519.99"), 65504.0);
    assert_eq!(decimal::<f16>("-65520"), f64::NEG_INFINITY);
}

#[test]
fn issue_decimal_facts_bf16() {
    assert_eq!(decimal::<bf16>("1e-8"), 1.0011717677116394e-08);
    assert_eq!(decimal::<bf16>("0.1"), 0.10009765625);
    assert_eq!(decimal::<bf16>("65520"), 65536.0);
}

/// Decimals that are within 10^-30 of an f16 midpoint: a parser that rounds to f64 first would
/// put them on the midpoint and tie to even.
#[test]
fn decimal_just_off_a_midpoint_rounds_once() {
    assert_eq!(
        decimal::<f16>("1.00048828125000000000000000000001"),
        1.0 + pow2(-10)
    );
    assert_eq!(decimal::<f16>("1.00048828125"), 1.0);
    assert_eq!(decimal::<f16>("1.00048828124999999999999999999999"), 1.0);
    assert_eq!(
        decimal::<f64>("1.00000000000000011102230246251565404236316680908203125"),
        1.0
    );
    assert_eq!(
        decimal::<f64>("1.000000000000000111022302462515654042363166809082031250001"),
        1.0 + f64::EPSILON
    );
    let reference: Mpfr = from_decimal("0.1", &113).expect("0.1 parses");
    assert_eq!(
        reference.0,
        Float::with_val(113, Float::parse("0.1").expect("parses"))
    );
    assert!(from_decimal::<f16>("0.1x", &()).is_err());
}

/// The facts of each format, in the crate's `Spec` and in the test's own layouts.
#[test]
fn format_facts() {
    let f16 = Format::F16.spec();
    assert_eq!(f16.precision, 11);
    assert_eq!(f16.max_finite(), Some(65504.0));
    assert_eq!(f16.min_subnormal(), Some(pow2(-24)));
    assert_eq!(f16.min_normal(), Some(pow2(-14)));
    assert_eq!(f16.unit_roundoff(), pow2(-11));

    let bf16 = Format::Bf16.spec();
    assert_eq!(bf16.precision, 8);
    assert_eq!(bf16.min_subnormal(), Some(pow2(-133)));
    assert_eq!(bf16.min_normal(), Some(pow2(-126)));
    assert_eq!(bf16.max_finite(), Some(3.3895313892515355e38));

    assert_eq!(
        Format::F32.spec().min_subnormal(),
        Some(f64::from(f32::from_bits(1)))
    );
    assert_eq!(Format::F32.spec().max_finite(), Some(f64::from(f32::MAX)));
    assert_eq!(Format::F64.spec().min_subnormal(), Some(f64::from_bits(1)));
    assert_eq!(Format::F64.spec().max_finite(), Some(f64::MAX));

    let reference = <Mpfr as Scalar>::spec(&113);
    assert_eq!((reference.precision, reference.name), (113, "mpfr113"));
    assert_eq!(reference.min_subnormal(), None);

    let layouts: [(Format, Layout); 4] = [
        (Format::F16, F16),
        (Format::Bf16, BF16),
        (Format::F32, F32),
        (Format::F64, F64),
    ];
    for (format, layout) in layouts {
        let spec = format.spec();
        assert_eq!(spec.name, layout.name);
        assert_eq!(format.name().parse::<Format>().ok(), Some(format));
        assert_eq!(
            (spec.precision, spec.emin, spec.emax, spec.has_subnormals),
            (layout.precision, layout.emin(), layout.emax(), true),
            "{}",
            layout.name
        );
        let max = layout.decode(layout.infinity() - 1).to_f64();
        assert_eq!(spec.max_finite(), Some(max), "{}", layout.name);
        assert_eq!(
            spec.min_subnormal(),
            Some(layout.decode(1).to_f64()),
            "{}",
            layout.name
        );
    }
    assert_eq!(<f16 as Scalar>::spec(&()), Format::F16.spec());
    assert_eq!(<bf16 as Scalar>::spec(&()), Format::Bf16.spec());
    assert_eq!(<f32 as Scalar>::spec(&()), Format::F32.spec());
    assert_eq!(<f64 as Scalar>::spec(&()), Format::F64.spec());
    assert!("f8".parse::<Format>().is_err());
}
