//! Whole-audit benchmarks, each case timed in wall time and in the process's CPU time.
//!
//! - The default job (`--loss relative --eps 1e-8`: 100 samples, 2 features, 10 hidden units,
//!   batch 32, 100 epochs, 400 steps), 10 runs per case.
//! - The mid-size job (`--samples 4096 --features 16 --layers 64,64 --epochs 2 --batch-size 64`,
//!   128 steps), `PRECISION_AUDIT_BENCH_RUNS` runs per case (default 3); once with the MPFR
//!   reference (`midsize`) and once with `--reference double-double` (`midsize_dd`).
//! - The MNIST-size job of issue 14 (`--samples 1024 --features 784 --layers 128 --epochs 1
//!   --batch-size 64 --reference double-double`, 16 steps), as many runs as the mid-size job.
//!
//! Each job runs as (a) the full audit of four formats (on 2 threads, the CLI's default, and on
//! 1), (b) the job's reference alone (its training steps), (b′) the same followed by its loss
//! over the whole data set (all the reference work an audit does) and (c) a plain f32 training
//! run. One mid-size audit takes
//! tens of seconds, so these cases are timed directly rather than under criterion, whose
//! minimum of ten samples would take minutes per case. Cases run round-robin (run 1 of every
//! case, then run 2, …) so that a burst of load on the shared machine does not land on one case.
//!
//! Under `cargo test --all-targets` (no `--bench`), every case runs once, the mid-size ones on
//! a 4-step version of the job and the MNIST-size ones on a 2-step version.
//!
//! The summary prints each ratio against its issue-14 target, and the load average before and
//! after (the machine is shared: wall times on two threads mean little when it is loaded).

#[allow(dead_code)] // each target uses its own part of the helpers
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use precision_audit::audit::{self, AuditConfig, AuditResult, StepRow, StepSink};
use precision_audit::flags::Cli;
use precision_audit::flags::audit_config;
use precision_audit::format::{ReferenceFn, Scalar};
use precision_audit::train::Trainer;

use support::{Args, MIDSIZE_JOB, MIDSIZE_SMOKE, at_least_line, process_cpu_time, ratio_line};

const DEFAULT_JOB: &[&str] = &["--loss", "relative", "--eps", "1e-8"];
const DEFAULT_JOB_RUNS: usize = 10;
const MNIST_JOB: &[&str] = &[
    "--samples",
    "1024",
    "--features",
    "784",
    "--layers",
    "128",
    "--epochs",
    "1",
    "--batch-size",
    "64",
    "--reference",
    "double-double",
];
/// What `cargo test --all-targets` runs instead: the same network on 2 batches.
const MNIST_SMOKE: &[&str] = &[
    "--samples",
    "128",
    "--features",
    "784",
    "--layers",
    "128",
    "--epochs",
    "1",
    "--batch-size",
    "64",
    "--reference",
    "double-double",
];
const DOUBLE_DOUBLE: &[&str] = &["--reference", "double-double"];
const RUNS_VARIABLE: &str = "PRECISION_AUDIT_BENCH_RUNS";
const MIDSIZE_RUNS: usize = 3;

/// A job as the command line states it.
#[derive(Clone)]
struct Job {
    /// The audit the command line would run.
    config: AuditConfig,
}

impl Job {
    fn new(flags: &[&str]) -> Job {
        let cli = Cli::parse_from(std::iter::once("precision-audit").chain(flags.iter().copied()));
        Job {
            config: audit_config(&cli.audit).expect("the benchmark's flags are valid"),
        }
    }

    /// The same job on a different number of worker threads.
    fn with_threads(&self, threads: usize) -> Job {
        let mut job = self.clone();
        job.config.threads = threads;
        job
    }
}

/// A sink that drops every row, as the CLI does without `--csv`.
struct Discard;

impl StepSink for Discard {
    fn rows(&mut self, _: &[StepRow]) -> precision_audit::Result<()> {
        Ok(())
    }
}

/// (a) The full audit: the reference and every format in lockstep, compared op by op.
fn full_audit(job: &Job) -> AuditResult {
    audit::run(&job.config, &mut Discard, &mut |_, _| {}).expect("the audit runs")
}

/// Trains in `S` alone, unobserved; returns the last batch loss.
fn train_alone<S: Scalar>(job: &Job, ctx: S::Context) -> Option<S> {
    train(job, ctx).1
}

/// Trains the job in `S`: the trainer after the last step, and that step's batch loss.
fn train<S: Scalar>(job: &Job, ctx: S::Context) -> (Trainer<S>, Option<S>) {
    let config = &job.config;
    let mut trainer = Trainer::<S>::new(&config.train, &config.data, &config.init, ctx);
    let loss = config
        .schedule()
        .map(|plan| trainer.step(&plan, None))
        .last();
    (trainer, loss)
}

