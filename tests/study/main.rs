//! End-to-end tests of the studies behind "Is the drift real?": the seed sweep (`--seeds N`),
//! the reduction-order study (`--orders K`) and the epsilon advisor (the "Epsilon advice"
//! section and `advice.csv` of every audit). The binary is run as a user runs it; its CSV files
//! are parsed back with the `csv` crate and the facts that must hold are asserted; a few small
//! outputs are pinned by insta snapshots. The statistics themselves are checked against a
//! 3-seed hand computation at the library level.
//!
//! Snapshots are written to `tests/snapshots/study__<name>.snap`; create or update them with
//! `INSTA_UPDATE=always cargo test --release --test study` and review the diff. The numbers are
//! deterministic bit for bit, so they are pinned at full precision.

/// Helpers shared by the test suites (`tests/support/mod.rs`, a module, not a test target:
/// cargo builds `tests/*.rs` and `tests/*/main.rs` only).
#[path = "../support/mod.rs"]
mod support;

mod advisor;
mod bad_input;
mod common;
mod grid;
mod orders;
mod snapshots;
mod stats;
mod sweep;

/// Pins `text` as the snapshot `tests/snapshots/study__<name>.snap`, described by the command
/// that produced it.
pub fn snapshot(name: &str, command: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(command);
    settings.set_omit_expression(true);
    // Relative to `tests/study/`: every suite keeps its snapshots in `tests/snapshots`.
    settings.set_snapshot_path("../snapshots");
    settings.bind(|| insta::assert_snapshot!(name, text));
}
