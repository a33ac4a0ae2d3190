//! Runs independent tasks (each lane's report and the reference's loss over the whole data set
//! at the end of an audit) on worker threads. No task shares mutable state with another, so
//! which thread runs which task, and when, changes no bit.

use std::panic::resume_unwind;
use std::sync::{Mutex, PoisonError};

/// One unit of work: it owns (or borrows mutably) everything it writes.
pub type Task<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Runs every task on up to `threads` threads (the calling thread is one of them). Tasks start
/// in the order given, each on the first thread that is free: give the longest first.
pub fn run_all(threads: usize, tasks: Vec<Task<'_>>) {
    let workers = threads.min(tasks.len()).max(1);
    let queue = Mutex::new(tasks.into_iter());
    let work = || {
        loop {
            // The guard is a temporary of this statement: the queue is unlocked while a task runs.
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some(task) = next else {
                return;
            };
            task();
        }
    };
    if workers == 1 {
        return work();
    }
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        work();
        for helper in helpers {
            if let Err(panic) = helper.join() {
                resume_unwind(panic);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

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
}
