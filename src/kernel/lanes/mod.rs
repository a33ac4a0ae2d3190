//! Sequential matmuls in f32, f64, double-double, and f16 and bf16 with their own accumulator,
//! that compute several outputs side by side in SIMD lanes, each output with the sum over k
//! that defines it, bit for bit.
//!
//! A matmul's order is per output: c_ij is the sequential sum of a_ik·b_kj over k, one
//! rounding per term (a fused multiply-add, or a multiply and an add when every product is
//! exact). Nothing in that definition ties one output to another, so the lanes of a vector
//! register can hold neighbouring outputs of one row (c_ij … c_i(j+15)) and advance them all by
//! one term at a time: each lane performs exactly the operations of the scalar loop on its own
//! output. The instruction set is detected at run time ([`Path`]); every path runs the same
//! generic loop nest ([`tile::matmul`]) with the same per-term step, and the tests run every
//! path the CPU supports against the per-output definition ([`Scalar::dot_sequential`]).

mod double_double;
mod half_width;
mod ieee;
mod tile;

use std::any::{Any, TypeId};

use half::{bf16, f16};
use ndarray::{Array2, ArrayView2};

use super::ops::Tensor;
use crate::format::{DoubleDouble, Scalar};
use half_width::HalfWidth;

/// The instruction sets the kernels are compiled for. Each gives the same bits: only how many
/// outputs advance together changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// 512-bit vectors and fused multiply-add (x86-64 `avx512f` + `fma`).
    Avx512,
    /// 256-bit vectors and fused multiply-add (x86-64 `avx2` + `fma`).
    Avx2,
    /// No target feature beyond the build's: what the compiler makes of the loop (a fused
    /// multiply-add is then `f32::mul_add`, in hardware or in libm's exact software).
    Portable,
}

impl Path {
    /// Every path, widest first.
    pub(crate) const ALL: [Path; 3] = [Path::Avx512, Path::Avx2, Path::Portable];

    /// The widest path this CPU runs.
    pub(crate) fn detected() -> Path {
        Path::ALL
            .into_iter()
            .find(|path| path.is_supported())
            .unwrap_or(Path::Portable)
    }

    /// Whether this CPU runs the path; `Portable` always.
    pub(crate) fn is_supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Path::Avx512 => has!("avx512f") && has!("fma"),
                Path::Avx2 => has!("avx2") && has!("fma"),
                Path::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Path::Portable
        }
    }
}

/// How each term enters an output's sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Term {
    /// acc = a·b + acc with one rounding.
    Fused,
    /// acc = acc + a·b, the product rounded first: the same bits as `Fused` when every product
    /// is exact in the format (see [`products_exact_in`](super::products_exact_in)), and
    /// what [`Scalar::dot_sequential`] computes then.
    ExactProducts,
}

/// op(A)·op(B) summed sequentially over k in `T` itself, on the detected path, when `T` has
/// lanes (f32, f64, double-double, f16, bf16); `None` for the other formats, which sum one
/// output at a time.
pub(crate) fn matmul<T: Scalar>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    products_exact: bool,
    ctx: &T::Context,
) -> Option<Tensor<T>> {
    matmul_on(Path::detected(), a, b, products_exact, ctx)
}

/// [`matmul`] on a given path.
///
/// # Panics
/// When the CPU does not run `path`: the vector instructions must not run without it.
pub(crate) fn matmul_on<T: Scalar>(
    path: Path,
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    products_exact: bool,
    ctx: &T::Context,
) -> Option<Tensor<T>> {
    assert!(
        path.is_supported(),
        "{path:?} needs a CPU feature this one lacks"
    );
    let narrow = if TypeId::of::<T>() == TypeId::of::<f16>() {
        Some(HalfWidth::F16)
    } else if TypeId::of::<T>() == TypeId::of::<bf16>() {
        Some(HalfWidth::BF16)
    } else {
        None
    };
    let known = [
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
        TypeId::of::<DoubleDouble>(),
    ];
    if narrow.is_none() && !known.contains(&TypeId::of::<T>()) {
        return None;
    }
    assert_eq!(a.ncols(), b.nrows(), "matmul inner dimensions");
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    // A result narrower than a vector (the output layer's single column) has its lanes along
    // the rows instead: Cᵀ = Bᵀ·Aᵀ, whose outputs are the same sums of the same products in the
    // same order (a·b and b·a are the same product, bit for bit, in every step used here).
    let transposed = n < 8 && m > n;
    let (lhs, rhs, (rows, cols)) = if transposed {
        (b.t(), a.t(), (n, m))
    } else {
        (a, b, (m, n))
    };
    let term = if products_exact {
        Term::ExactProducts
    } else {
        Term::Fused
    };
    // Row-major copies: `iter` visits a view in logical order whatever its strides.
    let lhs: Vec<T> = lhs.iter().cloned().collect();
    let rhs: Vec<T> = rhs.iter().cloned().collect();
    let dims = (rows, k, cols);
    let out: Vec<T> = if let Some(format) = narrow {
        // f16 and bf16 in f64 lanes, exactly; their `mul_add` ignores whether products are
        // exact (they always are in f64).
        let wide = |v: &[T]| v.iter().map(T::to_f64).collect::<Vec<f64>>();
        let c = half_width::matmul(path, dims, (&wide(&lhs), &wide(&rhs)), format);
        c.into_iter().map(|x| T::from_f64(x, ctx)).collect()
    } else if let (Some(lhs), Some(rhs)) = (cast::<T, f32>(&lhs), cast::<T, f32>(&rhs)) {
        into_vec(ieee::matmul::<f32>(path, dims, (lhs, rhs), term))?
    } else if let (Some(lhs), Some(rhs)) = (cast::<T, f64>(&lhs), cast::<T, f64>(&rhs)) {
        into_vec(ieee::matmul::<f64>(path, dims, (lhs, rhs), term))?
    } else {
        let (lhs, rhs) = (
            cast::<T, DoubleDouble>(&lhs)?,
            cast::<T, DoubleDouble>(&rhs)?,
        );
        into_vec(double_double::matmul(path, dims, (lhs, rhs)))?
    };
    let c = Array2::from_shape_vec((rows, cols), out).expect("one sum per output");
    Some(if transposed {
        c.t().as_standard_layout().into_owned()
    } else {
        c
    })
}

/// `v` as a vector of `To`, when `From` is `To`: the kernels are written for concrete types,
/// and the matmul is generic over the scalar.
#[allow(clippy::ptr_arg)] // a `Vec`, not a slice: `Any` downcasts sized types only
fn cast<From: 'static, To: 'static>(v: &Vec<From>) -> Option<&Vec<To>> {
    (v as &dyn Any).downcast_ref::<Vec<To>>()
}

/// [`cast`] for an owned vector.
fn into_vec<From: 'static, To: 'static>(v: Vec<From>) -> Option<Vec<To>> {
    (Box::new(v) as Box<dyn Any>).downcast().ok().map(|v| *v)
}

#[cfg(test)]
mod tests;
