//! The ops: what each kernel computes, described as data so that an op can be evaluated again,
//! in another format, on the same inputs.

use ndarray::{Array2, ArrayView2, Axis};

use super::lanes;
use super::reduce::{self, Accumulate, Order, Reduction};
use crate::format::{Scalar, Spec};

/// A matrix of scalars: batch × features, or a 1 × n row, or a 1 × 1 scalar.
pub type Tensor<S> = Array2<S>;

/// Elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unary {
    /// −x.
    Neg,
    /// |x|.
    Abs,
    /// −1, 0 or 1 (NaN stays NaN); exact.
    Sign,
    /// √x.
    Sqrt,
    /// e^x.
    Exp,
    /// ln x.
    Ln,
    /// ln(1 + x), with one rounding.
    Ln1p,
    /// An activation function.
    Activation(Activation),
}

crate::named_enum! {
    /// Activation functions of the dense layers; the name is also part of op names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Activation: parsed from "--activation" as "activation" {
        /// max(x, 0).
        Relu = "relu",
        /// tanh x.
        Tanh = "tanh",
        /// 1 / (1 + e^−x).
        Sigmoid = "sigmoid",
        /// x.
        Identity = "identity",
    }
}

/// Elementwise functions of two arguments; either operand may be broadcast (1 × n, m × 1, 1 × 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binary {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a × b.
    Mul,
    /// a ÷ b.
    Div,
    /// IEEE 754-2019 `maximum` (NaN if either is NaN; +0 above −0).
    Max,
    /// IEEE 754-2019 `minimum` (NaN if either is NaN; −0 below +0).
    Min,
}

/// Which of two arguments an extremum takes, for [`OpKind::Select`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extremum {
    /// The larger.
    Max,
    /// The smaller.
    Min,
}

/// One kernel: enough to evaluate it again on the same inputs in any format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// op(A)·op(B), where op transposes when asked; a reduction over the inner dimension.
    MatMul {
        /// Use Aᵀ.
        lhs_transposed: bool,
        /// Use Bᵀ.
        rhs_transposed: bool,
    },
    /// Elementwise, one input.
    Unary(Unary),
    /// Elementwise, two inputs.
    Binary(Binary),
    /// The gradient through an activation: inputs (upstream gradient, pre-activation z,
    /// activation output a); relu: g where z > 0; tanh: g·(1 − a·a); sigmoid: g·(a·(1 − a)).
    ActivationGrad(Activation),
    /// The gradient through an extremum: inputs (a, b, da, db); da where `a` is the extremum
    /// of a and b, else db. Ties and NaN go to the first argument (as PyTorch's `max` passes
    /// the gradient to one argument); exact.
    Select(Extremum),
    /// α·x + β·y with 1 × 1 α and β: inputs (α, x, β, y); three roundings.
    Axpby,
    /// Column sums: m × n → 1 × n; a reduction.
    SumRows,
    /// The mean of all elements: m × n → 1 × 1; a reduction, then one division.
    Mean,
    /// Row sums: m × n → m × 1; a reduction along each row, left to right in the run's order
    /// and accumulator (the sum of a softmax's exponentials).
    SumColumns,
    /// Row maxima: m × n → m × 1; exact (a maximum rounds nothing, so order and accumulator do
    /// not matter). A NaN in a row makes its maximum NaN.
    MaxColumns,
    /// Inputs (values, one-hot), both m × n → m × 1: each row's value where the one-hot row is
    /// nonzero (the first such column; 0 when there is none); exact, and no product is taken,
    /// so an infinite value elsewhere in the row does not turn into NaN.
    Pick,
    /// A value of another format rounded once to this one (see `Engine::cast`); within one
    /// format, the identity.
    Cast,
}

impl OpKind {
    /// Whether the op reduces, so that its order and accumulator matter.
    pub fn is_reduction(self) -> bool {
        matches!(
            self,
            OpKind::MatMul { .. } | OpKind::SumRows | OpKind::Mean | OpKind::SumColumns
        )
    }
}

/// Evaluates `kind` on `inputs` in format `S`.
///
/// # Panics
/// When the inputs' number or shapes do not fit the op: the network validates shapes before
/// any op runs, so this is a bug, not bad input.
pub fn eval<S: Scalar>(
    kind: OpKind,
    inputs: &[&Tensor<S>],
    reduction: Reduction,
    ctx: &S::Context,
) -> Tensor<S> {
    eval_with(kind, inputs, reduction, false, ctx)
}

/// Evaluates `kind` sequentially in `S` on inputs widened exactly from the format `from`: the
/// yardstick of a local error. When products of `from` values are exact in `S`, matmuls skip
/// the fused multiply-add, which gives the same bits faster.
pub fn eval_widened<S: Scalar>(
    kind: OpKind,
    inputs: &[&Tensor<S>],
    from: &Spec,
    ctx: &S::Context,
) -> Tensor<S> {
    let exact = products_exact_in(from, &S::spec(ctx));
    eval_with(kind, inputs, Reduction::EXACT, exact, ctx)
}

