//! The f32 and f64 lanes: one fused multiply-add (or, when products are exact, a multiply and
//! an add) per term, as `Scalar::dot_sequential` does for one output.

use std::ops::{Add, Mul};

use super::{Path, Term, tile};

/// f32 and f64, as the kernels need them.
pub(super) trait Native: Copy + Add<Output = Self> + Mul<Output = Self> + 'static {
    const ZERO: Self;
    /// x·y + acc with one rounding.
    fn fused(x: Self, y: Self, acc: Self) -> Self;
}

impl Native for f32 {
    const ZERO: f32 = 0.0;
    #[inline(always)]
    fn fused(x: f32, y: f32, acc: f32) -> f32 {
        x.mul_add(y, acc)
    }
}

impl Native for f64 {
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn fused(x: f64, y: f64, acc: f64) -> f64 {
        x.mul_add(y, acc)
    }
}

/// The loop nest with the step of `term`, in tiles of ROWS × COLS outputs.
#[inline(always)]
fn run<T: Native, const ROWS: usize, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[T], &[T]),
    term: Term,
    out: &mut [T],
) {
    match term {
        Term::Fused => tile::matmul::<T, T, T, ROWS, COLS>(
            dims,
            operands,
            T::ZERO,
            |acc, x, y| T::fused(x, y, acc),
            out,
        ),
        Term::ExactProducts => tile::matmul::<T, T, T, ROWS, COLS>(
            dims,
            operands,
            T::ZERO,
            |acc, x, y| acc + x * y,
            out,
        ),
    }
}

/// Tiles of 4 rows × 2 vectors of 512 bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn avx512<T: Native, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[T], &[T]),
    term: Term,
    out: &mut [T],
) {
    run::<T, 4, COLS>(dims, operands, term, out)
}

/// Tiles of 4 rows × 2 vectors of 256 bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2<T: Native, const COLS: usize>(
    dims: (usize, usize, usize),
    operands: (&[T], &[T]),
    term: Term,
    out: &mut [T],
) {
    run::<T, 4, COLS>(dims, operands, term, out)
}

/// C = A·B (row-major, `dims` = (m, k, n)) on `path`.
pub(super) fn matmul<T: Native>(
    path: Path,
    dims: (usize, usize, usize),
    operands: (&[T], &[T]),
    term: Term,
) -> Vec<T> {
    let (m, _, n) = dims;
    let mut out = vec![T::ZERO; m * n];
    // Two vectors of outputs per row of a tile.
    let per_512 = 2 * 64 / std::mem::size_of::<T>();
    match path {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on`, the only caller, asserts that the CPU runs the path (avx512f and
        // fma); the function is safe code otherwise.
        Path::Avx512 if per_512 == 32 => unsafe { avx512::<T, 32>(dims, operands, term, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Path::Avx512 => unsafe { avx512::<T, 16>(dims, operands, term, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `matmul_on` asserts that the CPU runs the path (avx2 and fma).
        Path::Avx2 if per_512 == 32 => unsafe { avx2::<T, 16>(dims, operands, term, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Path::Avx2 => unsafe { avx2::<T, 8>(dims, operands, term, &mut out) },
        _ => run::<T, 4, 8>(dims, operands, term, &mut out),
    }
    out
}
