//! The network and training layer against independent evidence: gradients against central
//! finite differences in 256-bit MPFR, optimizer steps against hand computations, bit-for-bit
//! determinism in every format, one generic body per property for every format, the f64 and
//! MPFR trajectories side by side, the two ways f16 training fails on the built-in data (the
//! relative loss's ε flushes to zero; Adam's second moment underflows), the reduction kernels,
//! the rounding of updates (nearest, stochastic, Kahan), and the bugs this suite found, pinned
//! by name.
//!
//! Tolerances live in `tests/support/prec.rs`, each with the reason for its size.

/// Helpers shared by the test suites (`tests/support/mod.rs`, a module, not a test target:
/// cargo builds `tests/*.rs` and `tests/*/main.rs` only); this suite uses its tolerances.
#[path = "../support/mod.rs"]
mod support;

#[macro_use]
mod common;
mod classification_traps;
mod custom_formats;
mod determinism;
mod f16_traps;
mod generic;
mod gradients;
mod kernels;
mod op_formats;
mod optimizers;
mod recipes;
mod reference;
mod regressions;
mod update_rounding;
