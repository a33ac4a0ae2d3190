//! Bad study flags: each refusal exits 2 with a message naming the flag, prints no report and
//! writes nothing into the `--csv` directory.

use crate::support::{Scratch, entries, run};

/// Runs `args` with `--csv` pointing at an empty directory and at a path that does not exist
/// yet; asserts exit 2, no stdout, no file in either, and returns stderr.
fn refused(args: &[&str]) -> String {
    let empty = Scratch::dir("refused");
    let absent = Scratch::path("refused-absent");
    let mut stderr = String::new();
    for dir in [&empty, &absent] {
        let out = run(&[args, &["--csv", &dir.arg()]].concat());
        let command = args.join(" ");
        assert_eq!(out.code, Some(2), "`{command}` exits 2: {}", out.stderr);
        assert_eq!(out.stdout, "", "`{command}` prints no report");
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(
            entries(&dir.path),
            Vec::<String>::new(),
            "`{command}` writes nothing into --csv"
        );
        stderr = out.stderr;
    }
    assert!(!absent.path.exists(), "the --csv directory is not created");
    stderr
}

#[test]
fn zero_seeds() {
    let stderr = refused(&["--seeds", "0"]);
    assert!(stderr.contains("--seeds"), "{stderr}");
    assert!(
        stderr.contains("1..=10000"),
        "says what is allowed: {stderr}"
    );
}

#[test]
fn zero_orders() {
    let stderr = refused(&["--orders", "0"]);
    assert!(stderr.contains("--orders"), "{stderr}");
    assert!(
        stderr.contains("1..=10000"),
        "says what is allowed: {stderr}"
    );
}

#[test]
fn seeds_and_orders_conflict() {
    let stderr = refused(&["--seeds", "2", "--orders", "2"]);
    assert!(
        stderr.contains("--seeds") && stderr.contains("--orders"),
        "names both flags: {stderr}"
    );
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn seeds_not_a_number() {
    let stderr = refused(&["--seeds", "eight"]);
    assert!(
        stderr.contains("--seeds") && stderr.contains("eight"),
        "{stderr}"
    );
}

/// A bad audit flag is refused before any seed runs, with the audit's own message.
#[test]
fn bad_audit_flag_in_a_sweep() {
    let stderr = refused(&["--loss", "relative", "--eps", "-1", "--seeds", "2"]);
    assert!(stderr.contains("--eps"), "{stderr}");
}
