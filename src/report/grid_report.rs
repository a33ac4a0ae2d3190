//! The grid's tables, each defined once — `grid.csv` (point × lane), `grid_runs.csv` (task ×
//! lane), `grid_tasks.csv` (the canonical task list), `grid_config.csv` (every point's
//! configuration) and a shard's `shard.csv` — and the terminal report: rows are grid points,
//! columns lanes, cells the drift or where the loss turned inf or NaN.

use std::fmt::Write;

use serde_json::json;

use crate::audit::{AuditConfig, EventKind};
use crate::data::digest::Fnv1a;
use crate::error::Error;
use crate::report::Output;
use crate::report::audit_tables::{ConfigRow, config, config_rows};
use crate::report::files::CsvDir;
use crate::report::schema::{Cell, Column, Schema, Style};
use crate::study::Significance;
use crate::study::grid::{LaneCell, PointSummary, Task, TaskRun};

/// The files of a grid run on one machine, and of `merge`.
pub const GRID_FILES: [&str; 4] = [
    "grid.csv",
    "grid_runs.csv",
    "grid_tasks.csv",
    "grid_config.csv",
];

/// The files of one shard.
pub const SHARD_FILES: [&str; 4] = [
    "grid_runs.csv",
    "grid_tasks.csv",
    "grid_config.csv",
    "shard.csv",
];

/// Everything a grid run knows besides its results: the keys, each point's values and
/// configuration, and the task list.
#[derive(Clone, Debug, PartialEq)]
pub struct GridPlan {
    /// The grid's keys, in order.
    pub keys: Vec<String>,
    /// Each point's values, one per key.
    pub points: Vec<Vec<String>>,
    /// Each point's configuration as `grid_config.csv` writes it.
    pub config: Vec<PointConfigRow>,
    /// Every task, in the canonical order.
    pub tasks: Vec<Task>,
}

/// A row of `grid_config.csv`: a point, a configuration key and its value.
pub type PointConfigRow = (usize, String, String);

/// The rows of `grid_config.csv` for these points' audits (config.csv's rows, point by point).
pub fn point_config_rows<'a>(
    configs: impl IntoIterator<Item = &'a AuditConfig>,
) -> Vec<PointConfigRow> {
    configs
        .into_iter()
        .enumerate()
        .flat_map(|(point, c)| {
            config_rows(c)
                .into_iter()
                .map(move |(key, value): ConfigRow| (point, key.to_string(), value))
        })
        .collect()
}

impl GridPlan {
    /// The values of point `point`.
    fn values(&self, point: usize) -> &[String] {
        &self.points[point]
    }

    /// `eps=1e-8 lr=0.1`: a point as the report names it.
    pub fn label(&self, point: usize) -> String {
        self.keys
            .iter()
            .zip(self.values(point))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `task 5 (eps=1e-4 seed=43)`: a task as messages name it.
    pub fn task_label(&self, task: &Task) -> String {
        let point = self.label(task.point);
        let sep = if point.is_empty() { "" } else { " " };
        format!("task {} ({point}{sep}seed={})", task.index, task.seed)
    }

    /// The reference the points are compared with, from their configuration.
    fn reference(&self) -> String {
        let mut names: Vec<&str> = self
            .config
            .iter()
            .filter(|(_, key, _)| key == "reference")
            .map(|(_, _, value)| value.as_str())
            .collect();
        names.dedup();
        match names.as_slice() {
            [one] => format!("the reference {one}"),
            _ => "each point's reference (grid_config.csv)".into(),
        }
    }

    /// `grid_tasks.csv` as written.
    pub fn tasks_csv(&self) -> String {
        grid_tasks(&self.keys).csv_text(&self.task_rows())
    }

    /// `grid_config.csv` as written.
    pub fn config_csv(&self) -> String {
        grid_config().csv_text(&self.config)
    }

    fn task_rows(&self) -> Vec<TaskRow<'_>> {
        self.tasks
            .iter()
            .map(|task| TaskRow {
                task,
                values: self.values(task.point),
            })
            .collect()
    }

