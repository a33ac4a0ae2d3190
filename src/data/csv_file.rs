//! Loading a dataset from a CSV file, with errors that name the file, the line and the column.
//!
//! The file has a header row of distinct, non-empty column names and then one row per sample,
//! every cell a finite number as Rust's `f64` parser reads it after trimming whitespace
//! (`1`, `-2.5`, `1e-8`, `.5`; not `nan`, `inf`, `1e999`, or an empty cell). A UTF-8 byte
//! order mark, quoted cells, CRLF line ends and blank lines are accepted. One column is the
//! target (by default the last); all others are features, in file order.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use super::lines::LineCounter;
use crate::Error;

/// The byte order mark some spreadsheet programs put at the start of a UTF-8 file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads the dataset in `path`, taking `target` as the target column: a header name, or a
/// 1-based column index; `None` means the last column. A header name wins over an index.
///
/// ```
/// use std::path::Path;
/// use precision_audit::data::load_csv;
///
/// let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data/tiny.csv");
/// let data = load_csv(&path, None).unwrap();
/// assert_eq!(data.feature_names, ["x1", "x2"]);
/// assert_eq!(data.target_names, ["y"]);
///
/// let err = load_csv(&path, Some("z")).unwrap_err().to_string();
/// assert!(err.contains("line 1") && err.contains("x1, x2, y"));
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::BadFile`] (file, 1-based line, and the
/// column name where one cell is at fault) for an empty file, a header without data rows,
/// fewer than two columns, an empty or repeated column name, a row with the wrong number of
/// fields, a cell that is not a number or not finite, a cell that is not UTF-8, and a target
/// that names no column.
pub fn load_csv(path: &Path, target: Option<&str>) -> Result<Dataset, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    // The file is read once, as a stream: only the f64 values are kept.
    let mut start = Vec::with_capacity(UTF8_BOM.len());
    (&mut file)
        .take(UTF8_BOM.len() as u64)
        .read_to_end(&mut start)
        .map_err(io)?;
    let start = if start == UTF8_BOM {
        &[][..]
    } else {
        &start[..]
    };
    parse(path, start.chain(file), target)
}

/// A record that is one whitespace-only field: a line with nothing on it but spaces.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)
}

fn bad(path: &Path, line: u64, column: Option<&str>, message: String) -> Error {
    Error::BadFile {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        message,
    }
}

/// The rows of a CSV file, each with the 1-based line it starts on, read as a stream: neither
/// the file nor its cells are kept, only the record being read.
///
/// The csv crate's own line numbers lag behind after blank lines and with CRLF line ends (a
/// record's position is where the previous one ended), so lines are counted here from the
/// bytes as they pass ([`LineCounter`]): a line ends at `\n`, at `\r\n`, or at a lone `\r`, the
/// terminators csv accepts.
pub(crate) struct Rows<'a, R: Read> {
    path: &'a Path,
    reader: csv::Reader<LineCounter<R>>,
}

impl<'a, R: Read> Rows<'a, R> {
    /// The rows of `source` (the contents of `path`, byte order mark removed). Every row is
    /// returned, the header included, however many fields each has: callers check shapes
    /// themselves so that they can say more.
    pub(crate) fn new(path: &'a Path, source: R) -> Rows<'a, R> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineCounter::new(source));
        Rows { path, reader }
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.to_path_buf(),
            source,
        }
    }

    /// Reads the next row that is not blank into `record` and returns its line, or `None` at
    /// the end of the file. A blank row is an empty line or one of only whitespace.
    pub(crate) fn next(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>, Error> {
        loop {
            let more = match self.reader.read_byte_record(record) {
                Ok(more) => more,
                Err(err) => {
                    if let csv::ErrorKind::Io(_) = err.kind() {
                        let csv::ErrorKind::Io(source) = err.into_kind() else {
                            unreachable!("matched above")
                        };
                        return Err(self.io_error(source));
                    }
                    let offset = err
                        .position()
                        .map_or(self.reader.position().byte(), |p| p.byte());
                    let line = self
                        .reader
                        .get_mut()
                        .line_at(offset)
                        .map_err(|e| self.io_error(e))?;
                    return Err(bad(self.path, line, None, format!("unreadable CSV: {err}")));
                }
            };
            if !more {
                return Ok(None);
            }
            if is_blank(record) {
                continue;
            }
            // The record's position is where the previous record ended: the line terminators
            // and empty lines in between are skipped to find where this one starts.
            let start = record.position().map_or(0, |p| p.byte());
            let line = self
                .reader
                .get_mut()
                .content_line_at(start)
                .map_err(|e| self.io_error(e))?;
            return Ok(Some(line));
        }
    }
}

/// The header row's names, trimmed, checked to be UTF-8, non-empty and distinct.
pub(crate) fn header_names(
    path: &Path,
    line: u64,
    header: &csv::ByteRecord,
) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    for (index, field) in header.iter().enumerate() {
        let number = index + 1;
        let name = std::str::from_utf8(field)
            .map_err(|_| {
                bad(
                    path,
                    line,
                    Some(&number.to_string()),
                    format!("the name of column {number} is not valid UTF-8"),
                )
            })?
            .trim()
            .to_string();
        if name.is_empty() {
            return Err(bad(
                path,
                line,
                Some(&number.to_string()),
                format!("column {number} has an empty name"),
            ));
        }
        if let Some(first) = names.iter().position(|seen| *seen == name) {
            return Err(bad(
                path,
                line,
                Some(&name),
                format!(
                    "column name `{name}` is repeated (columns {} and {number})",
                    first + 1
                ),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// One cell as a finite f64, or an error naming line and column.
pub(crate) fn parse_cell(path: &Path, line: u64, column: &str, cell: &[u8]) -> Result<f64, Error> {
    let text = std::str::from_utf8(cell).map_err(|_| {
        bad(
            path,
            line,
            Some(column),
            format!(
                "`{}` is not valid UTF-8",
                String::from_utf8_lossy(cell).escape_debug()
            ),
        )
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad(
            path,
            line,
            Some(column),
            "empty cell, expected a number".into(),
        ));
    }
    let value: f64 = trimmed.parse().map_err(|_| {
        bad(
            path,
            line,
            Some(column),
            format!("`{}` is not a number", text.escape_debug()),
        )
    })?;
    if !value.is_finite() {
        let why = if trimmed.to_ascii_lowercase().contains("inf")
            || trimmed.to_ascii_lowercase().contains("nan")
        {
            ""
        } else {
            " (beyond the f64 range)"
        };
        return Err(bad(
            path,
            line,
            Some(column),
            format!("`{}` is not a finite number{why}", text.escape_debug()),
        ));
    }
    Ok(value)
}

/// The 0-based indices of the target columns among `names`: `target` is a comma-separated
/// list of names or 1-based indices (default: the last column).
fn target_indices(
    path: &Path,
    line: u64,
    names: &[String],
    target: Option<&str>,
) -> Result<Vec<usize>, Error> {
    let Some(wanted) = target else {
        return Ok(vec![names.len() - 1]);
    };
    let mut indices = Vec::new();
    for part in wanted.split(',') {
        let index = target_index(path, line, names, part)?;
        if indices.contains(&index) {
            return Err(bad(
                path,
                line,
                None,
                format!("the target column `{}` is named twice", names[index]),
            ));
        }
        indices.push(index);
    }
    if indices.len() == names.len() {
        return Err(bad(
            path,
            line,
            None,
            "every column is a target; at least one must be a feature".into(),
        ));
    }
    Ok(indices)
}

/// The 0-based index of the target column `wanted` among `names`.
fn target_index(path: &Path, line: u64, names: &[String], wanted: &str) -> Result<usize, Error> {
    if let Some(index) = names.iter().position(|name| name == wanted.trim()) {
        return Ok(index);
    }
    match wanted.trim().parse::<usize>() {
        Ok(number) if (1..=names.len()).contains(&number) => Ok(number - 1),
        _ => Err(bad(
            path,
            line,
            None,
            format!(
                "no target column `{wanted}`: the columns are {} (or give a 1-based index 1 to {})",
                names.join(", "),
                names.len()
            ),
        )),
    }
}

fn parse(path: &Path, source: impl Read, target: Option<&str>) -> Result<Dataset, Error> {
    let mut rows = Rows::new(path, source);
    let mut record = csv::ByteRecord::new();
    let Some(header_line) = rows.next(&mut record)? else {
        return Err(bad(
            path,
            1,
            None,
            "the file is empty; expected a header row of column names".into(),
        ));
    };
    let names = header_names(path, header_line, &record)?;
    if names.len() < 2 {
        return Err(bad(
            path,
            header_line,
            None,
            format!(
                "found 1 column (`{}`); need at least one feature column and a target column",
                names[0]
            ),
        ));
    }
    let target = target_indices(path, header_line, &names, target)?;

    let width = names.len();
    let mut features: Vec<f64> = Vec::new();
    let mut targets: Vec<f64> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut row_targets = vec![0.0; target.len()];
    while let Some(line) = rows.next(&mut record)? {
        if record.len() != width {
            return Err(bad(
                path,
                line,
                None,
                format!(
                    "expected {width} fields (as in the header), found {}",
                    record.len()
                ),
            ));
        }
        for (index, cell) in record.iter().enumerate() {
            let value = parse_cell(path, line, &names[index], cell)?;
            match target.iter().position(|&t| t == index) {
                Some(k) => row_targets[k] = value,
                None => features.push(value),
            }
        }
        targets.extend_from_slice(&row_targets);
        lines.push(line);
    }
    if targets.is_empty() {
        return Err(bad(
            path,
            header_line + 1,
            None,
            "the header is not followed by any data rows".into(),
        ));
    }

    let samples = lines.len();
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(index, _)| !target.contains(index))
        .map(|(_, name)| name.clone())
        .collect();
    let features = Array2::from_shape_vec((samples, width - target.len()), features)
        .expect("every row contributed its features");
    let targets = Array2::from_shape_vec((samples, target.len()), targets)
        .expect("every row contributed its targets");
    let mut data = Dataset::new(
        features,
        targets,
        feature_names,
        target.iter().map(|&t| names[t].clone()).collect(),
        path.display().to_string(),
    )?;
    data.positions = super::Positions {
        lines,
        target_columns: target.iter().map(|&t| t + 1).collect(),
    };
    Ok(data)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::data::scratch;

    /// Loads `bytes` as a file and returns the error's message, which must name the file.
    fn error_of(name: &str, bytes: &[u8], target: Option<&str>) -> String {
        let dir = scratch::dir(&format!("csv-{name}"));
        let path = scratch::file(&dir, &format!("{name}.csv"), bytes);
        let message = load_csv(&path, target)
            .expect_err("the file should be refused")
            .to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message:?} does not start with the file name"
        );
        message
    }

    fn load(name: &str, bytes: &[u8], target: Option<&str>) -> Dataset {
        let dir = scratch::dir(&format!("csv-ok-{name}"));
        let path = scratch::file(&dir, &format!("{name}.csv"), bytes);
        load_csv(&path, target).expect("the file should load")
    }

    #[test]
    fn tiny_fixture_loads_with_last_column_as_target() {
        let path = scratch::fixture("tiny.csv");
        let data = load_csv(&path, None).unwrap();
        assert_eq!(data.features.dim(), (4, 2));
        assert_eq!(data.feature_names, ["x1", "x2"]);
        assert_eq!(data.target_names, ["y"]);
        assert_eq!(data.features[[1, 0]], 0.25);
        assert_eq!(data.targets[[3, 0]], 1e-9);
        assert_eq!(data.source, path.display().to_string());
    }

    #[test]
    fn target_by_name_or_by_index() {
        let path = scratch::fixture("tiny.csv");
        let by_name = load_csv(&path, Some("x1")).unwrap();
        let by_index = load_csv(&path, Some("1")).unwrap();
        assert_eq!(by_name, by_index);
        assert_eq!(by_name.feature_names, ["x2", "y"]);
        assert_eq!(by_name.target_names, ["x1"]);
        assert_eq!(by_name.targets[[1, 0]], 0.25);
    }

    #[test]
    fn a_header_name_wins_over_an_index() {
        let data = load("numeric-names", b"2,1,a\n10,20,30\n", Some("1"));
        assert_eq!(data.target_names, ["1"]);
        assert_eq!(data.targets[[0, 0]], 20.0);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let path = PathBuf::from("/nonexistent/precision-audit/data.csv");
        let err = load_csv(&path, None).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("/nonexistent/precision-audit/data.csv: ")
        );
    }

    #[test]
    fn a_directory_is_an_io_error() {
        let dir = scratch::dir("csv-directory");
        let err = load_csv(&dir, None).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }

    #[test]
    fn empty_file_and_blank_lines_only() {
        for bytes in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b"  \n"] {
            let message = error_of("empty", bytes, None);
            assert!(
                message.ends_with(
                    ", line 1: the file is empty; expected a header row of column names"
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn header_only() {
        let message = error_of("header-only", b"x,y\n\n", None);
        assert!(
            message.ends_with(", line 2: the header is not followed by any data rows"),
            "{message}"
        );
    }

    #[test]
    fn one_column() {
        let message = error_of("one-column", b"y\n1\n2\n", None);
        assert!(
            message.ends_with(", line 1: found 1 column (`y`); need at least one feature column and a target column"),
            "{message}"
        );
    }

    #[test]
    fn repeated_and_empty_names() {
        let message = error_of("repeated", b"a,b,a\n1,2,3\n", None);
        assert!(
            message.ends_with(", line 1, column a: column name `a` is repeated (columns 1 and 3)"),
            "{message}"
        );
        let message = error_of("repeated-trimmed", b"a, a\n1,2\n", None);
        assert!(message.contains("repeated (columns 1 and 2)"), "{message}");
        let message = error_of("empty-name", b"a,,c\n1,2,3\n", None);
        assert!(
            message.ends_with(", line 1, column 2: column 2 has an empty name"),
            "{message}"
        );
    }

    #[test]
    fn ragged_fixture_names_line_and_counts() {
        let path = scratch::fixture("ragged.csv");
        let message = load_csv(&path, None).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "{}, line 4: expected 3 fields (as in the header), found 2",
                path.display()
            )
        );
    }

    #[test]
    fn too_many_fields() {
        let message = error_of("long-row", b"a,b\n1,2\n1,2,3\n", None);
        assert!(
            message.ends_with(", line 3: expected 2 fields (as in the header), found 3"),
            "{message}"
        );
    }

    #[test]
    fn nonnumeric_fixture_quotes_the_cell() {
        let path = scratch::fixture("nonnumeric.csv");
        let message = load_csv(&path, None).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "{}, line 3, column x2: `abc` is not a number",
                path.display()
            )
        );
    }

    #[test]
    fn nan_fixture_is_refused_as_not_finite() {
        let path = scratch::fixture("nan.csv");
        let message = load_csv(&path, None).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "{}, line 3, column y: `NaN` is not a finite number",
                path.display()
            )
        );
    }

    #[test]
    fn infinities_and_overflow_are_refused() {
        let message = error_of("inf", b"a,b\n1,-inf\n", None);
        assert!(
            message.ends_with(", line 2, column b: `-inf` is not a finite number"),
            "{message}"
        );
        let message = error_of("overflow", b"a,b\n1e999,1\n", None);
        assert!(
            message.ends_with(
                ", line 2, column a: `1e999` is not a finite number (beyond the f64 range)"
            ),
            "{message}"
        );
    }

    #[test]
    fn empty_cell() {
        let message = error_of("empty-cell", b"a,b\n1,\n", None);
        assert!(
            message.ends_with(", line 2, column b: empty cell, expected a number"),
            "{message}"
        );
    }

    #[test]
    fn unknown_target_lists_the_columns() {
        let path = scratch::fixture("tiny.csv");
        for wanted in ["z", "0", "4", "-1"] {
            let message = load_csv(&path, Some(wanted)).unwrap_err().to_string();
            assert_eq!(
                message,
                format!(
                    "{}, line 1: no target column `{wanted}`: the columns are x1, x2, y (or give a 1-based index 1 to 3)",
                    path.display()
                )
            );
        }
    }

    #[test]
    fn invalid_utf8_in_a_cell_and_in_a_name() {
        let message = error_of("utf8-cell", b"a,b\n1,\xFF2\n", None);
        assert!(
            message.ends_with(", line 2, column b: `\u{FFFD}2` is not valid UTF-8"),
            "{message}"
        );
        let message = error_of("utf8-name", b"a,\xC3\n1,2\n", None);
        assert!(
            message.ends_with(", line 1, column 2: the name of column 2 is not valid UTF-8"),
            "{message}"
        );
    }

    #[test]
    fn bom_quotes_crlf_spaces_and_blank_lines_are_accepted() {
        let data = load(
            "friendly",
            b"\xEF\xBB\xBF\"x 1\", y\r\n\r\n\" 1.5\" , -2e-3 \r\n.5,+7\r\n\r\n   \n",
            None,
        );
        assert_eq!(data.feature_names, ["x 1"]);
        assert_eq!(data.target_names, ["y"]);
        assert_eq!(data.features.as_slice().unwrap(), [1.5, 0.5]);
        assert_eq!(data.targets.as_slice().unwrap(), [-2e-3, 7.0]);
    }

    #[test]
    fn line_numbers_count_blank_lines_and_quoted_newlines() {
        let message = error_of("lines", b"a,b\n\n\"1\n\",2\n\n3,x\n", None);
        assert!(
            message.ends_with(", line 6, column b: `x` is not a number"),
            "{message}"
        );
    }

    #[test]
    fn line_numbers_are_right_with_crlf_and_lone_cr() {
        let message = error_of("crlf", b"a,b\r\n\r\n1,2\r\n3,x\r\n", None);
        assert!(
            message.ends_with(", line 4, column b: `x` is not a number"),
            "{message}"
        );
        let message = error_of("cr", b"a,b\r1,2\r\r3,x\r", None);
        assert!(
            message.ends_with(", line 4, column b: `x` is not a number"),
            "{message}"
        );
        let message = error_of("first-row", b"\n\na,b\nx,2\n", None);
        assert!(
            message.ends_with(", line 4, column a: `x` is not a number"),
            "{message}"
        );
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let inputs: [&[u8]; 12] = [
            b"\"",
            b"\"a,b\n1,2",
            b"a,b\n\"1,2\n",
            b"a,b\n1\"2,3\n",
            b"\0,\0\n\0,\0\n",
            b"\xEF\xBB",
            b"\xFF\xFE\x00a\x00,\x00b\n",
            b",\n,\n",
            b"a,b\n,\n",
            b"a,b\r1,2\r",
            b"a,b\n1,2\n\"\"\"",
            b"a;b\n1;2\n",
        ];
        for (index, bytes) in inputs.iter().enumerate() {
            let dir = scratch::dir(&format!("csv-hostile-{index}"));
            let path = scratch::file(&dir, "h.csv", bytes);
            // Either outcome is fine; reaching here without a panic is the point, and an
            // error must name the file.
            if let Err(err) = load_csv(&path, None) {
                assert!(err.to_string().starts_with(&path.display().to_string()));
            }
        }
    }
}
