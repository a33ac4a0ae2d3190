//! What a lane drives, whatever its policy: a training run with a master format (weights,
//! optimizer state, loss) and a compute format (matmuls and activations), the same for pure
//! lanes. [`LaneSpec::dispatch`] builds the right one for a lane named at run time.

use std::sync::Arc;

use half::{bf16, f16};

use super::mixed::{MixedTrainer, ScaledStep};
use super::recipe::RecipeQuantizer;
use super::schedule::StepPlan;
use super::{Constant, LaneSpec, OpFormats, OpPattern, Policy, TrainConfig, Trainer, promoted_to};
use crate::data::Dataset;
use crate::format::{Format, FormatFn, Held, Native};
use crate::kernel::{Observable, Observer, Tensor};
use crate::model::{Mlp, ParamSet};

/// A training run of one lane.
pub trait Training: Send + 'static {
    /// Where matmuls and activations run.
    type Compute: Observable;
    /// Where weights, optimizer state, the loss and the constants live.
    type Master: Observable;

    /// One step, observed when `observer` is given: the batch loss (before the update) and
    /// what loss scaling did.
    fn step<O: Observer<Self::Compute> + Observer<Self::Master>>(
        &mut self,
        plan: &StepPlan,
        observer: Option<&mut O>,
    ) -> (Self::Master, ScaledStep);

    /// The (master) network.
    fn master(&self) -> &Mlp<Self::Master>;

    /// A constant as stored.
    fn constant(&self, constant: &Constant) -> &Self::Master;

    /// The targets as the loss sees them.
    fn targets(&self) -> &Tensor<Self::Master>;

    /// The loss's constants as stored, in the order of its expression's slots.
    fn loss_constants(&self) -> &[Tensor<Self::Master>];

    /// The context (format) the loss's constants were made in.
    fn loss_ctx(&self) -> <Self::Master as crate::format::Scalar>::Context;

    /// The loss over the whole data set, without dropout.
    fn full_loss(&self) -> Self::Master;

    /// The loss over the whole data set and each row's term of it, from one evaluation.
    fn full_loss_and_terms(&self) -> (Self::Master, Vec<f64>);
}

impl<S: Observable> Training for Trainer<S> {
    type Compute = S;
    type Master = S;

    fn step<O: Observer<S> + Observer<S>>(
        &mut self,
        plan: &StepPlan,
        observer: Option<&mut O>,
    ) -> (S, ScaledStep) {
        let observer = observer.map(|o| o as &mut dyn Observer<S>);
        (Trainer::step(self, plan, observer), ScaledStep::default())
    }

    fn master(&self) -> &Mlp<S> {
        self.mlp()
    }

    fn constant(&self, constant: &Constant) -> &S {
        Trainer::constant(self, constant)
    }

    fn targets(&self) -> &Tensor<S> {
        Trainer::targets(self)
    }

    fn loss_constants(&self) -> &[Tensor<S>] {
        Trainer::loss_constants(self)
    }

    fn loss_ctx(&self) -> S::Context {
        Trainer::loss_ctx(self).clone()
    }

    fn full_loss(&self) -> S {
        Trainer::full_loss(self)
    }

    fn full_loss_and_terms(&self) -> (S, Vec<f64>) {
        Trainer::full_loss_and_terms(self)
    }
}

impl<C: Native, M: Native> Training for MixedTrainer<C, M> {
    type Compute = C;
    type Master = M;

    fn step<O: Observer<C> + Observer<M>>(
        &mut self,
        plan: &StepPlan,
        observer: Option<&mut O>,
    ) -> (M, ScaledStep) {
        MixedTrainer::step(self, plan, observer)
    }

    fn master(&self) -> &Mlp<M> {
        MixedTrainer::master(self)
    }

    fn constant(&self, constant: &Constant) -> &M {
        MixedTrainer::constant(self, constant)
    }

    fn targets(&self) -> &Tensor<M> {
        MixedTrainer::targets(self)
    }

    fn loss_constants(&self) -> &[Tensor<M>] {
        MixedTrainer::loss_constants(self)
    }

    fn loss_ctx(&self) {}

    fn full_loss(&self) -> M {
        MixedTrainer::full_loss(self)
    }

    fn full_loss_and_terms(&self) -> (M, Vec<f64>) {
        MixedTrainer::full_loss_and_terms(self)
    }
}

/// A computation over a lane's training run, called with the run built for the lane (as
/// [`FormatFn`] is for a format).
pub trait LaneFn {
    /// What it returns.
    type Output;
    /// Runs it with `training`, the run of `lane`.
    fn call<T: Training>(self, lane: LaneSpec, training: T) -> Self::Output;
}

impl LaneSpec {
    /// Builds this lane's training run from the initial parameters and runs `f` with it.
    /// Mixed lanes keep master weights in f32 and compute in f16 or bf16; a mixed lane of
    /// another format (which [`LaneSpec::parse`] refuses) trains pure. A recipe lane trains in
    /// f32 with its recipe's quantizer.
    pub fn dispatch<F: LaneFn>(
        self,
        config: &TrainConfig,
        data: &Dataset,
        params: &ParamSet,
        f: F,
    ) -> F::Output {
        if let Some(recipe) = self.recipe {
            let quantizer = RecipeQuantizer::new(recipe, config.mx_scale);
            let training = Trainer::<f32>::new(config, data, params, ());
            return f.call(self, training.with_quantizer(Box::new(quantizer)));
        }
        match (self.policy, self.format) {
            (Policy::Mixed, Format::F16) => {
                f.call(self, MixedTrainer::<f16, f32>::new(config, data, params))
            }
            (Policy::Mixed, Format::Bf16) => {
                f.call(self, MixedTrainer::<bf16, f32>::new(config, data, params))
            }
            (Policy::Promoted, format) => {
                let formats = promoted(format, &config.promote);
                f.call(
                    self,
                    Trainer::<Held>::with_precision(config, data, params, Arc::new(formats)),
                )
            }
            _ => self.format.dispatch(Pure {
                lane: self,
                config,
                data,
                params,
                f,
            }),
        }
    }
}

/// The ops of a promoted lane of `format`: `promote` in the next wider format.
pub fn promoted(format: Format, promote: &[OpPattern]) -> OpFormats {
    let patterns: Vec<&str> = promote.iter().map(OpPattern::as_str).collect();
    match promoted_to(format) {
        Some(wider) => OpFormats::pure(format).with(&patterns, wider),
        None => OpFormats::pure(format),
    }
}

struct Pure<'a, F> {
    lane: LaneSpec,
    config: &'a TrainConfig,
    data: &'a Dataset,
    params: &'a ParamSet,
    f: F,
}

impl<F: LaneFn> FormatFn for Pure<'_, F> {
    type Output = F::Output;
    fn call<S: Native>(self, _: Format) -> F::Output {
        let training = Trainer::<S>::new(self.config, self.data, self.params, ());
        self.f.call(self.lane, training)
    }
}
