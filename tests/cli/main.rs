//! End-to-end tests of the `precision-audit` command line: the binary is run as a user runs it,
//! its report and CSV files are pinned by insta snapshots, and the facts that must hold are
//! asserted from the CSV files parsed back.
//!
//! Snapshots are written to `tests/snapshots/cli__<name>.snap`; create or update them with
//! `INSTA_UPDATE=always cargo test --release --test cli` and review the diff. The numbers are
//! deterministic bit for bit, so the default job's files and the small outputs are pinned at
//! full precision; the matrix of small configurations, 16 snapshots mostly of ops.csv, is
//! pinned at 4 significant digits, so that a last-bit change in a kernel moves the default
//! job's snapshots and the asserted facts, not every matrix file.

/// Helpers shared by the test suites (`tests/support/mod.rs`, a module, not a test target:
/// cargo builds `tests/*.rs` and `tests/*/main.rs` only).
#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod blame;
mod check;
mod classification;
mod common;
mod consistency;
mod facts;
mod help;
mod loss_expr;
mod mixed;
mod model_files;
mod narrow_lanes;
mod plot;
mod recipes;
mod reliability;
mod resources;
mod snapshots;
mod update_rounding;

/// Pins `text` as the snapshot `tests/snapshots/cli__<name>.snap`, described by the command
/// that produced it.
pub fn snapshot(name: &str, command: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(command);
    settings.set_omit_expression(true);
    // Relative to `tests/cli/`: every suite keeps its snapshots in `tests/snapshots`.
    settings.set_snapshot_path("../snapshots");
    settings.bind(|| insta::assert_snapshot!(name, text));
}
