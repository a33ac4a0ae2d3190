//! Reading a `--csv` directory back: its tables as rows of named cells, refused with the file,
//! line and column at fault when they are not well formed; and its manifest, `manifest.csv`,
//! which records the size and checksum of every file of the result set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::data::digest::Digest;
use crate::error::Error;
use crate::report::schema::{Column, Schema, Style};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.csv";

/// One row of the manifest: a file of the result set and its digest.
pub type ManifestRow = (String, Digest);

/// `manifest.csv`: every other file of the result set, its size and its checksum.
pub fn manifest() -> Schema<'static, ManifestRow> {
    Schema::new(vec![
        Column::new("file", "file", "", Style::Plain, |r: &ManifestRow| {
            r.0.clone()
        }),
        Column::new("bytes", "bytes", "", Style::Plain, |r: &ManifestRow| {
            r.1.bytes
        }),
        Column::new("fnv1a_64", "FNV-1a", "", Style::Plain, |r: &ManifestRow| {
            r.1.fnv1a.clone()
        }),
    ])
}

/// Whether `name` is a plain file name of a result set: no directory part, not hidden. A
/// manifest naming anything else is refused, so a damaged one can never direct a removal or a
/// read outside its directory.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// A CSV file as rows of named cells.
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// Its rows after the header.
    pub rows: Vec<Row>,
}

/// One row of a [`Table`], with its line in the file.
pub struct Row {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    /// The cell of `column` as written (every column the table was read with is there).
    pub fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }
}

