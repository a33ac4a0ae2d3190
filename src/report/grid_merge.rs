//! Reading shard directories back for `merge`: each verified against its `manifest.csv`, all
//! from one configuration and one split, every shard present once, every task of a shard
//! present once in its `grid_runs.csv` and nowhere else. What is refused names the directory,
//! the shard and the task.

use std::path::{Path, PathBuf};

use crate::audit::{EventCounts, EventKind};
use crate::error::Error;
use crate::report::grid_report::{GridPlan, PointConfigRow, SHARD_FILES, fnv1a};
use crate::report::saved::{Manifest, Table, read_table};
use crate::study::grid::{Shard, Task, TaskRun};
use crate::study::sweep::{SeedOutcome, SeedRun};
use crate::train::{LaneSpec, Policy};

/// One shard directory, read and verified.
pub struct ShardDir {
    /// The directory.
    pub dir: PathBuf,
    /// Which shard it says it is.
    pub shard: Shard,
    /// `grid_tasks.csv` as written.
    tasks_csv: String,
    /// `grid_config.csv` as written.
    config_csv: String,
    /// `grid_runs.csv`.
    runs: Table,
    /// The precision-audit version that wrote it.
    version: String,
}

fn refuse(dir: &Path, message: impl Into<String>) -> Error {
    Error::InvalidData {
        what: dir.display().to_string(),
        message: message.into(),
    }
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and verifies one shard directory.
pub fn read_shard(dir: &Path) -> Result<ShardDir, Error> {
    let manifest = Manifest::read(dir)?;
    if !manifest.files().any(|f| f == "shard.csv") {
        return Err(refuse(
            dir,
            "not a shard of a grid run: its manifest.csv lists no shard.csv (write shards with \
             --grid … --shard K/N --csv DIR)",
        ));
    }
    manifest.verify(&SHARD_FILES)?;
    let facts = read_table(dir, "shard.csv", &["key", "value"])?;
    let fact = |key: &str| -> Result<String, Error> {
        facts
            .rows
            .iter()
            .find(|r| r.get("key") == key)
            .map(|r| r.get("value").to_string())
            .ok_or_else(|| facts.bad(1, Some("key"), format!("no row `{key}`")))
    };
    let count = |key: &str| -> Result<u64, Error> {
        let text = fact(key)?;
        text.parse()
            .map_err(|_| refuse(&facts.path, format!("{key} is `{text}`, not a count")))
    };
    let (index, shards) = (count("shard")?, count("shards")?);
    if index == 0 || index > shards {
        return Err(refuse(&facts.path, format!("shard {index} of {shards}")));
    }
    let tasks_csv = read_text(&dir.join("grid_tasks.csv"))?;
    let config_csv = read_text(&dir.join("grid_config.csv"))?;
    for (key, text, file) in [
        ("task_list_fnv1a", &tasks_csv, "grid_tasks.csv"),
        ("config_fnv1a", &config_csv, "grid_config.csv"),
    ] {
        if fact(key)? != fnv1a(text) {
            return Err(refuse(
                dir,
                format!("shard.csv's {key} is not the checksum of its {file}"),
            ));
        }
    }
    let runs = read_table(dir, "grid_runs.csv", &["task", "seed", "format"])?;
    let version = fact("version")?;
    Ok(ShardDir {
        version,
        dir: dir.to_path_buf(),
        shard: Shard {
            index,
            count: shards,
        },
        tasks_csv,
        config_csv,
        runs,
    })
}

/// The header of a CSV text.
fn header(text: &str, path: &Path) -> Result<Vec<String>, Error> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        line: 1,
        column: None,
        message: format!("unreadable header: {e}"),
    })?;
    Ok(header.iter().map(str::to_string).collect())
}

