//! The audit: every format trains in lockstep with the MPFR reference, from the same start, on
//! the same batches, with the same dropout masks; every op is compared as it runs.

pub mod chain;
mod compare;
pub mod exponents;
mod fail_on;
mod lane;
mod pipeline;
pub mod rows;
pub mod stats;
mod streams;
mod verdict;

pub use compare::measure;
pub use exponents::{Bin, Exponents, ValueRole};
pub use fail_on::{FailOn, FailOnList};
pub use stats::{
    ErrorStats, EventCounts, EventKind, FirstEvent, Flow, OpStats, relative_difference,
};
pub use verdict::{Cause, CauseKind, causes, verdict};

use rug::Float;

use crate::data::Dataset;
use crate::data::digest::Fnv1a;
pub use crate::format::Reference;
use crate::format::{Mpfr, ReferenceFn, Scalar, Stored};
use crate::kernel::Accumulate;
use crate::kernel::Tensor;
use crate::model::{Mlp, ParamSet, Targets};
use crate::train::{Constant, LaneSpec, Schedule, TrainConfig, Trainer};
pub(crate) use compare::Pair;
pub(crate) use lane::param_rel_drift;
use pipeline::Task;
/// The most steps of the reference's record held at once (the memory estimate counts them).
pub(crate) use streams::AHEAD as RECORDED_STEPS_HELD;
use streams::Streams;

/// A validated audit.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The training run every format repeats.
    pub train: TrainConfig,
    /// The lanes to audit, in report order.
    pub formats: Vec<LaneSpec>,
    /// The reference every format is compared with.
    pub reference: Reference,
    /// Also run an MPFR reference at twice the reference's bits and compare.
    pub verify_reference: bool,
    /// Worker threads: the lanes side by side and the reference up to a step ahead of the
    /// slowest (results do not depend on it).
    pub threads: usize,
    /// The data, in f64.
    pub data: Dataset,
    /// The initial parameters, in f64.
    pub init: ParamSet,
}

impl AuditConfig {
    /// A fingerprint of the data's values: it changes when any feature or target does.
    pub fn data_fingerprint(&self) -> String {
        fingerprint(self.data.features.iter().chain(self.data.targets.iter()))
    }

    /// A fingerprint of the initial parameters.
    pub fn init_fingerprint(&self) -> String {
        fingerprint(
            self.init
                .layers
                .iter()
                .flat_map(|l| l.weight.iter().chain(l.bias.iter())),
        )
    }

    /// The batches and dropout masks of every step, as every format sees them.
    pub fn schedule(&self) -> Schedule {
        let train = &self.train;
        Schedule::new(
            self.data.samples(),
            train.batch_size,
            train.epochs,
            train.architecture.hidden(),
            train.architecture.dropout,
            train.seed,
        )
    }
}

/// One row of the per-step table.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRow {
    /// The lane.
    pub lane: LaneSpec,
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based step.
    pub step: u64,
    /// The format's batch loss.
    pub loss: f64,
    /// The reference's batch loss.
    pub reference_loss: f64,
    /// |loss − reference|.
    pub abs_drift: f64,
    /// |loss − reference| / |reference|; NaN when the loss is NaN, inf when it is inf.
    pub rel_drift: f64,
    /// ‖params − reference params‖₂ / ‖reference params‖₂ after the step's update.
    pub param_rel_drift: f64,
    /// Events during this step.
    pub events: EventCounts,
    /// What happened to the gradients and the updates during this step.
    pub flow: Flow,
    /// The loss scale the step used (mixed lanes with loss scaling).
    pub scale: Option<f32>,
    /// Whether the update was skipped (inf or NaN gradients under a dynamic loss scale).
    pub skipped: bool,
    /// The first parameter gradient that held an inf or NaN (mixed lanes), e.g. `dense2.weight`.
    pub first_nonfinite_grad: Option<String>,
}

/// A lane's loss scale over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scales {
    /// Steps whose update was skipped.
    pub skipped_steps: u64,
    /// The scale of the last step.
    pub last: Option<f32>,
    /// The smallest scale any step used.
    pub min: Option<f32>,
}

impl Scales {
    fn add(&mut self, step: &crate::train::ScaledStep) {
        if let Some(scaled) = step.scale {
            self.skipped_steps += u64::from(scaled.skipped);
            self.last = Some(scaled.scale);
            self.min = Some(self.min.map_or(scaled.scale, |m| m.min(scaled.scale)));
        }
    }
}

