//! Running the binary, scratch directories, and reading its CSV files back as tables.
//!
//! Tolerances live here too, named, so no test invents its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// f64's final relative loss drift on the default job is about 2e-14 (a few hundred steps of
/// 2^-53 rounding). The limit leaves room for a different but sound summation, not for a
/// lost bit per op.
pub const F64_FINAL_DRIFT_MAX: f64 = 1e-10;

/// `--verify-reference`: 113 bits against 226 bits. f64 itself agrees with the reference to
/// about 14 digits on the default job; the reference must agree with itself to at least 25.
pub const REFERENCE_SELF_AGREEMENT_MAX: f64 = 1e-25;

/// Epochs of the small configurations: 5 epochs of the built-in 100 rows in batches of 32 are
/// 20 steps, enough for every op and event to occur, fast under MPFR.
pub const SMALL_EPOCHS: &str = "5";

/// The formats of a default audit, in the order every report lists them.
pub const FORMATS: [&str; 4] = ["f16", "bf16", "f32", "f64"];

/// The event kinds, in the order of the CSV columns.
pub const EVENT_KINDS: [&str; 9] = [
    "overflow",
    "underflow",
    "subnormal",
    "nan",
    "nan_propagated",
    "inf",
    "div_by_zero",
    "absorption",
    "cancellation",
];

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

/// A fixture's path relative to the crate root, as the binary (run from there) sees it.
pub fn fixture(name: &str) -> String {
    let path = format!("fixtures/data/{name}");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).exists(),
        "fixture {path} exists"
    );
    path
}

/// A uniquely named path under the system temporary directory, removed (with everything in
/// it) when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// A fresh path; nothing is created.
    pub fn path(tag: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "precision-audit-cli-{tag}-{}-{}",
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

/// An audit run with `--csv`: what it printed and every file it wrote, read into memory (the
/// directory is gone afterwards).
pub struct Audit {
    pub args: Vec<String>,
    pub outcome: Outcome,
    /// File name → content, every file of the `--csv` directory.
    pub files: BTreeMap<String, String>,
}

impl Audit {
    /// Runs the audit with `args` plus `--csv <scratch dir>`.
    pub fn run(args: &[&str]) -> Audit {
        let dir = Scratch::path("audit");
        let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        full.push("--csv".into());
        full.push(dir.path.to_string_lossy().into_owned());
        let outcome = run(&full);
        let files = entries(&dir.path)
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(&name))
                    .unwrap_or_else(|e| panic!("{name} is readable text: {e}"));
                (name, text)
            })
            .collect();
        Audit {
            args: args.iter().map(|a| a.to_string()).collect(),
            outcome,
            files,
        }
    }

    /// The command line as a user would type it (without the scratch `--csv`).
    pub fn command(&self) -> String {
        std::iter::once("precision-audit")
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The text of one written file.
    pub fn file(&self, name: &str) -> &str {
        self.files.get(name).unwrap_or_else(|| {
            panic!(
                "`{}` wrote {name}; it wrote {:?}",
                self.command(),
                self.files.keys().collect::<Vec<_>>()
            )
        })
    }

    /// One written CSV file, parsed.
    pub fn table(&self, name: &str) -> Table {
        Table::parse(name, self.file(name))
    }

    /// Asserts the run succeeded.
    pub fn assert_ok(&self) -> &Audit {
        assert_eq!(
            self.outcome.code,
            Some(0),
            "`{}` failed: {}",
            self.command(),
            self.outcome.stderr
        );
        self
    }
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

    /// The one row whose columns have these values.
    pub fn row(&self, matches: &[(&str, &str)]) -> Row<'_> {
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

/// The value following `flag` in `args`, or `default`.
pub fn flag<'a>(args: &[&'a str], flag: &str, default: &'a str) -> &'a str {
    args.iter()
        .position(|a| *a == flag)
        .map(|i| args[i + 1])
        .unwrap_or(default)
}

/// The default job of the brief and the README: the relative loss with eps = 1e-8.
pub const DEFAULT_JOB: [&str; 4] = ["--loss", "relative", "--eps", "1e-8"];

/// The default job, run once with `--csv` and shared by every test that reads it.
pub fn default_job() -> &'static Audit {
    static JOB: std::sync::OnceLock<Audit> = std::sync::OnceLock::new();
    JOB.get_or_init(|| Audit::run(&DEFAULT_JOB))
}

/// steps.csv cut to the header and, per format in file order, its first and last `n` rows (the
/// rows are kept as written).
pub fn steps_excerpt(steps: &str, n: usize) -> String {
    let mut lines = steps.lines();
    let header = lines.next().expect("steps.csv has a header");
    let mut formats: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lines {
        let format = line.split(',').next().expect("a format cell");
        match formats.iter_mut().find(|(f, _)| *f == format) {
            Some((_, rows)) => rows.push(line),
            None => formats.push((format, vec![line])),
        }
    }
    let mut out = vec![header.to_string()];
    for (format, rows) in formats {
        if rows.len() <= 2 * n {
            out.extend(rows.iter().map(|r| r.to_string()));
        } else {
            out.extend(rows[..n].iter().map(|r| r.to_string()));
            out.push(format!("… {} more {format} rows …", rows.len() - 2 * n));
            out.extend(rows[rows.len() - n..].iter().map(|r| r.to_string()));
        }
    }
    out.join("\n") + "\n"
}
