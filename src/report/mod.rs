//! Reports: terminal tables, CSV files and JSON from results computed elsewhere.

pub mod audit_csv;
pub mod audit_text;
pub mod baseline;
pub mod csv_out;
pub mod json_out;
pub mod study_report;
pub mod table;

pub use table::Table;
