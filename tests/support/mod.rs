//! What the test binaries share: the named tolerances ([`prec`]), and for the end-to-end
//! suites (`cli`, `study`) running the binary, scratch directories, directory listings, the
//! default job, and reading its CSV files back as tables.
//!
//! Each binary includes this file as its own `support` module; what belongs to one suite only
//! (its audit runs, studies, hand computations) lives in that suite's `common.rs`.

// Each test binary compiles its own copy of this module and uses only part of it, so the
// rest would be reported as dead code in that binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod prec;

/// Every flag of the audit, as `--help` must show it (and as the fuzzed command lines use them).
pub const AUDIT_FLAGS: &[&str] = &[
    "--formats",
    "--policy",
    "--promote",
    "--loss-scale",
    "--scale-init",
    "--scale-growth-interval",
    "--scale-growth-factor",
    "--scale-backoff",
    "--reference",
    "--reference-bits",
    "--verify-reference",
    "--accumulate",
    "--order",
    "--loss",
    "--loss-expr",
    "--const",
    "--loss-reduce",
    "--eps",
    "--layers",
    "--activation",
    "--dropout",
    "--init-params",
    "--optimizer",
    "--lr",
    "--momentum",
    "--beta1",
    "--beta2",
    "--adam-eps",
    "--update-rounding",
    "--epochs",
    "--batch-size",
    "--seed",
    "--data",
    "--target",
    "--task",
    "--classes",
    "--samples",
    "--features",
    "--data-seed",
    "--output",
    "--csv",
    "--plot",
    "--fail-on",
    "--threads",
    "--blame",
    "--blame-seeds",
    "--blame-groups",
];

/// The default job of the brief and the README: the relative loss with eps = 1e-8.
pub const DEFAULT_JOB: [&str; 4] = ["--loss", "relative", "--eps", "1e-8"];

/// The formats of a default audit, in the order every report lists them.
pub const FORMATS: [&str; 4] = ["f16", "bf16", "f32", "f64"];

/// What one run of the binary did.
pub struct Outcome {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `precision-audit` with `args` from the crate root (so `fixtures/...` resolves).
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_precision-audit"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary starts");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// One run of the binary with `--csv <scratch dir>`: its arguments, its outcome and every file
/// it wrote (the scratch directory is removed afterwards).
pub struct CsvRun {
    pub args: Vec<String>,
    pub outcome: Outcome,
    /// File name → content, every file of the `--csv` directory (the CSV files and the
    /// binary `params_*.safetensors`).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl CsvRun {
    /// Runs the binary with `args` plus `--csv` into a scratch directory named after `tag`.
    pub fn new(tag: &str, args: &[&str]) -> CsvRun {
        let dir = Scratch::path(tag);
        let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        full.extend(["--csv".to_string(), dir.arg()]);
        let outcome = run(&full);
        let files = entries(&dir.path)
            .into_iter()
            .map(|name| {
                let bytes = std::fs::read(dir.join(&name))
                    .unwrap_or_else(|e| panic!("{name} is readable: {e}"));
                (name, bytes)
            })
            .collect();
        CsvRun {
            args: args.iter().map(|a| a.to_string()).collect(),
            outcome,
            files,
        }
    }

    /// The command line as a user would type it (without the scratch `--csv`).
    pub fn command(&self) -> String {
        command_line(&self.args)
    }

    /// The text of one written file.
    pub fn file(&self, name: &str) -> &str {
        let bytes = self.files.get(name).unwrap_or_else(|| {
            panic!(
                "`{}` wrote {name}; it wrote {:?}",
                self.command(),
                self.files.keys().collect::<Vec<_>>()
            )
        });
        std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{name} is text: {e}"))
    }

    /// One written CSV file, parsed.
    pub fn table(&self, name: &str) -> Table {
        Table::parse(name, self.file(name))
    }
}

/// The command line `precision-audit <args>` as a user would type it.
pub fn command_line(args: &[String]) -> String {
    std::iter::once("precision-audit")
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A uniquely named path under the system temporary directory, removed (with everything in
/// it) when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// A fresh path; nothing is created. The name carries the test binary (`cli`, `study`).
    pub fn path(tag: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "precision-audit-{}-{tag}-{}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
        Scratch { path }
    }

    /// A fresh, empty directory.
    pub fn dir(tag: &str) -> Scratch {
        let scratch = Scratch::path(tag);
        std::fs::create_dir_all(&scratch.path).expect("scratch directory");
        scratch
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.path.is_dir() {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Every entry of `dir`, hidden ones included, sorted by name; empty when `dir` is absent.
pub fn entries(dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// A CSV file with a header row, parsed with the `csv` crate.
pub struct Table {
    pub name: String,
    pub header: Vec<String>,
    pub records: Vec<csv::StringRecord>,
}

impl Table {
    pub fn parse(name: &str, text: &str) -> Table {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader
            .headers()
            .unwrap_or_else(|e| panic!("{name}: header: {e}"))
            .iter()
            .map(str::to_string)
            .collect();
        let records = reader
            .records()
            .map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
        Table {
            name: name.to_string(),
            header,
            records,
        }
    }

    fn column(&self, column: &str) -> usize {
        self.header
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("{} has a column {column}: {:?}", self.name, self.header))
    }

    /// Every row, in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(move |record| Row {
            table: self,
            record,
        })
    }

    /// The rows whose `column` is `value`, in file order.
    pub fn rows_where<'a>(
        &'a self,
        column: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = Row<'a>> + 'a {
        self.rows().filter(move |row| row.get(column) == value)
    }

    /// The one row whose `column` is `value`.
    pub fn row_where(&self, column: &str, value: &str) -> Row<'_> {
        let mut found = self.rows().filter(|row| row.get(column) == value);
        let row = found
            .next()
            .unwrap_or_else(|| panic!("{} has a row with {column} = {value}", self.name));
        assert!(
            found.next().is_none(),
            "{} has one row with {column} = {value}",
            self.name
        );
        row
    }

    /// The one row whose columns have these values (`(column, value)` pairs).
    pub fn row_matching(&self, matches: &[(&str, &str)]) -> Row<'_> {
        let mut found = self
            .rows()
            .filter(|row| matches.iter().all(|(c, v)| row.get(c) == *v));
        let row = found
            .next()
            .unwrap_or_else(|| panic!("{} has a row {matches:?}", self.name));
        assert!(
            found.next().is_none(),
            "{} has one row {matches:?}",
            self.name
        );
        row
    }

    /// Every cell of `column`, in file order.
    pub fn column_values(&self, column: &str) -> Vec<String> {
        self.rows().map(|row| row.get(column).to_string()).collect()
    }

    /// The distinct values of `column`, in order of first appearance.
    pub fn distinct(&self, column: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for row in self.rows() {
            if !seen.iter().any(|s| s == row.get(column)) {
                seen.push(row.get(column).to_string());
            }
        }
        seen
    }
}

/// One row of a [`Table`].
#[derive(Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    record: &'a csv::StringRecord,
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> &'a str {
        &self.record[self.table.column(column)]
    }

    /// A number cell (`nan`, `inf` and `-inf` included).
    pub fn f64(&self, column: &str) -> f64 {
        let text = self.get(column);
        text.parse()
            .unwrap_or_else(|_| panic!("{} column {column}: `{text}` is a number", self.table.name))
    }

    /// A count cell.
    pub fn u64(&self, column: &str) -> u64 {
        let text = self.get(column);
        text.parse()
            .unwrap_or_else(|_| panic!("{} column {column}: `{text}` is a count", self.table.name))
    }
}