fn eval_with<S: Scalar>(
    kind: OpKind,
    inputs: &[&Tensor<S>],
    reduction: Reduction,
    products_exact: bool,
    ctx: &S::Context,
) -> Tensor<S> {
    match kind {
        OpKind::MatMul {
            lhs_transposed,
            rhs_transposed,
        } => {
            let [a, b] = two(inputs);
            let a = if lhs_transposed { a.t() } else { a.view() };
            let b = if rhs_transposed { b.t() } else { b.view() };
            in_accumulator(MatMul, [a, b], reduction, products_exact, ctx)
        }
        OpKind::Unary(op) => inputs[0].map(|x| unary(op, x, ctx)),
        OpKind::Binary(op) => {
            let [a, b] = two(inputs);
            broadcast(a, b, |x, y| binary(op, x, y))
        }
        OpKind::Select(extremum) => broadcast_all(four(inputs), |[a, b, da, db]| {
            let second_wins = match extremum {
                Extremum::Max => b > a,
                Extremum::Min => b < a,
            };
            if second_wins { db.clone() } else { da.clone() }
        }),
        OpKind::ActivationGrad(activation) => {
            let [upstream, z, a] = three(inputs);
            activation_grad(activation, upstream, z, a, ctx)
        }
        OpKind::Axpby => {
            let [alpha, x, beta, y] = four(inputs);
            let (alpha, beta) = (&alpha[[0, 0]], &beta[[0, 0]]);
            broadcast(x, y, |x, y| alpha.mul(x).add(&beta.mul(y)))
        }
        OpKind::SumRows => in_accumulator(
            SumOver(Axis(0)),
            [inputs[0].view()],
            reduction,
            products_exact,
            ctx,
        ),
        OpKind::Mean => in_accumulator(Mean, [inputs[0].view()], reduction, products_exact, ctx),
        OpKind::SumColumns => in_accumulator(
            SumOver(Axis(1)),
            [inputs[0].view()],
            reduction,
            products_exact,
            ctx,
        ),
        OpKind::MaxColumns => row_maxima(inputs[0]),
        OpKind::Pick => {
            let [values, one_hot] = two(inputs);
            pick(values, one_hot, ctx)
        }
        OpKind::Cast => inputs[0].clone(),
    }
}

fn two<'a, S>(inputs: &[&'a Tensor<S>]) -> [&'a Tensor<S>; 2] {
    inputs.try_into().expect("op takes two inputs")
}

fn three<'a, S>(inputs: &[&'a Tensor<S>]) -> [&'a Tensor<S>; 3] {
    inputs.try_into().expect("op takes three inputs")
}

fn four<'a, S>(inputs: &[&'a Tensor<S>]) -> [&'a Tensor<S>; 4] {
    inputs.try_into().expect("op takes four inputs")
}

