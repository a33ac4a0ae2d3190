//! Mixed-precision training, as Keras `mixed_float16` and PyTorch autocast with a `GradScaler`
//! run it: master weights and optimizer state in `M` (f32); each step casts the weights to the
//! compute format `C`, runs the forward pass there, casts the network's output to `M` for the
//! loss, scales the loss gradient, casts it back to `C` for the backward pass, casts the
//! parameter gradients to `M`, unscales them, and — unless they hold an inf or NaN under a
//! dynamic scale — updates the master weights. Every cast and scaling is an observed op.

use ndarray::{Array2, Axis};

use super::loss_scale::{LossScaler, ScaleStep};
use super::optimizer::OptimizerState;
use super::schedule::StepPlan;
use super::trainer::{dropout_masks, dropout_scale, step_reduction};
use super::{Constant, TrainConfig};
use crate::data::Dataset;
use crate::format::Scalar;
use crate::kernel::{Binary, Engine, Observer, OpKind, Reduction, Tensor};
use crate::model::{Gradients, Loss, LossCache, Mlp, ParamSet};

/// What one step of a mixed lane did besides computing a loss.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScaledStep {
    /// The loss scale it used and whether it skipped the update; `None` without scaling.
    pub scale: Option<ScaleStep>,
    /// The first parameter gradient (in the order the backward pass makes them) holding an inf
    /// or NaN after unscaling, e.g. `dense2.weight`.
    pub first_nonfinite_grad: Option<String>,
}

/// A network training with master weights in `M` and compute in `C`.
#[derive(Clone, Debug)]
pub struct MixedTrainer<C: Scalar, M: Scalar> {
    master: Mlp<M>,
    optimizer: OptimizerState<M>,
    scaler: LossScaler,
    updates: u64,
    features: Tensor<C>,
    targets: Tensor<M>,
    loss_constants: Vec<Tensor<M>>,
    adam_eps: M,
    dropout_scale: C,
    loss: Loss,
    reduction: Reduction,
}

impl<C: Scalar<Context = ()>, M: Scalar<Context = ()>> MixedTrainer<C, M> {
    /// Master weights, targets and constants rounded once into `M`; the inputs into `C`.
    pub fn new(config: &TrainConfig, data: &Dataset, params: &ParamSet) -> Self {
        let master = Mlp::<M>::from_params(&config.architecture, params, &());
        let optimizer = OptimizerState::new(&config.optimizer, &master.layers, config.seed, &());
        MixedTrainer {
            adam_eps: optimizer.adam_eps().clone(),
            optimizer,
            master,
            scaler: LossScaler::new(config.loss_scaling),
            updates: 0,
            features: round(&data.features),
            targets: round(&config.loss.encode_targets(&data.targets)),
            loss_constants: config.loss.round_constants(&()),
            dropout_scale: dropout_scale(config.architecture.dropout, &()),
            loss: config.loss.clone(),
            reduction: config.reduction,
        }
    }

    /// The master network.
    pub fn master(&self) -> &Mlp<M> {
        &self.master
    }

    /// A constant as stored (in the master format, where the loss and the optimizer run).
    ///
    /// # Panics
    /// When the run has no such constant (see [`TrainConfig::constants`]).
    pub fn constant(&self, constant: &Constant) -> &M {
        match constant {
            Constant::AdamEps => &self.adam_eps,
            loss => self
                .loss
                .constant_in(&self.loss_constants, loss.name())
                .expect("a constant of the run's loss"),
        }
    }

    /// The loss's constants as stored, in the order of its expression's slots.
    pub fn loss_constants(&self) -> &[Tensor<M>] {
        &self.loss_constants
    }

    /// The targets as stored in the master format.
    pub fn targets(&self) -> &Tensor<M> {
        &self.targets
    }

    /// The loss over the whole data set, computed as a step computes it, without dropout.
    pub fn full_loss(&self) -> M {
        self.evaluate().0
    }

    /// The loss over the whole data set and each row's term of it, as f64 (exact for the
    /// formats, rounded for the reference), from one evaluation.
    pub fn full_loss_and_terms(&self) -> (M, Vec<f64>) {
        let (loss, cache) = self.evaluate();
        (loss, cache.row_terms())
    }

    /// The loss over the whole data set and its terms, computed as a step computes them.
    fn evaluate(&self) -> (M, LossCache<M>) {
        let mut compute = Engine::<C>::new((), self.reduction);
        let network = self.master.cast(&mut compute);
        let (prediction, _) = network.forward(&mut compute, &self.features, Vec::new());
        let mut engine = Engine::<M>::new((), self.reduction);
        let prediction = engine.cast("cast.output", network.output_op(), &widen(&prediction));
        let (loss, cache) = self.loss.forward(
            &mut engine,
            &prediction,
            &self.targets,
            &self.loss_constants,
        );
        (loss[[0, 0]].clone(), cache)
    }