/// A constant as one format stores it, and what it did there.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantReport {
    /// The lane.
    pub lane: LaneSpec,
    /// Which constant.
    pub constant: Constant,
    /// As the user gave it.
    pub text: String,
    /// As stored.
    pub stored: Stored,
    /// What it did to the loss's denominators (the loss's eps only).
    pub denominators: Option<DenominatorReport>,
}

/// What a stored loss constant did to the denominators or log arguments it guards (`|y| + eps`).
#[derive(Clone, Debug, PartialEq)]
pub struct DenominatorReport {
    /// The share of `loss.denominator` elements evaluated over the run where adding eps
    /// changed nothing (absorbed, or eps flushed to zero); `None` when none was evaluated.
    pub eps_lost_share: Option<f64>,
    /// Targets y whose |y| + eps is zero in this format.
    pub zero: u64,
    /// The number of targets.
    pub targets: u64,
    /// What the guarded values are, for a sentence ("loss denominators |y| + eps").
    pub what: String,
}

/// Everything the audit found about one format.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatReport {
    /// The lane.
    pub lane: LaneSpec,
    /// The precision in bits of the format it computes in.
    pub precision_bits: u32,
    /// The accumulator its reductions used.
    pub accumulate: Accumulate,
    /// Steps run.
    pub steps: u64,
    /// The loss of the last step (a batch loss, before that step's update).
    pub final_loss: f64,
    /// The loss over the whole data set after training, without dropout.
    pub full_loss: f64,
    /// The reference's loss of the last step.
    pub reference_loss: f64,
    /// |final − reference|.
    pub loss_abs_drift: f64,
    /// |final − reference| / |reference|.
    pub loss_rel_drift: f64,
    /// The largest relative loss drift of any step; inf once a loss was inf or NaN.
    pub max_rel_drift: f64,
    /// Relative L2 distance of all parameters from the reference's, at the end.
    pub param_rel_drift: f64,
    /// The first step whose loss was inf or NaN.
    pub first_nonfinite_step: Option<u64>,
    /// That step's loss (NaN when every loss was finite).
    pub first_nonfinite_loss: f64,
    /// Events over the run.
    pub events: EventCounts,
    /// Per op, in the order ops run within a step.
    pub ops: Vec<OpStats>,
    /// The first event of each kind.
    pub first_events: Vec<FirstEvent>,
    /// The constants the run uses, as stored.
    pub constants: Vec<ConstantReport>,
    /// What happened to the gradients and updates over the run.
    pub flow: Flow,
    /// The loss scale over the run.
    pub scales: Scales,
    /// Where activations, gradients and updates sat in the exponent range over the run, by
    /// role (in [`ValueRole::ALL`] order) and format.
    pub exponents: Vec<Exponents>,
    /// Each row's loss term over the whole data set at the end.
    pub row_terms: Vec<f64>,
    /// The chain from the origin to the first op that stored inf or NaN, if one did.
    pub chain: Option<chain::Chain>,
    /// How each constant took part in additions before the first inf or NaN.
    pub constant_uses: Vec<chain::ConstantUse>,
    /// The relative parameter drift the lost updates alone would cause (`None` when none was
    /// lost): each parameter's lost reference moves summed over the run, ‖·‖₂ over
    /// ‖reference parameters‖₂.
    pub lost_drift: Option<f64>,
    /// The parameters at the end.
    pub final_params: ParamSet,
}

/// How well the reference agrees with itself at twice the precision.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceCheck {
    /// The reference's bits.
    pub bits: u32,
    /// The check's bits.
    pub check_bits: u32,
    /// The largest relative difference of the loss over all steps.
    pub max_loss_rel_diff: f64,
    /// Relative L2 distance of the parameters at the end.
    pub param_rel_diff: f64,
}

impl ReferenceCheck {
    /// Decimal digits the two agree to (at least), from the larger of the two differences.
    pub fn agreeing_digits(&self) -> f64 {
        let worst = self.max_loss_rel_diff.max(self.param_rel_diff);
        if worst == 0.0 {
            f64::from(self.bits) * std::f64::consts::LOG10_2
        } else {
            -worst.log10()
        }
    }
}