/// The plan (keys, points, configuration, tasks) from a shard's `grid_tasks.csv` and
/// `grid_config.csv`.
fn plan_of(shard: &ShardDir) -> Result<GridPlan, Error> {
    let tasks_path = shard.dir.join("grid_tasks.csv");
    let columns = header(&shard.tasks_csv, &tasks_path)?;
    let well_formed = columns.len() >= 3
        && columns[0] == "task"
        && columns[1] == "point"
        && columns.last().is_some_and(|c| c == "seed");
    if !well_formed {
        return Err(refuse(
            &tasks_path,
            "its header is not task, point, the grid's keys, seed",
        ));
    }
    let keys: Vec<String> = columns[2..columns.len() - 1].to_vec();
    let table = read_table(&shard.dir, "grid_tasks.csv", &["task", "point", "seed"])?;
    let mut tasks = Vec::new();
    let mut points: Vec<Vec<String>> = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let task = Task {
            index: table.count(row, "task", false)?.unwrap_or_default() as usize,
            point: table.count(row, "point", false)?.unwrap_or_default() as usize,
            seed: table.count(row, "seed", false)?.unwrap_or_default(),
        };
        let values: Vec<String> = keys.iter().map(|k| row.get(k).to_string()).collect();
        if task.index != i || task.point > points.len() {
            return Err(table.bad(row.line, Some("task"), "tasks out of their canonical order"));
        }
        if task.point == points.len() {
            points.push(values);
        } else if points[task.point] != values {
            return Err(table.bad(row.line, None, "a point with two sets of values"));
        }
        tasks.push(task);
    }
    let config_table = read_table(&shard.dir, "grid_config.csv", &["point", "key", "value"])?;
    let mut config: Vec<PointConfigRow> = Vec::new();
    for row in &config_table.rows {
        let point = config_table.count(row, "point", false)?.unwrap_or_default() as usize;
        config.push((
            point,
            row.get("key").to_string(),
            row.get("value").to_string(),
        ));
    }
    Ok(GridPlan {
        keys,
        points,
        config,
        tasks,
    })
}

/// Where two configurations first differ, for the refusal of a foreign shard.
fn first_difference(ours: &GridPlan, theirs: &GridPlan) -> String {
    if ours.keys != theirs.keys {
        return format!(
            "grid keys {} here, {} there",
            theirs.keys.join(","),
            ours.keys.join(",")
        );
    }
    for (a, b) in ours.config.iter().zip(&theirs.config) {
        if a != b {
            return format!(
                "point {}, {} = {} here, {} = {} there",
                b.0, b.1, b.2, a.1, a.2
            );
        }
    }
    if ours.tasks.len() != theirs.tasks.len() {
        return format!(
            "{} tasks here, {} there",
            theirs.tasks.len(),
            ours.tasks.len()
        );
    }
    for (a, b) in ours.tasks.iter().zip(&theirs.tasks) {
        if a != b {
            return format!(
                "{} here, {} there",
                theirs.task_label(b),
                ours.task_label(a)
            );
        }
    }
    "the task lists differ".into()
}

/// Names up to five tasks, and how many more.
fn some_tasks(plan: &GridPlan, tasks: &[&Task]) -> String {
    let mut named: Vec<String> = tasks.iter().take(5).map(|t| plan.task_label(t)).collect();
    if tasks.len() > 5 {
        named.push(format!("and {} more", tasks.len() - 5));
    }
    named.join(", ")
}

/// The runs of one shard's `grid_runs.csv`, each task checked against the plan: one of this
/// shard's, once, with the point's values, its seed and one row per lane of its point.
fn shard_runs(shard: &ShardDir, plan: &GridPlan) -> Result<Vec<TaskRun>, Error> {
    let table = &shard.runs;
    let mut runs: Vec<TaskRun> = Vec::new();
    for row in &table.rows {
        let index = table.count(row, "task", false)?.unwrap_or_default() as usize;
        let Some(task) = plan.tasks.get(index) else {
            return Err(table.bad(
                row.line,
                Some("task"),
                format!(
                    "task {index} is not one of the grid's {} tasks",
                    plan.tasks.len()
                ),
            ));
        };
        if !shard.shard.owns(index) {
            return Err(table.bad(
                row.line,
                Some("task"),
                format!(
                    "{} belongs to shard {}, not to this shard {}",
                    plan.task_label(task),
                    Shard::of_task(index, shard.shard.count),
                    shard.shard
                ),
            ));
        }
        let values: Vec<&str> = plan.keys.iter().map(|k| row.get(k)).collect();
        let seed = table.count(row, "seed", false)?.unwrap_or_default();
        if values != plan.points[task.point] || seed != task.seed {
            return Err(table.bad(
                row.line,
                None,
                format!("its point or seed is not {}'s", plan.task_label(task)),
            ));
        }
        let name = row.get("format");
        let lane = LaneSpec::parse(name, Policy::Pure)
            .map_err(|e| table.bad(row.line, Some("format"), e.to_string()))?;
        let number = |column: &str| table.number(row, column);
        let outcome = SeedOutcome {
            lane,
            final_loss: number("final_loss")?,
            first_nonfinite_step: table.count(row, "first_nonfinite_step", true)?,
            drift: number("drift")?,
            rel_drift: number("rel_drift")?,
        };
        let mut events = EventCounts::default();
        for kind in EventKind::ALL {
            events.set(
                kind,
                table.count(row, kind.name(), false)?.unwrap_or_default(),
            );
        }
        let continues = runs.last().is_some_and(|r| r.task.index == index);
        if continues {
            let last = runs.last_mut().expect("a run to continue");
            last.run.formats.push(outcome);
            last.events.push(events);
            continue;
        }
        if runs.iter().any(|r| r.task.index == index) {
            return Err(table.bad(
                row.line,
                Some("task"),
                format!("{} is in this file twice", plan.task_label(task)),
            ));
        }
        runs.push(TaskRun {
            task: *task,
            run: SeedRun {
                seed,
                reference_loss: number("reference_loss")?,
                formats: vec![outcome],
            },
            events: vec![events],
        });
    }
    let mine: Vec<&Task> = plan
        .tasks
        .iter()
        .filter(|t| shard.shard.owns(t.index))
        .collect();
    let missing: Vec<&Task> = mine
        .iter()
        .copied()
        .filter(|t| !runs.iter().any(|r| r.task.index == t.index))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            &shard.dir,
            format!("shard {} lacks {}", shard.shard, some_tasks(plan, &missing)),
        ));
    }
    for run in &runs {
        let lanes: Vec<String> = run.run.formats.iter().map(|f| f.lane.to_string()).collect();
        let expected = plan
            .config
            .iter()
            .find(|(p, key, _)| *p == run.task.point && key == "formats")
            .map(|(_, _, v)| v.clone());
        if expected.is_some_and(|e| e != lanes.join(",")) {
            return Err(refuse(
                &shard.dir,
                format!(
                    "{} has the lanes {}, not its point's",
                    plan.task_label(&run.task),
                    lanes.join(",")
                ),
            ));
        }
    }
    Ok(runs)
}

