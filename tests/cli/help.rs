//! `--help` documents every flag and the exit codes; the subcommands document theirs.

use crate::support::{AUDIT_FLAGS, run};

#[test]
fn help_mentions_every_flag_and_subcommand() {
    let out = run(&["--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for flag in AUDIT_FLAGS {
        assert!(
            out.stdout.contains(&format!("{flag} ")) || out.stdout.contains(&format!("{flag}\n")),
            "--help mentions {flag}"
        );
    }
    for command in ["formats", "round", "check", "plot"] {
        assert!(out.stdout.contains(command), "--help mentions `{command}`");
    }
    // The CSV files --csv writes, and what --fail-on accepts.
    for word in [
        "summary.csv",
        "ops.csv",
        "steps.csv",
        "events.csv",
        "chains.csv",
        "drift=X",
    ] {
        assert!(out.stdout.contains(word), "--help mentions {word}");
    }
}

#[test]
fn help_states_the_exit_codes() {
    let out = run(&["--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = out.stdout.replace('\n', " ");
    for code in ["0 the audit ran", "2 bad input", "3 a --fail-on condition"] {
        assert!(text.contains(code), "--help says `{code}`");
    }
}

#[test]
fn short_help_lists_the_flags_too() {
    let out = run(&["-h"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for flag in ["--loss", "--eps", "--csv", "--fail-on", "--threads"] {
        assert!(out.stdout.contains(flag), "-h mentions {flag}");
    }
    assert!(
        out.stdout.len() < run(&["--help"]).stdout.len(),
        "-h is the summary"
    );
}

#[test]
fn subcommand_help() {
    let out = run(&["round", "--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for word in ["--formats", "--output", "<VALUES>", "--"] {
        assert!(out.stdout.contains(word), "round --help mentions {word}");
    }
    let out = run(&["formats", "--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for word in ["--output", "--reference-bits"] {
        assert!(out.stdout.contains(word), "formats --help mentions {word}");
    }
    let out = run(&["plot", "--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for word in ["<DIR>", "--out", "--json", "report.html"] {
        assert!(out.stdout.contains(word), "plot --help mentions {word}");
    }
}

#[test]
fn version() {
    let out = run(&["--version"]);
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.stdout.trim(),
        format!("precision-audit {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_documents_grids_shards_and_merge() {
    let out = run(&["--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for word in [
        "--grid <KEY=V1,V2,…>",
        "--shard <K/N>",
        "--shard-count <N>",
        "merge",
        "(i mod N) + 1",
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
    ] {
        assert!(out.stdout.contains(word), "--help mentions {word}");
    }
    let out = run(&["merge", "--help"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = out.stdout.replace('\n', " ");
    for word in [
        "<DIR>...",
        "--csv",
        "missing",
        "given twice",
        "another configuration",
        "2 bad input",
    ] {
        assert!(text.contains(word), "merge --help mentions {word}");
    }
    // check runs one audit: the grid's flags are hidden there and refused (the notes below the
    // options say so).
    let out = run(&["check", "--help"]);
    assert!(
        !out.stdout.contains("--grid <"),
        "check --help hides --grid"
    );
    assert!(
        !out.stdout.contains("--shard <"),
        "check --help hides --shard"
    );
    assert!(
        out.stdout.contains("--grid, --blame   refused"),
        "{}",
        out.stdout
    );
}
