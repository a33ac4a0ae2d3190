//! The double-double lanes: each term is `DoubleDouble::mul_add`'s product and sum, written
//! without branches so that neighbouring outputs share vector registers.
//!
//! The lanes run the finite case alone ([`mul_add_parts_finite`]); an output that ends
//! infinite or NaN met a special case somewhere and is summed again, one term at a time, with
//! the special cases ([`mul_add_parts`]). Either way its bits are `mul_add`'s.

use super::{Path, tile};
use crate::format::{DoubleDouble, mul_add_parts, mul_add_parts_finite};

fn parts(x: DoubleDouble) -> (f64, f64) {
    (x.hi, x.lo)
}

fn pair((hi, lo): (f64, f64)) -> DoubleDouble {
    DoubleDouble { hi, lo }
}

/// One term of one output, when no special case arises.
#[inline(always)]
fn step_finite(acc: DoubleDouble, x: DoubleDouble, y: DoubleDouble) -> DoubleDouble {
    pair(mul_add_parts_finite(parts(x), parts(y), parts(acc)))
}

#[inline(always)]
fn run<const ROWS: usize, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[DoubleDouble], &[DoubleDouble]),
    out: &mut [DoubleDouble],
) {
    tile::matmul::<_, _, _, ROWS, COLS>(dims, operands, DoubleDouble::default(), step_finite, out)
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
    (a, b): (&[DoubleDouble], &[DoubleDouble]),
) -> Vec<DoubleDouble> {
    let (m, k, n) = dims;
    let mut out = vec![DoubleDouble::default(); m * n];
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on`, the only caller, asserts that the CPU runs the path (avx512f and
        // fma); the function is safe code otherwise.
        Path::Avx512 => unsafe { avx512(dims, (a, b), &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on` asserts that the CPU runs the path (avx2 and fma).
        Path::Avx2 => unsafe { avx2(dims, (a, b), &mut out) },
        _ => run::<2, 4>(dims, (a, b), &mut out),
    }
    for (index, c) in out.iter_mut().enumerate() {
        if !c.hi.is_finite() {
            let (i, j) = (index / n, index % n);
            *c = (0..k).fold(DoubleDouble::default(), |acc, kk| {
                pair(mul_add_parts(
                    parts(a[i * k + kk]),
                    parts(b[kk * n + j]),
                    parts(acc),
                ))
            });
        }
    }
    out
}
