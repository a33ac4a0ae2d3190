//! Tensor kernels generic over the scalar, with explicit order and accumulator; every call is
//! one named op that an observer can watch.

mod lanes;
mod observable;
mod ops;
mod quantize;
pub mod reduce;

pub use observable::{Observable, RecordFn};
pub use ops::{
    Activation, Binary, Broadcast, Extremum, OpKind, Tensor, Unary, activate, eval, eval_widened,
    products_exact_in,
};
pub use quantize::{Operand, Quantization, Quantizer, operand_name, quant_op_name};
pub use reduce::{Accumulate, Order, Reduction};

use std::borrow::Cow;

use ndarray::Axis;

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
    /// The values are `scale` times what they stand for (loss scaling); 1 otherwise.
    pub scale: f64,
    /// What the tensor is, where that matters to an audit.
    pub role: Role,
    /// For an op that only a precision policy adds (a cast, a loss scaling): the name of the
    /// op or parameter whose value it carries (times `scale`), so it can be compared with a
    /// run that has no such op. `None` for the network's own ops.
    pub carries: Option<&'a str>,
    /// For a cast (and a quantization): its input, exactly (every format a lane casts from
    /// fits in an f64).
    pub source: Option<&'a Tensor<f64>>,
    /// For a quantization: what storing the operand did (clipped elements, saturated scales).
    pub quantization: Option<&'a Quantization>,
}

/// What a tensor is in the training step, where an audit counts something about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// Any other value.
    #[default]
    Value,
    /// The gradient of the loss with respect to a parameter tensor (before any unscaling).
    ParamGrad,
    /// A parameter tensor after its update (`opt.update`), in the optimizer's order.
    Update,
}

/// Watches ops as they run. The math code does not know whether anyone is watching.
pub trait Observer<S: Scalar> {
    /// Called once per op, after it ran.
    fn observe(&mut self, record: &OpRecord<'_, S>);
}

/// An observer that watches nothing: for generic code run without an audit.
pub struct Unobserved;

impl<S: Scalar> Observer<S> for Unobserved {
    fn observe(&mut self, _: &OpRecord<'_, S>) {}
}

/// A per-op precision policy: the context (for [`Held`](crate::format::Held) values, the
/// format) each op runs in, chosen by the op's name. An engine with one converts an op's inputs
/// into the op's format (rounding once where it is narrower than theirs) and rounds the result
/// to it, so a tensor lives in the format of the op that made it.
pub trait OpPrecision<S: Scalar>: Send + Sync + std::fmt::Debug {
    /// The context of the op `name`.
    fn context(&self, name: &str) -> S::Context;
}

/// What a record says beyond the op itself, for ops a precision policy or a recipe adds (see
/// [`OpRecord`]'s fields of the same names).
#[derive(Clone, Copy, Default)]
struct Added<'a> {
    carries: Option<&'a str>,
    source: Option<&'a Tensor<f64>>,
    quantization: Option<&'a Quantization>,
}

impl<'a> Added<'a> {
    fn carrying(carries: Option<&'a str>) -> Self {
        Added {
            carries,
            ..Added::default()
        }
    }
}

/// Runs ops in one format with one reduction setting, reporting each to an optional observer.
pub struct Engine<'o, S: Scalar> {
    ctx: S::Context,
    reduction: Reduction,
    observer: Option<&'o mut dyn Observer<S>>,
    precision: Option<&'o dyn OpPrecision<S>>,
    quantizer: Option<&'o mut dyn Quantizer>,
    calls: u64,
    scale: f64,
    role: Role,
}

impl<'o, S: Scalar> Engine<'o, S> {
    /// An engine nobody watches.
    pub fn new(ctx: S::Context, reduction: Reduction) -> Self {
        Engine {
            ctx,
            reduction,
            observer: None,
            precision: None,
            quantizer: None,
            calls: 0,
            scale: 1.0,
            role: Role::Value,
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
            precision: None,
            quantizer: None,
            calls: 0,
            scale: 1.0,
            role: Role::Value,
        }
    }

    /// From now on, each op runs in the context `precision` gives it (see [`OpPrecision`]).
    /// For scalars whose values an f64 holds exactly, as [`Held`](crate::format::Held) is.
    pub fn with_precision(mut self, precision: &'o dyn OpPrecision<S>) -> Self {
        self.precision = Some(precision);
        self
    }

    /// From now on, the operands of every matmul go through `quantizer` first, each as an op
    /// of its own (`quant.fwd.dense1.matmul.lhs`, see [`quant_op_name`]) whose output the
    /// matmul takes.
    pub fn with_quantizer(mut self, quantizer: &'o mut dyn Quantizer) -> Self {
        self.quantizer = Some(quantizer);
        self
    }

    /// The format's context (the reference's precision).
    pub fn ctx(&self) -> &S::Context {
        &self.ctx
    }

    /// The context the op `name` runs in: the engine's, unless a precision policy says
    /// otherwise. Constants made for one op are made in it.
    pub fn ctx_for(&self, name: &str) -> S::Context {
        match self.precision {
            Some(precision) => precision.context(name),
            None => self.ctx.clone(),
        }
    }

