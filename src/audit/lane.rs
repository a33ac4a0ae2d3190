//! A lane: one format under one policy, training in lockstep with the reference, observed op
//! by op.

use super::chain::{ChainRecorder, NamedConstant};
use super::compare::{Comparator, LaneStats, Pair, RecordedStep};
use super::stats::{EventCounts, Flow, relative_difference};
use super::{ConstantReport, DenominatorReport, FormatReport, Scales, StepRow};
use crate::data::Dataset;
use crate::format::{Scalar, Stored};
use crate::model::{Denominators, Mlp, ParamSet, guarded_phrase};
use crate::train::{Constant, LaneFn, LaneSpec, StepPlan, TrainConfig, Training, UpdateRounding};

/// One lane's run, behind a type-erased interface so lanes can be chosen at run time.
pub trait Lane: Send {
    /// One step, compared with the reference's step.
    fn step(&mut self, plan: &StepPlan, reference: &RecordedStep) -> StepRow;
    /// The report, at the end of the run.
    fn finish(self: Box<Self>) -> FormatReport;
}

/// Builds the lane `lane`.
pub fn lane(
    lane: LaneSpec,
    config: &TrainConfig,
    data: &Dataset,
    init: &ParamSet,
) -> Box<dyn Lane> {
    lane.dispatch(config, data, init, NewLane { config })
}

struct NewLane<'a> {
    config: &'a TrainConfig,
}

impl LaneFn for NewLane<'_> {
    type Output = Box<dyn Lane>;
    fn call<T: Training>(self, lane: LaneSpec, training: T) -> Box<dyn Lane> {
        let constants = self
            .config
            .constants()
            .into_iter()
            .map(|(constant, _)| NamedConstant {
                name: constant.name().to_string(),
                phase: if constant == Constant::AdamEps {
                    "opt"
                } else {
                    "loss"
                },
                value: training.constant(&constant).to_f64(),
            })
            .collect();
        Box::new(AuditedLane {
            lane,
            config: self.config.clone(),
            training,
            stats: LaneStats {
                chains: ChainRecorder::new(constants),
                ..LaneStats::default()
            },
            reference_norm: 0.0,
            steps: 0,
            last: None,
            max_rel_drift: 0.0,
            first_nonfinite_step: None,
            first_nonfinite_loss: f64::NAN,
            events: EventCounts::default(),
            flow: Flow::default(),
            scales: Scales::default(),
        })
    }
}

/// A lane's training run and everything the audit accumulates about it.
struct AuditedLane<T: Training> {
    lane: LaneSpec,
    config: TrainConfig,
    training: T,
    stats: LaneStats,
    steps: u64,
    last: Option<StepRow>,
    max_rel_drift: f64,
    first_nonfinite_step: Option<u64>,
    first_nonfinite_loss: f64,
    events: EventCounts,
    flow: Flow,
    scales: Scales,
    /// ‖reference parameters‖₂ after the last step.
    reference_norm: f64,
}

impl<T: Training> AuditedLane<T> {
    /// The parameter drift the updates lost to absorption alone would cause: ‖Σ lost Δ‖₂ /
    /// ‖reference‖₂, each parameter's lost steps summed over the run. `None` when none was
    /// lost, or when the update rounding keeps what nearest rounding loses (Kahan's buffer,
    /// stochastic rounding on average).
    fn lost_drift(&self) -> Option<f64> {
        let lost = &self.stats.lost_moves;
        let squares: f64 = lost.iter().flatten().map(|m| m * m).sum();
        let nearest = self.config.optimizer.update_rounding == UpdateRounding::Nearest;
        (nearest && squares > 0.0 && self.reference_norm > 0.0)
            .then(|| squares.sqrt() / self.reference_norm)
    }

