//! Seeded random +, −, ×, ÷ and fused multiply-add for f16, bf16 and f32 against exact MPFR
//! results rounded by the test's own rounding, with operands aimed at the hard cases: exact
//! midpoints, the subnormal boundary, overflow, and the special values.

use precision_audit::format::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rug::Float;

use super::oracle::{
    Ieee, Layout, Position, Tally, exact_add, exact_mul, exact_mul_add, exact_sub, round,
    round_with_position, same_bits, show, wide_div,
};

/// Cases per operation per format: enough to hit every generator tens of thousands of times.
const CASES: u32 = 120_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    MulAdd,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Div => "div",
            Op::MulAdd => "mul_add",
        }
    }

    fn arity(self) -> usize {
        if self == Op::MulAdd { 3 } else { 2 }
    }

    fn apply<S: Scalar>(self, a: &S, b: &S, c: &S) -> S {
        match self {
            Op::Add => a.add(b),
            Op::Sub => a.sub(b),
            Op::Mul => a.mul(b),
            Op::Div => a.div(b),
            Op::MulAdd => a.mul_add(b, c),
        }
    }

    /// The exact result (the quotient at 300 bits).
    fn reference(self, a: &Float, b: &Float, c: &Float) -> Float {
        match self {
            Op::Add => exact_add(a, b),
            Op::Sub => exact_sub(a, b),
            Op::Mul => exact_mul(a, b),
            Op::Div => wide_div(a, b),
            Op::MulAdd => exact_mul_add(a, b, c),
        }
    }
}

