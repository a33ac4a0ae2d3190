//! The double-double lanes: each term is `DoubleDouble::mul_add`'s product and sum, written
//! without branches ([`mul_add_parts`]) so that neighbouring outputs share vector registers.

use super::{Path, tile};
use crate::format::{DoubleDouble, mul_add_parts};

/// One term of one output: acc + x·y, as `DoubleDouble::mul_add` rounds it.
#[inline(always)]
fn step(acc: DoubleDouble, x: DoubleDouble, y: DoubleDouble) -> DoubleDouble {
    let (hi, lo) = mul_add_parts((x.hi, x.lo), (y.hi, y.lo), (acc.hi, acc.lo));
    DoubleDouble { hi, lo }
}

#[inline(always)]
fn run<const ROWS: usize, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[DoubleDouble], &[DoubleDouble]),
    out: &mut [DoubleDouble],
) {
    tile::matmul::<_, _, _, ROWS, COLS>(dims, operands, DoubleDouble::default(), step, out)
}

/// Tiles of 2 rows × 2 vectors of 8 (hi, lo) pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn avx512(
    dims: (usize, usize, usize),
    operands: (&[DoubleDouble], &[DoubleDouble]),
    out: &mut [DoubleDouble],
) {
    run::<2, 16>(dims, operands, out)
}

/// Tiles of 2 rows × 2 vectors of 4 (hi, lo) pairs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(
    dims: (usize, usize, usize),
    operands: (&[DoubleDouble], &[DoubleDouble]),
    out: &mut [DoubleDouble],
) {
    run::<2, 8>(dims, operands, out)
}

/// C = A·B (row-major, `dims` = (m, k, n)) on `path`.
pub(super) fn matmul(
    path: Path,
    dims: (usize, usize, usize),
    operands: (&[DoubleDouble], &[DoubleDouble]),
) -> Vec<DoubleDouble> {
    let (m, _, n) = dims;
    let mut out = vec![DoubleDouble::default(); m * n];
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on`, the only caller, asserts that the CPU runs the path (avx512f and
        // fma); the function is safe code otherwise.
        Path::Avx512 => unsafe { avx512(dims, operands, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on` asserts that the CPU runs the path (avx2 and fma).
        Path::Avx2 => unsafe { avx2(dims, operands, &mut out) },
        _ => run::<2, 4>(dims, operands, &mut out),
    }
    out
}
