//! `check --baseline DIR`: an audit compared with the files of an earlier `--csv DIR`.

use crate::support::{Scratch, Table, entries, run};

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
