//! The number-format layer against independent evidence: Berkeley TestFloat vectors, every f16
//! and bf16 bit pattern, seeded random operands aimed at ties, subnormals and overflow, one
//! generic body for every format, and the known traps pinned by name.
//!
//! Expected values come from rug (MPFR) computed exactly or at 300 bits and rounded by the
//! test's own rounding (`formats/oracle.rs`), never by the crate's. Stochastic rounding is
//! checked by its statistics over seeded draws, with the tolerance of `tests/support/prec.rs`.

/// Helpers shared by the test suites (`tests/support/mod.rs`, a module, not a test target:
/// cargo builds `tests/*.rs` and `tests/*/main.rs` only); this suite uses its tolerances.
#[path = "../support/mod.rs"]
mod support;

mod exhaustive;
mod generic;
mod narrow;
mod oracle;
mod random;
mod regressions;
mod stochastic;
mod testfloat;
