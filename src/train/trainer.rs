//! One format's training run: the network, its optimizer state and the data in that format.

use std::sync::Arc;

use ndarray::{Array2, Axis};
use rug::Float;

use super::optimizer::{OptimizerConfig, OptimizerState};
use super::schedule::StepPlan;
use crate::data::Dataset;
use crate::format::Scalar;
use crate::kernel::{Engine, Observer, OpPrecision, Quantizer, Reduction, Tensor};
use crate::model::{Architecture, Loss, LossCache, Mlp, ParamSet};

/// Everything that defines a training run, shared by every format.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Layer widths, activation, dropout.
    pub architecture: Architecture,
    /// The loss, with its named constants.
    pub loss: Loss,
    /// Optimizer and hyper-parameters.
    pub optimizer: OptimizerConfig,
    /// Summation order and requested accumulator.
    pub reduction: Reduction,
    /// Rows per batch.
    pub batch_size: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Seeds initial weights (unless given), shuffles, dropout masks and stochastic rounding.
    pub seed: u64,
    /// How mixed-precision lanes scale the loss (pure lanes do not).
    pub loss_scaling: super::LossScaling,
    /// The op groups promoted lanes compute and store in a wider format (`--promote`).
    pub promote: Vec<super::OpPattern>,
    /// How the MX recipes choose a block's scale (`--mx-scale`).
    pub mx_scale: crate::format::scaled::ScaleRule,
}

/// A network training in format `S`.
#[derive(Clone, Debug)]
pub struct Trainer<S: Scalar> {
    mlp: Mlp<S>,
    optimizer: OptimizerState<S>,
    features: Tensor<S>,
    targets: Tensor<S>,
    loss_constants: Vec<Tensor<S>>,
    dropout_scale: S,
    loss: Loss,
    reduction: Reduction,
    ctx: S::Context,
    loss_ctx: S::Context,
    precision: Option<Arc<dyn OpPrecision<S>>>,
    quantizer: Option<Box<dyn Quantizer>>,
}

impl<S: Scalar> Trainer<S> {
    /// Rounds the data, the parameters and every constant once into `S`.
    pub fn new(config: &TrainConfig, data: &Dataset, params: &ParamSet, ctx: S::Context) -> Self {
        Trainer::made(config, data, params, |_| ctx.clone(), None)
    }

    /// A run whose ops each compute in the context `precision` gives them (see
    /// [`OpFormats`](super::OpFormats), which also says where the data, the constants and the
    /// initial weights are made): each is rounded once, from its exact value, into the context
    /// of its name.
    pub fn with_precision(
        config: &TrainConfig,
        data: &Dataset,
        params: &ParamSet,
        precision: Arc<dyn OpPrecision<S>>,
    ) -> Self {
        let ctx = |name: &str| precision.context(name);
        Trainer::made(config, data, params, ctx, Some(precision.clone()))
    }

    fn made(
        config: &TrainConfig,
        data: &Dataset,
        params: &ParamSet,
        ctx: impl Fn(&str) -> S::Context,
        precision: Option<Arc<dyn OpPrecision<S>>>,
    ) -> Self {
        use super::op_formats::{DROPOUT, FEATURES, LOSS_CONSTANTS, OPT_CONSTANTS, TARGETS};
        let round = |t: &Array2<f64>, ctx: S::Context| t.mapv(|x| S::from_f64(x, &ctx));
        let mlp = Mlp::from_params(&config.architecture, params, &ctx(super::update::UPDATE));
        let optimizer = OptimizerState::new(
            &config.optimizer,
            &mlp.layers,
            config.seed,
            &ctx(OPT_CONSTANTS),
        );
        Trainer {
            optimizer,
            mlp,
            features: round(&data.features, ctx(FEATURES)),
            targets: round(&config.loss.encode_targets(&data.targets), ctx(TARGETS)),
            loss_constants: config.loss.round_constants(&ctx(LOSS_CONSTANTS)),
            dropout_scale: dropout_scale(config.architecture.dropout, &ctx(DROPOUT)),
            loss: config.loss.clone(),
            reduction: config.reduction,
            ctx: ctx(FEATURES),
            loss_ctx: ctx(LOSS_CONSTANTS),
            precision,
            quantizer: None,
        }
    }

    /// This run with every matmul's operands quantized by `quantizer` first (a scaled
    /// low-precision recipe, see [`Recipe`](super::Recipe)).
    pub fn with_quantizer(mut self, quantizer: Box<dyn Quantizer>) -> Self {
        self.quantizer = Some(quantizer);
        self
    }

    /// The network as it stands.
    pub fn mlp(&self) -> &Mlp<S> {
        &self.mlp
    }

    /// The loss's ε as stored in this format, if the loss has one.
    pub fn eps(&self) -> Option<&S> {
        self.loss.constant_in(&self.loss_constants, "eps")
    }

    /// The Adam ε as stored in this format.
    pub fn adam_eps(&self) -> &S {
        self.optimizer.adam_eps()
    }

    /// A constant as stored in this format.
    ///
    /// # Panics
    /// When the run has no such constant (see [`TrainConfig::constants`]).
    pub fn constant(&self, constant: &super::Constant) -> &S {
        match constant {
            super::Constant::AdamEps => self.adam_eps(),
            loss => self
                .loss
                .constant_in(&self.loss_constants, loss.name())
                .expect("a constant of the run's loss"),
        }
    }

