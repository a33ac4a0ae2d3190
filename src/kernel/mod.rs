//! Tensor kernels generic over the scalar, with explicit order and accumulator; every call is
//! one named op that an observer can watch.

mod ops;
pub mod reduce;

pub use ops::{
    Activation, Binary, OpKind, Tensor, Unary, activate, eval, eval_widened, products_exact_in,
};
pub use reduce::{Accumulate, Order, Reduction};

use crate::format::Scalar;

/// One evaluated op, as an observer sees it.
pub struct OpRecord<'a, S: Scalar> {
    /// Stable name: `phase.layer.what`, e.g. `fwd.dense1.matmul`.
    pub name: &'a str,
    /// What was computed.
    pub kind: OpKind,
    /// The inputs, in the op's order.
    pub inputs: &'a [&'a Tensor<S>],
    /// The result.
    pub output: &'a Tensor<S>,
}

/// Watches ops as they run. The math code does not know whether anyone is watching.
pub trait Observer<S: Scalar> {
    /// Called once per op, after it ran.
    fn observe(&mut self, record: &OpRecord<'_, S>);
}

/// Runs ops in one format with one reduction setting, reporting each to an optional observer.
pub struct Engine<'o, S: Scalar> {
    ctx: S::Context,
    reduction: Reduction,
    observer: Option<&'o mut dyn Observer<S>>,
    calls: u64,
}

impl<'o, S: Scalar> Engine<'o, S> {
    /// An engine nobody watches.
    pub fn new(ctx: S::Context, reduction: Reduction) -> Self {
        Engine {
            ctx,
            reduction,
            observer: None,
            calls: 0,
        }
    }

    /// An engine that reports every op to `observer`.
    pub fn observed(
        ctx: S::Context,
        reduction: Reduction,
        observer: &'o mut dyn Observer<S>,
    ) -> Self {
        Engine {
            ctx,
            reduction,
            observer: Some(observer),
            calls: 0,
        }
    }

    /// The format's context (the reference's precision).
    pub fn ctx(&self) -> &S::Context {
        &self.ctx
    }

    /// Evaluates one op and reports it.
    pub fn op(&mut self, name: &str, kind: OpKind, inputs: &[&Tensor<S>]) -> Tensor<S> {
        self.calls += 1;
        let reduction = Reduction {
            order: self.reduction.order.mixed(self.calls),
            ..self.reduction
        };
        let output = eval(kind, inputs, reduction, &self.ctx);
        self.report(name, kind, inputs, &output);
        output
    }

    /// Reports an op whose output the caller computed with a rounding no kernel has (a
    /// stochastically rounded update): `kind` still says what the output approximates, so an
    /// observer measures it like any other op. It counts as an op, as [`op`](Self::op) does.
    pub fn record(
        &mut self,
        name: &str,
        kind: OpKind,
        inputs: &[&Tensor<S>],
        output: Tensor<S>,
    ) -> Tensor<S> {
        self.calls += 1;
        self.report(name, kind, inputs, &output);
        output
    }

    fn report(&mut self, name: &str, kind: OpKind, inputs: &[&Tensor<S>], output: &Tensor<S>) {
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.observe(&OpRecord {
                name,
                kind,
                inputs,
                output,
            });
        }
    }

    /// op(A)·op(B).
    pub fn matmul(
        &mut self,
        name: &str,
        a: &Tensor<S>,
        b: &Tensor<S>,
        lhs_t: bool,
        rhs_t: bool,
    ) -> Tensor<S> {
        let kind = OpKind::MatMul {
            lhs_transposed: lhs_t,
            rhs_transposed: rhs_t,
        };
        self.op(name, kind, &[a, b])
    }

    /// a ∘ b elementwise, with broadcasting.
    pub fn binary(&mut self, name: &str, op: Binary, a: &Tensor<S>, b: &Tensor<S>) -> Tensor<S> {
        self.op(name, OpKind::Binary(op), &[a, b])
    }

    /// f(a) elementwise.
    pub fn unary(&mut self, name: &str, op: Unary, a: &Tensor<S>) -> Tensor<S> {
        self.op(name, OpKind::Unary(op), &[a])
    }
}
