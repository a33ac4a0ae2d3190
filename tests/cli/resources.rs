//! Issue 15, item 5: resources. Runs too large for the machine are refused before any work with
//! the estimate and the memory available, large ones print their estimate at once, and a data
//! CSV is read as a stream. Pinned with real processes, each with its own resource usage
//! (wait4), so that other tests' children cannot blur the numbers.

use std::io::{BufWriter, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Scratch;

/// The binary with `args`, run from the crate root, stdout discarded and stderr piped; with
/// `address_space` its virtual memory is limited (RLIMIT_AS), as `ulimit -v` would.
fn spawn(args: &[&str], address_space: Option<u64>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_precision-audit"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(bytes) = address_space {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    command.spawn().expect("the binary starts")
}

/// What a finished child did: exit code, stderr and its own peak resident set in bytes.
struct Finished {
    code: Option<i32>,
    stderr: String,
    peak_rss: u64,
}

/// Waits for `child` with wait4, which returns the resource usage of that child alone
/// (getrusage(RUSAGE_CHILDREN) would mix in the children of every other test of this binary).
fn finish(mut child: Child) -> Finished {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("stderr is read");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped (Child is dropped unwaited).
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Finished {
        code,
        stderr,
        // Linux reports ru_maxrss in KiB.
        peak_rss: u64::try_from(usage.ru_maxrss).expect("a size") * 1024,
    }
}

/// Runs `args` and returns what it did, killing it when it has not finished within `seconds`
/// (then `None`): a regression must fail the test, not hang the suite.
fn run_within(args: &[&str], address_space: Option<u64>, seconds: u64) -> Option<Finished> {
    let mut child = spawn(args, address_space);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            // try_wait reaped it: its own peak RSS is gone, but the exit code and stderr stay.
            let code = child.wait().expect("wait").code();
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut stderr)
                .expect("stderr is read");
            return Some(Finished {
                code,
                stderr,
                peak_rss: 0,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

// ---- streaming CSV data ----

/// Rows of the generated data file and its columns (three features and the target).
const ROWS: u64 = 1_000_000;
const COLUMNS: u64 = 4;

/// Writes a data CSV of about 52 MB: a header, `ROWS` rows of four 12-character numbers, and a
/// last row whose target is not a number, so that the run reads every byte, holds every value
/// and then stops with an error that names the last line.
fn write_big_csv(path: &std::path::Path) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("the CSV is created"));
    writeln!(out, "x1,x2,x3,y").expect("write");
    for row in 0..ROWS {
        let cell = |k: u64| (row * 7919 + k * 104_729) % 1_000_003;
        writeln!(
            out,
            "0.{:010},0.{:010},0.{:010},0.{:010}",
            cell(1),
            cell(2),
            cell(3),
            cell(4)
        )
        .expect("write");
    }
    writeln!(out, "1,2,3,x").expect("write");
    out.flush().expect("flush");
}

/// A 52 MB data CSV peaked at 88 MB (the whole file as bytes plus the values; the 2 GB of the
/// issue was the audit of all four lanes and the MPFR reference over it). Read as a stream,
/// the peak is the f64 values (32 MB) and the process itself: measured 37 MB.
///
/// The bound: the values held once (32 MB), half as much again for the growth of the vectors
/// that hold them (a vector that doubles may briefly hold its old block next to the new one;
/// glibc moves large blocks without copying, so 1.15× was measured), and 16 MiB for the process
/// itself (it peaks at about 6 MB when it refuses a flag at once).
#[test]
fn a_data_csv_is_read_as_a_stream() {
    let dir = Scratch::dir("big-csv");
    let path = dir.join("big.csv");
    write_big_csv(&path);
    let file_bytes = std::fs::metadata(&path).expect("the CSV exists").len();
    assert!(file_bytes > 50 * 1_000_000, "{file_bytes} bytes");
    let data = path.to_string_lossy().into_owned();
    let finished = finish(spawn(&["--data", &data, "--formats", "f32"], None));
    let last_line = ROWS + 2;
    assert_eq!(finished.code, Some(2), "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains(&format!("line {last_line}, column y: `x` is not a number")),
        "the whole file was read: {}",
        finished.stderr
    );
    let values = ROWS * COLUMNS * 8;
    let bound = values + values / 2 + 16 * MIB;
    assert!(
        finished.peak_rss < bound,
        "reading {file_bytes} bytes into {values} bytes of f64 peaked at {} bytes (bound {bound})",
        finished.peak_rss
    );
}

// ---- the estimate ----

/// Reads `child`'s stderr on a thread until `wanted` appears (then kills the child) or
/// `seconds` pass; returns what was read and whether the child was still running.
fn stderr_until(mut child: Child, wanted: &[&str], seconds: u64) -> (String, bool) {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
                seen.lock().expect("lock").push_str(&text);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let complete = || {
        let text = seen.lock().expect("lock");
        wanted.iter().all(|w| text.contains(w))
    };
    while Instant::now() < deadline && !complete() {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let running = child.try_wait().expect("wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    reader.join().expect("the reader ends with the child");
    let text = seen.lock().expect("lock").clone();
    (text, running)
}

/// The sizes of the issue, under an 8 GiB address space (`ulimit -v`), so that the answer
/// does not depend on the machine: each needs more (39, 326 and 26 GiB by the estimate). They
/// aborted (`memory allocation … failed`, exit 134) or ran for minutes without a word; now
/// they are refused at once, naming the flags, the estimate and the memory available.
#[test]
fn runs_that_cannot_fit_are_refused_at_once_with_the_estimate() {
    for (args, flags) in [
        (&["--layers", "5000,5000"][..], "--batch-size, --layers"),
        (&["--samples", "100000000"][..], "--samples"),
        (&["--features", "1000000"][..], "--layers"),
    ] {
        let finished = run_within(args, Some(8 * GIB), 60)
            .unwrap_or_else(|| panic!("`{}` is refused at once, not run", args.join(" ")));
        let stderr = &finished.stderr;
        assert_eq!(finished.code, Some(2), "{}: {stderr}", args.join(" "));
        assert!(stderr.contains(flags), "names {flags}: {stderr}");
        assert!(stderr.contains("the run needs about"), "{stderr}");
        assert!(
            stderr.contains("GiB (ulimit -v, less what is mapped) is available"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A study holds a copy of the data per audit running at the same time: refused the same way
/// (the seeds used to copy the data once per seed before the first one ran).
#[test]
fn studies_that_cannot_fit_are_refused_at_once() {
    let big = ["--samples", "2000000", "--features", "8", "--threads", "2"];
    for study in [["--seeds", "8"], ["--orders", "8"]] {
        let args: Vec<&str> = big.iter().chain(&study).copied().collect();
        let finished = run_within(&args, Some(2 * GIB), 60)
            .unwrap_or_else(|| panic!("`{}` is refused at once, not run", args.join(" ")));
        assert_eq!(finished.code, Some(2), "{}", finished.stderr);
        assert!(
            finished.stderr.contains("the run needs about"),
            "{}",
            finished.stderr
        );
    }
}

/// `check` estimates its audit before running it: a configuration too large for the machine is
/// refused for its size, before the comparison with the baseline.
#[test]
fn check_refuses_a_run_that_cannot_fit_before_running_it() {
    let base = Scratch::dir("resources-baseline");
    let path = base.arg();
    let made = run_within(
        &["--epochs", "1", "--formats", "f32", "--csv", &path],
        None,
        120,
    )
    .expect("the baseline is written");
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let args = [
        "check",
        "--baseline",
        &path,
        "--formats",
        "f32",
        "--samples",
        "2000000",
        "--features",
        "8",
    ];
    let finished = run_within(&args, Some(GIB), 60).expect("refused at once");
    assert_eq!(finished.code, Some(2), "{}", finished.stderr);
    assert!(
        finished.stderr.contains("--samples") && finished.stderr.contains("the run needs about"),
        "{}",
        finished.stderr
    );
}

/// A run of 1.4e10 multiply-adds (about four minutes) said nothing before it ended; now its
/// estimate comes first.
#[test]
fn a_large_run_prints_its_estimate_before_it_starts() {
    let child = spawn(&["--layers", "200,200", "--formats", "f32"], None);
    let (stderr, running) = stderr_until(child, &["estimate: about", "multiply-adds"], 60);
    assert!(
        stderr.contains("precision-audit: estimate: about"),
        "{stderr}"
    );
    assert!(stderr.contains("multiply-adds over 400 steps"), "{stderr}");
    assert!(
        stderr.contains("weights, gradients and optimizer state"),
        "{stderr}"
    );
    assert!(
        running,
        "the estimate comes before the run, not after it: {stderr}"
    );
}

/// `--epochs 1000000000` (4e9 steps) started without a word.
#[test]
fn an_absurd_step_count_is_warned_about_at_once() {
    let child = spawn(&["--epochs", "1000000000"], None);
    let (stderr, running) = stderr_until(child, &["warning: 4000000000 steps", "estimate"], 60);
    assert!(
        stderr.contains("warning: 4000000000 steps (--epochs × batches of --batch-size)"),
        "{stderr}"
    );
    assert!(stderr.contains("estimate: about"), "{stderr}");
    assert!(running, "{stderr}");
}
