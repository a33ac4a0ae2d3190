//! precision-audit: run one network and one loss in f16, bf16, f32, f64 and an MPFR reference,
//! in lockstep, and report where precision is lost.

#![warn(missing_docs)]

pub mod audit;
pub mod blame;
pub mod cli;
pub mod data;
pub mod error;
pub mod flags;
pub mod format;
pub mod kernel;
pub mod model;
pub mod names;
pub mod plot;
pub mod report;
pub mod resources;
pub mod seed;
pub mod study;
pub mod train;

pub use error::{Error, Result};