/// The grid's plan and every task's run, in task order, from the shard directories `dirs`.
pub fn merge_shards(dirs: &[PathBuf]) -> Result<(GridPlan, Vec<TaskRun>), Error> {
    let shards: Vec<ShardDir> = dirs
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<_, _>>()?;
    let first = shards
        .first()
        .ok_or_else(|| refuse(Path::new("merge"), "no directories"))?;
    let plan = plan_of(first)?;
    for other in &shards[1..] {
        if other.shard.count != first.shard.count {
            return Err(refuse(
                &other.dir,
                format!(
                    "shard {} of a split into {} shards, but {} is shard {} of {}: not the same \
                     split",
                    other.shard,
                    other.shard.count,
                    first.dir.display(),
                    first.shard,
                    first.shard.count
                ),
            ));
        }
        if other.version != first.version {
            return Err(refuse(
                &other.dir,
                format!(
                    "shard {} was written by precision-audit {}, {} by {}: versions may differ in \
                     their bits, so their shards are not merged",
                    other.shard,
                    other.version,
                    first.dir.display(),
                    first.version
                ),
            ));
        }
        if other.config_csv != first.config_csv || other.tasks_csv != first.tasks_csv {
            let theirs = plan_of(other)?;
            return Err(refuse(
                &other.dir,
                format!(
                    "shard {} comes from another configuration than {} (shard {}): {}",
                    other.shard,
                    first.dir.display(),
                    first.shard,
                    first_difference(&plan, &theirs)
                ),
            ));
        }
    }
    let count = first.shard.count;
    for (i, a) in shards.iter().enumerate() {
        if let Some(b) = shards[..i].iter().find(|b| b.shard == a.shard) {
            return Err(refuse(
                &a.dir,
                format!(
                    "shard {} is given twice: {} and {}",
                    a.shard,
                    b.dir.display(),
                    a.dir.display()
                ),
            ));
        }
    }
    let missing: Vec<Shard> = (1..=count)
        .map(|index| Shard { index, count })
        .filter(|s| !shards.iter().any(|d| d.shard == *s))
        .collect();
    if let Some(shard) = missing.first() {
        let tasks: Vec<&Task> = plan.tasks.iter().filter(|t| shard.owns(t.index)).collect();
        let also = if missing.len() > 1 {
            format!(
                " (also missing: {})",
                missing[1..]
                    .iter()
                    .map(Shard::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        let holds = if tasks.is_empty() {
            "no tasks".to_string()
        } else {
            some_tasks(&plan, &tasks)
        };
        return Err(Error::InvalidData {
            what: "merge".into(),
            message: format!(
                "shard {shard} is missing{also}: no directory given holds it; it runs {holds}"
            ),
        });
    }
    let mut runs: Vec<TaskRun> = Vec::with_capacity(plan.tasks.len());
    for shard in &shards {
        runs.extend(shard_runs(shard, &plan)?);
    }
    runs.sort_by_key(|r| r.task.index);
    Ok((plan, runs))
}
