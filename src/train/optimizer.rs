//! SGD (with optional momentum) and Adam, exactly as PyTorch and Keras define them.
//!
//! Hyper-parameters and derived constants (1 − β, the bias corrections 1 − β^t, the learning
//! rate) are evaluated exactly at 256 bits from the decimals the user gave and rounded once to
//! the format, as a framework's host code would hand a correctly rounded scalar to a kernel.
//! The step reaches the weights through the chosen update rounding ([`super::update`]).

use rug::Float;
use rug::ops::Pow;

use crate::format::{Decimal, Scalar};
use crate::kernel::{Binary, Engine, OpKind, Tensor, Unary};
use crate::model::Dense;

use super::update::{UpdateRounding, Updater};

crate::named_enum! {
    /// Which optimizer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Optimizer: parsed from "--optimizer" as "optimizer" {
        /// Stochastic gradient descent, with momentum when `--momentum` is nonzero.
        Sgd = "sgd",
        /// Adam (Kingma & Ba).
        Adam = "adam",
    }
}

/// The optimizer and its hyper-parameters as the user gave them.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerConfig {
    /// SGD or Adam.
    pub kind: Optimizer,
    /// Learning rate.
    pub lr: Decimal,
    /// SGD momentum (0: plain SGD).
    pub momentum: Decimal,
    /// Adam β1.
    pub beta1: Decimal,
    /// Adam β2.
    pub beta2: Decimal,
    /// Adam ε, added to √v̂.
    pub adam_eps: Decimal,
    /// How the update w − Δ is rounded to the weight's format.
    pub update_rounding: UpdateRounding,
}

const EXACT_BITS: u32 = 256;

fn scalar<S: Scalar>(x: &Float, ctx: &S::Context) -> Tensor<S> {
    Tensor::from_elem((1, 1), S::from_big(x, ctx))
}

fn one_minus(x: &Float) -> Float {
    Float::with_val(EXACT_BITS, 1u32 - x)
}

/// An optimizer's constants in one format and its state for every parameter tensor.
#[derive(Clone, Debug)]
pub struct OptimizerState<S> {
    config: OptimizerConfig,
    lr: Tensor<S>,
    momentum: Tensor<S>,
    one: Tensor<S>,
    beta1: Tensor<S>,
    one_minus_beta1: Tensor<S>,
    beta2: Tensor<S>,
    one_minus_beta2: Tensor<S>,
    adam_eps: Tensor<S>,
    /// SGD: velocity; Adam: first moment m. One per parameter tensor, weight then bias.
    first: Vec<Tensor<S>>,
    /// Adam: second moment v.
    second: Vec<Tensor<S>>,
    /// What the update rounding keeps.
    updater: Updater<S>,
}

impl<S: Scalar> OptimizerState<S> {
    /// Zero state for parameters shaped like `layers`; stochastic rounding draws from `seed`.
    pub fn new(config: &OptimizerConfig, layers: &[Dense<S>], seed: u64, ctx: &S::Context) -> Self {
        let params = || layers.iter().flat_map(|d| [&d.weight, &d.bias]);
        let zeros: Vec<Tensor<S>> = params()
            .map(|t| Tensor::from_elem(t.dim(), S::zero(ctx)))
            .collect();
        OptimizerState {
            config: config.clone(),
            lr: scalar(config.lr.exact(), ctx),
            momentum: scalar(config.momentum.exact(), ctx),
            one: Tensor::from_elem((1, 1), S::one(ctx)),
            beta1: scalar(config.beta1.exact(), ctx),
            one_minus_beta1: scalar(&one_minus(config.beta1.exact()), ctx),
            beta2: scalar(config.beta2.exact(), ctx),
            one_minus_beta2: scalar(&one_minus(config.beta2.exact()), ctx),
            adam_eps: scalar(config.adam_eps.exact(), ctx),
            second: zeros.clone(),
            first: zeros,
            updater: Updater::new(config.update_rounding, seed, params(), ctx),
        }
    }

    /// The Adam ε as stored in this format.
    pub fn adam_eps(&self) -> &S {
        &self.adam_eps[[0, 0]]
    }

    /// One update of every parameter at step `t` (1-based).
    pub fn update(
        &mut self,
        engine: &mut Engine<'_, S>,
        layers: &mut [Dense<S>],
        grads: &[Dense<S>],
        t: u64,
    ) {
        let params = layers.iter_mut().flat_map(|d| [&mut d.weight, &mut d.bias]);
        let grads = grads.iter().flat_map(|d| [&d.weight, &d.bias]);
        let corrections = match self.config.kind {
            Optimizer::Adam => {
                // Each made in the format of the op that divides by it.
                let correction = |beta: &Float, op: &str| {
                    let power = Float::with_val(EXACT_BITS, beta).pow(t);
                    scalar::<S>(&one_minus(&power), &engine.ctx_for(op))
                };
                Some((
                    correction(self.config.beta1.exact(), "opt.adam.m_hat"),
                    correction(self.config.beta2.exact(), "opt.adam.v_hat"),
                ))
            }
            Optimizer::Sgd => None,
        };
        for (index, (param, grad)) in params.zip(grads).enumerate() {
            let step = match &corrections {
                None => self.sgd_step(engine, index, grad),
                Some((bc1, bc2)) => self.adam_step(engine, index, grad, bc1, bc2),
            };
            *param = self.updater.apply(engine, index, param, &step);
        }
    }

    fn sgd_step(
        &mut self,
        engine: &mut Engine<'_, S>,
        index: usize,
        grad: &Tensor<S>,
    ) -> Tensor<S> {
        let direction = if self.config.momentum.exact().is_zero() {
            grad.clone()
        } else {
            // PyTorch: buf = momentum·buf + g (buf starts at g, which is this with buf = 0).
            let velocity = engine.op(
                "opt.sgd.velocity",
                OpKind::Axpby,
                &[&self.momentum, &self.first[index], &self.one, grad],
            );
            self.first[index] = velocity.clone();
            velocity
        };
        engine.binary("opt.sgd.step", Binary::Mul, &self.lr, &direction)
    }

    fn adam_step(
        &mut self,
        engine: &mut Engine<'_, S>,
        index: usize,
        grad: &Tensor<S>,
        bc1: &Tensor<S>,
        bc2: &Tensor<S>,
    ) -> Tensor<S> {
        let square = engine.binary("opt.adam.grad_square", Binary::Mul, grad, grad);
        let m = engine.op(
            "opt.adam.m",
            OpKind::Axpby,
            &[&self.beta1, &self.first[index], &self.one_minus_beta1, grad],
        );
        let v = engine.op(
            "opt.adam.v",
            OpKind::Axpby,
            &[
                &self.beta2,
                &self.second[index],
                &self.one_minus_beta2,
                &square,
            ],
        );
        let m_hat = engine.binary("opt.adam.m_hat", Binary::Div, &m, bc1);
        let v_hat = engine.binary("opt.adam.v_hat", Binary::Div, &v, bc2);
        let root = engine.unary("opt.adam.sqrt", Unary::Sqrt, &v_hat);
        let denominator = engine.binary("opt.adam.denominator", Binary::Add, &root, &self.adam_eps);
        let ratio = engine.binary("opt.adam.ratio", Binary::Div, &m_hat, &denominator);
        self.first[index] = m;
        self.second[index] = v;
        engine.binary("opt.adam.step", Binary::Mul, &self.lr, &ratio)
    }
}
