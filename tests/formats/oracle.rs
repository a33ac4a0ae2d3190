//! The test side's own arithmetic: bit layouts, exact values in MPFR, and an independent
//! round-to-nearest-even that shares no code with `precision_audit::format::round`.
//!
//! Every expected result in this suite is "the exact (or 200+-bit) value from rug, rounded by
//! [`round`]". `round` works on the wide MPFR value directly: it scales the magnitude so that the
//! format's quantum is 1, takes the floor and the floor plus one as the two neighbouring format
//! values, and compares the discarded fraction with one half. The crate instead rounds an f64
//! with `round_ties_even`, so an error in either shows up as a disagreement.

use std::cmp::Ordering;

use half::{bf16, f16};
use precision_audit::format::Scalar;
use rug::Float;

/// The bit layout of an IEEE interchange format, written down here rather than read from the crate.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Name used in failure messages.
    pub name: &'static str,
    /// Total width in bits.
    pub width: u32,
    /// Precision t, hidden bit included.
    pub precision: u32,
    /// Width of the exponent field.
    pub exponent_bits: u32,
}

pub const F16: Layout = Layout {
    name: "f16",
    width: 16,
    precision: 11,
    exponent_bits: 5,
};
pub const BF16: Layout = Layout {
    name: "bf16",
    width: 16,
    precision: 8,
    exponent_bits: 8,
};
pub const F32: Layout = Layout {
    name: "f32",
    width: 32,
    precision: 24,
    exponent_bits: 8,
};
pub const F64: Layout = Layout {
    name: "f64",
    width: 64,
    precision: 53,
    exponent_bits: 11,
};

impl Layout {
    pub fn bias(&self) -> i32 {
        (1 << (self.exponent_bits - 1)) - 1
    }
    pub fn emin(&self) -> i32 {
        1 - self.bias()
    }
    pub fn emax(&self) -> i32 {
        self.bias()
    }
    /// All ones in the exponent field: infinities and NaNs.
    pub fn max_biased(&self) -> u64 {
        (1 << self.exponent_bits) - 1
    }
    pub fn fraction_bits(&self) -> u32 {
        self.precision - 1
    }
    pub fn sign_bit(&self) -> u64 {
        1 << (self.width - 1)
    }
    pub fn fraction_mask(&self) -> u64 {
        (1 << self.fraction_bits()) - 1
    }
    /// Every bit of the format set.
    pub fn mask(&self) -> u64 {
        if self.width == 64 {
            u64::MAX
        } else {
            (1 << self.width) - 1
        }
    }
    pub fn compose(&self, negative: bool, biased: u64, fraction: u64) -> u64 {
        debug_assert!(biased <= self.max_biased() && fraction <= self.fraction_mask());
        (if negative { self.sign_bit() } else { 0 }) | biased << self.fraction_bits() | fraction
    }
    pub fn biased_exponent(&self, bits: u64) -> u64 {
        (bits >> self.fraction_bits()) & self.max_biased()
    }
    pub fn quiet_nan(&self) -> u64 {
        self.compose(false, self.max_biased(), 1 << (self.fraction_bits() - 1))
    }
    pub fn infinity(&self) -> u64 {
        self.compose(false, self.max_biased(), 0)
    }
    pub fn is_nan(&self, bits: u64) -> bool {
        self.biased_exponent(bits) == self.max_biased() && bits & self.fraction_mask() != 0
    }

    /// The exact value of a bit pattern, from the IEEE 754 encoding rules alone.
    pub fn decode(&self, bits: u64) -> Float {
        let negative = bits & self.sign_bit() != 0;
        let biased = self.biased_exponent(bits);
        let fraction = bits & self.fraction_mask();
        let t = self.precision as i32;
        let magnitude = if biased == self.max_biased() {
            if fraction == 0 {
                Float::with_val(64, f64::INFINITY)
            } else {
                Float::with_val(64, f64::NAN)
            }
        } else if biased == 0 {
            Float::with_val(64, fraction) << (self.emin() - t + 1)
        } else {
            let significand = fraction | 1 << self.fraction_bits();
            Float::with_val(64, significand) << (biased as i32 - self.bias() - t + 1)
        };
        if negative { -magnitude } else { magnitude }
    }

