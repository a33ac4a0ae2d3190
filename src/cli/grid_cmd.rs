//! `--grid KEY=V1,V2,…`: every grid point × `--seeds N`, on this machine or, with `--shard K/N`
//! (or a Slurm array's or Kubernetes Indexed Job's environment), only this shard's tasks into
//! a directory that `merge` reassembles. As in the audit, the `--csv` directory is checked
//! before the tasks run, and the report is printed before the files are committed.

use std::ffi::OsString;
use std::io::Write;

use crate::error::Error;
use crate::flags::grid::{grid_points, parse_grid};
use crate::flags::{AuditArgs, audit_config, shard};
use crate::report::CsvDir;
use crate::report::grid_report::{
    GRID_FILES, GridPlan, SHARD_FILES, ShardFacts, fnv1a, point_config_rows, render_grid,
    render_shard, stage_grid, stage_shard,
};
use crate::study::grid::{PointAudit, Task, TaskRun, run_tasks, summarize_grid, tasks};

use super::progress::Progress;
use super::study_cmd::output;

/// Runs the grid of `args` (`argv`: the whole command line, which each point extends).
pub fn grid(args: &AuditArgs, argv: &[OsString], stdout: &mut dyn Write) -> Result<u8, Error> {
    // The command line as given must be a valid audit before any point is.
    audit_config(args)?;
    let grid = parse_grid(&args.grid)?;
    let selected = shard::select(args.shard.as_deref(), args.shard_count, &|name| {
        std::env::var(name).ok()
    })?;
    if let (Some(selected), None) = (&selected, &args.csv) {
        return Err(Error::InvalidFlag {
            flag: "--csv".into(),
            message: format!(
                "shard {} (selected by {}) writes its results into a directory for `precision-audit merge`: give --csv DIR",
                selected.shard, selected.by
            ),
        });
    }
    let points = grid_points(argv, &grid)?;
    let audits: Vec<PointAudit> = points.iter().map(|p| p.audit.clone()).collect();
    let plan = GridPlan {
        keys: grid.keys().iter().map(|k| k.to_string()).collect(),
        points: points.iter().map(|p| p.values.clone()).collect(),
        config: point_config_rows(audits.iter().map(|a| &a.config)),
        tasks: tasks(&audits, args.seeds.unwrap_or(1) as usize),
    };
    let threads = args.threads as usize;
    let Some(selected) = selected else {
        let mut files = output(args, &GRID_FILES)?;
        let runs = run_with_progress(&audits, &plan.tasks, threads)?;
        let summary = summarize_grid(plan.points.len(), &runs);
        if let Some(files) = files.as_mut() {
            stage_grid(files, &plan, &runs, &summary)?;
        }
        super::print(stdout, &render_grid(args.output, &plan, &runs, &summary))?;
        files.map_or(Ok(()), CsvDir::commit)?;
        return Ok(0);
    };
    let mut files = output(args, &SHARD_FILES)?.expect("a shard has --csv");
    let mine: Vec<Task> = plan
        .tasks
        .iter()
        .filter(|t| selected.shard.owns(t.index))
        .copied()
        .collect();
    let runs = run_with_progress(&audits, &mine, threads)?;
    let facts = ShardFacts {
        shard: selected.shard.index,
        shards: selected.shard.count,
        selected_by: selected.by.clone(),
        tasks: plan.tasks.len(),
        shard_tasks: mine.len(),
        task_list_fnv1a: fnv1a(&plan.tasks_csv()),
        config_fnv1a: fnv1a(&plan.config_csv()),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    stage_shard(&mut files, &plan, &runs, &facts)?;
    let dir = args.csv.as_deref().unwrap_or(std::path::Path::new("."));
    super::print(
        stdout,
        &render_shard(args.output, &plan, &runs, &facts, dir),
    )?;
    files.commit()?;
    Ok(0)
}

/// Runs `tasks`, showing "task k/n" on stderr when it is a terminal.
fn run_with_progress(
    audits: &[PointAudit],
    tasks: &[Task],
    threads: usize,
) -> Result<Vec<TaskRun>, Error> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    let progress = Mutex::new(Progress::counting("task"));
    let finished = AtomicU64::new(0);
    let total = tasks.len() as u64;
    let runs = run_tasks(audits, tasks, threads, &|| {
        let done = finished.fetch_add(1, Ordering::Relaxed) + 1;
        progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .update(done, total);
    });
    progress.lock().unwrap_or_else(|p| p.into_inner()).finish();
    runs
}