    /// The context the loss's constants were made in.
    pub fn loss_ctx(&self) -> &S::Context {
        &self.loss_ctx
    }

    /// The loss's constants as stored, in the order of its expression's slots.
    pub fn loss_constants(&self) -> &[Tensor<S>] {
        &self.loss_constants
    }

    /// The targets as stored in this format.
    pub fn targets(&self) -> &Tensor<S> {
        &self.targets
    }

    /// The loss over the whole data set with the current parameters, without dropout: the
    /// quantity a seed sweep compares.
    pub fn full_loss(&self) -> S {
        self.evaluate().0
    }

    /// The loss over the whole data set and each row's term of it, as f64 (exact for the
    /// formats, rounded for the reference), from one evaluation.
    pub fn full_loss_and_terms(&self) -> (S, Vec<f64>) {
        let (loss, cache) = self.evaluate();
        (loss, cache.row_terms())
    }

    /// The loss over the whole data set, and its terms.
    fn evaluate(&self) -> (S, LossCache<S>) {
        // A recipe's quantizer as it stands, so that evaluating moves no scale on.
        let mut quantizer = self.quantizer.clone();
        let mut engine = engine(&self.ctx, self.reduction, None, self.precision.as_deref());
        if let Some(quantizer) = quantizer.as_deref_mut() {
            engine = engine.with_quantizer(quantizer);
        }
        let (prediction, _) = self.mlp.forward(&mut engine, &self.features, Vec::new());
        let (loss, cache) = self.loss.forward(
            &mut engine,
            &prediction,
            &self.targets,
            &self.loss_constants,
        );
        (loss[[0, 0]].clone(), cache)
    }

    /// One step: forward, loss, backward, update. Returns the batch loss before the update.
    pub fn step(&mut self, plan: &StepPlan, observer: Option<&mut dyn Observer<S>>) -> S {
        let reduction = step_reduction(self.reduction, plan);
        let precision = self.precision.clone();
        // The observer's trait object lives as long as the step; the engine's borrows are
        // as long as `precision`, a local.
        let observer = observer.map(|o| o as &mut dyn Observer<S>);
        let mut quantizer = self.quantizer.take();
        let mut engine = engine(&self.ctx, reduction, observer, precision.as_deref());
        if let Some(quantizer) = quantizer.as_deref_mut() {
            engine = engine.with_quantizer(quantizer);
        }
        let batch = self.features.select(Axis(0), &plan.rows);
        let target = self.targets.select(Axis(0), &plan.rows);
        let masks = dropout_masks(plan, &self.dropout_scale, &self.ctx);
        let (prediction, cache) = self.mlp.forward(&mut engine, &batch, masks);
        let (loss, loss_cache) =
            self.loss
                .forward(&mut engine, &prediction, &target, &self.loss_constants);
        let output_grad = self.loss.backward(&mut engine, &loss_cache);
        let grads = self.mlp.backward(&mut engine, &cache, output_grad);
        self.optimizer
            .update(&mut engine, &mut self.mlp.layers, &grads, plan.step);
        drop(engine);
        if let Some(quantizer) = quantizer.as_deref_mut() {
            quantizer.end_step();
        }
        self.quantizer = quantizer;
        loss[[0, 0]].clone()
    }
}

/// An engine in `ctx` (and the precision policy, when there is one), watched by `observer`.
fn engine<'o, S: Scalar>(
    ctx: &S::Context,
    reduction: Reduction,
    observer: Option<&'o mut dyn Observer<S>>,
    precision: Option<&'o dyn OpPrecision<S>>,
) -> Engine<'o, S> {
    let engine = match observer {
        Some(observer) => Engine::observed(ctx.clone(), reduction, observer),
        None => Engine::new(ctx.clone(), reduction),
    };
    match precision {
        Some(precision) => engine.with_precision(precision),
        None => engine,
    }
}

/// The reduction setting of one step: a shuffled order gets a new permutation every step (and
/// every op, see [`Engine::op`]).
pub(super) fn step_reduction(reduction: Reduction, plan: &StepPlan) -> Reduction {
    Reduction {
        order: reduction.order.mixed(plan.step.wrapping_mul(0x1_0000_0001)),
        ..reduction
    }
}

/// The step's dropout multipliers in `S`: 0 for a dropped unit, 1/(1 − p) for a kept one.
pub(super) fn dropout_masks<S: Scalar>(
    plan: &StepPlan,
    keep_scale: &S,
    ctx: &S::Context,
) -> Vec<Tensor<S>> {
    let zero = S::zero(ctx);
    plan.keep
        .iter()
        .map(|keep| keep.mapv(|k| if k { keep_scale.clone() } else { zero.clone() }))
        .collect()
}

/// 1 / (1 − p) for the f64 dropout probability p, rounded once into `S` (1 − p exactly, so that
/// no format's multiplier carries an f64 rounding of its own).
pub(super) fn dropout_scale<S: Scalar>(dropout: f64, ctx: &S::Context) -> S {
    let keep = Float::with_val(256, 1u32 - Float::with_val(256, dropout));
    S::from_big(&Float::with_val(256, 1u32 / keep), ctx)
}
