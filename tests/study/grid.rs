//! Grids (`--grid KEY=V1,V2 --seeds N`), shards (`--shard K/N`, Slurm's and Kubernetes'
//! environment) and `merge`: merged shards are byte-identical to the grid run on one machine
//! for N = 1, 2, 3 and 7 (7 > the 6 tasks: an empty shard), and every way a set of shards can
//! be incomplete or mixed is refused with exit 2, naming the directory, shard and task.

use std::path::Path;
use std::process::Command;

use crate::support::{Outcome, Scratch, Table, entries};

/// A small grid: 2 × 1 points, 3 seeds each, 6 tasks.
const GRID: [&str; 10] = [
    "--loss",
    "relative",
    "--grid",
    "eps=1e-8,1e-2",
    "--grid",
    "batch-size=50",
    "--seeds",
    "3",
    "--epochs",
    "3",
];

/// The variables that select a shard from the environment.
const SHARD_VARIABLES: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "SLURM_ARRAY_TASK_COUNT",
    "JOB_COMPLETION_INDEX",
];

/// Runs the binary with `args` and exactly the shard variables `vars` (the test's own
/// environment, under a real Slurm job, must not pick a shard).
fn run_env(args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_precision-audit"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in SHARD_VARIABLES {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    let output = command.output().expect("the binary starts");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8"),
    }
}

#[track_caller]
fn ok(args: &[&str], vars: &[(&str, &str)]) -> String {
    let out = run_env(args, vars);
    assert_eq!(out.code, Some(0), "`{}`: {}", args.join(" "), out.stderr);
    out.stdout
}

#[track_caller]
fn refused(args: &[&str]) -> String {
    let out = run_env(args, &[]);
    assert_eq!(
        out.code,
        Some(2),
        "`{}` exits 2: {}",
        args.join(" "),
        out.stderr
    );
    assert_eq!(out.stdout, "", "no report");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr
}

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    [base, more].concat()
}

/// Every file of a directory, name → bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    entries(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).expect("readable");
            (name, bytes)
        })
        .collect()
}

/// Writes the N shards of `GRID` into `scratch/shard-K` and returns their paths.
fn shards(scratch: &Scratch, count: u64) -> Vec<String> {
    (1..=count)
        .map(|k| {
            let dir = scratch
                .join(&format!("shard-{k}"))
                .to_string_lossy()
                .into_owned();
            let shard = format!("{k}/{count}");
            let said = ok(&with(&GRID, &["--shard", &shard, "--csv", &dir]), &[]);
            assert!(said.contains(&format!("grid shard {shard}")), "{said}");
            dir
        })
        .collect()
}

/// The grid on one machine: its report and files.
fn single(scratch: &Scratch) -> (String, Vec<(String, Vec<u8>)>) {
    let dir = scratch.join("single");
    let report = ok(&with(&GRID, &["--csv", &dir.to_string_lossy()]), &[]);
    (report, files(&dir))
}

#[test]
fn merged_shards_are_byte_identical_to_one_machine() {
    let scratch = Scratch::dir("grid-merge");
    let (report, expected) = single(&scratch);
    let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "grid.csv",
            "grid_config.csv",
            "grid_runs.csv",
            "grid_tasks.csv",
            "manifest.csv"
        ]
    );
    for count in [1, 2, 3, 7] {
        let run = Scratch::dir(&format!("grid-merge-{count}"));
        let mut dirs = shards(&run, count);
        // Any order.
        dirs.reverse();
        let out = run.join("merged").to_string_lossy().into_owned();
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(String::as_str));
        args.extend(["--csv", &out]);
        let merged_report = ok(&args, &[]);
        assert_eq!(merged_report, report, "{count} shards: the same report");
        assert!(
            files(Path::new(&out)) == expected,
            "{count} shards: the same files, byte for byte"
        );
    }
    // The 7th shard of 6 tasks has none, and says so.
    let run = Scratch::dir("grid-merge-empty");
    let dir = run.join("s7").to_string_lossy().into_owned();
    let said = ok(&with(&GRID, &["--shard", "7/7", "--csv", &dir]), &[]);
    assert!(said.contains("0 of 6 tasks (none)"), "{said}");
}

