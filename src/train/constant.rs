//! The named constants a run stores in every format and the audit reports on: the loss's
//! constants (`eps`, and any given with `--const NAME=VALUE`) and Adam's eps. Held as 256-bit
//! decimals, rounded once into each format.

use crate::format::Decimal;
use crate::train::{Optimizer, TrainConfig};

/// A constant of the run whose stored value can decide its fate (flushed to zero, subnormal).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constant {
    /// The loss's `eps` (`--eps`, or `--const eps=…`), e.g. in `|y − p| / (|y| + eps)`.
    Eps,
    /// Any other named constant of the loss (`--const delta=1`).
    Loss(String),
    /// Adam's eps in `m̂ / (√v̂ + eps)`.
    AdamEps,
}

impl Constant {
    /// The loss's constant called `name`.
    pub fn of_loss(name: &str) -> Constant {
        if name == Constant::Eps.name() {
            Constant::Eps
        } else {
            Constant::Loss(name.to_string())
        }
    }

    /// Its name in reports and on the command line (`--eps`, `--adam-eps`, `--const NAME=`).
    pub fn name(&self) -> &str {
        match self {
            Constant::Eps => "eps",
            Constant::Loss(name) => name,
            Constant::AdamEps => "adam_eps",
        }
    }

    /// How a sentence names it.
    pub fn label(&self) -> &str {
        match self {
            Constant::AdamEps => "the Adam eps",
            other => other.name(),
        }
    }
}

impl TrainConfig {
    /// The constants this run uses, in report order: the loss's named constants in the order
    /// its expression writes them, then the Adam eps with Adam.
    pub fn constants(&self) -> Vec<(Constant, &Decimal)> {
        let mut used: Vec<(Constant, &Decimal)> = self
            .loss
            .constants()
            .map(|(name, value)| (Constant::of_loss(name), value))
            .collect();
        if self.optimizer.kind == Optimizer::Adam {
            used.push((Constant::AdamEps, &self.optimizer.adam_eps));
        }
        used
    }
}
