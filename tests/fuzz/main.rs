//! The front door, fuzzed: generated inputs thrown at every reader of user input — the CSV
//! data reader, the parameter reader, the decimal parser, the flag parser and the validation of
//! an audit's flags, and `check`'s baseline reader. Each must answer with a value or an error
//! (exit 2 at the command line), never a panic; a reader writes nothing.
//!
//! The number of cases per target is `PROPTEST_CASES` (default 2,000 here, which keeps CI
//! short). A long run, the issue's 10⁵ per target:
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test --release --test fuzz
//! ```
//!
//! Inputs are built around what the readers expect (headers, numbers, separators, quotes,
//! flags and their values) with arbitrary bytes mixed in, so that most cases get past the first
//! check. A crash found here becomes a named regression test in the suite of its reader.

use std::path::PathBuf;

/// Helpers shared by the test suites: scratch directories and their listings.
#[path = "../support/mod.rs"]
mod support;

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::Config;

use precision_audit::data::{load_csv, read_params};
use precision_audit::flags::{Cli, audit_config};
use precision_audit::format::{Decimal, Format, store};
use precision_audit::report::baseline::Baseline;
use support::{AUDIT_FLAGS, Scratch, entries};

/// Cases per target unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 2_000;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A scratch directory holding one file, `name`, with `bytes`.
fn scratch_file(name: &str, bytes: &[u8]) -> Scratch {
    let dir = Scratch::dir("fuzz");
    std::fs::write(dir.join(name), bytes).expect("a scratch file");
    dir
}

/// Cells a CSV of numbers is made of, and things that break it.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<f64>().prop_map(|x| x.to_string()),
        2 => "-?[0-9]{1,4}(\\.[0-9]{0,3})?(e[-+]?[0-9]{1,4})?",
        1 => Just(String::new()),
        1 => Just("nan".to_string()),
        1 => Just("\"1,5\"".to_string()),
        1 => "[a-z\"\\\\ ]{0,4}",
        1 => any::<String>(),
    ]
}

/// A CSV text: a header and rows of cells, with ragged rows, stray quotes and line ends.
fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec("[a-z]{0,3}", 0..5),
        prop::collection::vec(prop::collection::vec(cell(), 0..6), 0..8),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        prop::collection::vec(any::<u8>(), 0..3),
    )
        .prop_map(|(header, rows, end, noise)| {
            let mut text = header.join(",") + end;
            for row in rows {
                text += &row.join(",");
                text += end;
            }
            let mut bytes = text.into_bytes();
            bytes.extend(noise);
            bytes
        })
}

/// A parameter file: its header and rows of layer, tensor, row, column, value, each field
/// usually sensible.
fn params_text() -> impl Strategy<Value = Vec<u8>> {
    let field = |sensible: BoxedStrategy<String>| prop_oneof![6 => sensible, 1 => cell()].boxed();
    let row = (
        field((0u32..4).prop_map(|n| n.to_string()).boxed()),
        field(prop_oneof![Just("weight".to_string()), Just("bias".to_string())].boxed()),
        field((0u32..4).prop_map(|n| n.to_string()).boxed()),
        field((0u32..4).prop_map(|n| n.to_string()).boxed()),
        cell(),
    )
        .prop_map(|(a, b, c, d, e)| format!("{a},{b},{c},{d},{e}"));
    (
        prop_oneof![
            4 => Just("layer,tensor,row,column,value".to_string()),
            1 => "[a-z,]{0,20}",
        ],
        prop::collection::vec(row, 0..12),
    )
        .prop_map(|(header, rows)| (header + "\n" + &rows.join("\n") + "\n").into_bytes())
}

/// Decimal text: numbers in every notation, with edge exponents, and noise.
fn decimal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<f64>().prop_map(|x| format!("{x:e}")),
        3 => "[-+]?[0-9]{0,30}(\\.[0-9]{0,30})?([eE][-+]?[0-9]{0,12})?",
        1 => "[-+]?(inf|nan|infinity|@inf@|@nan@)",
        1 => " {0,2}[0-9a-fx.pP+-]{0,12} {0,2}",
        1 => any::<String>(),
    ]
}