    fn run_rows<'a>(&'a self, runs: &'a [TaskRun]) -> Vec<RunRow<'a>> {
        runs.iter()
            .flat_map(|run| {
                (0..run.run.formats.len()).map(move |lane| RunRow {
                    run,
                    lane,
                    values: self.values(run.task.point),
                })
            })
            .collect()
    }

    fn cell_rows<'a>(&'a self, summary: &'a [PointSummary]) -> Vec<CellRow<'a>> {
        summary
            .iter()
            .flat_map(|point| {
                (0..point.lanes.len()).map(move |lane| CellRow {
                    point,
                    lane,
                    values: self.values(point.point),
                })
            })
            .collect()
    }
}

/// A row of `grid_tasks.csv`.
pub struct TaskRow<'a> {
    task: &'a Task,
    values: &'a [String],
}

/// A row of `grid_runs.csv`: one lane of one task.
pub struct RunRow<'a> {
    run: &'a TaskRun,
    lane: usize,
    values: &'a [String],
}

/// A row of `grid.csv`: one lane of one point.
pub struct CellRow<'a> {
    point: &'a PointSummary,
    lane: usize,
    values: &'a [String],
}

impl CellRow<'_> {
    fn cell(&self) -> &LaneCell {
        &self.point.lanes[self.lane]
    }
}

/// A column per grid key, named after it, holding the point's value as typed.
fn key_columns<'s, R: 's>(keys: &[String], values: fn(&R) -> &[String]) -> Vec<Column<'s, R>> {
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            Column::new(key.clone(), key.clone(), "", Style::Plain, move |r: &R| {
                Cell::Text(values(r)[i].clone())
            })
        })
        .collect()
}

/// A column per event kind.
fn event_columns<'s, R: 's>(events: fn(&R) -> crate::audit::EventCounts) -> Vec<Column<'s, R>> {
    EventKind::ALL
        .into_iter()
        .map(|kind| {
            Column::new(kind.name(), kind.name(), "", Style::Plain, move |r: &R| {
                events(r).get(kind)
            })
        })
        .collect()
}

/// `grid_tasks.csv`: the canonical task list (task, point, the point's values, seed).
pub fn grid_tasks<'s>(keys: &[String]) -> Schema<'s, TaskRow<'s>> {
    let mut columns = vec![
        Column::new("task", "task", "", Style::Plain, |r: &TaskRow| r.task.index),
        Column::new("point", "point", "", Style::Plain, |r: &TaskRow| {
            r.task.point
        }),
    ];
    columns.extend(key_columns(keys, |r: &TaskRow| r.values));
    columns.push(Column::new(
        "seed",
        "seed",
        "",
        Style::Plain,
        |r: &TaskRow| r.task.seed,
    ));
    Schema::new(columns)
}

/// `grid_runs.csv`: one row per task × lane.
pub fn grid_runs<'s>(keys: &[String]) -> Schema<'s, RunRow<'s>> {
    let mut columns = vec![
        Column::new("task", "task", "", Style::Plain, |r: &RunRow| {
            r.run.task.index
        }),
        Column::new("point", "point", "", Style::Plain, |r: &RunRow| {
            r.run.task.point
        }),
    ];
    columns.extend(key_columns(keys, |r: &RunRow| r.values));
    columns.extend([
        Column::new("seed", "seed", "", Style::Plain, |r: &RunRow| {
            r.run.task.seed
        }),
        Column::new("format", "format", "", Style::Plain, |r: &RunRow| {
            r.run.run.formats[r.lane].lane.to_string()
        }),
        Column::new(
            "final_loss",
            "final loss",
            "loss",
            Style::Sci,
            |r: &RunRow| r.run.run.formats[r.lane].final_loss,
        ),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |r: &RunRow| r.run.run.reference_loss,
        ),
        Column::new("drift", "drift", "loss", Style::Sci, |r: &RunRow| {
            r.run.run.formats[r.lane].drift
        }),
        Column::new(
            "rel_drift",
            "rel drift",
            "relative",
            Style::Sci,
            |r: &RunRow| r.run.run.formats[r.lane].rel_drift,
        ),
        Column::new(
            "first_nonfinite_step",
            "nonfinite@",
            "step",
            Style::Plain,
            |r: &RunRow| r.run.run.formats[r.lane].first_nonfinite_step,
        ),
    ]);
    columns.extend(event_columns(|r: &RunRow| r.run.events[r.lane]));
    Schema::new(columns)
}