/// Draws bit patterns of one format.
struct Draw {
    rng: ChaCha20Rng,
    layout: Layout,
}

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    /// An integer in lo..=hi.
    fn between(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u64) as i32
    }

    fn coin(&mut self) -> bool {
        self.rng.next_u64() & 1 == 1
    }

    /// Any pattern at all: NaNs, infinities, zeros and subnormals in their natural proportion.
    fn any(&mut self) -> u64 {
        self.rng.next_u64() & self.layout.mask()
    }

    fn special(&mut self) -> u64 {
        let l = self.layout;
        let max_biased = l.max_biased();
        let choices = [
            0,
            l.compose(false, 0, 1),
            l.compose(false, 0, l.fraction_mask()),
            l.compose(false, 1, 0),
            l.compose(false, l.bias() as u64, 0),
            l.compose(false, max_biased - 1, l.fraction_mask()),
            l.infinity(),
            l.quiet_nan(),
            // A signalling NaN: the operations must still return a NaN.
            l.compose(false, max_biased, 1),
        ];
        let pick = choices[self.below(choices.len() as u64) as usize];
        if self.coin() {
            pick | l.sign_bit()
        } else {
            pick
        }
    }

    /// A fraction field with only its top `k` bits random, k itself random: products and sums of
    /// such short significands land exactly on midpoints far more often than random ones.
    fn short_fraction(&mut self) -> u64 {
        let f = self.layout.fraction_bits();
        let kept = self.below(u64::from(f) + 1) as u32;
        let dropped = f - kept;
        (self.rng.next_u64() & self.layout.fraction_mask()) >> dropped << dropped
    }

    fn fraction(&mut self, short: bool) -> u64 {
        if short {
            self.short_fraction()
        } else {
            self.rng.next_u64() & self.layout.fraction_mask()
        }
    }

    /// A finite value with floor(log2 |x|) = `e` (clamped to the format; below emin a subnormal
    /// with its leading bit at 2^e, and zero below the smallest subnormal).
    fn with_exponent(&mut self, e: i32, short: bool) -> u64 {
        let fraction = self.fraction(short);
        self.place(e, fraction)
    }

    /// The fraction field of a significand `length` bits long (1..=t) whose last bit is set:
    /// the product of two such significands has exactly length_a + length_b − 1 or
    /// length_a + length_b bits, so choosing the lengths chooses a midpoint.
    fn odd_significand(&mut self, length: u32) -> u64 {
        let t = self.layout.precision;
        if length <= 1 {
            return 0;
        }
        let below_lead = (self.rng.next_u64() | 1) & ((1 << (length - 1)) - 1);
        below_lead << (t - length)
    }

    /// A value with floor(log2 |x|) = `e` and the given fraction field, random sign; clamped
    /// as [`Draw::with_exponent`] says.
    fn place(&mut self, e: i32, fraction: u64) -> u64 {
        let l = self.layout;
        let negative = self.coin();
        let t = l.precision as i32;
        let e = e.min(l.emax());
        if e >= l.emin() {
            return l.compose(negative, (e + l.bias()) as u64, fraction);
        }
        let lead = e - (l.emin() - t + 1);
        if lead < 0 {
            return l.compose(negative, 0, 0);
        }
        let lead = lead as u32;
        let below_lead = fraction >> (l.fraction_bits() - lead);
        l.compose(negative, 0, 1 << lead | below_lead)
    }

    fn exponent_anywhere(&mut self) -> i32 {
        let l = self.layout;
        self.between(l.emin() - l.precision as i32 + 1, l.emax())
    }

    fn exponent_of_value(&self, x: &Float) -> i32 {
        if x.is_zero() || !x.is_finite() {
            0
        } else {
            super::oracle::exponent(x)
        }
    }

    /// Operands for one case of `op`, from one of several strategies chosen at random.
    fn operands(&mut self, op: Op) -> [u64; 3] {
        let l = self.layout;
        let t = l.precision as i32;
        let (emin, emax) = (l.emin(), l.emax());
        match self.below(6) {
            // Uniform bit patterns.
            0 => [self.any(), self.any(), self.any()],
            // Specials against anything.
            1 => {
                let mut ops = [self.any(), self.any(), self.any()];
                for x in &mut ops {
                    if self.coin() {
                        *x = self.special();
                    }
                }
                ops
            }
            // Midpoints: operands whose result has one bit more than the format keeps.
            2 => {
                let ea = self.exponent_anywhere();
                let a = self.with_exponent(ea, true);
                match op {
                    // a + tiny: b near half an ulp of a, so a ± b is at or next to a midpoint.
                    Op::Add | Op::Sub => {
                        let eb = ea - t + self.between(-2, 1);
                        [a, self.with_exponent(eb, true), 0]
                    }
                    // Odd significands of t + 1 or t + 2 bits between them: about half the
                    // products have exactly t + 1 bits, a midpoint.
                    Op::Mul => {
                        let length_a = self.between(1, t) as u32;
                        let length_b =
                            (t as u32 + 1 + self.below(2) as u32 - length_a).min(t as u32);
                        let (fa, fb) = (
                            self.odd_significand(length_a),
                            self.odd_significand(length_b),
                        );
                        let eb = self.between(emin - ea, emax - ea);
                        [self.place(ea, fa), self.place(eb, fb), 0]
                    }
                    // Exact quotients are midpoints only below 2^emin: divide by a power of two.
                    Op::Div => {
                        let eb = ea - emin + self.between(-2, t + 1);
                        let b = self.with_exponent(eb, true) & !l.fraction_mask();
                        [
                            a,
                            if self.coin() {
                                b
                            } else {
                                self.with_exponent(eb, true)
                            },
                            0,
                        ]
                    }
                    // a·b of at most t bits, and c half an ulp of it (exactly, or give or take
                    // a few bits); or c cancelling a·b to within a few ulps.
                    Op::MulAdd => {
                        let length_a = self.between(1, t) as u32;
                        let length_b = self.between(1, t + 1 - length_a as i32) as u32;
                        let (fa, fb) = (
                            self.odd_significand(length_a),
                            self.odd_significand(length_b),
                        );
                        let eb = self.between(emin - ea, emax - ea);
                        let (a, b) = (self.place(ea, fa), self.place(eb, fb));
                        let product = exact_mul(&l.decode(a), &l.decode(b));
                        let c = if product.is_zero() || !product.is_finite() {
                            self.any()
                        } else if self.coin() {
                            let ec = self.exponent_of_value(&product) - t + self.between(-1, 0);
                            let fraction = if self.coin() {
                                0
                            } else {
                                self.short_fraction()
                            };
                            self.place(ec, fraction)
                        } else {
                            let near = l.encode(&round(&product, &l.target()));
                            let nudged =
                                near.wrapping_add(self.below(5)).wrapping_sub(2) & l.mask();
                            nudged ^ l.sign_bit()
                        };
                        [a, b, c]
                    }
                }
            }
            // Results around 2^emin, where gradual underflow starts.
            3 => {
                let target = emin + self.between(-t - 1, 1);
                let short = self.coin();
                match op {
                    Op::Add | Op::Sub => {
                        let ea = self.between(emin - t, emin + 1);
                        let eb = self.between(emin - t, emin + 1);
                        [
                            self.with_exponent(ea, short),
                            self.with_exponent(eb, short),
                            0,
                        ]
                    }
                    Op::Mul | Op::MulAdd => {
                        let ea = self.between(target - emax, emax);
                        let a = self.with_exponent(ea, short);
                        let b = self.with_exponent(target - ea, short);
                        let ec = self.between(emin - t, emin + 1);
                        [a, b, self.with_exponent(ec, short)]
                    }
                    Op::Div => {
                        let eb = self.between(emin, emax - 1);
                        let a = self.with_exponent(target + eb, short);
                        [a, self.with_exponent(eb, short), 0]
                    }
                }
            }
            // Results around the largest finite value.
            4 => {
                let target = emax + self.between(-1, 1);
                match op {
                    Op::Add | Op::Sub => {
                        let ea = self.between(emax - 2, emax);
                        // b as large as a, or down to where it only decides the last rounding.
                        let lowest = if self.coin() { emax - 2 } else { emax - t - 1 };
                        let eb = self.between(lowest, emax);
                        let (a, b) = (self.with_exponent(ea, false), self.with_exponent(eb, false));
                        // Same signs for add, opposite for sub: the magnitudes add up and can overflow.
                        let b = if op == Op::Add {
                            b & !l.sign_bit() | a & l.sign_bit()
                        } else {
                            b & !l.sign_bit() | !a & l.sign_bit()
                        };
                        [a, b, 0]
                    }
                    Op::Mul | Op::MulAdd => {
                        let ea = self.between(target - emax, emax);
                        let a = self.with_exponent(ea, false);
                        let b = self.with_exponent(target - ea, false);
                        let ec = self.between(emax - t - 1, emax);
                        [a, b, self.with_exponent(ec, false)]
                    }
                    Op::Div => {
                        let eb = self.between(emin - t + 1, 0);
                        let a = self.with_exponent(target + eb, false);
                        [a, self.with_exponent(eb, false), 0]
                    }
                }
            }
            // Ordinary values of every magnitude.
            _ => {
                let mut ops = [0; 3];
                for x in &mut ops {
                    let e = self.exponent_anywhere();
                    *x = self.with_exponent(e, false);
                }
                ops
            }
        }
    }
}

