//! The network and training layer against independent evidence: gradients against central
//! finite differences in 256-bit MPFR, optimizer steps against hand computations, bit-for-bit
//! determinism in every format, one generic body per property for every format, the f64 and
//! MPFR trajectories side by side, the two ways f16 training fails on the built-in data (the
//! relative loss's ε flushes to zero; Adam's second moment underflows), the reduction kernels,
//! and the bugs this suite found, pinned by name.
//!
//! Tolerances live in `training/common.rs` (`tolerance`), each with the reason for its size.

#[macro_use]
mod common;
mod determinism;
mod f16_traps;
mod generic;
mod gradients;
mod kernels;
mod optimizers;
mod reference;
mod regressions;