/// `grid.csv`: one row per point × lane, over the point's seeds.
pub fn grid<'s>(keys: &[String]) -> Schema<'s, CellRow<'s>> {
    let mut columns = vec![Column::new(
        "point",
        "point",
        "",
        Style::Plain,
        |r: &CellRow| r.point.point,
    )];
    columns.extend(key_columns(keys, |r: &CellRow| r.values));
    columns.extend([
        Column::new("format", "format", "", Style::Plain, |r: &CellRow| {
            r.cell().sweep.lane.to_string()
        }),
        Column::new("seeds", "seeds", "", Style::Plain, |r: &CellRow| {
            r.point.seeds
        }),
        Column::new(
            "nonfinite_seeds",
            "nonfinite seeds",
            "",
            Style::Plain,
            |r: &CellRow| r.cell().sweep.nonfinite_seeds,
        ),
        Column::new(
            "first_nonfinite_step",
            "nonfinite@",
            "step",
            Style::Plain,
            |r: &CellRow| r.cell().first_nonfinite_step,
        ),
        Column::new(
            "final_loss",
            "mean loss",
            "loss",
            Style::Sci,
            |r: &CellRow| r.cell().sweep.loss.mean,
        ),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |r: &CellRow| r.cell().sweep.reference.mean,
        ),
        Column::new("drift", "mean drift", "loss", Style::Sci, |r: &CellRow| {
            r.cell().sweep.drift.mean
        }),
        Column::new(
            "rel_drift",
            "mean rel drift",
            "relative",
            Style::Sci,
            |r: &CellRow| r.cell().rel_drift,
        ),
    ]);
    columns.extend(event_columns(|r: &CellRow| r.cell().events));
    columns.extend([
        Column::new("p_value", "p", "", Style::Sci, |r: &CellRow| {
            r.cell().sweep.drift.p_value
        }),
        Column::new(
            "ratio_to_noise",
            "drift/noise",
            "",
            Style::Sci,
            |r: &CellRow| r.cell().sweep.drift.ratio_to_noise,
        ),
        Column::new(
            "significance",
            "finding",
            "",
            Style::Plain,
            |r: &CellRow| r.cell().sweep.significance.name(),
        ),
        Column::new("verdict", "verdict", "", Style::Plain, |r: &CellRow| {
            r.cell().sweep.verdict.clone()
        }),
    ]);
    Schema::new(columns)
}

/// `grid_config.csv`: every point's configuration, as `config.csv` writes an audit's.
pub fn grid_config<'s>() -> Schema<'s, PointConfigRow> {
    Schema::new(vec![
        Column::new("point", "point", "", Style::Plain, |r: &PointConfigRow| r.0),
        Column::new("key", "key", "", Style::Plain, |r: &PointConfigRow| {
            r.1.clone()
        }),
        Column::new("value", "value", "", Style::Plain, |r: &PointConfigRow| {
            r.2.clone()
        }),
    ])
}

/// What a shard records about itself in `shard.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFacts {
    /// K.
    pub shard: u64,
    /// N.
    pub shards: u64,
    /// What chose the shard (`--shard 2/4`, `SLURM_ARRAY_TASK_ID=…`).
    pub selected_by: String,
    /// Tasks of the whole grid.
    pub tasks: usize,
    /// Tasks of this shard.
    pub shard_tasks: usize,
    /// FNV-1a of `grid_tasks.csv`.
    pub task_list_fnv1a: String,
    /// FNV-1a of `grid_config.csv`.
    pub config_fnv1a: String,
    /// The precision-audit version that ran the shard: shards of different versions may
    /// compute different bits and are not merged.
    pub version: String,
}

impl ShardFacts {
    /// The rows of `shard.csv`.
    pub fn rows(&self) -> Vec<ConfigRow> {
        vec![
            ("shard", self.shard.to_string()),
            ("shards", self.shards.to_string()),
            ("selected_by", self.selected_by.clone()),
            ("tasks", self.tasks.to_string()),
            ("shard_tasks", self.shard_tasks.to_string()),
            ("task_list_fnv1a", self.task_list_fnv1a.clone()),
            ("config_fnv1a", self.config_fnv1a.clone()),
            ("version", self.version.clone()),
        ]
    }
}