#[test]
fn shards_hold_every_task_once_round_robin() {
    let scratch = Scratch::dir("grid-round-robin");
    let dirs = shards(&scratch, 4);
    let tasks = Table::parse(
        "grid_tasks.csv",
        &std::fs::read_to_string(Path::new(&dirs[0]).join("grid_tasks.csv")).unwrap(),
    );
    assert_eq!(tasks.column_values("task"), ["0", "1", "2", "3", "4", "5"]);
    assert_eq!(
        tasks.column_values("eps"),
        ["1e-8", "1e-8", "1e-8", "1e-2", "1e-2", "1e-2"]
    );
    assert_eq!(
        tasks.column_values("seed"),
        ["42", "43", "44", "42", "43", "44"]
    );
    for (k, dir) in dirs.iter().enumerate() {
        let runs = Table::parse(
            "grid_runs.csv",
            &std::fs::read_to_string(Path::new(dir).join("grid_runs.csv")).unwrap(),
        );
        let mut held = runs.distinct("task");
        held.sort();
        let expected: Vec<String> = (0..6)
            .filter(|t| t % 4 == k)
            .map(|t| t.to_string())
            .collect();
        assert_eq!(
            held,
            expected,
            "shard {}/4: task i goes to (i mod 4) + 1",
            k + 1
        );
        let facts = std::fs::read_to_string(Path::new(dir).join("shard.csv")).unwrap();
        assert!(
            facts.contains(&format!("shard,{}\nshards,4\n", k + 1)),
            "{facts}"
        );
    }
}

#[test]
fn a_missing_shard_is_named_with_its_tasks() {
    let scratch = Scratch::dir("grid-missing");
    let dirs = shards(&scratch, 3);
    let stderr = refused(&["merge", &dirs[0], &dirs[2]]);
    assert!(stderr.contains("shard 2/3 is missing"), "{stderr}");
    assert!(
        stderr.contains("task 1 (eps=1e-8 batch-size=50 seed=43)"),
        "names the tasks it runs: {stderr}"
    );
}

#[test]
fn a_duplicated_shard_is_named_with_both_directories() {
    let scratch = Scratch::dir("grid-duplicate");
    let dirs = shards(&scratch, 3);
    let copy = scratch.join("copy-of-2").to_string_lossy().into_owned();
    ok(&with(&GRID, &["--shard", "2/3", "--csv", &copy]), &[]);
    let stderr = refused(&["merge", &dirs[0], &dirs[1], &copy, &dirs[2]]);
    assert!(stderr.contains("shard 2/3 is given twice"), "{stderr}");
    assert!(
        stderr.contains(&dirs[1]) && stderr.contains(&copy),
        "{stderr}"
    );
}

