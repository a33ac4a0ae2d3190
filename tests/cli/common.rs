//! What only the cli tests need: audit runs with `--csv`, fixtures and the event kinds.
//! Running the binary, scratch directories, CSV tables and the named tolerances are shared
//! with the other suites in `tests/support`.

use std::path::Path;

use crate::support::{CsvRun, DEFAULT_JOB};

/// Epochs of the small configurations: 5 epochs of the built-in 100 rows in batches of 32 are
/// 20 steps, enough for every op and event to occur, fast under MPFR.
pub const SMALL_EPOCHS: &str = "5";

/// The event kinds, in the order of the CSV columns.
pub const EVENT_KINDS: [&str; 10] = [
    "overflow",
    "underflow",
    "subnormal",
    "nan",
    "nan_propagated",
    "inf",
    "div_by_zero",
    "absorption",
    "cancellation",
    "scale_saturated",
];

/// A fixture's path relative to the crate root, as the binary (run from there) sees it.
pub fn fixture(name: &str) -> String {
    let path = format!("fixtures/data/{name}");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).exists(),
        "fixture {path} exists"
    );
    path
}

/// An audit run with `--csv`: see [`CsvRun`].
pub type Audit = CsvRun;

impl CsvRun {
    /// Runs the audit with `args` plus `--csv <scratch dir>`.
    pub fn run(args: &[&str]) -> Audit {
        CsvRun::new("audit", args)
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

/// The value following `flag` in `args`, or `default`.
pub fn flag<'a>(args: &[&'a str], flag: &str, default: &'a str) -> &'a str {
    args.iter()
        .position(|a| *a == flag)
        .map(|i| args[i + 1])
        .unwrap_or(default)
}

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

/// The significant digits the matrix snapshots keep of a non-integer number: enough to see what
/// each configuration does to every op, few enough that a last-bit change in a kernel does not
/// rewrite every matrix snapshot. The default job's snapshots keep every digit.
pub const MATRIX_DIGITS: usize = 4;

/// `text` with every non-integer number of more than `digits` significant digits rounded to
/// `digits` and written as `d.ddde±x` (as the report writes its own): the cells of a CSV file
/// and the words of the report alike. Integers (counts, steps, integral values), names,
/// non-finite values and numbers already that short are kept as written. A number in a
/// right-aligned table column (two spaces or more before it) keeps its right edge.
pub fn significant_digits(text: &str, digits: usize) -> String {
    let is_separator = |c: char| c.is_whitespace() || ",;()[]".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        match rounded(word, digits) {
            Some(short) if out.ends_with("  ") => {
                out.push_str(&format!("{short:>width$}", width = word.len()))
            }
            Some(short) => out.push_str(&short),
            None => out.push_str(word),
        }
        let separator = tail.chars().next().map_or(0, char::len_utf8);
        out.push_str(&tail[..separator]);
        rest = &tail[separator..];
    }
    out
}

/// `word` rounded to `digits` significant digits, if it is a finite non-integer number written
/// with more of them.
fn rounded(word: &str, digits: usize) -> Option<String> {
    let numeric = word.bytes().any(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if !numeric || !word.contains(['.', 'e', 'E']) {
        return None;
    }
    let value: f64 = word.parse().ok().filter(|v: &f64| v.is_finite())?;
    let mantissa = word
        .trim_start_matches(['+', '-'])
        .split(['e', 'E'])
        .next()?;
    let significant = mantissa
        .replace('.', "")
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len();
    (significant > digits).then(|| format!("{value:.precision$e}", precision = digits - 1))
}
