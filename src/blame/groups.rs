//! The op groups blame promotes: each op name of a step, or each layer × phase when a step
//! has many ops; plus the values made outside ops (the data, the loss's and the optimizer's
//! constants and state), which a promotion must be able to reach.

use std::sync::Arc;

use crate::audit::AuditConfig;
use crate::format::{Format, Held};
use crate::kernel::{Observer, OpRecord};
use crate::train::op_formats::{FEATURES, LOSS_CONSTANTS, OPT_CONSTANTS, TARGETS};
use crate::train::{OpFormats, OpPattern, Trainer};

crate::named_enum! {
    /// How blame groups ops (`--blame-groups`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Grouping: parsed from "--blame-groups" as "grouping" {
        /// Each op name when a step has at most 40, else each layer × phase.
        Auto = "auto",
        /// Each op name (`opt.update`, `loss.square`, …).
        Op = "op",
        /// Each layer × phase (`fwd.dense1.*`, `bwd.dense2.*`, `loss.*`, `bwd.loss.*`,
        /// `opt.*`).
        Layer = "layer",
    }
}

/// With [`Grouping::Auto`], the most op names grouped one by one.
const MOST_OP_GROUPS: usize = 40;

/// Collects op names in the order they first run.
#[derive(Default)]
struct Names(Vec<String>);

impl Observer<Held> for Names {
    fn observe(&mut self, record: &OpRecord<'_, Held>) {
        if !self.0.iter().any(|n| n == record.name) {
            self.0.push(record.name.to_string());
        }
    }
}

/// The layer × phase of an op: `fwd.dense1.matmul` → `fwd.dense1.*`, `loss.square` →
/// `loss.*`, `bwd.loss.mean` → `bwd.loss.*`, `opt.adam.v` → `opt.*`.
fn layer_of(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        [phase @ ("fwd" | "bwd"), layer, _, ..] => format!("{phase}.{layer}.*"),
        [first, ..] => format!("{first}.*"),
        [] => name.to_string(),
    }
}

/// The groups of a lane in `format`, in the order a step first runs them; the made values
/// (data, constants) come first when ops are grouped by name, and fall into `loss.*` and
/// `opt.*` when they are grouped by layer.
pub fn op_groups(config: &AuditConfig, format: Format, grouping: Grouping) -> Vec<OpPattern> {
    let mut names = Names::default();
    let mut trainer = Trainer::<Held>::with_precision(
        &config.train,
        &config.data,
        &config.init,
        Arc::new(OpFormats::pure(format)),
    );
    if let Some(plan) = config.schedule().next() {
        trainer.step(&plan, Some(&mut names));
    }
    let by_layer = match grouping {
        Grouping::Auto => names.0.len() > MOST_OP_GROUPS,
        Grouping::Op => false,
        Grouping::Layer => true,
    };
    let mut groups: Vec<String> = Vec::new();
    if by_layer {
        for name in &names.0 {
            let layer = layer_of(name);
            if !groups.contains(&layer) {
                groups.push(layer);
            }
        }
        if !groups.iter().any(|g| g == "data.*") {
            groups.insert(0, "data.*".into());
        }
    } else {
        groups.extend([FEATURES, TARGETS, LOSS_CONSTANTS, OPT_CONSTANTS].map(String::from));
        groups.extend(names.0);
    }
    groups.iter().map(|g| OpPattern::new(g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_group_by_phase_and_layer() {
        assert_eq!(layer_of("fwd.dense1.matmul"), "fwd.dense1.*");
        assert_eq!(layer_of("bwd.loss.mean"), "bwd.loss.*");
        assert_eq!(layer_of("loss.square"), "loss.*");
        assert_eq!(layer_of("opt.adam.v"), "opt.*");
        assert_eq!(layer_of("opt.update"), "opt.*");
    }
}