/// How often the hard cases came up; each must come up for the run to count.
#[derive(Default, Debug)]
struct Coverage {
    midpoints: u64,
    subnormal_results: u64,
    overflows: u64,
    underflows_to_zero: u64,
    nan_results: u64,
}

fn check<S: Ieee>(op: Op, seed: u64) {
    let layout = S::LAYOUT;
    let target = layout.target();
    let mut draw = Draw {
        rng: ChaCha20Rng::seed_from_u64(seed),
        layout,
    };
    let mut tally = Tally::new(format!(
        "{} {} on {CASES} seeded cases",
        layout.name,
        op.name()
    ));
    let mut coverage = Coverage::default();
    for _ in 0..CASES {
        let operands = draw.operands(op);
        let [a, b, c] = operands.map(|bits| layout.decode(bits));
        let exact = op.reference(&a, &b, &c);
        let (rounded, position) = round_with_position(&exact, &target);
        let want = layout.encode(&rounded);
        let [x, y, z] = operands.map(S::from_bits);
        let got = op.apply(&x, &y, &z).bits();

        coverage.midpoints += u64::from(position == Position::Midpoint);
        coverage.nan_results += u64::from(rounded.is_nan());
        let operands_finite = [&a, &b, &c][..op.arity()].iter().all(|v| v.is_finite());
        coverage.overflows +=
            u64::from(operands_finite && exact.is_finite() && rounded.is_infinite());
        coverage.underflows_to_zero += u64::from(!exact.is_zero() && rounded.is_zero());
        coverage.subnormal_results +=
            u64::from(layout.biased_exponent(want) == 0 && !rounded.is_zero());

        tally.check(same_bits(&layout, got, want), || {
            let shown: Vec<String> = operands[..op.arity()]
                .iter()
                .map(|bits| layout.hex(*bits))
                .collect();
            format!(
                "{}({}): expected {}, got {} (exact {})",
                op.name(),
                shown.join(", "),
                layout.hex(want),
                layout.hex(got),
                show(&exact)
            )
        });
    }
    println!("{} {}: {coverage:?}", layout.name, op.name());
    // Quotients can only be exact midpoints below 2^emin, so they are rarer. Sums of format
    // values are multiples of the smallest subnormal: they never underflow to zero.
    let min_midpoints = if op == Op::Div { 100 } else { 1000 };
    let min_underflows = if matches!(op, Op::Add | Op::Sub) {
        0
    } else {
        100
    };
    assert!(
        coverage.midpoints >= min_midpoints
            && coverage.subnormal_results >= 1000
            && coverage.overflows >= 1000
            && coverage.underflows_to_zero >= min_underflows
            && coverage.nan_results >= 1000,
        "{} {}: the generators missed a hard case: {coverage:?}",
        layout.name,
        op.name()
    );
    tally.assert_all_passed();
}

macro_rules! random_tests {
    ($module:ident, $ty:ty, $seed:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn add() {
                check::<$ty>(Op::Add, $seed);
            }
            #[test]
            fn sub() {
                check::<$ty>(Op::Sub, $seed + 1);
            }
            #[test]
            fn mul() {
                check::<$ty>(Op::Mul, $seed + 2);
            }
            #[test]
            fn div() {
                check::<$ty>(Op::Div, $seed + 3);
            }
            #[test]
            fn mul_add() {
                check::<$ty>(Op::MulAdd, $seed + 4);
            }
        }
    };
}

random_tests!(f16_random, half::f16, 0x16_0000);
random_tests!(bf16_random, half::bf16, 0xbf16_0000);
random_tests!(f32_random, f32, 0x32_0000);
