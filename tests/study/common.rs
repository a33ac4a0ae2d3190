//! Running the binary, scratch directories, CSV files read back as tables, and the named
//! tolerances of these tests (no test invents its own).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// Named tolerances, in one place.
pub mod prec {
    /// f64's final loss over seeded summation orders: a few hundred steps of 2^-53 rounding move
    /// it by about 1e-16 relative (measured: 3.5e-16 on the order study's configuration). 1e-12
    /// leaves room for a different but sound summation, not for a lost bit per op.
    pub const F64_ORDER_SPREAD_REL_MAX: f64 = 1e-12;

    /// Values that pass through statrs' Student-t (regularized incomplete beta): statrs 0.19
    /// agrees with 40-digit values to about 2e-15 on these cases (the crate's own tests use the
    /// same bound); 1e-13 leaves room for a libm's last bit.
    pub const STATRS_T: f64 = 1e-13;

    /// Values computed through a handful of correctly rounded f64 operations (a square root, a
    /// division, a product): each costs at most 2^-53 relative, so four of them stay below
    /// 4.5e-16; 1e-15 rejects any wrong formula.
    pub const FEW_ROUNDINGS: f64 = 1e-15;

    /// Asserts `|actual − expected| ≤ relative · |expected|`.
    #[track_caller]
    pub fn assert_close(actual: f64, expected: f64, relative: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= relative * expected.abs(),
            "{what}: {actual} is not within a relative {relative} of {expected}"
        );
    }
}

/// The default job of the brief and the README: the relative loss with eps = 1e-8.
pub const DEFAULT_JOB: [&str; 4] = ["--loss", "relative", "--eps", "1e-8"];

/// The formats of a default run, in the order every report lists them.
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
            "precision-audit-study-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        Scratch { path }
    }

    /// A fresh, empty directory.
    pub fn dir(tag: &str) -> Scratch {
        let scratch = Scratch::path(tag);
        std::fs::create_dir_all(&scratch.path).expect("scratch directory");
        scratch
    }

    pub fn arg(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
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

/// A run with `--csv`: what it printed and every file it wrote, read into memory (the
/// directory is gone afterwards).
pub struct Run {
    pub args: Vec<String>,
    pub outcome: Outcome,
    /// File name → content, every file of the `--csv` directory.
    pub files: BTreeMap<String, String>,
}

impl Run {
    /// Runs the binary with `args` plus `--csv <scratch dir>` and asserts that it succeeded.
    pub fn ok(args: &[&str]) -> Run {
        let dir = Scratch::path("run");
        let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        full.extend(["--csv".to_string(), dir.arg()]);
        let outcome = run(&full);
        let files = entries(&dir.path)
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.path.join(&name))
                    .unwrap_or_else(|e| panic!("{name} is readable text: {e}"));
                (name, text)
            })
            .collect();
        let run = Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            outcome,
            files,
        };
        assert_eq!(
            run.outcome.code,
            Some(0),
            "`{}` failed: {}",
            run.command(),
            run.outcome.stderr
        );
        run
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
}

/// The default job's seed sweep, `--seeds 8` (seeds 42..=49), run once and shared.
pub fn default_sweep() -> &'static Run {
    static SWEEP: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    SWEEP.get_or_init(|| Run::ok(&[&DEFAULT_JOB[..], &["--seeds", "8"]].concat()))
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
    pub fn row(&self, column: &str, value: &str) -> Row<'_> {
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

    /// Every cell of `column`, in file order.
    pub fn column_values(&self, column: &str) -> Vec<String> {
        self.rows().map(|row| row.get(column).to_string()).collect()
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
}

/// The mean as the studies define it: summed left to right in f64, divided by `n` once.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample standard deviation (two-pass, divisor `n − 1`).
pub fn sample_std_dev(values: &[f64]) -> f64 {
    let mean = mean(values);
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

/// Asserts that `actual` and `expected` are the same f64 (NaN counts as equal to NaN).
#[track_caller]
pub fn assert_same(actual: f64, expected: f64, what: &str) {
    assert!(
        actual == expected || (actual.is_nan() && expected.is_nan()),
        "{what}: {actual} is not {expected}"
    );
}

/// The default job's audit, run once with `--csv` and shared.
pub fn default_job() -> &'static Run {
    static JOB: std::sync::OnceLock<Run> = std::sync::OnceLock::new();
    JOB.get_or_init(|| Run::ok(&DEFAULT_JOB))
}
