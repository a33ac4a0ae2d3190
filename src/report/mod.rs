//! Reports: every output table defined once ([`schema`]) and written from it as CSV, JSON and
//! terminal tables; the terminal reports; the `--csv` directory; the baseline comparison.
//! Results arrive computed: nothing here computes a statistic of its own.

pub mod audit_out;
pub mod audit_tables;
pub mod audit_text;
pub mod baseline;
pub mod blame_report;
pub mod files;
pub mod format_tables;
pub mod grid_merge;
pub mod grid_report;
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
    use grid_report as grid;
    use study_report as study;
    // The grid's own columns stand where the grid's keys go.
    let keys = ["<keys>".to_string()];
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
        ("grid.csv", grid::grid(&keys).documented()),
        ("grid_runs.csv", grid::grid_runs(&keys).documented()),
        ("grid_tasks.csv", grid::grid_tasks(&keys).documented()),
        ("grid_config.csv", grid::grid_config().documented()),
        ("shard.csv", grid::shard().documented()),
        ("orders.csv", study::orders().documented()),
        ("orders_summary.csv", study::orders_summary().documented()),
        ("orders_ops.csv", study::orders_ops().documented()),
        ("blame.csv", blame_report::table().documented()),
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