    /// What the loss constant `name`, as stored, does to the denominator or log argument it
    /// guards, when that depends on the targets only (`|y| + eps`, `max(|y|, eps)`): how often
    /// it changed nothing (observed over the run at the relative loss's `loss.denominator`,
    /// otherwise over the targets) and for how many targets it is zero.
    fn denominators(&self, name: &str) -> Option<DenominatorReport> {
        let targets = self.training.targets();
        let counts = Denominators::of_guard(
            &self.config.loss,
            name,
            targets,
            self.training.loss_constants(),
            &self.training.loss_ctx(),
        )?;
        let observed = self.stats.denominators;
        let eps_lost_share = if observed > 0 {
            Some(self.stats.eps_lost as f64 / observed as f64)
        } else {
            (!targets.is_empty()).then(|| counts.absorbed as f64 / targets.len() as f64)
        };
        let guard = self
            .config
            .loss
            .guards()
            .into_iter()
            .find(|g| g.constant == name)?;
        Some(DenominatorReport {
            eps_lost_share,
            zero: counts.zero,
            targets: targets.len() as u64,
            what: guarded_phrase(&guard),
        })
    }
}

/// ‖a − r‖₂ / ‖r‖₂ over every parameter, against the reference's parameters as f64 pairs.
pub(crate) fn param_rel_drift<S: Scalar>(format: &Mlp<S>, reference: &[Pair]) -> f64 {
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

impl<T: Training> Lane for AuditedLane<T> {
    fn step(&mut self, plan: &StepPlan, reference: &RecordedStep) -> StepRow {
        let mut comparator = Comparator::new(reference, plan.step, &mut self.stats);
        let (loss, scaled) = self.training.step(plan, Some(&mut comparator));
        self.steps += 1;
        let loss = loss.to_f64();
        let reference_loss = reference.loss.hi;
        // NaN stays NaN and inf stays inf, as in abs_drift; the maximum counts either as inf.
        let rel_drift = if loss.is_finite() {
            relative_difference(loss, reference_loss)
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
        self.reference_norm = reference
            .params
            .iter()
            .map(|r| r.hi * r.hi)
            .sum::<f64>()
            .sqrt();
        self.events.merge(&self.stats.step_events);
        self.flow.merge(&self.stats.step_flow);
        self.scales.add(&scaled);
        let row = StepRow {
            lane: self.lane,
            epoch: plan.epoch,
            step: plan.step,
            loss,
            reference_loss,
            abs_drift: (loss - reference_loss).abs(),
            rel_drift,
            param_rel_drift: param_rel_drift(self.training.master(), &reference.params),
            events: self.stats.step_events,
            flow: self.stats.step_flow,
            scale: scaled.scale.map(|s| s.scale),
            skipped: scaled.scale.is_some_and(|s| s.skipped),
            first_nonfinite_grad: scaled.first_nonfinite_grad,
        };
        self.last = Some(row.clone());
        row
    }

    fn finish(self: Box<Self>) -> FormatReport {
        let spec = self.lane.format.spec();
        let (full_loss, row_terms) = self.training.full_loss_and_terms();
        let last = self.last.clone().unwrap_or(StepRow {
            lane: self.lane,
            epoch: 0,
            step: 0,
            loss: f64::NAN,
            reference_loss: f64::NAN,
            abs_drift: f64::NAN,
            rel_drift: f64::NAN,
            param_rel_drift: 0.0,
            events: EventCounts::default(),
            flow: Flow::default(),
            scale: None,
            skipped: false,
            first_nonfinite_grad: None,
        });
        let constants = self
            .config
            .constants()
            .into_iter()
            .map(|(constant, decimal)| {
                let stored = self.training.constant(&constant);
                let denominators = match constant {
                    Constant::AdamEps => None,
                    _ => self.denominators(constant.name()),
                };
                ConstantReport {
                    lane: self.lane,
                    text: decimal.text().to_string(),
                    stored: Stored::new(stored, decimal.exact()),
                    denominators,
                    constant,
                }
            })
            .collect();
        let mut first_events = self.stats.first.clone();
        first_events.sort_by_key(|f| f.kind);
        let mut exponents = self.stats.exponents.clone();
        exponents.sort_by_key(|h| h.role);
        FormatReport {
            lane: self.lane,
            precision_bits: spec.precision,
            accumulate: self.config.reduction.accumulate.effective_for(&spec),
            steps: self.steps,
            final_loss: last.loss,
            full_loss: full_loss.to_f64(),
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
            row_terms,
            flow: self.flow,
            scales: self.scales,
            exponents,
            chain: self.stats.chains.chain().cloned(),
            constant_uses: self.stats.chains.uses().to_vec(),
            lost_drift: self.lost_drift(),
            final_params: self.training.master().to_params(),
        }
    }
}
