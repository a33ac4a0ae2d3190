//! End-to-end tests of the `precision-audit` command line: the binary is run as a user runs it,
//! its report and CSV files are pinned by insta snapshots, and the facts that must hold are
//! asserted from the CSV files parsed back.
//!
//! Snapshots are written to `tests/snapshots/cli__<name>.snap`; create or update them with
//! `INSTA_UPDATE=always cargo test --release --test cli` and review the diff. The numbers are
//! deterministic bit for bit, so they are pinned at full precision.

/// Helpers shared with the other end-to-end suite (`tests/support/mod.rs`).
mod support;

#[path = "cli/common.rs"]
mod common;

#[path = "cli/consistency.rs"]
mod consistency;

#[path = "cli/snapshots.rs"]
mod snapshots;

#[path = "cli/facts.rs"]
mod facts;

#[path = "cli/bad_input.rs"]
mod bad_input;

#[path = "cli/help.rs"]
mod help;

#[path = "cli/check.rs"]
mod check;

/// Pins `text` as the snapshot `tests/snapshots/cli__<name>.snap`, described by the command
/// that produced it.
pub fn snapshot(name: &str, command: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_description(command);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}
