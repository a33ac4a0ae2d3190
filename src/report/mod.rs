//! Reports: every output table defined once ([`schema`]) and written from it as CSV, JSON and
//! terminal tables; the terminal reports; the `--csv` directory; the baseline comparison.
//! Results arrive computed: nothing here computes a statistic of its own.

pub mod audit_out;
pub mod audit_tables;
pub mod audit_text;
pub mod baseline;
pub mod files;
pub mod format_tables;
pub mod schema;
pub mod study_report;
pub mod table;

pub use files::{CsvDir, Stream};
pub use schema::{Cell, Column, Schema, Style};
pub use table::Table;

/// What a command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned text tables.
    Table,
    /// CSV (RFC 4180) with a header row.
    Csv,
    /// JSON (the audit only: everything it found).
    Json,
}
