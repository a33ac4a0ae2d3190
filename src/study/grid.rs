//! Grid studies: every (grid point, seed) pair is a task, numbered in one canonical order
//! (point by point, seeds in order within a point: task = point × seeds + seed index), so that
//! any machine given the same configuration numbers the tasks alike and a shard is just a set
//! of task numbers. Each task is a full audit (events included) of its point with its seed;
//! per point, the seed study's statistics and verdict summarize the tasks.

use std::fmt;

use crate::audit::{self, AuditConfig, DiscardSteps, EventCounts, relative_difference};
use crate::study::sweep::{
    FormatSweep, SeedOutcome, SeedRun, in_parallel, reseeded, summarize_sweep,
};

/// Shard `index` of `count` (1-based, like cargo-nextest's `--partition count:K/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: u64,
    /// N.
    pub count: u64,
}

impl Shard {
    /// Whether task `task` (0-based, in the canonical task order) is this shard's: task i goes
    /// to shard (i mod N) + 1.
    pub fn owns(&self, task: usize) -> bool {
        task as u64 % self.count == self.index - 1
    }

    /// The shard that runs task `task` in a split into `count` shards.
    pub fn of_task(task: usize, count: u64) -> Shard {
        Shard {
            index: task as u64 % count + 1,
            count,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One (grid point, seed) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Its number in the canonical order, from 0.
    pub index: usize,
    /// The grid point, from 0.
    pub point: usize,
    /// The seed.
    pub seed: u64,
}

/// A grid point's audit and whether each seed draws new initial weights (it does unless
/// `--init-params` gives them).
#[derive(Clone, Debug)]
pub struct PointAudit {
    /// The validated audit of the point, with its first seed.
    pub config: AuditConfig,
    /// Whether a seed redraws the initial weights.
    pub redraw_init: bool,
}

/// The tasks of a grid of `points` with `seeds` seeds each, in the canonical order; point p's
/// seeds run from its own `--seed` on.
pub fn tasks(points: &[PointAudit], seeds: usize) -> Vec<Task> {
    points
        .iter()
        .enumerate()
        .flat_map(|(point, audit)| {
            (0..seeds).map(move |s| Task {
                index: point * seeds + s,
                point,
                seed: audit.config.train.seed.wrapping_add(s as u64),
            })
        })
        .collect()
}

/// What one task produced: the seed study's outcome of its seed, and each lane's events.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRun {
    /// The task.
    pub task: Task,
    /// Final losses of the reference and every lane.
    pub run: SeedRun,
    /// Events over the run, per lane in the run's order.
    pub events: Vec<EventCounts>,
}

/// Audits one task (one thread: tasks run side by side instead).
pub fn run_task(point: &PointAudit, task: Task) -> crate::Result<TaskRun> {
    let mut config = reseeded(&point.config, task.seed, point.redraw_init);
    config.threads = 1;
    let result = audit::run(&config, &mut DiscardSteps, &mut |_, _| {})?;
    let reference_loss = result.reference_full_loss;
    let formats = result
        .formats
        .iter()
        .map(|f| SeedOutcome {
            lane: f.lane,
            final_loss: f.full_loss,
            first_nonfinite_step: f.first_nonfinite_step,
            drift: f.full_loss - reference_loss,
            rel_drift: relative_difference(f.full_loss, reference_loss),
        })
        .collect();
    Ok(TaskRun {
        task,
        run: SeedRun {
            seed: task.seed,
            reference_loss,
            formats,
        },
        events: result.formats.iter().map(|f| f.events).collect(),
    })
}

/// Runs `tasks` on `threads` workers, calling `done` after each; the results come in task
/// order, the same bits for any thread count.
pub fn run_tasks(
    points: &[PointAudit],
    tasks: &[Task],
    threads: usize,
    done: &(dyn Fn() + Sync),
) -> crate::Result<Vec<TaskRun>> {
    in_parallel(tasks, threads, |task| {
        let run = run_task(&points[task.point], *task);
        done();
        run
    })
    .into_iter()
    .collect()
}

/// One lane of one grid point over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneCell {
    /// The seed study of this lane at this point: mean loss, paired drift, verdict.
    pub sweep: FormatSweep,
    /// The mean over seeds of |final − reference| / |reference|.
    pub rel_drift: f64,
    /// The earliest step, over seeds, whose batch loss was inf or NaN.
    pub first_nonfinite_step: Option<u64>,
    /// The final loss of the first seed that ended inf or NaN (to say which of the two).
    pub nonfinite_loss: Option<f64>,
    /// Events summed over seeds.
    pub events: EventCounts,
}

