//! `check --baseline DIR`: an audit compared with the files of an earlier `--csv DIR`.

use precision_audit::data::digest::Digest;

use crate::support::{Outcome, Scratch, Table, entries, run};

const FLAGS: [&str; 4] = ["--loss", "relative", "--epochs", "2"];

/// Writes a baseline of `FLAGS` into a scratch directory.
fn baseline() -> Scratch {
    let dir = Scratch::path("baseline");
    let mut args = FLAGS.to_vec();
    let path = dir.path.to_string_lossy().into_owned();
    args.extend(["--csv", &path]);
    let out = run(&args);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    dir
}

fn check(dir: &Scratch, extra: &[&str]) -> crate::support::Outcome {
    let path = dir.path.to_string_lossy().into_owned();
    let mut args = vec!["check", "--baseline", &path];
    args.extend(FLAGS);
    args.extend(extra);
    run(&args)
}

/// Rewrites the baseline's manifest.csv to record its files as they are now: a deliberate edit,
/// so that what is tested is the check of the tables, not of the checksums.
fn resign(dir: &Scratch) {
    let manifest = Table::parse(
        "manifest.csv",
        &std::fs::read_to_string(dir.join("manifest.csv")).unwrap(),
    );
    let mut text = "file,bytes,fnv1a_64\n".to_string();
    for row in manifest.rows() {
        let file = row.get("file");
        let digest = Digest::of_file(&dir.join(file)).unwrap();
        text.push_str(&format!("{file},{},{}\n", digest.bytes, digest.fnv1a));
    }
    std::fs::write(dir.join("manifest.csv"), text).unwrap();
}

fn contents(dir: &Scratch) -> Vec<(String, Vec<u8>)> {
    entries(&dir.path)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).expect("readable");
            (name, bytes)
        })
        .collect()
}

#[test]
fn the_same_flags_pass_and_the_baseline_is_left_alone() {
    let dir = baseline();
    let before = contents(&dir);
    let out = check(&dir, &[]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("no regression"), "{}", out.stdout);
    assert!(
        contents(&dir) == before,
        "check writes nothing into the baseline"
    );
}

#[test]
fn a_grown_drift_is_a_regression() {
    let dir = baseline();
    // Halve f32's final drift in the baseline: the rerun's drift is then twice the baseline's.
    let path = dir.join("summary.csv");
    let summary = Table::parse("summary.csv", &std::fs::read_to_string(&path).unwrap());
    let column = summary
        .header
        .iter()
        .position(|c| c == "loss_rel_drift")
        .unwrap();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&summary.header).unwrap();
    for record in &summary.records {
        let mut cells: Vec<String> = record.iter().map(str::to_string).collect();
        if &cells[0] == "f32" {
            let drift: f64 = cells[column].parse().unwrap();
            assert!(drift > 0.0, "f32 drifts");
            cells[column] = (drift / 2.0).to_string();
        }
        writer.write_record(&cells).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    // Refused as damaged until the manifest records the edit.
    assert_eq!(check(&dir, &[]).code, Some(2));
    resign(&dir);

    let out = check(&dir, &[]);
    assert_eq!(out.code, Some(3), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("regression: 1 of "),
        "{}",
        out.stdout
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("summary.csv"))
        .expect("the regressed value is listed");
    assert!(
        line.contains("f32") && line.contains("loss_rel_drift"),
        "{line}"
    );
    // A tolerance above the growth (100%) lets it pass.
    assert_eq!(check(&dir, &["--tolerance", "1.5"]).code, Some(0));
}

#[test]
fn a_missing_baseline_is_bad_input() {
    let dir = Scratch::path("no-baseline");
    let out = check(&dir, &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--baseline"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&*dir.path.to_string_lossy()),
        "{}",
        out.stderr
    );
    assert!(!dir.path.exists(), "nothing is created");
}

/// The help says the baseline must come from the same flags; a baseline of another loss (other
/// ops, other numbers) must be refused, not reported as hundreds of regressions.
#[test]
fn a_baseline_of_other_flags_is_refused() {
    let dir = baseline();
    let path = dir.path.to_string_lossy().into_owned();
    let out = run(&[
        "check",
        "--baseline",
        &path,
        "--loss",
        "mse",
        "--epochs",
        "2",
    ]);
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("--loss") || out.stderr.contains("flags"),
        "{}",
        out.stderr
    );
}