#[test]
fn a_shard_of_another_configuration_or_split_is_refused() {
    let scratch = Scratch::dir("grid-foreign");
    let dirs = shards(&scratch, 3);
    let foreign = scratch.join("foreign").to_string_lossy().into_owned();
    let mut other = GRID;
    other[3] = "eps=1e-8,1e-3";
    ok(&with(&other, &["--shard", "2/3", "--csv", &foreign]), &[]);
    let stderr = refused(&["merge", &dirs[0], &foreign, &dirs[2]]);
    assert!(
        stderr.contains(&format!(
            "{foreign}: shard 2/3 comes from another configuration"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("eps = 1e-3 here, eps = 1e-2 there"),
        "{stderr}"
    );
    let split = scratch.join("split").to_string_lossy().into_owned();
    ok(&with(&GRID, &["--shard", "2/4", "--csv", &split]), &[]);
    let stderr = refused(&["merge", &dirs[0], &split, &dirs[2]]);
    assert!(
        stderr.contains(&format!("{split}: shard 2/4 of a split into 4 shards")),
        "{stderr}"
    );
    // A grid run on one machine is not a shard.
    let single = scratch.join("single").to_string_lossy().into_owned();
    ok(&with(&GRID, &["--csv", &single]), &[]);
    let stderr = refused(&["merge", &single]);
    assert!(stderr.contains("not a shard of a grid run"), "{stderr}");
    // Nor one written by another version of precision-audit.
    rewrite(&dirs[1], "shard.csv", |lines| {
        lines
            .into_iter()
            .map(|l| {
                if l.starts_with("version,") {
                    "version,0.0.1".into()
                } else {
                    l.to_string()
                }
            })
            .collect()
    });
    let stderr = refused(&["merge", &dirs[0], &dirs[1], &dirs[2]]);
    assert!(
        stderr.contains("shard 2/3 was written by precision-audit 0.0.1"),
        "{stderr}"
    );
    // Nor may the merge overwrite one of its shards.
    let stderr = refused(&["merge", &dirs[0], &dirs[1], &dirs[2], "--csv", &dirs[1]]);
    assert!(
        stderr.contains("is one of the shard directories"),
        "{stderr}"
    );
}

/// FNV-1a 64, as manifest.csv records it.
fn fnv1a(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Replaces a shard's grid_runs.csv (and its manifest line, so that only the content is wrong).
fn rewrite_runs(dir: &str, edit: impl Fn(Vec<&str>) -> Vec<String>) {
    rewrite(dir, "grid_runs.csv", edit);
}

/// Replaces a shard's file `name` (and its manifest line).
fn rewrite(dir: &str, name: &str, edit: impl Fn(Vec<&str>) -> Vec<String>) {
    let dir = Path::new(dir);
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let edited = edit(text.lines().collect()).join("\n") + "\n";
    std::fs::write(dir.join(name), &edited).unwrap();
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let fixed: Vec<String> = manifest
        .lines()
        .map(|line| {
            if line.starts_with(&format!("{name},")) {
                format!("{name},{},{}", edited.len(), fnv1a(edited.as_bytes()))
            } else {
                line.to_string()
            }
        })
        .collect();
    std::fs::write(dir.join("manifest.csv"), fixed.join("\n") + "\n").unwrap();
}

#[test]
fn a_task_missing_from_its_shard_or_there_twice_is_named() {
    let scratch = Scratch::dir("grid-task");
    let dirs = shards(&scratch, 2);
    // Shard 2/2 holds tasks 1, 3, 5; drop task 3's four rows.
    rewrite_runs(&dirs[1], |lines| {
        lines
            .into_iter()
            .filter(|l| !l.starts_with("3,"))
            .map(str::to_string)
            .collect()
    });
    let stderr = refused(&["merge", &dirs[0], &dirs[1]]);
    assert!(
        stderr.contains(&format!(
            "{}: shard 2/2 lacks task 3 (eps=1e-2 batch-size=50 seed=42)",
            dirs[1]
        )),
        "{stderr}"
    );
    // Task 1's rows twice.
    rewrite_runs(&dirs[1], |lines| {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        out.extend(
            lines
                .iter()
                .filter(|l| l.starts_with("1,"))
                .map(|l| l.to_string()),
        );
        out
    });
    let stderr = refused(&["merge", &dirs[0], &dirs[1]]);
    assert!(stderr.contains("grid_runs.csv, line"), "{stderr}");
    assert!(
        stderr.contains("task 1 (eps=1e-8 batch-size=50 seed=43) is in this file twice"),
        "{stderr}"
    );
    // A damaged file (the manifest no longer matches) is refused before anything is read.
    std::fs::write(Path::new(&dirs[0]).join("grid_runs.csv"), "task\n").unwrap();
    let stderr = refused(&["merge", &dirs[0], &dirs[1]]);
    assert!(stderr.contains("grid_runs.csv: 5 bytes"), "{stderr}");
}

#[test]
fn slurm_and_kubernetes_select_the_same_shards_as_the_flag() {
    let scratch = Scratch::dir("grid-env");
    let by_flag = shards(&scratch, 2);
    let runs = |dir: &str| std::fs::read(Path::new(dir).join("grid_runs.csv")).unwrap();
    // --array=0-1 and --array=1-2: the first task of either is shard 1/2.
    for (id, min, max) in [("0", "0", "1"), ("2", "1", "2")] {
        let dir = scratch
            .join(&format!("slurm-{id}"))
            .to_string_lossy()
            .into_owned();
        ok(
            &with(&GRID, &["--csv", &dir]),
            &[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
        );
        let k = if id == min { 0 } else { 1 };
        assert_eq!(
            runs(&dir),
            runs(&by_flag[k]),
            "SLURM_ARRAY_TASK_ID={id} from {min}"
        );
        let facts = std::fs::read_to_string(Path::new(&dir).join("shard.csv")).unwrap();
        assert!(
            facts.contains(&format!("selected_by,\"SLURM_ARRAY_TASK_ID={id} ")),
            "{facts}"
        );
    }
    let dir = scratch.join("k8s").to_string_lossy().into_owned();
    ok(
        &with(&GRID, &["--shard-count", "2", "--csv", &dir]),
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    assert_eq!(
        runs(&dir),
        runs(&by_flag[1]),
        "JOB_COMPLETION_INDEX=1 is shard 2/2"
    );
    // --shard wins over the environment.
    let dir = scratch.join("flag-wins").to_string_lossy().into_owned();
    ok(
        &with(&GRID, &["--shard", "1/2", "--csv", &dir]),
        &[("JOB_COMPLETION_INDEX", "1"), ("SLURM_ARRAY_TASK_ID", "7")],
    );
    assert_eq!(runs(&dir), runs(&by_flag[0]));
}

#[test]
fn contradictory_shard_selections_exit_2() {
    let out = Scratch::path("grid-contradiction");
    let csv = out.arg();
    for (vars, extra, says) in [
        (
            vec![("JOB_COMPLETION_INDEX", "0")],
            vec![],
            "JOB_COMPLETION_INDEX: is 0 (a Kubernetes Indexed Job): give --shard-count N",
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "3")],
            vec!["--shard-count", "3"],
            "JOB_COMPLETION_INDEX: is 3, but --shard-count 3 allows 0 to 2",
        ),
        (
            vec![],
            vec!["--shard", "1/2", "--shard-count", "3"],
            "--shard-count: is 3, but --shard 1/2 says there are 2 shards",
        ),
        (
            vec![
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ],
            vec![],
            "SLURM_ARRAY_TASK_ID: ",
        ),
        (vec![], vec!["--shard", "3/2"], "--shard: `3/2` is not K/N"),
        (vec![], vec!["--shard", "1/2"], "--csv: shard 1/2"),
    ] {
        let mut args = GRID.to_vec();
        args.extend(extra.iter().copied());
        if !args.contains(&"--shard") || !says.starts_with("--csv") {
            args.extend(["--csv", &csv]);
        }
        let result = run_env(&args, &vars);
        assert_eq!(
            result.code,
            Some(2),
            "{vars:?} {extra:?}: {}",
            result.stderr
        );
        assert!(
            result.stderr.contains(says),
            "{vars:?} {extra:?}: {}",
            result.stderr
        );
        assert!(!out.path.exists(), "nothing is written");
    }
}

#[test]
fn bad_grids_exit_2_naming_key_and_value() {
    let out = Scratch::path("grid-bad");
    let csv = out.arg();
    for (grid, says) in [
        ("epz=1,2", "--grid: unknown key `epz`"),
        ("eps=", "--grid: `eps=` has no values"),
        (
            "eps=1e-8,abc",
            "--grid: eps=abc: --eps: `abc` is not a number",
        ),
        (
            "batch-size=8,0",
            "--grid: batch-size=0: --batch-size: must be at least 1",
        ),
        (
            "epochs=two",
            "--grid: epochs=two: invalid value 'two' for '--epochs",
        ),
        (
            "formats=f16;f17",
            "--grid: formats=f17: --formats: unknown lane `f17`",
        ),
        ("seed=1,2", "--grid: `seed` cannot be a grid key"),
    ] {
        let stderr = refused(&["--grid", grid, "--csv", &csv]);
        assert!(stderr.contains(says), "{grid}: {stderr}");
        assert!(!out.path.exists(), "{grid}: nothing is written");
    }
}

#[test]
fn the_table_says_which_eps_works_in_which_lane() {
    let scratch = Scratch::dir("grid-table");
    let dir = scratch.join("out").to_string_lossy().into_owned();
    let report = ok(
        &[
            "--loss",
            "relative",
            "--grid",
            "eps=1e-8,1e-2",
            "--seeds",
            "2",
            "--epochs",
            "5",
            "--csv",
            &dir,
        ],
        &[],
    );
    crate::snapshot(
        "grid_table",
        "precision-audit --loss relative --grid eps=1e-8,1e-2 --seeds 2 --epochs 5",
        &report,
    );
    let lines: Vec<&str> = report.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some("eps"))
        .unwrap_or_else(|| panic!("a table headed eps: {report}"));
    let titles: Vec<&str> = lines[header].split_whitespace().collect();
    assert_eq!(
        titles,
        ["eps", "f16", "bf16", "f32", "f64"],
        "rows are eps, columns lanes"
    );
    // f16 stores eps = 1e-8 as 0: the loss divides by zero at step 1, in both seeds.
    assert!(lines[header + 2].starts_with("1e-8  NaN@1 "), "{report}");
    assert!(lines[header + 3].starts_with("1e-2  "), "{report}");
    assert!(
        report.contains("  f16: ") && report.contains("diverged (inf or NaN) at eps=1e-8"),
        "{report}"
    );
    let cells = Table::parse(
        "grid.csv",
        &std::fs::read_to_string(Path::new(&dir).join("grid.csv")).unwrap(),
    );
    let f16 = cells.row_matching(&[("eps", "1e-8"), ("format", "f16")]);
    assert_eq!(f16.get("nonfinite_seeds"), "2");
    assert_eq!(f16.get("first_nonfinite_step"), "1");
    assert_eq!(f16.get("significance"), "diverged");
    for eps in ["1e-8", "1e-2"] {
        let f64_cell = cells.row_matching(&[("eps", eps), ("format", "f64")]);
        assert_eq!(f64_cell.get("nonfinite_seeds"), "0", "f64 at eps={eps}");
        assert!(f64_cell.f64("rel_drift") < 1e-10, "f64 at eps={eps}");
        // The cell shows the mean relative drift with the seed study's finding.
        let shown = format!("{:.3e} ", f64_cell.f64("rel_drift"));
        let row = lines.iter().find(|l| l.starts_with(eps)).unwrap();
        assert!(row.contains(&shown), "{shown} in {row}");
    }
}

#[test]
fn a_one_point_grid_is_the_seed_sweep_with_events() {
    let scratch = Scratch::dir("grid-sweep");
    let grid = scratch.join("grid").to_string_lossy().into_owned();
    let sweep = scratch.join("sweep").to_string_lossy().into_owned();
    let job = ["--loss", "relative", "--epochs", "4", "--seeds", "3"];
    ok(&with(&job, &["--grid", "eps=1e-8", "--csv", &grid]), &[]);
    ok(&with(&job, &["--csv", &sweep]), &[]);
    let read = |dir: &str, name: &str| {
        Table::parse(
            name,
            &std::fs::read_to_string(Path::new(dir).join(name)).unwrap(),
        )
    };
    let runs = read(&grid, "grid_runs.csv");
    let seeds = read(&sweep, "sweep.csv");
    for column in [
        "seed",
        "format",
        "final_loss",
        "reference_loss",
        "drift",
        "rel_drift",
        "first_nonfinite_step",
    ] {
        assert_eq!(
            runs.column_values(column),
            seeds.column_values(column),
            "{column}"
        );
    }
    let cells = read(&grid, "grid.csv");
    let summary = read(&sweep, "sweep_summary.csv");
    assert_eq!(
        cells.column_values("verdict"),
        summary.column_values("verdict")
    );
    assert_eq!(
        cells.column_values("drift"),
        summary.column_values("drift_mean")
    );
    let f16 = cells.row_where("format", "f16");
    assert!(
        f16.get("div_by_zero").parse::<u64>().unwrap() > 0,
        "f16 divides by zero"
    );
}