impl Table {
    /// A refusal naming this file, `line` and, where one cell is at fault, its `column`.
    pub fn bad(&self, line: u64, column: Option<&str>, message: impl Into<String>) -> Error {
        Error::BadFile {
            path: self.path.clone(),
            line,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }

    /// The cell of `column` in `row` as a number (`nan`, `inf`, `-inf` included); an empty or
    /// unreadable cell is refused.
    pub fn number(&self, row: &Row, column: &str) -> Result<f64, Error> {
        let text = row.get(column);
        text.parse().map_err(|_| {
            let what = if text.is_empty() {
                "is empty, where a number belongs".to_string()
            } else {
                format!("`{text}` is not a number")
            };
            self.bad(row.line, Some(column), what)
        })
    }

    /// The cell of `column` in `row` as a count, or `None` when it is empty and `optional`.
    pub fn count(&self, row: &Row, column: &str, optional: bool) -> Result<Option<u64>, Error> {
        let text = row.get(column);
        if text.is_empty() && optional {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| self.bad(row.line, Some(column), format!("`{text}` is not a count")))
    }
}

/// Reads `dir/name`, which must have the columns `required`; every record must have as many
/// cells as the header.
pub fn read_table(dir: &Path, name: &str, required: &[&str]) -> Result<Table, Error> {
    let mut table = Table {
        path: dir.join(name),
        rows: Vec::new(),
    };
    let mut reader = csv::Reader::from_path(&table.path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            path: table.path.clone(),
            source,
        },
        other => table.bad(1, None, format!("{other:?}")),
    })?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| table.bad(1, None, format!("unreadable header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(missing) = required.iter().find(|c| !header.iter().any(|h| h == *c)) {
        return Err(table.bad(
            1,
            Some(missing),
            format!("no column `{missing}`: is this a precision-audit --csv directory?"),
        ));
    }
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            table.bad(line, None, format!("{e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cells = header
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        table.rows.push(Row { line, cells });
    }
    Ok(table)
}

/// A result set's `manifest.csv`.
pub struct Manifest {
    table: Table,
    files: Vec<(String, Digest, u64)>,
}

impl Manifest {
    /// Reads `dir/manifest.csv`: every row a plain file name, once, with a size and a checksum
    /// of 16 hexadecimal digits.
    pub fn read(dir: &Path) -> Result<Manifest, Error> {
        let table = read_table(dir, MANIFEST, &["file", "bytes", "fnv1a_64"])?;
        let mut files: Vec<(String, Digest, u64)> = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let file = row.get("file");
            if !plain_name(file) || file == MANIFEST {
                return Err(table.bad(
                    row.line,
                    Some("file"),
                    format!("`{file}` is not a file of a result set"),
                ));
            }
            if files.iter().any(|(f, ..)| f == file) {
                return Err(table.bad(row.line, Some("file"), format!("`{file}` twice")));
            }
            let bytes = table.count(row, "bytes", false)?.unwrap_or_default();
            let fnv1a = row.get("fnv1a_64");
            if fnv1a.len() != 16 || !fnv1a.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(table.bad(
                    row.line,
                    Some("fnv1a_64"),
                    format!("`{fnv1a}` is not a checksum of 16 hexadecimal digits"),
                ));
            }
            let digest = Digest {
                bytes,
                fnv1a: fnv1a.to_ascii_lowercase(),
            };
            files.push((file.to_string(), digest, row.line));
        }
        Ok(Manifest { table, files })
    }

    /// The files it lists.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(name, ..)| name.as_str())
    }

    /// Refuses a result set that lacks one of `required` or whose files are not, byte for
    /// byte, the ones the manifest records.
    pub fn verify(&self, required: &[&str]) -> Result<(), Error> {
        if let Some(missing) = required.iter().find(|r| !self.files().any(|f| f == **r)) {
            let lines = self.table.rows.len() as u64 + 1;
            return Err(self.table.bad(
                lines,
                None,
                format!("does not list {missing}: not the manifest of a complete audit"),
            ));
        }
        let dir = self.table.path.parent().unwrap_or(Path::new("."));
        for (name, recorded, line) in &self.files {
            let path = dir.join(name);
            let actual = Digest::of_file(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if actual != *recorded {
                return Err(Error::InvalidData {
                    what: path.display().to_string(),
                    message: format!(
                        "{} bytes with checksum {}, but {MANIFEST} (line {line}) records {} bytes \
                         with checksum {}: the file was cut short or changed since it was written",
                        actual.bytes, actual.fnv1a, recorded.bytes, recorded.fnv1a
                    ),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scratch;

    #[test]
    fn names_outside_the_directory_are_not_plain() {
        assert!(plain_name("params_f16.csv"));
        for name in ["", ".hidden", "../x.csv", "a/b.csv", "/etc/passwd", "a\\b"] {
            assert!(!plain_name(name), "{name}");
        }
    }

    #[test]
    fn a_manifest_verifies_its_files_and_names_a_changed_one() {
        let dir = scratch::dir("saved-manifest");
        scratch::file(&dir, "a.csv", b"foobar");
        scratch::file(
            &dir,
            MANIFEST,
            b"file,bytes,fnv1a_64\na.csv,6,85944171f73967e8\n",
        );
        let manifest = Manifest::read(&dir).unwrap();
        manifest.verify(&["a.csv"]).unwrap();
        let err = manifest.verify(&["a.csv", "b.csv"]).unwrap_err();
        assert!(err.to_string().contains("does not list b.csv"), "{err}");
        scratch::file(&dir, "a.csv", b"fooba");
        let err = manifest.verify(&[]).unwrap_err().to_string();
        assert!(err.contains("a.csv: 5 bytes"), "{err}");
        assert!(err.contains("records 6 bytes"), "{err}");
    }

    #[test]
    fn a_manifest_naming_a_path_is_refused_with_its_line() {
        let dir = scratch::dir("saved-bad-manifest");
        scratch::file(
            &dir,
            MANIFEST,
            b"file,bytes,fnv1a_64\na.csv,6,85944171f73967e8\n../x,1,0000000000000000\n",
        );
        let err = Manifest::read(&dir).err().unwrap().to_string();
        assert!(err.contains("line 3, column file"), "{err}");
    }

    #[test]
    fn cells_are_refused_with_file_line_and_column() {
        let dir = scratch::dir("saved-cells");
        scratch::file(&dir, "t.csv", b"format,x,n\nf16,1.5,\nf32,garbage,\"\"\n");
        let table = read_table(&dir, "t.csv", &["format", "x"]).unwrap();
        assert_eq!(table.number(&table.rows[0], "x").unwrap(), 1.5);
        assert_eq!(table.count(&table.rows[0], "n", true).unwrap(), None);
        let err = table.number(&table.rows[1], "x").unwrap_err().to_string();
        assert!(
            err.ends_with("t.csv, line 3, column x: `garbage` is not a number"),
            "{err}"
        );
        let err = table
            .count(&table.rows[1], "n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3, column n"), "{err}");
        let missing = read_table(&dir, "t.csv", &["format", "y"]).err().unwrap();
        assert!(
            missing
                .to_string()
                .contains("line 1, column y: no column `y`")
        );
    }
}
