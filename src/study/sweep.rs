//! Seed sweeps: the same audit for N seeds, final losses per seed and format, paired with the
//! reference's, in parallel across seeds and bit-identical for any thread count.

use half::{bf16, f16};
use serde::Serialize;

use crate::audit::{AuditConfig, Reference};
use crate::format::{DoubleDouble, Format, Mpfr, Scalar};
use crate::model::glorot_uniform;
use crate::study::stats::{PairedDrift, Significance, Summary, paired_drift, summarize, verdict};
use crate::train::Trainer;

/// One format's outcome for one seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedOutcome {
    /// The format.
    pub format: Format,
    /// The loss over the whole data set after training, in the format.
    pub final_loss: f64,
    /// The first step whose batch loss was inf or NaN.
    pub first_nonfinite_step: Option<u64>,
}

/// Everything one seed produced.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedRun {
    /// The seed: initial weights (unless given), shuffles and dropout masks.
    pub seed: u64,
    /// The reference's loss over the whole data set after training.
    pub reference_loss: f64,
    /// Per format, in the audit's order.
    pub formats: Vec<SeedOutcome>,
}

/// One format over all seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FormatSweep {
    /// The format.
    pub format: Format,
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

/// A training step in every format with no observation, from one seed.
fn train_format<S: Scalar<Context = ()>>(config: &AuditConfig, format: Format) -> SeedOutcome {
    let mut trainer = Trainer::<S>::new(&config.train, &config.data, &config.init, ());
    let mut first_nonfinite_step = None;
    for plan in config.schedule() {
        let loss = trainer.step(&plan, None);
        if !loss.is_finite() && first_nonfinite_step.is_none() {
            first_nonfinite_step = Some(plan.step);
        }
    }
    SeedOutcome {
        format,
        final_loss: trainer.full_loss().to_f64(),
        first_nonfinite_step,
    }
}

fn train_reference<R: Scalar>(config: &AuditConfig, ctx: R::Context) -> f64 {
    let mut trainer = Trainer::<R>::new(&config.train, &config.data, &config.init, ctx);
    for plan in config.schedule() {
        trainer.step(&plan, None);
    }
    trainer.full_loss().to_f64()
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
    let reference_loss = match config.reference {
        Reference::Mpfr(bits) => train_reference::<Mpfr>(config, bits),
        Reference::DoubleDouble => train_reference::<DoubleDouble>(config, ()),
    };
    let formats = config
        .formats
        .iter()
        .map(|&format| match format {
            Format::F16 => train_format::<f16>(config, format),
            Format::Bf16 => train_format::<bf16>(config, format),
            Format::F32 => train_format::<f32>(config, format),
            Format::F64 => train_format::<f64>(config, format),
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
    let configs: Vec<AuditConfig> = (0..seeds as u64)
        .map(|i| reseeded(config, config.train.seed.wrapping_add(i), redraw_init))
        .collect();
    in_parallel(&configs, threads, run_seed)
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
            let (significance, verdict) =
                verdict(outcome.format.name(), &drift, nonfinite_seeds, runs.len());
            FormatSweep {
                format: outcome.format,
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