/// `shard.csv`: key, value (shard, shards, selected_by, tasks, shard_tasks, task_list_fnv1a,
/// config_fnv1a, version).
pub fn shard<'s>() -> Schema<'s, ConfigRow> {
    config()
}

/// FNV-1a of a text, as manifests write it.
pub fn fnv1a(text: &str) -> String {
    let mut hash = Fnv1a::new();
    hash.update(text.as_bytes());
    hash.hex()
}

/// Stages a whole grid's files; the caller commits them.
pub fn stage_grid(
    files: &mut CsvDir,
    plan: &GridPlan,
    runs: &[TaskRun],
    summary: &[PointSummary],
) -> Result<(), Error> {
    let [grid_file, runs_file, tasks_file, config_file] = GRID_FILES;
    files.table(grid_file, &grid(&plan.keys), &plan.cell_rows(summary))?;
    files.table(runs_file, &grid_runs(&plan.keys), &plan.run_rows(runs))?;
    files.text(tasks_file, &plan.tasks_csv())?;
    files.text(config_file, &plan.config_csv())
}

/// Stages one shard's files; the caller commits them.
pub fn stage_shard(
    files: &mut CsvDir,
    plan: &GridPlan,
    runs: &[TaskRun],
    facts: &ShardFacts,
) -> Result<(), Error> {
    let [runs_file, tasks_file, config_file, shard_file] = SHARD_FILES;
    files.table(runs_file, &grid_runs(&plan.keys), &plan.run_rows(runs))?;
    files.text(tasks_file, &plan.tasks_csv())?;
    files.text(config_file, &plan.config_csv())?;
    files.table(shard_file, &shard(), &facts.rows())
}

/// What the terminal writes for a lane at a point: `NaN@3` when its loss ended NaN (inf@3 for
/// inf; the step is the first whose batch loss was not finite; `(2/8)` when not every seed
/// did), else the mean relative drift, with the seed study's finding when there are seeds to
/// compare.
fn cell_text(cell: &LaneCell, seeds: usize) -> String {
    if cell.sweep.nonfinite_seeds > 0 {
        let what = match cell.nonfinite_loss {
            Some(x) if x.is_infinite() => "inf",
            _ => "NaN",
        };
        let at = cell
            .first_nonfinite_step
            .map_or(String::new(), |s| format!("@{s}"));
        let share = if cell.sweep.nonfinite_seeds < seeds {
            format!(" ({}/{seeds})", cell.sweep.nonfinite_seeds)
        } else {
            String::new()
        };
        return format!("{what}{at}{share}");
    }
    let drift = Style::Sci.text(&Cell::Number(cell.rel_drift));
    match cell.sweep.significance {
        Significance::Arithmetic => format!("{drift} arith"),
        Significance::WithinNoise => format!("{drift} noise"),
        _ => drift,
    }
}

