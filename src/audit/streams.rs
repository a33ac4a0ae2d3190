//! Runs an audit's streams on worker threads with no barrier between steps: the reference
//! records step after step, at most [`AHEAD`] − 1 steps beyond the slowest lane's; its check
//! (`--verify-reference`) repeats them; each lane takes a step as soon as the reference has
//! recorded it. Every stream owns what it writes and reads only steps the reference finished,
//! so which thread runs which step, and when, changes no bit. Rows reach the sink in step
//! order, on the calling thread.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::compare::{RecordedStep, Recorder};
use super::lane::Lane;
use super::{Pair, StepRow, StepSink, named, pairs, relative_big};
use crate::format::{Mpfr, Scalar};
use crate::train::{Schedule, StepPlan, Trainer};

/// How many steps the reference may start from the slowest lane's on (that one included), and
/// so the most recorded steps held at once: enough to keep every thread busy (3 ran no faster
/// than 2 on the mid-size job), few enough that memory does not grow with the run.
pub(crate) const AHEAD: usize = 2;

/// How many steps the reference may start beyond the check's (`--verify-reference`, the slowest
/// stream): each such step keeps its plan and the reference's loss until the check is there, so
/// a bound keeps memory from growing with the run; it is wide enough that the check never waits.
const CHECK_AHEAD: usize = 16;

/// An audit's streams, before and after the run.
pub(super) struct Streams<R: Scalar> {
    /// The reference.
    pub reference: Trainer<R>,
    /// The reference's check at twice its bits (`--verify-reference`).
    pub check: Option<Trainer<Mpfr>>,
    /// The lanes, in report order.
    pub lanes: Vec<Box<dyn Lane>>,
}

/// Runs every step of `schedule` in every stream on up to `threads` threads (the calling thread
/// is one of them), the reference recording matmul operands when `operands`. Returns the
/// streams and the largest |reference loss − check loss| / |check loss| of any step (0 without
/// a check). A sink's error stops the run and is returned; a panic in a step reaches the caller.
pub(super) fn run<R: Scalar>(
    streams: Streams<R>,
    schedule: Schedule,
    operands: bool,
    threads: usize,
    sink: &mut dyn StepSink,
    progress: &mut dyn FnMut(u64, u64),
) -> crate::Result<(Streams<R>, f64)> {
    let lanes = streams.lanes.len();
    let workers = threads.clamp(1, 1 + usize::from(streams.check.is_some()) + lanes);
    let total = schedule.total_steps();
    let shared = Shared {
        state: Mutex::new(State {
            total: usize::try_from(total).expect("the steps fit in memory"),
            has_check: streams.check.is_some(),
            reference: Some(streams.reference),
            check: streams.check,
            lanes: streams.lanes.into_iter().map(Some).collect(),
            schedule,
            operands,
            started: 0,
            recorded: 0,
            checked: 0,
            compared: vec![0; lanes],
            emitted: 0,
            first: 0,
            steps: VecDeque::new(),
            spare: Vec::new(),
            max_loss_rel_diff: 0.0,
            stopped: false,
            panic: None,
        }),
        changed: Condvar::new(),
    };
    let sent = std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(|| shared.work(None));
        }
        shared.work(Some(Out { sink, progress }))
    });
    let state = shared
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(panic) = state.panic {
        resume_unwind(panic);
    }
    sent?;
    let streams = Streams {
        reference: state.reference.expect("the reference is back"),
        check: state.check,
        lanes: state
            .lanes
            .into_iter()
            .map(|lane| lane.expect("every lane is back"))
            .collect(),
    };
    Ok((streams, state.max_loss_rel_diff))
}

/// Where the calling thread sends each step's rows, and whom it tells.
struct Out<'a> {
    sink: &'a mut dyn StepSink,
    progress: &'a mut dyn FnMut(u64, u64),
}

/// The state every thread works on, and a signal that it changed.
struct Shared<R: Scalar> {
    state: Mutex<State<R>>,
    changed: Condvar,
}

