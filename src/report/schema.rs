//! The table model: every output table is one [`Schema`] — its columns, each with a name (CSV
//! header and JSON key), a terminal title, a unit and a cell style — from which the CSV file,
//! the JSON array, the terminal table and the baseline comparison are all produced.

use std::borrow::Cow;
use std::io::Write;

use serde_json::{Map, Value};

use crate::format::text::shortest;
use crate::report::Table;

/// One cell, typed: each output writes it in its own way.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A measurement: the shortest decimal that reads back exactly; `nan`, `inf`, `-inf` as
    /// text in every output (JSON has no such numbers, and `null` would not tell them apart).
    Number(f64),
    /// A count, an index or an exponent.
    Integer(i64),
    /// A name or a sentence.
    Text(String),
    /// A decimal as the user wrote it: verbatim in CSV, a number in JSON where it is one.
    Decimal(String),
    /// Yes or no.
    Flag(bool),
    /// No value (a step that never came, a fact that does not apply): empty in CSV, `null` in
    /// JSON, `-` on the terminal.
    Empty,
}

impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Number(x)
    }
}

macro_rules! integer_cells {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Cell {
            fn from(n: $ty) -> Cell {
                // Counts, steps and indices of a run that fits in memory are far below 2^63.
                Cell::Integer(n as i64)
            }
        }
    )*};
}

integer_cells!(u64, u32, usize, i32);

impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell::Flag(b)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_string())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Cell {
        value.map_or(Cell::Empty, Into::into)
    }
}

impl Cell {
    /// The cell as CSV writes it.
    pub fn csv(&self) -> String {
        match self {
            Cell::Number(x) => shortest(*x),
            Cell::Integer(n) => n.to_string(),
            Cell::Text(text) | Cell::Decimal(text) => text.clone(),
            Cell::Flag(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }

    /// The cell as JSON writes it.
    pub fn json(&self) -> Value {
        match self {
            Cell::Number(x) => number_json(*x),
            Cell::Integer(n) => Value::from(*n),
            Cell::Text(text) => Value::String(text.clone()),
            Cell::Decimal(text) if text.is_empty() => Value::Null,
            // As written: `1e3` is the number 1000.0, `1000` the integer 1000.
            Cell::Decimal(text) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => text.parse::<i64>().map_or_else(
                    |_| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
                    Value::from,
                ),
                _ => Value::String(text.clone()),
            },
            Cell::Flag(b) => Value::Bool(*b),
            Cell::Empty => Value::Null,
        }
    }

    /// The cell as a number, for comparisons: NaN for text and for an empty cell.
    pub fn value(&self) -> f64 {
        match self {
            Cell::Number(x) => *x,
            Cell::Integer(n) => *n as f64,
            Cell::Decimal(text) => text.parse().unwrap_or(f64::NAN),
            Cell::Text(_) | Cell::Flag(_) | Cell::Empty => f64::NAN,
        }
    }
}

/// A finite number as JSON (integral values as integers, as their shortest decimal reads),
/// a non-finite one as the string CSV writes.
fn number_json(x: f64) -> Value {
    let text = shortest(x);
    if !x.is_finite() {
        return Value::String(text);
    }
    match text.parse::<i64>() {
        Ok(n) => Value::from(n),
        Err(_) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
    }
}

/// How the terminal writes a cell (files always write it in full; see [`Cell::csv`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// As CSV writes it: names, counts, exact values.
    Plain,
    /// Four significant digits in scientific notation (`1.235e-3`); non-finite as text.
    Sci,
    /// As [`Style::Sci`], but 0 is written `0`: a value that is often exactly zero.
    SciNonzero,
    /// Three decimals (`0.417`): bits of error.
    Fixed3,
    /// A share as a whole percentage (`42%`).
    Percent,
    /// A share as a percentage with two decimals (`0.25%`): small shares that matter.
    FinePercent,
}

impl Style {
    /// The cell as the terminal writes it.
    pub fn text(self, cell: &Cell) -> String {
        match (self, cell) {
            (_, Cell::Empty) => "-".into(),
            (Style::Sci, Cell::Number(x)) if x.is_finite() => format!("{x:.3e}"),
            (Style::SciNonzero, Cell::Number(x)) if x.is_finite() && *x != 0.0 => {
                format!("{x:.3e}")
            }
            (Style::Fixed3, Cell::Number(x)) => format!("{x:.3}"),
            (Style::Percent, Cell::Number(x)) => format!("{:.0}%", x * 100.0),
            (Style::FinePercent, Cell::Number(x)) => format!("{:.2}%", x * 100.0),
            _ => cell.csv(),
        }
    }
}