/// The lanes over all points, in first-seen order (a grid over `formats` varies them).
fn lane_names(summary: &[PointSummary]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for point in summary {
        for cell in &point.lanes {
            let name = cell.sweep.lane.to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The terminal table: a row per point (its values), a column per lane.
fn overview<'s>(keys: &[String], lanes: &[String]) -> Schema<'s, (&'s GridPlan, &'s PointSummary)> {
    type Row<'a> = (&'a GridPlan, &'a PointSummary);
    let mut columns: Vec<Column<'s, Row<'s>>> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            Column::new(
                key.clone(),
                key.clone(),
                "",
                Style::Plain,
                move |r: &Row| Cell::Text(r.0.points[r.1.point][i].clone()),
            )
        })
        .collect();
    if keys.is_empty() {
        columns.push(Column::new(
            "point",
            "point",
            "",
            Style::Plain,
            |r: &Row| r.1.point,
        ));
    }
    for name in lanes {
        let lane = name.clone();
        columns.push(Column::new(
            name.clone(),
            name.clone(),
            "",
            Style::Plain,
            move |r: &Row| {
                r.1.lanes
                    .iter()
                    .find(|c| c.sweep.lane.to_string() == lane)
                    .map_or(Cell::Empty, |c| Cell::Text(cell_text(c, r.1.seeds)))
            },
        ));
    }
    Schema::new(columns)
}

/// The grid as the terminal shows it: the table, then per lane which points work.
pub fn grid_text(plan: &GridPlan, summary: &[PointSummary]) -> String {
    let mut out = String::new();
    let seeds = summary.first().map_or(0, |p| p.seeds);
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "precision-audit grid: {} × {} = {}, each a full audit against {}; the loss is over the whole data set after training\n",
        plural(plan.points.len(), "point"),
        plural(seeds, "seed"),
        plural(plan.tasks.len(), "task"),
        plan.reference(),
    );
    let _ = writeln!(
        out,
        "Cells: the relative drift of the final loss from the reference (mean over seeds); NaN@s or inf@s: the loss ended NaN or inf, first non-finite at step s{}.\n",
        if seeds > 1 {
            "; `noise`: within seed noise, `arith`: the arithmetic, not the seed, explains it (p < 0.05 and at least the seed-to-seed spread)"
        } else {
            ""
        }
    );
    let lanes = lane_names(summary);
    let rows: Vec<(&GridPlan, &PointSummary)> = summary.iter().map(|p| (plan, p)).collect();
    out.push_str(&overview(&plan.keys, &lanes).table(&rows).render());
    let _ = writeln!(out, "\nPer lane:");
    for name in &lanes {
        let mut groups: [(&str, Vec<String>); 4] = [
            ("within seed noise", Vec::new()),
            ("finite", Vec::new()),
            ("drifts beyond seed noise", Vec::new()),
            ("diverged (inf or NaN)", Vec::new()),
        ];
        for point in summary {
            let Some(cell) = point
                .lanes
                .iter()
                .find(|c| c.sweep.lane.to_string() == *name)
            else {
                continue;
            };
            let group = match cell.sweep.significance {
                Significance::WithinNoise => 0,
                Significance::Undetermined => 1,
                Significance::Arithmetic => 2,
                Significance::Diverged => 3,
            };
            let label = plan.label(point.point);
            groups[group].1.push(if label.is_empty() {
                format!("point {}", point.point)
            } else {
                label
            });
        }
        let said: Vec<String> = groups
            .iter()
            .filter(|(_, points)| !points.is_empty())
            .map(|(what, points)| format!("{what} at {}", points.join(", ")))
            .collect();
        let _ = writeln!(out, "  {name}: {}", said.join("; "));
    }
    out
}

/// The grid as `--output` asks for it.
pub fn render_grid(
    output: Output,
    plan: &GridPlan,
    runs: &[TaskRun],
    summary: &[PointSummary],
) -> String {
    match output {
        Output::Table => grid_text(plan, summary),
        Output::Csv => grid(&plan.keys).csv_text(&plan.cell_rows(summary)),
        Output::Json => crate::report::schema::json_text(&json!({
            "grid": grid(&plan.keys).json(&plan.cell_rows(summary)),
            "runs": grid_runs(&plan.keys).json(&plan.run_rows(runs)),
        })),
    }
}

/// What a shard prints: which shard, which tasks, where they went (`table`); `shard.csv`
/// (`csv`); its facts and runs (`json`).
pub fn render_shard(
    output: Output,
    plan: &GridPlan,
    runs: &[TaskRun],
    facts: &ShardFacts,
    dir: &std::path::Path,
) -> String {
    match output {
        Output::Table => {
            let numbers: Vec<String> = runs.iter().map(|r| r.task.index.to_string()).collect();
            format!(
                "precision-audit grid shard {}/{} (selected by {}): {} of {} tasks ({}) written to {}; merge the {} shard directories with `precision-audit merge`\n",
                facts.shard,
                facts.shards,
                facts.selected_by,
                facts.shard_tasks,
                facts.tasks,
                if numbers.is_empty() {
                    "none".to_string()
                } else {
                    numbers.join(", ")
                },
                dir.display(),
                facts.shards,
            )
        }
        Output::Csv => shard().csv_text(&facts.rows()),
        Output::Json => crate::report::schema::json_text(&json!({
            "shard": shard().json(&facts.rows()),
            "runs": grid_runs(&plan.keys).json(&plan.run_rows(runs)),
        })),
    }
}