/// One grid point over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSummary {
    /// The point, from 0.
    pub point: usize,
    /// The seeds it ran.
    pub seeds: usize,
    /// Per lane, in the audit's order.
    pub lanes: Vec<LaneCell>,
}

/// Summarizes `runs` (every task of a grid of `points` points, in task order) point by point.
pub fn summarize_grid(points: usize, runs: &[TaskRun]) -> Vec<PointSummary> {
    (0..points)
        .map(|point| {
            let mine: Vec<&TaskRun> = runs.iter().filter(|r| r.task.point == point).collect();
            let seed_runs: Vec<SeedRun> = mine.iter().map(|r| r.run.clone()).collect();
            let lanes = summarize_sweep(&seed_runs)
                .into_iter()
                .enumerate()
                .map(|(lane, sweep)| {
                    let outcomes: Vec<&SeedOutcome> =
                        mine.iter().map(|r| &r.run.formats[lane]).collect();
                    let mut events = EventCounts::default();
                    for run in &mine {
                        events.merge(&run.events[lane]);
                    }
                    LaneCell {
                        sweep,
                        rel_drift: outcomes.iter().map(|o| o.rel_drift).sum::<f64>()
                            / outcomes.len() as f64,
                        first_nonfinite_step: outcomes
                            .iter()
                            .filter_map(|o| o.first_nonfinite_step)
                            .min(),
                        nonfinite_loss: outcomes
                            .iter()
                            .map(|o| o.final_loss)
                            .find(|l| !l.is_finite()),
                        events,
                    }
                })
                .collect();
            PointSummary {
                point,
                seeds: mine.len(),
                lanes,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::sweep::run_seed;

    fn point(args: &[&str]) -> PointAudit {
        use clap::Parser;
        let cli = crate::flags::Cli::parse_from(
            std::iter::once("precision-audit").chain(args.iter().copied()),
        );
        PointAudit {
            config: crate::flags::audit_config(&cli.audit).unwrap(),
            redraw_init: true,
        }
    }

    #[test]
    fn tasks_are_numbered_point_by_point() {
        let points = [
            point(&["--epochs", "1"]),
            point(&["--epochs", "1", "--seed", "7"]),
        ];
        let tasks = tasks(&points, 3);
        let seen: Vec<(usize, usize, u64)> =
            tasks.iter().map(|t| (t.index, t.point, t.seed)).collect();
        assert_eq!(
            seen,
            [
                (0, 0, 42),
                (1, 0, 43),
                (2, 0, 44),
                (3, 1, 7),
                (4, 1, 8),
                (5, 1, 9)
            ]
        );
    }

    /// A task is the seed study's run of its seed (the same final losses, bit for bit), with
    /// the audit's events besides: observing the arithmetic changes none of it.
    #[test]
    fn a_task_is_the_seed_studys_run_plus_events() {
        let p = point(&["--loss", "relative", "--epochs", "3"]);
        let task = Task {
            index: 0,
            point: 0,
            seed: 43,
        };
        let run = run_task(&p, task).unwrap();
        let plain = run_seed(&reseeded(&p.config, 43, true));
        // Debug text, bit for bit (NaN is not equal to itself).
        assert_eq!(format!("{:?}", run.run), format!("{plain:?}"));
        let f16 = run.events[0];
        assert!(
            f16.get(crate::audit::EventKind::DivByZero) > 0,
            "f16 flushes eps = 1e-8 to zero"
        );
    }

    #[test]
    fn summaries_pool_seeds_per_point() {
        let points = [point(&["--loss", "relative", "--epochs", "2"])];
        let tasks = tasks(&points, 2);
        let runs = run_tasks(&points, &tasks, 2, &|| {}).unwrap();
        let one_thread = run_tasks(&points, &tasks, 1, &|| {}).unwrap();
        assert_eq!(format!("{runs:?}"), format!("{one_thread:?}"));
        let summary = summarize_grid(1, &runs);
        assert_eq!(summary[0].seeds, 2);
        let f16 = &summary[0].lanes[0];
        assert_eq!(f16.sweep.lane.to_string(), "f16");
        assert_eq!(f16.first_nonfinite_step, Some(1));
        let mut events = runs[0].events[0];
        events.merge(&runs[1].events[0]);
        assert_eq!(f16.events, events);
        let f64_lane = &summary[0].lanes[3];
        let mean = (runs[0].run.formats[3].rel_drift + runs[1].run.formats[3].rel_drift) / 2.0;
        assert_eq!(f64_lane.rel_drift, mean);
        assert_eq!(f64_lane.nonfinite_loss, None);
    }
}