/// A baseline trained with another update rounding is another configuration.
#[test]
fn a_baseline_of_another_update_rounding_is_refused() {
    let dir = baseline();
    let out = check(&dir, &["--update-rounding", "stochastic"]);
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("update_rounding is nearest there and stochastic here"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_baseline_from_before_a_config_key_existed_counts_as_that_keys_old_default() {
    let dir = baseline();
    let config = std::fs::read_to_string(dir.join("config.csv")).expect("config.csv");
    let older: String = config
        .lines()
        .filter(|l| !l.starts_with("update_rounding,") && !l.starts_with("loss_scale,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(older, config, "the baseline had both keys");
    std::fs::write(dir.join("config.csv"), older).expect("writable");
    resign(&dir);
    let out = check(&dir, &[]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let out = check(&dir, &["--update-rounding", "kahan"]);
    assert_eq!(out.code, Some(2), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("update_rounding is nearest there and kahan here"),
        "{}",
        out.stderr
    );
}

// ---- issue 15, item 2: a damaged baseline is refused ----

/// Replaces `name` in the baseline with `edit` of its text.
fn damage(dir: &Scratch, name: &str, edit: impl FnOnce(&str) -> String) {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
}

/// Asserts exit 2, no report, and a message that mentions every part.
fn assert_refused(out: &Outcome, parts: &[&str]) {
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "", "no report");
    for part in parts {
        assert!(out.stderr.contains(part), "mentions {part}: {}", out.stderr);
    }
}

/// The text without its last line.
fn without_last_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[..lines.len() - 1].join("\n") + "\n"
}

/// The text with the `column` cell of data line `line` (1-based after the header) replaced.
fn with_cell(text: &str, line: usize, column: &str, value: &str) -> String {
    let table = Table::parse("t", text);
    let index = table.header.iter().position(|c| c == column).unwrap();
    let mut out = table.header.join(",") + "\n";
    for (number, record) in table.records.iter().enumerate() {
        let mut cells: Vec<&str> = record.iter().collect();
        if number + 1 == line {
            cells[index] = value;
        }
        out += &(cells.join(",") + "\n");
    }
    out
}

/// ops.csv cut at a row boundary parses; the manifest records its size, and a cut that is
/// re-signed still lacks a row the new audit has.
#[test]
fn an_ops_file_cut_at_a_row_boundary_is_refused() {
    let dir = baseline();
    damage(&dir, "ops.csv", without_last_line);
    assert_refused(&check(&dir, &[]), &["ops.csv", "manifest.csv", "bytes"]);
    resign(&dir);
    assert_refused(&check(&dir, &[]), &["ops.csv", "has no row for f64"]);
}

#[test]
fn a_summary_with_only_its_header_is_refused() {
    let dir = baseline();
    damage(&dir, "summary.csv", |text| {
        text.lines().next().unwrap().to_string() + "\n"
    });
    assert_refused(
        &check(&dir, &[]),
        &["summary.csv", "line 2", "no row for f16"],
    );
}

#[test]
fn a_summary_that_lost_a_row_is_refused() {
    let dir = baseline();
    damage(&dir, "summary.csv", without_last_line);
    assert_refused(&check(&dir, &[]), &["summary.csv", "no row for f64"]);
}

/// `garbage` or nothing where a compared number belongs: refused naming file, line and column,
/// whether or not the manifest was re-signed.
#[test]
fn a_compared_cell_that_is_not_a_number_is_refused() {
    for (file, column, value) in [
        ("ops.csv", "acc_max_rel", "garbage"),
        ("ops.csv", "local_mean_bits", ""),
        ("summary.csv", "loss_rel_drift", "garbage"),
        ("summary.csv", "param_rel_drift", ""),
    ] {
        let dir = baseline();
        damage(&dir, file, |text| with_cell(text, 3, column, value));
        let place = format!("{file}, line 4, column {column}");
        assert_refused(&check(&dir, &[]), &[&place]);
        resign(&dir);
        assert_refused(&check(&dir, &[]), &[&place]);
    }
}

#[test]
fn a_deleted_compared_column_is_refused() {
    let dir = baseline();
    damage(&dir, "ops.csv", |text| {
        let table = Table::parse("ops.csv", text);
        let index = table
            .header
            .iter()
            .position(|c| c == "local_max_rel")
            .unwrap();
        let line = |cells: Vec<&str>| {
            let mut cells = cells;
            cells.remove(index);
            cells.join(",") + "\n"
        };
        let mut out = line(table.header.iter().map(String::as_str).collect());
        for record in &table.records {
            out += &line(record.iter().collect());
        }
        out
    });
    resign(&dir);
    assert_refused(
        &check(&dir, &[]),
        &["ops.csv, line 1, column local_max_rel", "no column"],
    );
}

#[test]
fn a_baseline_without_a_manifest_is_refused() {
    let dir = baseline();
    std::fs::remove_file(dir.join("manifest.csv")).unwrap();
    assert_refused(&check(&dir, &[]), &["manifest.csv"]);
}

/// A lane the baseline never audited cannot be compared: refused, not passed as unchecked.
#[test]
fn a_format_the_baseline_lacks_is_refused() {
    let dir = baseline();
    let out = check(&dir, &["--formats", "f32,mixed-f16"]);
    assert_refused(&out, &["--formats", "mixed-f16 is not in the baseline"]);
    // Fewer formats than the baseline's are checked.
    assert_eq!(check(&dir, &["--formats", "f32"]).code, Some(0));
}

// ---- issue 15, item 3: check validates first and never writes into its baseline ----

/// `check --baseline base --csv base` with another configuration exited 2 after the run had
/// overwritten base/; with the same one it replaced the baseline it compared against.
#[test]
fn check_never_writes_into_its_baseline() {
    let dir = baseline();
    let before = contents(&dir);
    let path = dir.arg();
    for extra in [&["--csv", &path][..], &["--csv", &path, "--seed", "7"]] {
        let out = check(&dir, extra);
        assert_refused(&out, &["--csv", "baseline"]);
        assert!(contents(&dir) == before, "the baseline is untouched");
    }
    // Another spelling of the same directory, and a directory inside it.
    let parent = dir.path.parent().unwrap().to_string_lossy().into_owned();
    let name = dir.path.file_name().unwrap().to_string_lossy().into_owned();
    let dotted = format!("{parent}/./{name}/");
    let inside = format!("{path}/new");
    for csv in [&dotted, &inside] {
        assert_refused(&check(&dir, &["--csv", csv]), &["--csv"]);
    }
    assert!(contents(&dir) == before, "the baseline is untouched");
}

/// A configuration mismatch is refused before the audit runs: the run's --csv directory is not
/// even created.
#[test]
fn a_configuration_mismatch_is_refused_before_the_run() {
    let dir = baseline();
    let out_dir = Scratch::path("check-out");
    let out = check(&dir, &["--seed", "7", "--csv", &out_dir.arg()]);
    assert_refused(&out, &["seed is 42 there and 7 here"]);
    assert!(!out_dir.path.exists(), "{:?}", entries(&out_dir.path));
}

// ---- issue 15, item 4: check's flags do what its help says ----

/// `check --seeds 3` ran one audit and ignored the flag; the studies are refused, and the help
/// says so.
#[test]
fn check_refuses_the_studies() {
    let dir = baseline();
    for (flag, value) in [("--seeds", "3"), ("--orders", "2")] {
        assert_refused(
            &check(&dir, &[flag, value]),
            &[flag, "does not run studies"],
        );
    }
    assert_refused(
        &check(&dir, &["--blame"]),
        &["--blame", "does not run studies"],
    );
    let help = run(&["check", "--help"]).stdout;
    assert!(
        help.contains("--seeds, --orders, --grid, --blame   refused (exit 2)"),
        "{help}"
    );
    assert!(!help.contains("--seeds <N>"), "not offered: {help}");
    assert!(!help.contains("--blame-seeds"), "not offered: {help}");
}

/// `check --fail-on drift=0` passed (exit 0) although every lane drifts.
#[test]
fn check_applies_fail_on_to_the_new_audit() {
    let dir = baseline();
    let out = check(&dir, &["--fail-on", "drift=0"]);
    assert_eq!(out.code, Some(3), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("no regression"), "{}", out.stdout);
    assert!(out.stderr.contains("--fail-on: "), "{}", out.stderr);
    assert_refused(&check(&dir, &["--fail-on", "nonsense"]), &["--fail-on"]);
}

/// `check --output json` printed the text report.
#[test]
fn check_prints_the_comparison_as_output_asks() {
    let dir = baseline();
    let out = check(&dir, &["--output", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["regression"], false);
    assert_eq!(json["moved"], serde_json::json!([]));
    assert!(json["checked"].as_u64().unwrap() > 100, "{json}");

    let out = check(&dir, &["--output", "csv"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "file,format,op,column,baseline,current\n");
}