/// The audit's findings.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditResult {
    /// The reference's name (`mpfr113`, `double-double`).
    pub reference: String,
    /// The reference's precision.
    pub reference_bits: u32,
    /// Steps run.
    pub steps: u64,
    /// Per format, in the order asked.
    pub formats: Vec<FormatReport>,
    /// The reference's own check, when asked for.
    pub reference_check: Option<ReferenceCheck>,
    /// The reference's loss over the whole data set after training.
    pub reference_full_loss: f64,
    /// The reference's loss term of every row of the data set after training.
    pub reference_row_terms: Vec<f64>,
    /// The few rows that carry almost all of the reference's loss, if there are such rows.
    pub dominant_rows: Option<rows::Dominance>,
    /// The reference's parameters at the end.
    pub reference_params: ParamSet,
}

/// Receives each step's rows as they are produced.
pub trait StepSink {
    /// One row per format, in format order.
    fn rows(&mut self, rows: &[StepRow]) -> crate::Result<()>;
}

/// A sink that drops every row (an audit with no `--csv`).
pub struct DiscardSteps;

impl StepSink for DiscardSteps {
    fn rows(&mut self, _: &[StepRow]) -> crate::Result<()> {
        Ok(())
    }
}

/// A sink that keeps every row it passes on to another (for outputs that need the steps after
/// the run: pictures, JSON).
pub struct KeepSteps<'a> {
    inner: &'a mut dyn StepSink,
    /// The rows so far.
    pub rows: Vec<StepRow>,
}

impl<'a> KeepSteps<'a> {
    /// Keeps the rows passed on to `inner`.
    pub fn new(inner: &'a mut dyn StepSink) -> KeepSteps<'a> {
        KeepSteps {
            inner,
            rows: Vec::new(),
        }
    }

    /// The sink it passes rows on to, for a run that keeps nothing.
    pub fn inner(&mut self) -> &mut dyn StepSink {
        &mut *self.inner
    }
}

impl StepSink for KeepSteps<'_> {
    fn rows(&mut self, rows: &[StepRow]) -> crate::Result<()> {
        self.rows.extend_from_slice(rows);
        self.inner.rows(rows)
    }
}

/// Runs the audit. `progress` is called after each step with (done, total).
pub fn run(
    config: &AuditConfig,
    sink: &mut dyn StepSink,
    progress: &mut dyn FnMut(u64, u64),
) -> crate::Result<AuditResult> {
    config.reference.dispatch(RunWith {
        config,
        sink,
        progress,
    })
}

struct RunWith<'a> {
    config: &'a AuditConfig,
    sink: &'a mut dyn StepSink,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl ReferenceFn for RunWith<'_> {
    type Output = crate::Result<AuditResult>;
    fn call<R: Scalar>(self, ctx: R::Context) -> Self::Output {
        run_with::<R>(self.config, ctx, self.sink, self.progress)
    }
}

/// Every parameter of `mlp`, layer by layer, weight then bias, as pairs, into `into`.
pub(crate) fn pairs<R: Scalar>(mlp: &Mlp<R>, into: &mut Vec<Pair>) {
    into.clear();
    into.extend(
        mlp.layers
            .iter()
            .flat_map(|d| d.weight.iter().chain(d.bias.iter()))
            .map(Pair::of),
    );
}

/// The parameter tensors of `mlp` by name, as f64 pairs.
fn named<R: Scalar>(mlp: &Mlp<R>, into: &mut Vec<(String, Tensor<Pair>)>) {
    into.clear();
    let tensors = mlp.layers.iter().flat_map(|d| [&d.weight, &d.bias]);
    into.extend(
        mlp.param_names()
            .zip(tensors)
            .map(|(name, t)| (name.to_string(), t.map(Pair::of))),
    );
}