/// Where a column appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    /// In the files (CSV, JSON) and on the terminal.
    Everywhere,
    /// In the files only.
    Files,
    /// On the terminal only: a view of other columns (a range, a note).
    Terminal,
}

type CellOf<'s, R> = Box<dyn Fn(&R) -> Cell + 's>;

/// One column of a table of rows of type `R` (`'s`: what its cell function may borrow).
pub struct Column<'s, R> {
    /// The CSV header and JSON key.
    pub name: Cow<'static, str>,
    /// The terminal table's title.
    pub title: Cow<'static, str>,
    /// What a number in it measures (`loss`, `relative`, `bits`, `ulp`, `step`, `share`);
    /// empty for names and counts.
    pub unit: &'static str,
    /// How the terminal writes it.
    pub style: Style,
    shown: Shown,
    cell: CellOf<'s, R>,
}

impl<'s, R> Column<'s, R> {
    /// A column in the files and on the terminal under `title`.
    pub fn new<T: Into<Cell>>(
        name: impl Into<Cow<'static, str>>,
        title: impl Into<Cow<'static, str>>,
        unit: &'static str,
        style: Style,
        cell: impl Fn(&R) -> T + 's,
    ) -> Column<'s, R> {
        Column {
            name: name.into(),
            title: title.into(),
            unit,
            style,
            shown: Shown::Everywhere,
            cell: Box::new(move |row| cell(row).into()),
        }
    }

    /// This column in the files only.
    pub fn files_only(mut self) -> Column<'s, R> {
        self.shown = Shown::Files;
        self
    }

    /// This column on the terminal only.
    pub fn terminal_only(mut self) -> Column<'s, R> {
        self.shown = Shown::Terminal;
        self
    }

    /// The cell of `row`.
    pub fn cell(&self, row: &R) -> Cell {
        (self.cell)(row)
    }

    fn in_files(&self) -> bool {
        self.shown != Shown::Terminal
    }

    fn on_terminal(&self) -> bool {
        self.shown != Shown::Files
    }
}

/// A table: its columns in file order, and the order the terminal shows them in.
pub struct Schema<'s, R> {
    columns: Vec<Column<'s, R>>,
    terminal: Option<Vec<String>>,
}

impl<'s, R> Schema<'s, R> {
    /// A table of these columns; the terminal shows those it shows in the same order.
    pub fn new(columns: Vec<Column<'s, R>>) -> Schema<'s, R> {
        Schema {
            columns,
            terminal: None,
        }
    }

    /// The terminal shows the columns named here, in this order.
    pub fn terminal_order<S: AsRef<str>>(mut self, names: &[S]) -> Schema<'s, R> {
        debug_assert!(names.iter().all(|n| self.column(n.as_ref()).is_some()));
        self.terminal = Some(names.iter().map(|n| n.as_ref().to_string()).collect());
        self
    }

    /// Every column, in file order (terminal-only ones included).
    pub fn columns(&self) -> &[Column<'s, R>] {
        &self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column<'s, R>> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The CSV header.
    pub fn header(&self) -> Vec<&str> {
        self.file_columns().map(|c| c.name.as_ref()).collect()
    }

    fn file_columns(&self) -> impl Iterator<Item = &Column<'s, R>> {
        self.columns.iter().filter(|c| c.in_files())
    }

