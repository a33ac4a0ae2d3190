//! Issue 15, reliability: what the binary does when its environment fails it — an output that
//! cannot be written, a signal mid-run, another run into the same directory, sizes that do not
//! fit — pinned with real processes.

use std::fs::File;
use std::process::{Command, Stdio};

use crate::support::{Scratch, entries};

/// Where a stream of the child goes.
#[derive(Clone, Copy)]
enum Stream {
    /// A pipe, read by the test.
    Piped,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
}

impl Stream {
    fn stdio(self) -> Stdio {
        match self {
            Stream::Piped => Stdio::piped(),
            Stream::Full => File::create("/dev/full").expect("/dev/full").into(),
        }
    }
}

/// The binary with `args`, run from the crate root.
fn binary(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_precision-audit"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// Runs `args` with stdout and stderr as given; returns the exit code and what was read.
fn run_with(args: &[&str], stdout: Stream, stderr: Stream) -> (Option<i32>, String) {
    let output = binary(args)
        .stdout(stdout.stdio())
        .stderr(stderr.stdio())
        .output()
        .expect("the binary starts");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

// ---- item 7: an unwritable stderr or stdout ----

/// `eprintln!` panics when stderr cannot be written, and the panic turned exit 2 into 101.
#[test]
fn an_unwritable_stderr_keeps_the_exit_code_of_bad_input() {
    let (code, _) = run_with(&["--epochs", "0"], Stream::Piped, Stream::Full);
    assert_eq!(code, Some(2));
}

#[test]
fn an_unwritable_stderr_keeps_the_exit_code_of_a_finding() {
    let args = ["--epochs", "1", "--formats", "f32", "--fail-on", "drift=0"];
    let (code, _) = run_with(&args, Stream::Piped, Stream::Full);
    assert_eq!(code, Some(3));
}

/// A report that cannot be printed fails the run, and its `--csv` files are not committed: a
/// complete result set beside a failed run would pass for a successful one.
#[test]
fn a_full_stdout_fails_the_run_and_commits_no_file() {
    let dir = Scratch::dir("full-stdout");
    let path = dir.arg();
    let args = ["--epochs", "1", "--formats", "f32", "--csv", &path];
    let (code, stderr) = run_with(&args, Stream::Full, Stream::Piped);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("<stdout>"), "{stderr}");
    assert_eq!(entries(&dir.path), Vec::<String>::new());
}

#[test]
fn a_full_stdout_fails_a_study_and_commits_no_file() {
    let dir = Scratch::dir("full-stdout-study");
    let path = dir.arg();
    let args = [
        "--epochs",
        "1",
        "--formats",
        "f32",
        "--seeds",
        "2",
        "--csv",
        &path,
    ];
    let (code, stderr) = run_with(&args, Stream::Full, Stream::Piped);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(entries(&dir.path), Vec::<String>::new());
}

#[test]
fn help_into_a_full_stdout_fails() {
    let (code, text) = run_with(&["--help"], Stream::Full, Stream::Piped);
    assert_eq!(code, Some(2), "{text}");
}

// ---- item 6: counts derived from flags ----

/// Runs `args` (stdout and stderr piped), killing the child if it has not finished within
/// `seconds`: a regression here would otherwise hang the suite. `None` when it was killed.
fn run_within(args: &[&str], seconds: u64) -> Option<(Option<i32>, String)> {
    let mut child = binary(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            let output = child.wait_with_output().expect("output");
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            return Some((output.status.code(), stderr));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Refused at once with exit 2 and a message naming `flag`.
fn assert_refused_naming(args: &[&str], flag: &str) {
    let (code, stderr) = run_within(args, 30)
        .unwrap_or_else(|| panic!("`{}` is refused at once, not run", args.join(" ")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(flag), "names {flag}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// 2^62 epochs of 4 batches wrapped the step count to 0 in release builds; the progress bar
/// then panicked with a capacity overflow (and without a terminal the run never ended).
#[test]
fn an_epoch_count_whose_steps_overflow_is_refused() {
    assert_refused_naming(&["--epochs", "4611686018427387904"], "--epochs");
}

#[test]
fn a_built_in_data_set_too_large_to_hold_is_refused() {
    assert_refused_naming(
        &["--samples", "4611686018427387904", "--features", "4"],
        "--samples",
    );
}

#[test]
fn a_network_too_large_to_hold_is_refused() {
    assert_refused_naming(&["--layers", "65536,65536"], "--layers");
}

// ---- item 1: interrupted runs ----

/// A run long enough to be interrupted, writing into `dir`.
fn long_run(dir: &Scratch) -> std::process::Child {
    let path = dir.arg();
    binary(&["--epochs", "1000000", "--formats", "f32", "--csv", &path])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Waits until the run has staged something in `dir` (a hidden entry).
fn wait_for_staging(dir: &Scratch, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !entries(&dir.path).iter().any(|name| name.starts_with('.')) {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the run ended early"
        );
        assert!(std::time::Instant::now() < deadline, "nothing was staged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Let it write some steps.
    std::thread::sleep(std::time::Duration::from_millis(200));
}

fn signal(child: &std::process::Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "the signal is sent");
}

/// SIGINT and SIGTERM mid-run left `.steps.csv.<pid>.0.tmp` in the `--csv` directory forever;
/// now the staged files are removed and the exit code says which signal ended the run.
#[test]
fn an_interrupted_run_leaves_no_file_and_exits_128_plus_the_signal() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = Scratch::dir("interrupted");
        let mut child = long_run(&dir);
        wait_for_staging(&dir, &mut child);
        signal(&child, sig);
        let output = child.wait_with_output().expect("the run ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "signal {sig}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(entries(&dir.path), Vec::<String>::new(), "signal {sig}");
    }
}

/// SIGKILL cannot be handled: the next run into the directory removes what the killed one
/// staged, and writes its complete result set.
#[test]
fn the_next_run_removes_what_a_killed_run_staged() {
    let dir = Scratch::dir("killed");
    let mut child = long_run(&dir);
    wait_for_staging(&dir, &mut child);
    signal(&child, libc::SIGKILL);
    let status = child.wait().expect("the run ends");
    assert_eq!(status.code(), None, "killed by the signal");
    let left = entries(&dir.path);
    assert!(left.iter().any(|n| n.starts_with('.')), "{left:?}");

    let path = dir.arg();
    let (code, stderr) = run_with(
        &["--epochs", "1", "--formats", "f32", "--csv", &path],
        Stream::Piped,
        Stream::Piped,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let hidden: Vec<String> = entries(&dir.path)
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    assert_eq!(hidden, Vec::<String>::new(), "nothing stale is left");
    assert!(dir.join("steps.csv").is_file());
}

// ---- item 8: one result set per directory ----

/// Runs `args` plus `--csv dir`, expecting success.
fn write_into(dir: &Scratch, args: &[&str]) {
    let path = dir.arg();
    let (code, text) = run_with(
        &[args, &["--csv", &path]].concat(),
        Stream::Piped,
        Stream::Piped,
    );
    assert_eq!(code, Some(0), "{text}");
}

/// The files of `dir` besides the manifest, and the files its manifest lists.
fn files_and_manifest(dir: &Scratch) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(dir.join("manifest.csv")).expect("a manifest");
    let mut listed: Vec<String> =
        crate::support::Table::parse("manifest.csv", &text).column_values("file");
    listed.sort();
    let files = entries(&dir.path)
        .into_iter()
        .filter(|name| name != "manifest.csv")
        .collect();
    (files, listed)
}

/// `--formats f16,f32` and then `--formats f32` into one directory kept params_f16.csv, a file
/// of another run beside the new set; a study after an audit kept the audit's files.
#[test]
fn a_new_result_set_replaces_the_previous_one_whole() {
    let dir = Scratch::dir("replace");
    write_into(&dir, &["--epochs", "1", "--formats", "f16,f32"]);
    assert!(dir.join("params_f16.csv").is_file());
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();

    write_into(&dir, &["--epochs", "1", "--formats", "f32"]);
    assert!(
        !dir.join("params_f16.csv").exists(),
        "{:?}",
        entries(&dir.path)
    );
    let (mut files, listed) = files_and_manifest(&dir);
    files.retain(|name| name != "notes.txt");
    assert_eq!(files, listed);

    write_into(&dir, &["--epochs", "1", "--formats", "f32", "--seeds", "2"]);
    let (files, listed) = files_and_manifest(&dir);
    assert_eq!(listed, ["sweep.csv", "sweep_summary.csv"]);
    assert_eq!(
        files,
        ["notes.txt", "sweep.csv", "sweep_summary.csv"],
        "not ours: kept"
    );
}

/// While another process holds the directory's lock, a run stages its files but does not
/// commit them: two commits never interleave.
#[test]
fn a_commit_waits_for_the_directory_lock() {
    let dir = Scratch::dir("locked");
    let lock = File::open(&dir.path).expect("the directory opens");
    lock.lock().expect("the lock is taken");
    let path = dir.arg();
    let mut child = binary(&["--epochs", "1", "--formats", "f32", "--csv", &path])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the run finished while the directory was locked"
    );
    assert!(
        !dir.join("summary.csv").exists(),
        "nothing committed under the lock"
    );
    lock.unlock().expect("unlocked");
    let output = child.wait_with_output().expect("the run ends");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.join("summary.csv").is_file());
}

// ---- item 10: output paths are checked before the work starts ----

/// A run that would take minutes, with `--csv` at `csv`: it must be refused within seconds.
fn refused_at_once(extra: &[&str], csv: &str) -> String {
    let args = [
        &["--epochs", "100000", "--formats", "f32"],
        extra,
        &["--csv", csv],
    ]
    .concat();
    let (code, stderr) = run_within(&args, 30)
        .unwrap_or_else(|| panic!("`{}` is refused before the work", args.join(" ")));
    assert_eq!(code, Some(2), "{stderr}");
    stderr
}

/// The studies created their `--csv` directory only after the whole study.
#[test]
fn a_study_checks_its_csv_directory_first() {
    let file = Scratch::path("study-csv-file");
    std::fs::write(&file.path, "keep\n").unwrap();
    for study in [["--seeds", "2"], ["--orders", "2"]] {
        let stderr = refused_at_once(&study, &file.arg());
        assert!(stderr.contains("is a regular file"), "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(&file.path).unwrap(), "keep\n");
}

/// A file or a dangling symbolic link at `--csv` said only "File exists (os error 17)".
#[test]
fn a_csv_path_that_is_no_directory_is_named_clearly() {
    let file = Scratch::path("csv-file");
    std::fs::write(&file.path, "keep\n").unwrap();
    let stderr = refused_at_once(&[], &file.arg());
    assert!(
        stderr.contains(&format!("--csv: {} is a regular file", file.arg())),
        "{stderr}"
    );

    let link = Scratch::path("csv-dangling");
    let target = Scratch::path("csv-dangling-target");
    std::os::unix::fs::symlink(&target.path, &link.path).unwrap();
    let stderr = refused_at_once(&[], &link.arg());
    assert!(stderr.contains("is a symbolic link to"), "{stderr}");
    assert!(stderr.contains("which does not exist"), "{stderr}");
    assert!(!stderr.contains("os error 17"), "{stderr}");
    assert!(!target.path.exists(), "nothing is created through the link");
}

/// A directory in the way of a result file (here ops.csv, params_f32.csv, sweep.csv) failed
/// the run only once the audit or the study was complete.
#[test]
fn a_blocked_result_file_is_refused_before_the_work() {
    for (blocked, extra) in [
        ("ops.csv", &[][..]),
        ("params_f32.csv", &[][..]),
        ("sweep.csv", &["--seeds", "2"][..]),
        ("manifest.csv", &[][..]),
    ] {
        let dir = Scratch::dir("blocked-early");
        std::fs::create_dir(dir.join(blocked)).unwrap();
        let stderr = refused_at_once(extra, &dir.arg());
        assert!(stderr.contains(blocked), "{stderr}");
        assert!(stderr.contains("is a directory"), "{stderr}");
        assert_eq!(entries(&dir.path), [blocked], "nothing else is left");
    }
}