/// A reduction, written once for any accumulator format `T`.
trait ReductionBody<const N: usize> {
    /// `products_exact`: every product of two inputs is exact in `T` (see
    /// [`Scalar::dot_sequential`]).
    fn run<T: Scalar>(
        &self,
        inputs: [ArrayView2<'_, T>; N],
        order: Order,
        products_exact: bool,
        ctx: &T::Context,
    ) -> Tensor<T>;
}

/// Whether the product of any two values of `narrow` is exact in `wide`: twice the precision
/// and twice the exponent range fit (f16 in f32; f16, bf16 and f32 in f64 — not bf16 in f32,
/// whose exponent range is f32's own).
pub fn products_exact_in(narrow: &Spec, wide: &Spec) -> bool {
    let tiniest = |s: &Spec| s.emin - s.precision as i32 + 1;
    2 * narrow.precision <= wide.precision
        && 2 * (narrow.emax + 1) <= wide.emax
        && 2 * tiniest(narrow) >= tiniest(wide)
}

/// Runs a reduction in the accumulator the reduction asks for and rounds the result once to `S`.
/// Widening f16/bf16 to f32, or anything up to f32 to f64, is exact.
fn in_accumulator<S: Scalar, B: ReductionBody<N>, const N: usize>(
    body: B,
    inputs: [ArrayView2<'_, S>; N],
    reduction: Reduction,
    products_exact: bool,
    ctx: &S::Context,
) -> Tensor<S> {
    let order = reduction.order;
    let spec = S::spec(ctx);
    match reduction.accumulate.effective_for(&spec) {
        Accumulate::Same => body.run(inputs, order, products_exact, ctx),
        Accumulate::F32 => widened::<S, f32, B, N>(body, inputs, order, &spec, ctx),
        Accumulate::F64 => widened::<S, f64, B, N>(body, inputs, order, &spec, ctx),
    }
}

/// Runs a reduction in the wider accumulator `T` and rounds each result once back to `S`.
fn widened<S: Scalar, T: Scalar<Context = ()>, B: ReductionBody<N>, const N: usize>(
    body: B,
    inputs: [ArrayView2<'_, S>; N],
    order: Order,
    spec: &Spec,
    ctx: &S::Context,
) -> Tensor<S> {
    let exact = products_exact_in(spec, &T::spec(&()));
    // Exact: every format S narrower than T is held exactly in an f64, and T is at least f32.
    let wide = inputs.map(|view| view.mapv(|x| T::from_f64(x.to_f64(), &())));
    let result = body.run(wide.each_ref().map(|w| w.view()), order, exact, &());
    result.mapv(|x| S::from_f64(x.to_f64(), ctx))
}

struct MatMul;

impl ReductionBody<2> for MatMul {
    fn run<T: Scalar>(
        &self,
        [a, b]: [ArrayView2<'_, T>; 2],
        order: Order,
        products_exact: bool,
        ctx: &T::Context,
    ) -> Tensor<T> {
        assert_eq!(a.ncols(), b.nrows(), "matmul inner dimensions");
        // f32, f64, double-double, f16 and bf16 sum several outputs side by side, each in
        // the order below.
        if order == Order::Sequential
            && let Some(c) = lanes::matmul(a, b, products_exact, ctx)
        {
            return c;
        }
        // Rows of A and columns of B as contiguous slices: the order of the terms is the same,
        // only memory is visited in a friendlier way.
        let a = a.as_standard_layout();
        let b_transposed = b.t();
        let b_columns = b_transposed.as_standard_layout();
        let (a, b_columns) = (a.view(), b_columns.view());
        Array2::from_shape_fn((a.nrows(), b_columns.nrows()), |(i, j)| {
            let (row, column) = (a.row(i), b_columns.row(j));
            let (row, column) = (
                row.as_slice().expect("standard layout"),
                column.as_slice().expect("standard layout"),
            );
            match order {
                Order::Sequential => T::dot_sequential(row, column, products_exact, ctx),
                _ => reduce::dot(row.iter().zip(column), order, ctx),
            }
        })
    }
}

/// Sums over one axis: `Axis(0)` sums each column (an m × n input gives 1 × n), `Axis(1)`
/// each row (m × 1); each sum in the input's order.
struct SumOver(Axis);

impl ReductionBody<1> for SumOver {
    fn run<T: Scalar>(
        &self,
        [a]: [ArrayView2<'_, T>; 1],
        order: Order,
        _: bool,
        ctx: &T::Context,
    ) -> Tensor<T> {
        let Axis(summed) = self.0;
        // The lanes of the summed axis: columns when rows are summed away, rows otherwise.
        let sums = a
            .axis_iter(Axis(1 - summed))
            .map(|lane| reduce::sum(lane.iter(), order, ctx));
        let shape = if summed == 0 {
            (1, a.ncols())
        } else {
            (a.nrows(), 1)
        };
        Array2::from_shape_vec(shape, sums.collect()).expect("one sum per lane")
    }
}

struct Mean;

impl ReductionBody<1> for Mean {
    fn run<T: Scalar>(
        &self,
        [a]: [ArrayView2<'_, T>; 1],
        order: Order,
        _: bool,
        ctx: &T::Context,
    ) -> Tensor<T> {
        // Row-major order: the order a flat loop over the batch visits the elements. The count
        // is exact in every format for batches up to 2048 elements (f16's integer range).
        let total = reduce::sum(a.iter(), order, ctx);
        let count = T::from_f64(a.len() as f64, ctx);
        Array2::from_elem((1, 1), total.div(&count))
    }
}

/// Each row's largest element, NaN when the row holds one.
fn row_maxima<S: Scalar>(a: &Tensor<S>) -> Tensor<S> {
    let maxima = a.axis_iter(Axis(0)).map(|row| {
        let mut largest = row[0].clone();
        for x in row.iter().skip(1) {
            if largest.is_nan() {
                break;
            }
            if x.is_nan() || *x > largest {
                largest = x.clone();
            }
        }
        largest
    });
    Array2::from_shape_vec((a.nrows(), 1), maxima.collect()).expect("m × 1")
}

/// Each row's value at the first nonzero column of `one_hot`.
fn pick<S: Scalar>(values: &Tensor<S>, one_hot: &Tensor<S>, ctx: &S::Context) -> Tensor<S> {
    assert_eq!(values.dim(), one_hot.dim(), "pick: values and one-hot");
    let picked = values
        .axis_iter(Axis(0))
        .zip(one_hot.axis_iter(Axis(0)))
        .map(|(row, hot)| {
            row.iter()
                .zip(hot.iter())
                .find(|(_, h)| !h.is_zero())
                .map_or_else(|| S::zero(ctx), |(x, _)| x.clone())
        });
    Array2::from_shape_vec((values.nrows(), 1), picked.collect()).expect("m × 1")
}

fn unary<S: Scalar>(op: Unary, x: &S, ctx: &S::Context) -> S {
    match op {
        Unary::Neg => x.neg(),
        Unary::Abs => x.abs(),
        Unary::Sign => {
            if x.is_nan() || x.is_zero() {
                if x.is_nan() { x.clone() } else { S::zero(ctx) }
            } else if x.is_sign_negative() {
                S::one(ctx).neg()
            } else {
                S::one(ctx)
            }
        }
        Unary::Sqrt => x.sqrt(),
        Unary::Exp => x.exp(),
        Unary::Ln => x.ln(),
        Unary::Ln1p => x.ln_1p(),
        Unary::Activation(activation) => activate(activation, x, ctx),
    }
}

/// One activation function applied to one value.
pub fn activate<S: Scalar>(activation: Activation, x: &S, ctx: &S::Context) -> S {
    match activation {
        Activation::Relu => x.maximum(&S::zero(ctx)),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Identity => x.clone(),
    }
}

fn binary<S: Scalar>(op: Binary, a: &S, b: &S) -> S {
    match op {
        Binary::Add => a.add(b),
        Binary::Sub => a.sub(b),
        Binary::Mul => a.mul(b),
        Binary::Div => a.div(b),
        Binary::Max => a.maximum(b),
        Binary::Min => a.minimum(b),
    }
}

fn activation_grad<S: Scalar>(
    activation: Activation,
    upstream: &Tensor<S>,
    z: &Tensor<S>,
    a: &Tensor<S>,
    ctx: &S::Context,
) -> Tensor<S> {
    let one = S::one(ctx);
    let zero = S::zero(ctx);
    Array2::from_shape_fn(upstream.dim(), |index| {
        let g = &upstream[index];
        match activation {
            Activation::Relu => {
                let z = &z[index];
                if z.is_nan() {
                    z.clone()
                } else if *z > zero {
                    g.clone()
                } else {
                    zero.clone()
                }
            }
            Activation::Identity => g.clone(),
            Activation::Tanh => {
                let a = &a[index];
                g.mul(&one.sub(&a.mul(a)))
            }
            Activation::Sigmoid => {
                let a = &a[index];
                g.mul(&a.mul(&one.sub(a)))
            }
        }
    })
}

/// f(a, b) elementwise, broadcasting a dimension of size 1 in either operand.
fn broadcast<S: Scalar>(a: &Tensor<S>, b: &Tensor<S>, f: impl Fn(&S, &S) -> S) -> Tensor<S> {
    broadcast_all([a, b], |[x, y]| f(x, y))
}

/// f elementwise over `N` tensors, broadcasting a dimension of size 1 in any of them.
fn broadcast_all<S: Scalar, const N: usize>(
    inputs: [&Tensor<S>; N],
    f: impl Fn([&S; N]) -> S,
) -> Tensor<S> {
    let rows = inputs.iter().fold(1, |n, t| joint(n, t.nrows()));
    let cols = inputs.iter().fold(1, |n, t| joint(n, t.ncols()));
    let walks = inputs.map(Broadcast::new);
    let mut values = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        values.extend((0..cols).map(|j| f(std::array::from_fn(|n| walks[n].at(i, j)))));
    }
    Array2::from_shape_vec((rows, cols), values).expect("one value per element")
}

/// A tensor read at the elements of an output it broadcasts to: its values as a row-major
/// slice, and the steps from one output row and column to the next (0 along a dimension of
/// size 1, which repeats).
pub struct Broadcast<'t, S: Clone> {
    values: std::borrow::Cow<'t, [S]>,
    row_step: usize,
    column_step: usize,
}

impl<'t, S: Clone> Broadcast<'t, S> {
    /// `t` as it broadcasts (copied only when it is not in row-major order).
    pub fn new(t: &'t Tensor<S>) -> Self {
        let values = match t.as_slice() {
            Some(values) => std::borrow::Cow::Borrowed(values),
            None => std::borrow::Cow::Owned(t.iter().cloned().collect()),
        };
        Broadcast {
            values,
            row_step: if t.nrows() == 1 { 0 } else { t.ncols() },
            column_step: if t.ncols() == 1 { 0 } else { 1 },
        }
    }

    /// The element paired with output element (i, j).
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> &S {
        &self.values[i * self.row_step + j * self.column_step]
    }
}

fn joint(x: usize, y: usize) -> usize {
    assert!(
        x == y || x == 1 || y == 1,
        "shapes do not broadcast: {x} vs {y}"
    );
    x.max(y)
}