    /// The bit pattern of a value of this format (as [`round`] returns it); NaN encodes as the
    /// default quiet NaN.
    pub fn encode(&self, x: &Float) -> u64 {
        if x.is_nan() {
            return self.quiet_nan();
        }
        let negative = x.is_sign_negative();
        if x.is_infinite() {
            return self.compose(negative, self.max_biased(), 0);
        }
        if x.is_zero() {
            return self.compose(negative, 0, 0);
        }
        let t = self.precision as i32;
        let e = exponent(x);
        let magnitude = Float::with_val(x.prec().max(64), x.abs_ref());
        let (biased, scaled) = if e < self.emin() {
            (0, magnitude >> (self.emin() - t + 1))
        } else {
            let scaled = (magnitude >> (e - t + 1)) - (Float::with_val(64, 1) << (t - 1));
            ((e + self.bias()) as u64, scaled)
        };
        assert!(
            scaled.is_integer() && biased < self.max_biased(),
            "{x} is not a {} value",
            self.name
        );
        self.compose(negative, biased, scaled.to_f64() as u64)
    }

    pub fn target(&self) -> Target {
        Target {
            precision: self.precision,
            emin: Some(self.emin()),
            emax: Some(self.emax()),
        }
    }

    /// Hex digits of a bit pattern of this width.
    pub fn hex(&self, bits: u64) -> String {
        format!("{:0width$X}", bits, width = (self.width / 4) as usize)
    }
}

/// What [`round`] rounds to: a precision, and where the format has them, an exponent range with
/// gradual underflow below `emin` and overflow to infinity above the largest finite value.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub precision: u32,
    pub emin: Option<i32>,
    pub emax: Option<i32>,
}

impl Target {
    /// An MPFR precision with no subnormals and an exponent range the tests never leave.
    pub fn unbounded(precision: u32) -> Target {
        Target {
            precision,
            emin: None,
            emax: None,
        }
    }

    /// (2^t − 1) × 2^(emax − t + 1), exactly.
    pub fn max_finite(&self) -> Option<Float> {
        let t = self.precision as i32;
        self.emax
            .map(|emax| ((Float::with_val(self.precision + 2, 1) << t) - 1u32) << (emax - t + 1))
    }
}

/// How a value compared with the two format values around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// It was a value of the format (or zero, infinite or NaN).
    Exact,
    /// Exactly halfway between two neighbours: ties to even decided.
    Midpoint,
    /// Strictly between two neighbours, nearer one of them.
    Between,
}

/// floor(log2 |x|) of a finite nonzero MPFR value (MPFR's own exponent is one more: m in [0.5, 1)).
pub fn exponent(x: &Float) -> i32 {
    x.get_exp().expect("exponent of a finite nonzero value") - 1
}

/// `x` rounded to nearest, ties to even, in `target`: the value (with its sign, ±inf on
/// overflow, ±0 on total underflow) and where `x` lay between its neighbours.
///
/// `x` must be the exact result, or carry enough bits that it cannot land on a midpoint it
/// does not exactly equal (200 bits and more for the functions tested here).
pub fn round_with_position(x: &Float, target: &Target) -> (Float, Position) {
    let working = x.prec().max(target.precision + 2);
    if x.is_nan() || x.is_infinite() || x.is_zero() {
        return (Float::with_val(working, x), Position::Exact);
    }
    let t = target.precision as i32;
    let e = exponent(x);
    // The weight of the last significand bit a value of this magnitude may keep: below 2^emin
    // it stays at the subnormal quantum.
    let quantum = target.emin.map_or(e, |emin| e.max(emin)) - (t - 1);
    // |x| / 2^quantum: its floor and floor + 1 are the two neighbouring format values, counted in
    // quanta. Shifting and taking the floor are exact at this precision.
    let scaled = Float::with_val(working, x.abs_ref()) >> quantum;
    let below = Float::with_val(working, scaled.floor_ref());
    let fraction = Float::with_val(working, &scaled - &below);
    let below_is_even = Float::with_val(working, &below >> 1).is_integer();
    let (round_up, position) = match fraction.partial_cmp(&0.5).expect("finite") {
        Ordering::Less => (false, Position::Between),
        Ordering::Greater => (true, Position::Between),
        Ordering::Equal => (!below_is_even, Position::Midpoint),
    };
    let position = if fraction.is_zero() {
        Position::Exact
    } else {
        position
    };
    let quanta = if round_up { below + 1u32 } else { below };
    let mut magnitude = quanta << quantum;
    if target.max_finite().is_some_and(|max| magnitude > max) {
        magnitude = Float::with_val(working, f64::INFINITY);
    }
    let rounded = if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    };
    (rounded, position)
}