/// Trains the job's reference alone; with `final_loss`, then evaluates its loss over the whole
/// data set, as the audit's reference task does for the loss drift it reports.
struct TrainReference<'a> {
    job: &'a Job,
    final_loss: bool,
}

impl ReferenceFn for TrainReference<'_> {
    type Output = Option<f64>;
    fn call<R: Scalar>(self, ctx: R::Context) -> Option<f64> {
        let (trainer, loss) = train::<R>(self.job, ctx);
        if self.final_loss {
            Some(trainer.full_loss().to_f64())
        } else {
            loss.map(|loss| loss.to_f64())
        }
    }
}

/// (b) The job's reference (MPFR, or double-double) alone, its training steps: what any audit
/// must pay at least once, and the yardstick of issue 14's target 3.
fn reference_alone(job: &Job) -> Option<f64> {
    job.config.reference.dispatch(TrainReference {
        job,
        final_loss: false,
    })
}

/// (b′) The same, and then the reference's loss over the whole data set: all the reference
/// work an audit does (its final evaluation is one pass over the data, which the audit needs
/// for the final loss drift).
fn reference_with_final_loss(job: &Job) -> Option<f64> {
    job.config.reference.dispatch(TrainReference {
        job,
        final_loss: true,
    })
}

/// (c) A plain f32 training run, no reference and no comparison.
fn plain_f32(job: &Job) -> Option<f32> {
    train_alone::<f32>(job, ())
}

/// One timing of one case.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

/// One case and its timings.
struct Case {
    name: String,
    runs: usize,
    run: Box<dyn Fn()>,
    timings: Vec<Timing>,
}

/// The median of some seconds.
fn median(mut seconds: Vec<f64>) -> Option<f64> {
    seconds.sort_by(f64::total_cmp);
    let mid = seconds.len() / 2;
    match seconds.len() {
        0 => None,
        n if n % 2 == 1 => Some(seconds[mid]),
        _ => Some((seconds[mid - 1] + seconds[mid]) / 2.0),
    }
}

impl Case {
    fn wall(&self) -> Option<f64> {
        median(self.timings.iter().map(|t| t.wall.as_secs_f64()).collect())
    }

    fn cpu(&self) -> Option<f64> {
        median(self.timings.iter().map(|t| t.cpu.as_secs_f64()).collect())
    }

    fn time(&mut self) -> Timing {
        let (wall, cpu) = (Instant::now(), process_cpu_time());
        (self.run)();
        let timing = Timing {
            wall: wall.elapsed(),
            cpu: process_cpu_time().saturating_sub(cpu),
        };
        self.timings.push(timing);
        timing
    }
}

/// The five cases of one job: (a) on 2 and on 1 threads, (b), (b′), (c).
fn cases(prefix: &str, job: &Job, runs: usize) -> Vec<Case> {
    let (two, one, reference, reference_final, f32_job) = (
        job.with_threads(2),
        job.with_threads(1),
        job.clone(),
        job.clone(),
        job.clone(),
    );
    let case = |name: &str, run: Box<dyn Fn()>| Case {
        name: format!("{prefix}/{name}"),
        runs,
        run,
        timings: Vec::new(),
    };
    vec![
        case(
            "full_audit_threads2",
            Box::new(move || {
                black_box(full_audit(&two));
            }),
        ),
        case(
            "full_audit_threads1",
            Box::new(move || {
                black_box(full_audit(&one));
            }),
        ),
        case(
            "reference_alone",
            Box::new(move || {
                black_box(reference_alone(&reference));
            }),
        ),
        case(
            "reference_final_loss",
            Box::new(move || {
                black_box(reference_with_final_loss(&reference_final));
            }),
        ),
        case(
            "plain_f32",
            Box::new(move || {
                black_box(plain_f32(&f32_job));
            }),
        ),
    ]
}

/// Runs the cases round-robin until each has its runs.
fn time_round_robin(cases: &mut [Case]) {
    let rounds = cases.iter().map(|c| c.runs).max().unwrap_or(0);
    for round in 1..=rounds {
        for case in cases.iter_mut().filter(|c| c.runs >= round) {
            let timing = case.time();
            println!(
                "{:<36} run {round:>2}/{}: {:>8.3} s wall {:>8.3} s cpu",
                case.name,
                case.runs,
                timing.wall.as_secs_f64(),
                timing.cpu.as_secs_f64(),
            );
        }
    }
}

