//! Reports: every output table defined once ([`schema`]) and written from it as CSV, JSON and
//! terminal tables; the terminal reports; the `--csv` directory; the baseline comparison.
//! Results arrive computed: nothing here computes a statistic of its own.

pub mod audit_out;
pub mod audit_tables;
pub mod audit_text;
pub mod baseline;
pub mod files;
pub mod format_tables;
pub mod saved;
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
    /// JSON: the same tables (an audit's: everything it found).
    Json,
}

/// Every CSV file with a fixed set of columns, as README's table documents it: the file and
/// its columns with their units.
pub fn catalog() -> Vec<(&'static str, String)> {
    use audit_tables as audit;
    use study_report as study;
    vec![
        ("summary.csv", audit::summary().documented()),
        ("ops.csv", audit::ops().documented()),
        ("steps.csv", audit::steps().documented()),
        ("events.csv", audit::events().documented()),
        ("chains.csv", audit::chains().documented()),
        ("exponents.csv", audit::exponents().documented()),
        ("constants.csv", audit::constants().documented()),
        ("schedule.csv", audit::schedule().documented()),
        ("rows.csv", audit::rows().documented()),
        ("advice.csv", study::advice().documented()),
        ("config.csv", audit::config().documented()),
        ("sweep.csv", study::sweep().documented()),
        ("sweep_summary.csv", study::sweep_summary().documented()),
        ("orders.csv", study::orders().documented()),
        ("orders_summary.csv", study::orders_summary().documented()),
        ("orders_ops.csv", study::orders_ops().documented()),
        ("manifest.csv", saved::manifest().documented()),
    ]
}

#[cfg(test)]
mod tests {
    /// README's "CSV output" table lists every column of every file, in order, with its unit:
    /// adding a column to a table without documenting it fails here, with the line to paste.
    #[test]
    fn readme_documents_every_column() {
        let readme = include_str!("../../README.md");
        let missing: Vec<String> = super::catalog()
            .into_iter()
            .map(|(file, columns)| format!("| `{file}` | {columns} |"))
            .filter(|line| !readme.lines().any(|l| l == line))
            .collect();
        assert!(
            missing.is_empty(),
            "README.md's CSV table should have the lines\n{}",
            missing.join("\n")
        );
    }
}