/// `x` rounded to nearest, ties to even, in `target`.
pub fn round(x: &Float, target: &Target) -> Float {
    round_with_position(x, target).0
}

/// Enough bits for the sum of these finite values to be exact (infinities, NaNs and zeros need none).
pub fn exact_sum_precision(terms: &[&Float]) -> u32 {
    let spans: Vec<(i32, i32)> = terms
        .iter()
        .filter_map(|x| x.get_exp().map(|top| (top, top - x.prec() as i32)))
        .collect();
    let top = spans.iter().map(|s| s.0).max().unwrap_or(0);
    let bottom = spans.iter().map(|s| s.1).min().unwrap_or(0);
    (top - bottom + 2).max(64) as u32
}

/// a + b, exactly.
pub fn exact_add(a: &Float, b: &Float) -> Float {
    Float::with_val(exact_sum_precision(&[a, b]), a + b)
}

/// a − b, exactly.
pub fn exact_sub(a: &Float, b: &Float) -> Float {
    Float::with_val(exact_sum_precision(&[a, b]), a - b)
}

/// a × b, exactly.
pub fn exact_mul(a: &Float, b: &Float) -> Float {
    Float::with_val(a.prec() + b.prec(), a * b)
}

/// a × b + c, exactly: one MPFR fused operation at a precision that holds every bit.
pub fn exact_mul_add(a: &Float, b: &Float, c: &Float) -> Float {
    let product = exact_mul(a, b);
    Float::with_val(exact_sum_precision(&[&product, c]), a.mul_add_ref(b, c))
}

/// Precision for quotients, square roots and elementary functions: far beyond 2t + 2 for every
/// format tested, so a value that is not exactly a midpoint cannot be rounded onto one.
pub const WIDE: u32 = 300;

/// a ÷ b at [`WIDE`] bits.
pub fn wide_div(a: &Float, b: &Float) -> Float {
    Float::with_val(WIDE, a / b)
}

/// The value of a [`Scalar`] as an MPFR float, exactly (every format here has at most 113 bits).
pub fn big<S: Scalar>(x: &S) -> Float {
    x.to_big(WIDE)
}

/// Whether a computed value is the expected one: both NaN, or equal with the same sign.
pub fn same<S: Scalar>(got: &S, want: &Float) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    let got = big(got);
    !got.is_nan() && got == *want && got.is_sign_negative() == want.is_sign_negative()
}

/// A value for a failure message: exact, in MPFR's hex notation (`@` is the binary power of 16),
/// and roughly, in decimal.
pub fn show(x: &Float) -> String {
    format!("{x:x} (≈{:e})", x.to_f64())
}

/// Counts cases and keeps the first few failures, so one assertion reports them all.
pub struct Tally {
    what: String,
    checked: u64,
    failed: u64,
    examples: Vec<String>,
}

impl Tally {
    pub fn new(what: impl Into<String>) -> Tally {
        Tally {
            what: what.into(),
            checked: 0,
            failed: 0,
            examples: Vec::new(),
        }
    }

    /// Counts one case; `describe` runs only for failures.
    pub fn check(&mut self, ok: bool, describe: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.failed += 1;
            if self.examples.len() < 12 {
                self.examples.push(describe());
            }
        }
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Panics with every recorded failure unless all cases passed; prints the count otherwise.
    pub fn assert_all_passed(self) {
        assert!(
            self.failed == 0,
            "{}: {} of {} cases wrong; first {}:\n  {}",
            self.what,
            self.failed,
            self.checked,
            self.examples.len(),
            self.examples.join("\n  ")
        );
        println!("{}: all {} cases correct", self.what, self.checked);
    }
}

