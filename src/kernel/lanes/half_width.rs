//! The f16 and bf16 lanes with a same-format accumulator: each term is the scalar `mul_add`
//! of those formats — the exact product in f64, a round-to-odd sum in f64, one rounding to the
//! format — written without branches, on f64 lanes that hold the accumulator exactly.

use super::{Path, tile};
use crate::format::{Format, Overflow, Spec};

/// What rounding an f64 to the format needs.
#[derive(Clone, Copy)]
pub(super) struct HalfWidth {
    /// Significand bits, the implicit one included.
    precision: i32,
    /// The exponent of the smallest normal value.
    emin: i32,
    /// The largest finite value.
    max_finite: f64,
}

impl HalfWidth {
    pub(super) const F16: HalfWidth = HalfWidth::of(Format::F16.named_spec().unwrap());
    pub(super) const BF16: HalfWidth = HalfWidth::of(Format::Bf16.named_spec().unwrap());

    const fn of(spec: Spec) -> HalfWidth {
        assert!(matches!(spec.overflow, Overflow::Ieee) && spec.has_subnormals);
        // (2 − 2^(1−t))·2^emax, exactly (t ≤ 11, emax ≤ 127).
        let ulps = (1u64 << spec.precision) - 1;
        let max_finite = ulps as f64 * (1u128 << (spec.emax + 1 - spec.precision as i32)) as f64;
        HalfWidth {
            precision: spec.precision as i32,
            emin: spec.emin,
            max_finite,
        }
    }
}

/// 2^k for −1022 ≤ k ≤ 1023.
#[inline(always)]
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// `round::sum_odd`: p + c rounded to odd at 53 bits (the sum itself when it is exact or not
/// finite), as selects instead of branches.
#[inline(always)]
fn sum_odd(p: f64, c: f64) -> f64 {
    let s = p + c;
    let c_part = s - p;
    let err = (p - (s - c_part)) + (c - c_part);
    let even_and_inexact = s.is_finite() && err != 0.0 && s.to_bits() & 1 == 0;
    let toward_larger_magnitude = (err > 0.0) == (s > 0.0);
    let step: u64 = if toward_larger_magnitude { 1 } else { u64::MAX };
    let odd = f64::from_bits(s.to_bits().wrapping_add(step));
    if even_and_inexact { odd } else { s }
}

/// `round::round_f64_to` for f16 and bf16 (round to nearest even, gradual underflow, ±∞ beyond
/// the largest value), as selects instead of branches. Zeros, infinities and NaN come through
/// the arithmetic unchanged (0 and ∞ scale to themselves); an f64 subnormal gets the
/// format's smallest quantum, as its true exponent is far below the format's emin.
#[inline(always)]
fn round(x: f64, format: HalfWidth) -> f64 {
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i64;
    let quantum = (biased - 1023).max(i64::from(format.emin)) - i64::from(format.precision - 1);
    let quantum = quantum.min(1023);
    let rounded = (x * pow2(-quantum)).round_ties_even() * pow2(quantum);
    if rounded.abs() > format.max_finite {
        f64::INFINITY.copysign(x)
    } else {
        rounded
    }
}

#[inline(always)]
fn run<const ROWS: usize, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[f64], &[f64]),
    format: HalfWidth,
    out: &mut [f64],
) {
    // The product of two values of the format is exact in f64 (22 bits at most, and twice
    // the exponent range).
    let step = move |acc: f64, x: f64, y: f64| round(sum_odd(x * y, acc), format);
    tile::matmul::<_, _, _, ROWS, COLS>(dims, operands, 0.0, step, out)
}

/// Tiles of 4 rows × 2 vectors of 8 f64 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn avx512(
    dims: (usize, usize, usize),
    operands: (&[f64], &[f64]),
    format: HalfWidth,
    out: &mut [f64],
) {
    run::<4, 16>(dims, operands, format, out)
}

/// Tiles of 4 rows × 2 vectors of 4 f64 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(
    dims: (usize, usize, usize),
    operands: (&[f64], &[f64]),
    format: HalfWidth,
    out: &mut [f64],
) {
    run::<4, 8>(dims, operands, format, out)
}

/// C = A·B (row-major, `dims` = (m, k, n)) on `path`, the operands and result as f64s that
/// hold values of `format` exactly.
pub(super) fn matmul(
    path: Path,
    dims: (usize, usize, usize),
    operands: (&[f64], &[f64]),
    format: HalfWidth,
) -> Vec<f64> {
    let (m, _, n) = dims;
    let mut out = vec![0.0; m * n];
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on`, the only caller, asserts that the CPU runs the path (avx512f and
        // fma); the function is safe code otherwise.
        Path::Avx512 => unsafe { avx512(dims, operands, format, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on` asserts that the CPU runs the path (avx2 and fma).
        Path::Avx2 => unsafe { avx2(dims, operands, format, &mut out) },
        _ => run::<4, 4>(dims, operands, format, &mut out),
    }
    out
}
