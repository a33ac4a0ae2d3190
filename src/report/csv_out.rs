//! CSV output: RFC 4180, a header row, plain numbers at full precision, written whole or not
//! at all.

use std::io::Write;
use std::path::Path;

use crate::data::write_atomically;
use crate::error::Error;
use crate::format::text::shortest;

/// A number as a CSV cell: the shortest decimal that reads back exactly; `nan`, `inf`, `-inf`
/// for the non-finite values (spreadsheets read these as text, which is what they are).
pub fn number(x: f64) -> String {
    shortest(x)
}

/// An optional number: empty when absent.
pub fn maybe(x: Option<f64>) -> String {
    x.map(number).unwrap_or_default()
}

/// Writes `header` and `rows` as CSV to `out`.
pub fn write_rows<W: Write>(out: W, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(header).map_err(into_io)?;
    for row in rows {
        writer.write_record(row).map_err(into_io)?;
    }
    writer.flush()
}

/// Writes a CSV file atomically.
pub fn write_file(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<(), Error> {
    write_atomically(path, |out| write_rows(out, header, rows))
}

fn into_io(error: csv::Error) -> std::io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}