fn summary(cases: &[Case]) {
    println!("\nSummary (medians of this run), seconds:");
    println!("  {:<36} {:>9} {:>9}  runs (wall)", "case", "wall", "cpu");
    for case in cases {
        let runs: Vec<String> = case
            .timings
            .iter()
            .map(|t| format!("{:.2}", t.wall.as_secs_f64()))
            .collect();
        if let (Some(wall), Some(cpu)) = (case.wall(), case.cpu()) {
            println!(
                "  {:<36} {wall:>9.3} {cpu:>9.3}  {}",
                case.name,
                runs.join(", ")
            );
        }
    }
    // (label, median) pairs: wall time, then CPU time.
    type Median = fn(&Case) -> Option<f64>;
    const MEASURES: [(&str, Median); 2] = [("wall", Case::wall), ("cpu", Case::cpu)];
    let median =
        |name: &str, measure: Median| cases.iter().find(|c| c.name == name).and_then(measure);
    println!("\nRatios:");
    for (what, measure) in MEASURES {
        ratio_line(
            &format!("default_job, full audit / 1 s, {what}"),
            median("default_job/full_audit_threads2", measure),
            Some(1.0),
            Some(1.0),
        );
    }
    for job in ["default_job", "midsize", "midsize_dd", "mnist"] {
        for (what, measure) in MEASURES {
            // Issue 14, target 3: observation costs no more than the observed arithmetic.
            let target = (job == "midsize").then_some(2.0);
            ratio_line(
                &format!("{job}, full audit / reference alone, {what}"),
                median(&format!("{job}/full_audit_threads2"), measure),
                median(&format!("{job}/reference_alone"), measure),
                target,
            );
            ratio_line(
                &format!("{job}, full audit / reference with final loss, {what}"),
                median(&format!("{job}/full_audit_threads2"), measure),
                median(&format!("{job}/reference_final_loss"), measure),
                None,
            );
        }
        // Issue 14, target 4: both cores used.
        at_least_line(
            &format!("{job}, full audit 1 thread / 2 threads, wall"),
            median(&format!("{job}/full_audit_threads1"), Case::wall),
            median(&format!("{job}/full_audit_threads2"), Case::wall),
            (job == "midsize_dd").then_some(1.8),
        );
        ratio_line(
            &format!("{job}, full audit 2 threads / 1 thread, cpu"),
            median(&format!("{job}/full_audit_threads2"), Case::cpu),
            median(&format!("{job}/full_audit_threads1"), Case::cpu),
            None,
        );
        ratio_line(
            &format!("{job}, reference alone / plain f32, cpu"),
            median(&format!("{job}/reference_alone"), Case::cpu),
            median(&format!("{job}/plain_f32"), Case::cpu),
            None,
        );
    }
    // Issue 14, target 5: the MNIST-size job in 1.5 s on 2 threads.
    for (what, measure) in MEASURES {
        ratio_line(
            &format!("mnist, full audit / 1.5 s, {what}"),
            median("mnist/full_audit_threads2", measure),
            Some(1.5),
            Some(1.0),
        );
    }
}

/// The load average over the last minute, as the kernel counts it (how busy the shared
/// machine was); `None` where there is no /proc.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn main() {
    let args = Args::from_env();
    let midsize_runs = if args.bench {
        std::env::var(RUNS_VARIABLE)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MIDSIZE_RUNS)
    } else {
        1
    };
    let default_runs = if args.bench { DEFAULT_JOB_RUNS } else { 1 };
    let (midsize, mnist) = if args.bench {
        (MIDSIZE_JOB, MNIST_JOB)
    } else {
        (MIDSIZE_SMOKE, MNIST_SMOKE)
    };
    let midsize_dd = [midsize, DOUBLE_DOUBLE].concat();
    let mut all = cases("default_job", &Job::new(DEFAULT_JOB), default_runs);
    all.extend(cases("midsize", &Job::new(midsize), midsize_runs));
    all.extend(cases("midsize_dd", &Job::new(&midsize_dd), midsize_runs));
    all.extend(cases("mnist", &Job::new(mnist), midsize_runs));
    all.retain(|case| args.selects(&case.name));
    if args.list {
        for case in &all {
            println!("{}: benchmark", case.name);
        }
        return;
    }
    let load_before = load_average();
    time_round_robin(&mut all);
    if args.bench {
        summary(&all);
        println!(
            "\nLoad average (1, 5, 15 min) before: {}, after: {}",
            load_before.as_deref().unwrap_or("n/a"),
            load_average().as_deref().unwrap_or("n/a")
        );
    }
}
