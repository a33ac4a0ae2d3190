//! Seed sweeps: the same audit for N seeds, final losses per seed and format, paired with the
//! reference's, in parallel across seeds and bit-identical for any thread count.

use crate::audit::{AuditConfig, relative_difference};
use crate::format::{ReferenceFn, Scalar};
use crate::kernel::Unobserved;
use crate::model::glorot_uniform;
use crate::study::stats::{PairedDrift, Significance, Summary, paired_drift, summarize, verdict};
use crate::train::{LaneFn, LaneSpec, StepPlan, Trainer, Training};

/// One format's outcome for one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedOutcome {
    /// The format.
    pub lane: LaneSpec,
    /// The loss over the whole data set after training, in the format.
    pub final_loss: f64,
    /// The first step whose batch loss was inf or NaN.
    pub first_nonfinite_step: Option<u64>,
    /// final_loss − the reference's.
    pub drift: f64,
    /// |drift| / |the reference's loss| (0 when the two agree).
    pub rel_drift: f64,
}

/// Everything one seed produced.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedRun {
    /// The seed: initial weights (unless given), shuffles and dropout masks.
    pub seed: u64,
    /// The reference's loss over the whole data set after training.
    pub reference_loss: f64,
    /// Per format, in the audit's order.
    pub formats: Vec<SeedOutcome>,
}

/// One format over all seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatSweep {
    /// The format.
    pub lane: LaneSpec,
    /// Its final loss over seeds.
    pub loss: Summary,
    /// The reference's final loss over the same seeds: its spread is the noise floor.
    pub reference: Summary,
    /// format − reference, paired by seed.
    pub drift: PairedDrift,
    /// Seeds whose final loss was inf or NaN.
    pub nonfinite_seeds: usize,
    /// Arithmetic, within noise, diverged or undetermined.
    pub significance: Significance,
    /// The verdict in plain words.
    pub verdict: String,
}

/// A run trained plainly (no observation): a lane's or the reference's.
trait PlainRun {
    /// One step; whether its batch loss was finite.
    fn step(&mut self, plan: &StepPlan) -> bool;
    /// The whole-data loss.
    fn final_loss(&self) -> f64;
}

struct LaneRun<T>(T);

impl<T: Training> PlainRun for LaneRun<T> {
    fn step(&mut self, plan: &StepPlan) -> bool {
        self.0.step::<Unobserved>(plan, None).0.is_finite()
    }
    fn final_loss(&self) -> f64 {
        self.0.full_loss().to_f64()
    }
}

struct ReferenceRun<R: Scalar>(Trainer<R>);

impl<R: Scalar> PlainRun for ReferenceRun<R> {
    fn step(&mut self, plan: &StepPlan) -> bool {
        self.0.step(plan, None).is_finite()
    }
    fn final_loss(&self) -> f64 {
        self.0.full_loss().to_f64()
    }
}

/// Trains `run` over the schedule of `config`: the whole-data loss at the end and the first
/// step whose batch loss was not finite.
fn train(config: &AuditConfig, mut run: impl PlainRun) -> (f64, Option<u64>) {
    let mut first_nonfinite_step = None;
    for plan in config.schedule() {
        if !run.step(&plan) && first_nonfinite_step.is_none() {
            first_nonfinite_step = Some(plan.step);
        }
    }
    (run.final_loss(), first_nonfinite_step)
}

/// [`train`] for a lane or the reference of `config`.
struct Train<'a>(&'a AuditConfig);

impl LaneFn for Train<'_> {
    type Output = (f64, Option<u64>);
    fn call<T: Training>(self, _: LaneSpec, training: T) -> Self::Output {
        train(self.0, LaneRun(training))
    }
}

impl ReferenceFn for Train<'_> {
    type Output = (f64, Option<u64>);
    fn call<R: Scalar>(self, ctx: R::Context) -> Self::Output {
        let config = self.0;
        let trainer = Trainer::<R>::new(&config.train, &config.data, &config.init, ctx);
        train(config, ReferenceRun(trainer))
    }
}

/// The audit of `config` with `seed` in place of its seed: new shuffles and dropout masks, and
/// new initial weights unless they were given (`redraw_init`).
pub fn reseeded(config: &AuditConfig, seed: u64, redraw_init: bool) -> AuditConfig {
    let mut config = config.clone();
    config.train.seed = seed;
    if redraw_init {
        config.init = glorot_uniform(&config.train.architecture, seed);
    }
    config
}

/// Trains the reference and every format of `config` (plain training, no per-op audit).
pub fn run_seed(config: &AuditConfig) -> SeedRun {
    let (reference_loss, _) = config.reference.dispatch(Train(config));
    let formats = config
        .formats
        .iter()
        .map(|&lane| {
            let (final_loss, first_nonfinite_step) =
                lane.dispatch(&config.train, &config.data, &config.init, Train(config));
            let drift = final_loss - reference_loss;
            SeedOutcome {
                lane,
                final_loss,
                first_nonfinite_step,
                drift,
                rel_drift: relative_difference(final_loss, reference_loss),
            }
        })
        .collect();
    SeedRun {
        seed: config.train.seed,
        reference_loss,
        formats,
    }
}

/// Runs `jobs` on `threads` workers and returns the results in job order, whatever finished
/// first: each job is independent, so the thread count changes no bit.
pub fn in_parallel<J: Sync, T: Send>(
    jobs: &[J],
    threads: usize,
    run: impl Fn(&J) -> T + Sync,
) -> Vec<T> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let result = run(job);
                    results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Runs `seeds` (consecutive from the config's seed) in parallel.
pub fn sweep(
    config: &AuditConfig,
    seeds: usize,
    redraw_init: bool,
    threads: usize,
) -> Vec<SeedRun> {
    // Each job copies the configuration (the data included) when it starts, so that only the
    // audits running at the same time hold a copy.
    let seeds: Vec<u64> = (0..seeds as u64)
        .map(|i| config.train.seed.wrapping_add(i))
        .collect();
    in_parallel(&seeds, threads, |&seed| {
        run_seed(&reseeded(config, seed, redraw_init))
    })
}

/// The statistics and verdict of each format over the seeds of a sweep.
pub fn summarize_sweep(runs: &[SeedRun]) -> Vec<FormatSweep> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    let reference: Vec<f64> = runs.iter().map(|r| r.reference_loss).collect();
    first
        .formats
        .iter()
        .enumerate()
        .map(|(index, outcome)| {
            let losses: Vec<f64> = runs.iter().map(|r| r.formats[index].final_loss).collect();
            let drift = paired_drift(&losses, &reference);
            let nonfinite_seeds = losses.iter().filter(|l| !l.is_finite()).count();
            let (significance, verdict) = verdict(
                &outcome.lane.to_string(),
                &drift,
                nonfinite_seeds,
                runs.len(),
            );
            FormatSweep {
                lane: outcome.lane,
                loss: summarize(&losses),
                reference: summarize(&reference),
                drift,
                nonfinite_seeds,
                significance,
                verdict,
            }
        })
        .collect()
}