    /// One step; returns the batch loss (in `M`, before the update) and what the scaler did.
    pub fn step<O: Observer<C> + Observer<M>>(
        &mut self,
        plan: &StepPlan,
        mut observer: Option<&mut O>,
    ) -> (M, ScaledStep) {
        let reduction = step_reduction(self.reduction, plan);
        let scale = self.scaler.scale();
        let factor = |x: f64| Tensor::from_elem((1, 1), M::from_f64(x, &()));

        // Forward in the compute format, from master weights cast each step.
        let mut compute = engine::<C, O>(reduction, &mut observer);
        let network = self.master.cast(&mut compute);
        let batch = self.features.select(Axis(0), &plan.rows);
        let masks = dropout_masks(plan, &self.dropout_scale, &());
        let (prediction, cache) = network.forward(&mut compute, &batch, masks);

        // The loss and its gradient in the master format, the gradient scaled.
        let mut master = engine::<M, O>(reduction, &mut observer);
        let prediction = master.cast("cast.output", network.output_op(), &widen(&prediction));
        let target = self.targets.select(Axis(0), &plan.rows);
        let (loss, loss_cache) =
            self.loss
                .forward(&mut master, &prediction, &target, &self.loss_constants);
        let mut output_grad = self.loss.backward(&mut master, &loss_cache);
        if let Some(scale) = scale {
            master.set_scale(f64::from(scale));
            output_grad = master.policy_op(
                "scale.loss_grad",
                Some(self.loss.grad_op()),
                OpKind::Binary(Binary::Mul),
                &[&output_grad, &factor(f64::from(scale))],
            );
        }

        // Backward in the compute format.
        let mut compute = engine::<C, O>(reduction, &mut observer);
        compute.set_scale(scale.map_or(1.0, f64::from));
        let output_grad = compute.cast(
            "cast.output_grad",
            self.loss.grad_op(),
            &widen(&output_grad),
        );
        let grads = network.backward(&mut compute, &cache, output_grad);

        // Gradients back to the master format, unscaled, checked, applied.
        let mut master = engine::<M, O>(reduction, &mut observer);
        master.set_scale(scale.map_or(1.0, f64::from));
        let mut grads: Gradients<M> = network.cast_grads(&mut master, &grads);
        if let Some(scale) = scale {
            master.set_scale(1.0);
            // PyTorch: inv_scale = scale.double().reciprocal().float().
            let inverse = factor(f64::from((1.0 / f64::from(scale)) as f32));
            grads = self.master.unscale_grads(&mut master, &grads, &inverse);
        }
        // In the order the backward pass makes them: the last layer first, weight then bias.
        let names: Vec<&str> = self.master.param_names().collect();
        let first_nonfinite_grad = grads
            .iter()
            .zip(names.chunks(2))
            .rev()
            .flat_map(|(g, names)| [(names[0], &g.weight), (names[1], &g.bias)])
            .find(|(_, grad)| grad.iter().any(|x| !x.is_finite()))
            .map(|(name, _)| name.to_string());
        let outcome = self.scaler.update(first_nonfinite_grad.is_some());
        if !outcome.skipped {
            // Adam counts the updates it made: a skipped step does not advance its bias
            // correction (PyTorch's optimizer.step is not called).
            self.updates += 1;
            self.optimizer
                .update(&mut master, &mut self.master.layers, &grads, self.updates);
        }
        let step = ScaledStep {
            scale: scale.map(|_| outcome),
            first_nonfinite_grad,
        };
        (loss[[0, 0]].clone(), step)
    }
}

/// An engine in `S`, reporting to `observer` when there is one.
fn engine<'o, S: Scalar<Context = ()>, O: Observer<S>>(
    reduction: Reduction,
    observer: &'o mut Option<&mut O>,
) -> Engine<'o, S> {
    match observer.as_deref_mut() {
        Some(observer) => Engine::observed((), reduction, observer),
        None => Engine::new((), reduction),
    }
}

fn round<S: Scalar<Context = ()>>(values: &Array2<f64>) -> Tensor<S> {
    values.mapv(|x| S::from_f64(x, &()))
}

/// The exact values of a tensor of a format inside f64.
fn widen<S: Scalar>(tensor: &Tensor<S>) -> Tensor<f64> {
    tensor.mapv(|x| x.to_f64())
}