/// An argument vector: flags the audit knows, with values that are right, wrong or missing.
fn arguments() -> impl Strategy<Value = Vec<String>> {
    // Every flag the audit has, and one it does not.
    let flags: Vec<&'static str> = AUDIT_FLAGS.iter().copied().chain(["--bogus"]).collect();
    let value = prop_oneof![
        3 => "[0-9]{1,3}",
        2 => decimal_text(),
        2 => "[a-z0-9,=:.()*^+ -]{0,12}",
        1 => Just("f16,mixed-bf16".to_string()),
        1 => Just("abs(y - p) / (abs(y) + eps)".to_string()),
    ];
    prop::collection::vec((prop::sample::select(flags), prop::option::of(value)), 0..6).prop_map(
        |pairs| {
            pairs
                .into_iter()
                .flat_map(|(flag, value)| std::iter::once(flag.to_string()).chain(value))
                .collect()
        },
    )
}

/// The flags that keep a validated audit small, so validation never loads much.
fn small(args: &[String]) -> bool {
    let too_big = |flag: &str, limit: u64| {
        args.windows(2)
            .any(|w| w[0] == flag && w[1].parse::<u64>().is_ok_and(|n| n > limit))
    };
    !too_big("--samples", 10_000)
        && !too_big("--features", 1_000)
        && !args.iter().any(|a| a == "--layers")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_csv_data_reader_answers_every_file(bytes in csv_text(), target in prop::option::of("[a-z0-9]{0,3}")) {
        let dir = scratch_file("data.csv", &bytes);
        let outcome = std::panic::catch_unwind(|| load_csv(&dir.join("data.csv"), target.as_deref()));
        prop_assert!(outcome.is_ok(), "the reader panicked on {:?}", String::from_utf8_lossy(&bytes));
        if let Ok(Err(error)) = outcome {
            prop_assert!(!error.to_string().is_empty());
        }
        prop_assert_eq!(entries(&dir.path), vec!["data.csv".to_string()]);
    }

    #[test]
    fn the_parameter_reader_answers_every_file(bytes in params_text()) {
        let dir = scratch_file("params.csv", &bytes);
        let outcome = std::panic::catch_unwind(|| read_params(&dir.join("params.csv")));
        prop_assert!(outcome.is_ok(), "the reader panicked on {:?}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(entries(&dir.path), vec!["params.csv".to_string()]);
    }

    #[test]
    fn the_decimal_parser_answers_every_text(text in decimal_text()) {
        let outcome = std::panic::catch_unwind(|| {
            let decimal = text.parse::<Decimal>().ok();
            let stored: Vec<_> = Format::ALL.iter().map(|&f| store(f, &text).ok()).collect();
            (decimal, stored)
        });
        prop_assert!(outcome.is_ok(), "the parser panicked on {text:?}");
    }

    #[test]
    fn the_flag_parser_and_validation_answer_every_command_line(args in arguments()) {
        let outcome = std::panic::catch_unwind(|| {
            let cli = Cli::try_parse_from(std::iter::once("precision-audit".to_string()).chain(args.clone()));
            if let Ok(cli) = cli
                && cli.command.is_none()
                && small(&args)
            {
                let _ = audit_config(&cli.audit);
            }
        });
        prop_assert!(outcome.is_ok(), "panicked on {args:?}");
    }

    #[test]
    fn the_baseline_reader_answers_every_damaged_directory(
        file in prop::sample::select(&["summary.csv", "ops.csv", "config.csv", "manifest.csv"][..]),
        bytes in csv_text(),
    ) {
        let dir = baseline_copy();
        std::fs::write(dir.join(file), &bytes).expect("writable");
        let before = entries(&dir.path);
        let outcome = std::panic::catch_unwind(|| Baseline::read(&dir.path).map(|_| ()));
        prop_assert!(outcome.is_ok(), "panicked on a damaged {file}");
        prop_assert_eq!(entries(&dir.path), before);
    }
}

/// A small real baseline, written once, copied for each case.
fn baseline_copy() -> Scratch {
    static SOURCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "precision-audit-fuzz-baseline-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_precision-audit"))
            .args([
                "--epochs",
                "1",
                "--samples",
                "8",
                "--formats",
                "f32",
                "--csv",
            ])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("the binary starts");
        assert!(status.success(), "a baseline is written");
        dir
    });
    let copy = Scratch::dir("fuzz-baseline");
    for entry in std::fs::read_dir(source).expect("readable") {
        let entry = entry.expect("an entry");
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(
                entry.path(),
                copy.join(&entry.file_name().to_string_lossy()),
            )
            .expect("copied");
        }
    }
    copy
}