    /// The columns the terminal shows, in its order (the HTML report's view too).
    pub fn terminal_columns(&self) -> Vec<&Column<'s, R>> {
        match &self.terminal {
            Some(names) => names.iter().filter_map(|n| self.column(n)).collect(),
            None => self.columns.iter().filter(|c| c.on_terminal()).collect(),
        }
    }

    /// The file columns as documentation: `name (unit)`, comma-separated.
    pub fn documented(&self) -> String {
        let columns: Vec<String> = self
            .file_columns()
            .map(|c| match c.unit {
                "" => c.name.to_string(),
                unit => format!("{} ({unit})", c.name),
            })
            .collect();
        columns.join(", ")
    }

    /// One CSV record.
    pub fn record(&self, row: &R) -> Vec<String> {
        self.file_columns().map(|c| c.cell(row).csv()).collect()
    }

    /// The whole table as CSV (RFC 4180, header row first).
    pub fn write_csv<'r, W: Write>(
        &self,
        out: W,
        rows: impl IntoIterator<Item = &'r R>,
    ) -> std::io::Result<()>
    where
        R: 'r,
    {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(self.header()).map_err(into_io)?;
        for row in rows {
            writer.write_record(self.record(row)).map_err(into_io)?;
        }
        writer.flush()
    }

    /// Rows as CSV records without a header (for a file written as a run goes).
    pub fn csv_rows<'r>(&self, rows: impl IntoIterator<Item = &'r R>) -> std::io::Result<Vec<u8>>
    where
        R: 'r,
    {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        for row in rows {
            writer.write_record(self.record(row)).map_err(into_io)?;
        }
        writer.into_inner().map_err(|e| e.into_error())
    }

    /// The whole table as CSV text.
    pub fn csv_text<'r>(&self, rows: impl IntoIterator<Item = &'r R>) -> String
    where
        R: 'r,
    {
        let mut bytes = Vec::new();
        // Writing into memory cannot fail.
        let _ = self.write_csv(&mut bytes, rows);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The table as a JSON array of objects keyed by column name.
    pub fn json<'r>(&self, rows: impl IntoIterator<Item = &'r R>) -> Value
    where
        R: 'r,
    {
        Value::Array(
            rows.into_iter()
                .map(|row| {
                    let object: Map<String, Value> = self
                        .file_columns()
                        .map(|c| (c.name.to_string(), c.cell(row).json()))
                        .collect();
                    Value::Object(object)
                })
                .collect(),
        )
    }

    /// The terminal table.
    pub fn table<'r>(&self, rows: impl IntoIterator<Item = &'r R>) -> Table
    where
        R: 'r,
    {
        let columns = self.terminal_columns();
        let mut table = Table::new(columns.iter().map(|c| c.title.to_string()));
        for row in rows {
            table.row(columns.iter().map(|c| c.style.text(&c.cell(row))));
        }
        table
    }
}

fn into_io(error: csv::Error) -> std::io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Pretty-printed JSON with a final newline.
pub fn json_text(value: &Value) -> String {
    // Serialising a Value built from strings and finite numbers cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        name: &'static str,
        loss: f64,
        step: Option<u64>,
    }

    fn schema() -> Schema<'static, Row> {
        Schema::new(vec![
            Column::new("name", "name", "", Style::Plain, |r: &Row| r.name),
            Column::new("loss", "loss", "", Style::Sci, |r: &Row| r.loss),
            Column::new("first_step", "first@", "step", Style::Plain, |r: &Row| {
                r.step
            }),
        ])
    }

    #[test]
    fn one_definition_gives_csv_json_and_terminal() {
        let rows = [
            Row {
                name: "f16",
                loss: f64::NAN,
                step: Some(1),
            },
            Row {
                name: "f64",
                loss: 0.125,
                step: None,
            },
        ];
        let schema = schema();
        assert_eq!(
            schema.csv_text(&rows),
            "name,loss,first_step\nf16,nan,1\nf64,0.125,\n"
        );
        assert_eq!(
            schema.json(&rows),
            serde_json::json!([
                {"name": "f16", "loss": "nan", "first_step": 1},
                {"name": "f64", "loss": 0.125, "first_step": null},
            ])
        );
        assert_eq!(
            schema.table(&rows).render(),
            "name      loss  first@\n----  --------  ------\nf16        nan       1\nf64   1.250e-1       -\n"
        );
    }

    #[test]
    fn json_keeps_integers_and_non_finite_values_apart() {
        assert_eq!(Cell::Number(400.0).json(), Value::from(400));
        assert_eq!(Cell::Number(1e-8).json(), Value::from(1e-8));
        assert_eq!(Cell::Number(f64::NEG_INFINITY).json(), Value::from("-inf"));
        assert_eq!(Cell::Decimal("1e-8".into()).json(), Value::from(1e-8));
        assert_eq!(Cell::Decimal("inf".into()).json(), Value::from("inf"));
        assert_eq!(Cell::Empty.json(), Value::Null);
        assert_eq!(Cell::Flag(true).json(), Value::Bool(true));
    }
}
