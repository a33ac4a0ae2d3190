//! The named constants a run stores in every format and the audit reports on: the relative
//! loss's eps and Adam's eps. Held as 256-bit decimals, rounded once into each format.

use crate::format::Decimal;
use crate::model::Loss;
use crate::train::{Optimizer, TrainConfig};

/// A constant of the run whose stored value can decide its fate (flushed to zero, subnormal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constant {
    /// The relative loss's eps in `|y − p| / (|y| + eps)`.
    Eps,
    /// Adam's eps in `m̂ / (√v̂ + eps)`.
    AdamEps,
}

impl Constant {
    /// Its name in reports and on the command line (`--eps`, `--adam-eps`).
    pub fn name(self) -> &'static str {
        match self {
            Constant::Eps => "eps",
            Constant::AdamEps => "adam_eps",
        }
    }

    /// How a sentence names it.
    pub fn label(self) -> &'static str {
        match self {
            Constant::Eps => "eps",
            Constant::AdamEps => "the Adam eps",
        }
    }
}

impl TrainConfig {
    /// The constants this run uses, in report order: eps with the relative loss, the Adam eps
    /// with Adam.
    pub fn constants(&self) -> Vec<(Constant, &Decimal)> {
        let mut used = Vec::new();
        if self.loss == Loss::Relative {
            used.push((Constant::Eps, &self.eps));
        }
        if self.optimizer.kind == Optimizer::Adam {
            used.push((Constant::AdamEps, &self.optimizer.adam_eps));
        }
        used
    }
}