/// A fixed-width format the tests can build from bit patterns.
pub trait Ieee: Scalar<Context = ()> + Copy {
    const LAYOUT: Layout;
    fn from_bits(bits: u64) -> Self;
    fn bits(&self) -> u64;
}

impl Ieee for f16 {
    const LAYOUT: Layout = F16;
    fn from_bits(bits: u64) -> Self {
        f16::from_bits(bits as u16)
    }
    fn bits(&self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Ieee for bf16 {
    const LAYOUT: Layout = BF16;
    fn from_bits(bits: u64) -> Self {
        bf16::from_bits(bits as u16)
    }
    fn bits(&self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Ieee for f32 {
    const LAYOUT: Layout = F32;
    fn from_bits(bits: u64) -> Self {
        f32::from_bits(bits as u32)
    }
    fn bits(&self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Ieee for f64 {
    const LAYOUT: Layout = F64;
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn bits(&self) -> u64 {
        self.to_bits()
    }
}

/// Whether a computed bit pattern is the expected one: any NaN for a NaN, otherwise identical.
pub fn same_bits(layout: &Layout, got: u64, want: u64) -> bool {
    if layout.is_nan(want) {
        layout.is_nan(got)
    } else {
        got == want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> Float {
        Float::with_val(64, x)
    }

    // The oracle is checked by hand on the cases the rest of the suite leans on, so that a
    // disagreement elsewhere points at the crate, not at the test.
    #[test]
    fn oracle_rounds_ties_to_even_subnormals_and_overflow() {
        let t = F16.target();
        let at = |x: f64| round_with_position(&f(x), &t);
        assert_eq!(at(2049.0), (f(2048.0), Position::Midpoint));
        assert_eq!(at(2051.0), (f(2052.0), Position::Midpoint));
        assert_eq!(at(2049.5), (f(2050.0), Position::Between));
        assert_eq!(at(65504.0), (f(65504.0), Position::Exact));
        assert_eq!(at(65519.0).0, f(65504.0));
        assert_eq!(at(65520.0).0, f(f64::INFINITY));
        assert_eq!(at(2f64.powi(-25)), (f(0.0), Position::Midpoint));
        assert!(at(-(2f64.powi(-26))).0.is_sign_negative());
        assert_eq!(at(3.0 * 2f64.powi(-26)).0, f(2f64.powi(-24)));
        assert_eq!(at(2f64.powi(-14) * 1.5).0, f(2f64.powi(-14) * 1.5));
        let bf = BF16.target();
        assert_eq!(round(&f(65520.0), &bf), f(65536.0));
        assert_eq!(round(&f(257.0), &bf), f(256.0));
        assert_eq!(round(&f(259.0), &bf), f(260.0));
        assert_eq!(round(&f(3.0), &Target::unbounded(1)), f(4.0));
    }

    #[test]
    fn oracle_layouts_decode_and_encode_the_known_patterns() {
        assert_eq!(F16.decode(0x7BFF), f(65504.0));
        assert_eq!(F16.decode(0x0001), f(2f64.powi(-24)));
        assert_eq!(F16.decode(0x3C00), f(1.0));
        assert!(F16.decode(0x8000).is_sign_negative());
        assert!(F16.decode(0x7E00).is_nan());
        assert_eq!(BF16.decode(0x0001), f(2f64.powi(-133)));
        assert_eq!(BF16.decode(0x3F80), f(1.0));
        assert_eq!(F32.decode(0x3F80_0000), f(1.0));
        assert_eq!(F64.decode(0x3FF0_0000_0000_0000), f(1.0));
        for bits in [
            0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFC00, 0xBC01,
        ] {
            assert_eq!(F16.encode(&F16.decode(bits)), bits);
        }
        assert_eq!(F64.encode(&f(f64::MIN_POSITIVE / 4.0)), 1 << 50);
    }
}