/// Where every stream is. Step counts are 0-based: a stream that finished `n` steps runs step
/// `n` next.
struct State<R: Scalar> {
    total: usize,
    has_check: bool,
    /// The streams that are not running a step (`None` while a thread runs one).
    reference: Option<Trainer<R>>,
    check: Option<Trainer<Mpfr>>,
    lanes: Vec<Option<Box<dyn Lane>>>,
    schedule: Schedule,
    operands: bool,
    /// Steps the reference started (their plans exist), recorded, the check ran, each lane
    /// compared, and whose rows reached the sink.
    started: usize,
    recorded: usize,
    checked: usize,
    compared: Vec<usize>,
    emitted: usize,
    /// The steps `first..started`, oldest first: a step leaves once its rows reached the sink
    /// and the check ran it.
    first: usize,
    steps: VecDeque<Step<R>>,
    /// Recorded steps no lane reads any more, to record into again.
    spare: Vec<RecordedStep>,
    max_loss_rel_diff: f64,
    /// Set by a panic or a sink's error: every thread stops after its step.
    stopped: bool,
    panic: Option<Box<dyn Any + Send>>,
}

/// One step on its way through the streams.
struct Step<R: Scalar> {
    plan: Arc<StepPlan>,
    /// The reference's step, while a lane has still to compare it.
    recorded: Option<Arc<RecordedStep>>,
    /// The reference's and the check's losses, until both are there (with a check).
    loss: Option<R>,
    check_loss: Option<Mpfr>,
    /// Each lane's row, in lane order.
    rows: Vec<Option<StepRow>>,
}

/// A step of one stream, with everything it needs, to run without the lock.
enum Task<R: Scalar> {
    Record {
        trainer: Trainer<R>,
        plan: Arc<StepPlan>,
        into: RecordedStep,
        operands: bool,
    },
    Check {
        trainer: Trainer<Mpfr>,
        plan: Arc<StepPlan>,
    },
    Compare {
        index: usize,
        lane: Box<dyn Lane>,
        plan: Arc<StepPlan>,
        recorded: Arc<RecordedStep>,
    },
}

/// A task's results, and its stream back.
enum Done<R: Scalar> {
    Recorded {
        trainer: Trainer<R>,
        step: RecordedStep,
        loss: R,
    },
    Checked {
        trainer: Trainer<Mpfr>,
        loss: Mpfr,
    },
    Compared {
        index: usize,
        lane: Box<dyn Lane>,
        row: StepRow,
    },
}

impl<R: Scalar> Task<R> {
    fn run(self) -> Done<R> {
        match self {
            Task::Record {
                mut trainer,
                plan,
                mut into,
                operands,
            } => {
                into.ops.clear();
                into.operands.clear();
                named(trainer.mlp(), &mut into.start);
                let loss = trainer.step(
                    &plan,
                    Some(&mut Recorder {
                        step: &mut into,
                        operands,
                    }),
                );
                into.loss = Pair::of(&loss);
                pairs(trainer.mlp(), &mut into.params);
                Done::Recorded {
                    trainer,
                    step: into,
                    loss,
                }
            }
            Task::Check { mut trainer, plan } => {
                let loss = trainer.step(&plan, None);
                Done::Checked { trainer, loss }
            }
            Task::Compare {
                index,
                mut lane,
                plan,
                recorded,
            } => {
                let row = lane.step(&plan, &recorded);
                Done::Compared { index, lane, row }
            }
        }
    }
}