    /// From now on, the values this engine computes are `scale` times what they stand for
    /// (loss scaling: a power of two).
    pub fn set_scale(&mut self, scale: f64) {
        self.scale = scale;
    }

    /// Marks the next op's output as a tensor of this role.
    pub fn role(&mut self, role: Role) -> &mut Self {
        self.role = role;
        self
    }

    /// `tensor` as an input of the op `name` sees it: converted into the op's context under a
    /// precision policy (see [`with_precision`](Self::with_precision)), as it is otherwise. For
    /// a caller that computes an op's output itself ([`record`](Self::record)).
    pub fn operand<'t>(&self, name: &str, tensor: &'t Tensor<S>) -> Cow<'t, Tensor<S>> {
        match self.precision {
            Some(precision) => {
                let ctx = precision.context(name);
                Cow::Owned(tensor.mapv(|x| S::from_f64(x.to_f64(), &ctx)))
            }
            None => Cow::Borrowed(tensor),
        }
    }

    /// Evaluates one op and reports it.
    pub fn op(&mut self, name: &str, kind: OpKind, inputs: &[&Tensor<S>]) -> Tensor<S> {
        self.policy_op(name, None, kind, inputs)
    }

    /// Evaluates an op that a precision policy adds (a loss scaling), carrying the value of the
    /// op or parameter `carries` times the engine's scale; reports it.
    pub fn policy_op(
        &mut self,
        name: &str,
        carries: Option<&str>,
        kind: OpKind,
        inputs: &[&Tensor<S>],
    ) -> Tensor<S> {
        self.calls += 1;
        let reduction = Reduction {
            order: self.reduction.order.mixed(self.calls),
            ..self.reduction
        };
        match self.precision {
            None => {
                let output = eval(kind, inputs, reduction, &self.ctx);
                self.report(name, kind, inputs, &output, Added::carrying(carries));
                output
            }
            Some(precision) => {
                // The op sees, and its observer is shown, its inputs in its own format.
                let ctx = precision.context(name);
                let converted: Vec<Tensor<S>> = inputs
                    .iter()
                    .map(|t| self.operand(name, t).into_owned())
                    .collect();
                let converted: Vec<&Tensor<S>> = converted.iter().collect();
                let output = eval(kind, &converted, reduction, &ctx);
                self.report(name, kind, &converted, &output, Added::carrying(carries));
                output
            }
        }
    }

    /// `source`, values of another format held exactly in f64, rounded once to this format: a
    /// cast, carrying the value of the op or parameter `carries`.
    pub fn cast(&mut self, name: &str, carries: &str, source: &Tensor<f64>) -> Tensor<S> {
        let output = source.mapv(|x| S::from_f64(x, &self.ctx));
        let added = Added {
            source: Some(source),
            ..Added::carrying(Some(carries))
        };
        self.report(name, OpKind::Cast, &[], &output, added);
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
        self.report(name, kind, inputs, &output, Added::default());
        output
    }

    fn report(
        &mut self,
        name: &str,
        kind: OpKind,
        inputs: &[&Tensor<S>],
        output: &Tensor<S>,
        Added {
            carries,
            source,
            quantization,
        }: Added<'_>,
    ) {
        let role = std::mem::take(&mut self.role);
        if let Some(observer) = self.observer.as_deref_mut() {
            observer.observe(&OpRecord {
                name,
                kind,
                inputs,
                output,
                scale: self.scale,
                role,
                carries,
                source,
                quantization,
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
        if self.quantizer.is_none() {
            return self.op(name, kind, &[a, b]);
        }
        // The role belongs to the matmul's output, not to its operands' quantization.
        let role = std::mem::take(&mut self.role);
        // The axis of the reduction dimension in each stored operand.
        let a = self.quantized(name, Operand::Lhs, a, Axis(if lhs_t { 0 } else { 1 }));
        let b = self.quantized(name, Operand::Rhs, b, Axis(if rhs_t { 1 } else { 0 }));
        self.role = role;
        self.op(name, kind, &[&a, &b])
    }

    /// `operand` of the matmul `op` as the quantizer stores it, reported as the op
    /// `quant.<op>.<operand>` (a cast of the operand, carrying the operand's value in a run
    /// without quantization); the operand itself when the quantizer leaves it.
    fn quantized<'t>(
        &mut self,
        op: &str,
        operand: Operand,
        tensor: &'t Tensor<S>,
        axis: Axis,
    ) -> Cow<'t, Tensor<S>> {
        let source = tensor.mapv(|x| x.to_f64());
        let quantizer = self.quantizer.as_deref_mut().expect("a quantizing engine");
        let Some(quantization) = quantizer.quantize(op, operand, &source, axis) else {
            return Cow::Borrowed(tensor);
        };
        let name = quant_op_name(op, operand);
        let ctx = self.ctx_for(&name);
        let output = quantization.values.mapv(|x| S::from_f64(x, &ctx));
        let carries = operand_name(op, operand);
        let added = Added {
            carries: Some(&carries),
            source: Some(&source),
            quantization: Some(&quantization),
        };
        self.report(&name, OpKind::Cast, &[], &output, added);
        Cow::Owned(output)
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
