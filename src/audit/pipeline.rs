//! Runs the independent tasks of one audit step (the reference's next step, each lane's step
//! against the reference's current one) on worker threads. No task shares mutable state with
//! another, so which thread runs which task, and when, changes no bit.

use std::panic::resume_unwind;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One unit of work: it owns (or borrows mutably) everything it writes.
pub type Task<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Runs every task on up to `threads` threads (the calling thread is one of them). Tasks start
/// in the order given, each on the first thread that is free: give the longest first.
pub fn run_all(threads: usize, tasks: Vec<Task<'_>>) {
    run_timed(threads, tasks.into_iter().map(|task| (0, task)).collect());
}

/// As [`run_all`], and how long each task took, with the key it came with.
fn run_timed(threads: usize, tasks: Vec<(usize, Task<'_>)>) -> Vec<(usize, Duration)> {
    let workers = threads.min(tasks.len()).max(1);
    let queue = Mutex::new(tasks.into_iter());
    let work = || {
        let mut took = Vec::new();
        loop {
            // The guard is a temporary of this statement: the queue is unlocked while a task runs.
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((key, task)) = next else {
                return took;
            };
            let start = Instant::now();
            task();
            took.push((key, start.elapsed()));
        }
    };
    if workers == 1 {
        return work();
    }
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut took = work();
        for helper in helpers {
            match helper.join() {
                Ok(times) => took.extend(times),
                Err(panic) => resume_unwind(panic),
            }
        }
        took
    })
}

/// How long each kind of task took last time (the reference's step, each lane's step): the
/// order to start them in next time, longest first, so that the threads finish a step
/// together. Timing decides only the order, never a value.
#[derive(Clone, Debug, Default)]
pub struct Costs(Vec<Duration>);

impl Costs {
    /// Runs `tasks`, each with its key, longest last time first (ties in key order); records
    /// how long each took.
    pub fn run(&mut self, threads: usize, mut tasks: Vec<(usize, Task<'_>)>) {
        let cost = |costs: &[Duration], key: usize| costs.get(key).copied().unwrap_or_default();
        tasks.sort_by(|(a, _), (b, _)| cost(&self.0, *b).cmp(&cost(&self.0, *a)).then(a.cmp(b)));
        for (key, took) in run_timed(threads, tasks) {
            if self.0.len() <= key {
                self.0.resize(key + 1, Duration::ZERO);
            }
            self.0[key] = took;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every task runs exactly once, whatever the number of threads, and a task's writes are
    /// there after the call.
    #[test]
    fn every_task_runs_once_on_any_number_of_threads() {
        for threads in [1, 2, 3, 8] {
            let runs = AtomicUsize::new(0);
            let mut out = vec![0usize; 7];
            let tasks: Vec<Task<'_>> = out
                .iter_mut()
                .enumerate()
                .map(|(i, slot)| {
                    let runs = &runs;
                    Box::new(move || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        *slot = i * i;
                    }) as Task<'_>
                })
                .collect();
            run_all(threads, tasks);
            assert_eq!(runs.load(Ordering::SeqCst), 7, "{threads} threads");
            assert_eq!(out, [0, 1, 4, 9, 16, 25, 36], "{threads} threads");
        }
    }

    /// A panic in a task on a helper thread reaches the caller with its own message.
    #[test]
    fn a_panicking_task_panics_the_caller_with_its_message() {
        let tasks: Vec<Task<'_>> = vec![
            Box::new(|| std::thread::sleep(Duration::from_millis(50))),
            Box::new(|| panic!("lane 2 failed")),
        ];
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_all(2, tasks)))
            .expect_err("the panic reaches the caller");
        let message = caught
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| caught.downcast_ref::<String>().map(String::as_str));
        assert_eq!(message, Some("lane 2 failed"));
    }

    /// Tasks start longest (last time) first, ties in key order: with one thread, the order
    /// they run in is that order.
    #[test]
    fn tasks_start_longest_first_with_ties_in_key_order() {
        let mut costs = Costs(vec![
            Duration::from_millis(3),
            Duration::from_millis(9),
            Duration::from_millis(3),
            Duration::from_millis(5),
        ]);
        let ran = Mutex::new(Vec::new());
        let tasks = (0..5)
            .map(|key| {
                let ran = &ran;
                (
                    key,
                    Box::new(move || ran.lock().unwrap().push(key)) as Task<'_>,
                )
            })
            .collect();
        costs.run(1, tasks);
        // Key 4 has no cost yet (zero): last.
        assert_eq!(*ran.lock().unwrap(), [1, 3, 0, 2, 4]);
        assert_eq!(costs.0.len(), 5, "every task's time is recorded");
    }
}