impl<R: Scalar> Shared<R> {
    fn lock(&self) -> MutexGuard<'_, State<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One thread's share: runs steps until none is left, and, on the calling thread (the one
    /// with the sink), passes each step's rows on once every lane has compared it.
    fn work(&self, mut out: Option<Out<'_>>) -> crate::Result<()> {
        let mut state = self.lock();
        let total = state.total as u64;
        loop {
            if state.stopped {
                return Ok(());
            }
            if let Some(out) = out.as_mut()
                && let Some((rows, step)) = state.rows_to_send()
            {
                drop(state);
                let sent = out.sink.rows(&rows);
                if sent.is_ok() {
                    (out.progress)(step, total);
                }
                state = self.lock();
                if sent.is_err() {
                    state.stopped = true;
                    self.changed.notify_all();
                    return sent;
                }
                continue;
            }
            if let Some(task) = state.next_task() {
                drop(state);
                let done = catch_unwind(AssertUnwindSafe(|| task.run()));
                state = self.lock();
                match done {
                    Ok(done) => state.put(done),
                    Err(panic) => {
                        state.stopped = true;
                        state.panic = Some(panic);
                    }
                }
                self.changed.notify_all();
                continue;
            }
            let finished = match out {
                Some(_) => state.emitted == state.total,
                None => state.no_steps_left(),
            };
            if finished {
                return Ok(());
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<R: Scalar> State<R> {
    /// The step `step` (it must not have left).
    fn step(&mut self, step: usize) -> &mut Step<R> {
        &mut self.steps[step - self.first]
    }

    /// The next step to run, the check's first (the slowest stream when there is one), then
    /// the reference's, then that of the lane furthest behind (the first such lane).
    fn next_task(&mut self) -> Option<Task<R>> {
        if self.checked < self.started
            && let Some(trainer) = self.check.take()
        {
            let plan = Arc::clone(&self.step(self.checked).plan);
            return Some(Task::Check { trainer, plan });
        }
        let slowest = self.compared.iter().copied().min().unwrap_or(self.recorded);
        if self.started < self.total
            && self.started < slowest + AHEAD
            && (!self.has_check || self.started < self.checked + CHECK_AHEAD)
            && let Some(trainer) = self.reference.take()
        {
            let plan = Arc::new(self.schedule.next().expect("the schedule has every step"));
            self.steps.push_back(Step {
                plan: Arc::clone(&plan),
                recorded: None,
                loss: None,
                check_loss: None,
                rows: vec![None; self.lanes.len()],
            });
            self.started += 1;
            return Some(Task::Record {
                trainer,
                plan,
                into: self.spare.pop().unwrap_or_default(),
                operands: self.operands,
            });
        }
        let index = (0..self.lanes.len())
            .filter(|&i| self.lanes[i].is_some() && self.compared[i] < self.recorded)
            .min_by_key(|&i| self.compared[i])?;
        let lane = self.lanes[index].take().expect("the lane is idle");
        let step = self.step(self.compared[index]);
        Some(Task::Compare {
            index,
            lane,
            plan: Arc::clone(&step.plan),
            recorded: Arc::clone(step.recorded.as_ref().expect("the step is recorded")),
        })
    }

    /// Takes a finished step's results in, and its stream back.
    fn put(&mut self, done: Done<R>) {
        match done {
            Done::Recorded {
                trainer,
                step,
                loss,
            } => {
                let has_check = self.has_check;
                let at = self.recorded;
                let slot = self.step(at);
                slot.recorded = Some(Arc::new(step));
                slot.loss = has_check.then_some(loss);
                self.compare_losses(at);
                self.recorded += 1;
                self.reference = Some(trainer);
            }
            Done::Checked { trainer, loss } => {
                let at = self.checked;
                self.step(at).check_loss = Some(loss);
                self.compare_losses(at);
                self.checked += 1;
                self.check = Some(trainer);
                self.leave();
            }
            Done::Compared { index, lane, row } => {
                let at = self.compared[index];
                self.step(at).rows[index] = Some(row);
                self.compared[index] += 1;
                self.lanes[index] = Some(lane);
                if self.compared.iter().all(|&done| done > at) {
                    // Every lane has read it: its buffers serve a later step.
                    let recorded = self.step(at).recorded.take();
                    self.spare.extend(recorded.and_then(Arc::into_inner));
                }
            }
        }
    }

    /// Folds step `at`'s loss difference into the largest, once both losses are there.
    fn compare_losses(&mut self, at: usize) {
        let slot = self.step(at);
        if let (Some(loss), Some(check)) = (&slot.loss, &slot.check_loss) {
            let difference = relative_big(loss, check);
            (slot.loss, slot.check_loss) = (None, None);
            self.max_loss_rel_diff = self.max_loss_rel_diff.max(difference);
        }
    }

    /// The rows of the next step for the sink, and its 1-based number, once every lane has
    /// compared it.
    fn rows_to_send(&mut self) -> Option<(Vec<StepRow>, u64)> {
        let at = self.emitted;
        if at >= self.recorded || self.compared.iter().any(|&done| done <= at) {
            return None;
        }
        let slot = self.step(at);
        let rows = slot
            .rows
            .iter_mut()
            .map(|row| row.take().expect("every lane compared the step"))
            .collect();
        let number = slot.plan.step;
        self.emitted += 1;
        self.leave();
        Some((rows, number))
    }

    /// Drops the oldest steps that every stream is done with.
    fn leave(&mut self) {
        while self.first < self.emitted && (!self.has_check || self.first < self.checked) {
            self.steps.pop_front();
            self.first += 1;
        }
    }

    /// Whether every stream has run every step.
    fn no_steps_left(&self) -> bool {
        self.recorded == self.total
            && (!self.has_check || self.checked == self.total)
            && self.compared.iter().all(|&done| done == self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AuditConfig, StepRow, StepSink, run as audit};
    use crate::Error;
    use clap::Parser;

    /// A small audit of three lanes with the reference's check, over 5 epochs (20 steps).
    fn config(threads: usize) -> AuditConfig {
        let threads = threads.to_string();
        let cli = crate::flags::Cli::parse_from([
            "precision-audit",
            "--epochs",
            "5",
            "--formats",
            "bf16,f32,f64",
            "--loss",
            "mse",
            "--verify-reference",
            "--threads",
            &threads,
        ]);
        crate::flags::audit_config(&cli.audit).expect("a valid audit")
    }

    /// Keeps the rows, and fails at its `fail_at`-th call.
    struct Rows {
        rows: Vec<StepRow>,
        calls: usize,
        fail_at: usize,
    }

    impl StepSink for Rows {
        fn rows(&mut self, rows: &[StepRow]) -> crate::Result<()> {
            self.calls += 1;
            if self.calls == self.fail_at {
                return Err(Error::Io {
                    path: "steps.csv".into(),
                    source: std::io::Error::from_raw_os_error(28),
                });
            }
            self.rows.extend_from_slice(rows);
            Ok(())
        }
    }

    /// Whatever the number of threads, the sink gets one call per step, in step order, with one
    /// row per lane in lane order, progress follows every step, and the findings are the same
    /// (compared as text: a NaN is not equal to itself).
    #[test]
    fn rows_reach_the_sink_in_step_order_and_alike_on_any_number_of_threads() {
        let mut seen = Vec::new();
        for threads in [1, 2, 5] {
            let mut sink = Rows {
                rows: Vec::new(),
                calls: 0,
                fail_at: 0,
            };
            let mut progress = Vec::new();
            let result = audit(&config(threads), &mut sink, &mut |done, total| {
                progress.push((done, total))
            })
            .expect("the audit runs");
            let total = result.steps;
            assert!(total > 10, "{total} steps");
            assert_eq!(
                progress,
                (1..=total).map(|s| (s, total)).collect::<Vec<_>>()
            );
            assert_eq!(sink.calls as u64, total);
            let order: Vec<(u64, String)> = sink
                .rows
                .iter()
                .map(|row| (row.step, row.lane.to_string()))
                .collect();
            let expected: Vec<(u64, String)> = (1..=total)
                .flat_map(|s| ["bf16", "f32", "f64"].map(|lane| (s, lane.to_string())))
                .collect();
            assert_eq!(order, expected, "{threads} threads");
            let check = result.reference_check.as_ref().expect("a check");
            assert!(check.max_loss_rel_diff > 0.0 && check.max_loss_rel_diff < 1e-20);
            seen.push(format!("{:?} {:?}", sink.rows, result));
        }
        assert!(seen[1] == seen[0], "--threads 2 differs from 1");
        assert!(seen[2] == seen[0], "--threads 5 differs from 1");
    }

    /// A sink's error (a full disk) stops the run on every thread and is what the audit returns;
    /// no row after it is sent.
    #[test]
    fn a_sink_error_stops_every_thread_and_is_returned() {
        for threads in [1, 2, 5] {
            let mut sink = Rows {
                rows: Vec::new(),
                calls: 0,
                fail_at: 3,
            };
            let mut progress = 0;
            let failed = audit(&config(threads), &mut sink, &mut |_, _| progress += 1)
                .expect_err("the sink's error stops the audit");
            assert!(
                failed.to_string().contains("No space left on device"),
                "{failed}"
            );
            assert_eq!((sink.calls, progress, sink.rows.len()), (3, 2, 6));
        }
    }
}
