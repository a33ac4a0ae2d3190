//! Snapshots of small, stable study outputs: the sweep table and summary of a short sweep, the
//! order study's table, and the default job's advice.csv.

use crate::common::{Run, default_job};
use crate::snapshot;

/// `--epochs 5 --seeds 4`: 20 steps per seed, four seeds (42..=45).
fn small_sweep() -> &'static Run {
    static SWEEP: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    SWEEP.get_or_init(|| Run::ok(&["--epochs", "5", "--seeds", "4"]))
}

#[test]
fn sweep_table() {
    let run = small_sweep();
    // What the snapshot shows, said out loud: f16 diverges (Adam's eps = 1e-7 is a subnormal in
    // f16), the others are within seed noise.
    assert!(
        run.outcome
            .stdout
            .contains("f16 diverged (inf or NaN loss) in 4 of 4 seeds")
    );
    snapshot("sweep__table", &run.command(), &run.outcome.stdout);
}

#[test]
fn sweep_summary_csv() {
    let run = small_sweep();
    snapshot(
        "sweep__summary_csv",
        &format!("{} --csv DIR: sweep_summary.csv", run.command()),
        run.file("sweep_summary.csv"),
    );
}

#[test]
fn orders_table() {
    let run = Run::ok(&["--epochs", "5", "--orders", "3"]);
    assert!(
        run.outcome
            .stdout
            .contains("bf16's loss does not move with the summation order"),
        "bf16 accumulates in f32 and rounds the order away"
    );
    snapshot("orders__table", &run.command(), &run.outcome.stdout);
}

#[test]
fn default_advice_csv() {
    let job = default_job();
    snapshot(
        "default__advice_csv",
        &format!("{} --csv DIR: advice.csv", job.command()),
        job.file("advice.csv"),
    );
}
