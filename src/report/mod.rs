//! Reports: terminal tables, CSV files and JSON from results computed elsewhere.

pub mod csv_out;
pub mod table;

pub use table::Table;