fn run_with<R: Scalar>(
    config: &AuditConfig,
    ctx: R::Context,
    sink: &mut dyn StepSink,
    progress: &mut dyn FnMut(u64, u64),
) -> crate::Result<AuditResult> {
    let train = &config.train;
    let check_bits = config.reference.bits() * 2;
    let streams = Streams {
        reference: Trainer::<R>::new(train, &config.data, &config.init, ctx),
        check: config
            .verify_reference
            .then(|| Trainer::<Mpfr>::new(train, &config.data, &config.init, check_bits)),
        lanes: config
            .formats
            .iter()
            .map(|&lane| lane::lane(lane, train, &config.data, &config.init))
            .collect(),
    };
    let threads = config.threads.max(1);
    // The reference keeps matmul operands only for lanes that quantize them.
    let operands = config.formats.iter().any(|lane| lane.recipe.is_some());
    let schedule = config.schedule();
    let total = schedule.total_steps();
    let (streams, max_loss_rel_diff) =
        streams::run(streams, schedule, operands, threads, sink, progress)?;
    let Streams {
        reference,
        check,
        lanes,
    } = streams;
    let (formats, (reference_full_loss, reference_row_terms)) = finish(lanes, &reference, threads);
    let reference_check = check.map(|check| ReferenceCheck {
        bits: config.reference.bits(),
        check_bits,
        max_loss_rel_diff,
        param_rel_diff: mlp_rel_diff(reference.mlp(), check.mlp()),
    });
    Ok(AuditResult {
        reference: config.reference.name(),
        reference_bits: config.reference.bits(),
        steps: total,
        formats,
        reference_check,
        reference_full_loss: reference_full_loss.to_f64(),
        dominant_rows: rows::dominance(
            &reference_row_terms,
            (config.train.loss.targets() == Targets::Values)
                .then(|| rows::row_targets(&config.data.targets))
                .as_deref(),
            config
                .train
                .loss
                .constants()
                .find(|(name, _)| *name == "eps")
                .map(|(_, eps)| eps.to_f64()),
        ),
        reference_row_terms,
        reference_params: reference.mlp().to_params(),
    })
}

/// Every lane's report and the reference's loss over the whole data set, computed side by side.
fn finish<R: Scalar>(
    lanes: Vec<Box<dyn lane::Lane>>,
    reference: &Trainer<R>,
    threads: usize,
) -> (Vec<FormatReport>, (R, Vec<f64>)) {
    let mut reports: Vec<Option<FormatReport>> = lanes.iter().map(|_| None).collect();
    let mut reference_full = None;
    let mut tasks: Vec<Task<'_>> = vec![Box::new(|| {
        reference_full = Some(reference.full_loss_and_terms());
    })];
    tasks.extend(
        lanes
            .into_iter()
            .zip(reports.iter_mut())
            .map(|(lane, report)| Box::new(move || *report = Some(lane.finish())) as Task<'_>),
    );
    pipeline::run_all(threads, tasks);
    let reports = reports
        .into_iter()
        .map(|report| report.expect("every lane finished"))
        .collect();
    (
        reports,
        reference_full.expect("the reference's full loss was computed"),
    )
}

/// FNV-1a over the bits of `values`: a fingerprint that changes when any value does.
fn fingerprint<'a>(values: impl Iterator<Item = &'a f64>) -> String {
    let mut hash = Fnv1a::new();
    for value in values {
        hash.update(&value.to_bits().to_le_bytes());
    }
    hash.hex()
}

/// |a − b| / |b|, computed in MPFR at the wider precision of the two.
fn relative_big<A: Scalar, B: Scalar>(a: &A, b: &B) -> f64 {
    let prec = a.precision().max(b.precision()) + 64;
    let (a, b) = (a.to_big(prec), b.to_big(prec));
    if a == b {
        return 0.0;
    }
    let difference = Float::with_val(prec, &a - &b);
    Float::with_val(64, difference / &b).abs().to_f64()
}

/// ‖a − b‖₂ / ‖b‖₂ over every parameter, with differences taken in MPFR.
fn mlp_rel_diff<A: Scalar, B: Scalar>(a: &Mlp<A>, b: &Mlp<B>) -> f64 {
    let (mut distance, mut norm) = (0.0f64, 0.0f64);
    for (da, db) in a.layers.iter().zip(&b.layers) {
        for (x, y) in da
            .weight
            .iter()
            .chain(da.bias.iter())
            .zip(db.weight.iter().chain(db.bias.iter()))
        {
            let prec = x.precision().max(y.precision()) + 64;
            let d = Float::with_val(prec, x.to_big(prec) - y.to_big(prec)).to_f64();
            distance += d * d;
            norm += y.to_f64() * y.to_f64();
        }
    }
    if norm == 0.0 {
        distance.sqrt()
    } else {
        (distance / norm).sqrt()
    }
}
