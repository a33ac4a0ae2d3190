//! A lane: one format training in lockstep with the reference, observed op by op.

use super::compare::{Comparator, LaneStats, Pair, RecordedStep};
use super::stats::EventCounts;
use super::{ConstantReport, DenominatorReport, FormatReport, StepRow};
use crate::data::Dataset;
use crate::format::{Format, FormatFn, Native, Scalar, Stored};
use crate::model::{Denominators, Mlp, ParamSet};
use crate::train::{Constant, StepPlan, TrainConfig, Trainer};

/// One format's run, behind a type-erased interface so formats can be chosen at run time.
pub trait Lane: Send {
    /// One step, compared with the reference's step.
    fn step(&mut self, plan: &StepPlan, reference: &RecordedStep) -> StepRow;
    /// The report, at the end of the run.
    fn finish(self: Box<Self>) -> FormatReport;
}

/// Builds the lane of `format`.
pub fn lane(
    format: Format,
    config: &TrainConfig,
    data: &Dataset,
    init: &ParamSet,
) -> Box<dyn Lane> {
    format.dispatch(NewLane { config, data, init })
}

struct NewLane<'a> {
    config: &'a TrainConfig,
    data: &'a Dataset,
    init: &'a ParamSet,
}

impl FormatFn for NewLane<'_> {
    type Output = Box<dyn Lane>;
    fn call<S: Native>(self, format: Format) -> Box<dyn Lane> {
        Box::new(FormatLane::<S>::new(
            format,
            self.config,
            self.data,
            self.init,
        ))
    }
}

struct FormatLane<S: Native> {
    format: Format,
    config: TrainConfig,
    trainer: Trainer<S>,
    stats: LaneStats,
    steps: u64,
    last: Option<StepRow>,
    max_rel_drift: f64,
    first_nonfinite_step: Option<u64>,
    first_nonfinite_loss: f64,
    events: EventCounts,
}

impl<S: Native> FormatLane<S> {
    fn new(format: Format, config: &TrainConfig, data: &Dataset, init: &ParamSet) -> Self {
        FormatLane {
            format,
            config: config.clone(),
            trainer: Trainer::<S>::new(config, data, init, ()),
            stats: LaneStats::default(),
            steps: 0,
            last: None,
            max_rel_drift: 0.0,
            first_nonfinite_step: None,
            first_nonfinite_loss: f64::NAN,
            events: EventCounts::default(),
        }
    }
}

impl<S: Native> FormatLane<S> {
    /// What the stored eps did to the loss's denominators.
    fn denominators(&self, eps: &S) -> DenominatorReport {
        let counted = self.stats.denominators;
        DenominatorReport {
            eps_lost_share: (counted > 0).then(|| self.stats.eps_lost as f64 / counted as f64),
            zero: Denominators::of(self.trainer.targets().iter(), eps).zero,
            targets: self.trainer.targets().len() as u64,
        }
    }
}

/// ‖a − r‖₂ / ‖r‖₂ over every parameter, against the reference's parameters as f64 pairs.
fn param_rel_drift<S: Scalar>(format: &Mlp<S>, reference: &[Pair]) -> f64 {
    let values = format
        .layers
        .iter()
        .flat_map(|d| d.weight.iter().chain(d.bias.iter()));
    let (mut distance, mut norm) = (0.0f64, 0.0f64);
    for (x, r) in values.zip(reference) {
        let difference = (x.to_f64() - r.hi) - r.lo;
        distance += difference * difference;
        norm += r.hi * r.hi;
    }
    if norm == 0.0 {
        distance.sqrt()
    } else {
        (distance / norm).sqrt()
    }
}

fn relative(value: f64, reference: f64) -> f64 {
    let abs = (value - reference).abs();
    if abs == 0.0 {
        0.0
    } else {
        abs / reference.abs()
    }
}

impl<S: Native> Lane for FormatLane<S> {
    fn step(&mut self, plan: &StepPlan, reference: &RecordedStep) -> StepRow {
        self.stats.step_events = EventCounts::default();
        let mut comparator = Comparator {
            reference,
            step: plan.step,
            stats: &mut self.stats,
            position: 0,
        };
        let loss = self.trainer.step(plan, Some(&mut comparator));
        self.steps += 1;
        let loss = loss.to_f64();
        let reference_loss = reference.loss.hi;
        // NaN stays NaN and inf stays inf, as in abs_drift; the maximum counts either as inf.
        let rel_drift = if loss.is_finite() {
            relative(loss, reference_loss)
        } else if loss.is_nan() {
            f64::NAN
        } else {
            f64::INFINITY
        };
        self.max_rel_drift = self.max_rel_drift.max(if rel_drift.is_nan() {
            f64::INFINITY
        } else {
            rel_drift
        });
        if !loss.is_finite() && self.first_nonfinite_step.is_none() {
            self.first_nonfinite_step = Some(plan.step);
            self.first_nonfinite_loss = loss;
        }
        self.events.merge(&self.stats.step_events);
        let row = StepRow {
            format: self.format,
            epoch: plan.epoch,
            step: plan.step,
            loss,
            reference_loss,
            abs_drift: (loss - reference_loss).abs(),
            rel_drift,
            param_rel_drift: param_rel_drift(self.trainer.mlp(), &reference.params),
            events: self.stats.step_events,
        };
        self.last = Some(row.clone());
        row
    }

    fn finish(self: Box<Self>) -> FormatReport {
        let spec = S::spec(&());
        let last = self.last.clone().unwrap_or(StepRow {
            format: self.format,
            epoch: 0,
            step: 0,
            loss: f64::NAN,
            reference_loss: f64::NAN,
            abs_drift: f64::NAN,
            rel_drift: f64::NAN,
            param_rel_drift: 0.0,
            events: EventCounts::default(),
        });
        let constants = self
            .config
            .constants()
            .into_iter()
            .map(|(constant, decimal)| {
                let stored = self.trainer.constant(constant);
                ConstantReport {
                    format: self.format,
                    constant,
                    text: decimal.text().to_string(),
                    stored: Stored::new(stored, decimal.exact()),
                    denominators: (constant == Constant::Eps).then(|| self.denominators(stored)),
                }
            })
            .collect();
        let mut first_events = self.stats.first.clone();
        first_events.sort_by_key(|f| f.kind);
        FormatReport {
            format: self.format,
            precision_bits: spec.precision,
            accumulate: self.config.reduction.accumulate.effective_for(&spec),
            steps: self.steps,
            final_loss: last.loss,
            full_loss: self.trainer.full_loss().to_f64(),
            reference_loss: last.reference_loss,
            loss_abs_drift: last.abs_drift,
            loss_rel_drift: last.rel_drift,
            max_rel_drift: self.max_rel_drift,
            param_rel_drift: last.param_rel_drift,
            first_nonfinite_step: self.first_nonfinite_step,
            first_nonfinite_loss: self.first_nonfinite_loss,
            events: self.events,
            ops: self.stats.ops.clone(),
            first_events,
            constants,
            final_params: self.trainer.mlp().to_params(),
        }
    }
}
