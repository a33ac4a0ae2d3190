//! Per-op precision policies (`OpFormats` over `Held` values) against the runs they generalise:
//! a policy with no rule gives the bits of the format's own run, and the rules of mixed
//! precision give the bits of the mixed trainer (without loss scaling). Dropout, tanh, the
//! relative loss with its eps and Adam are all on, so every kind of op and constant is placed.

use std::sync::Arc;

use half::{bf16, f16};
use precision_audit::data::{Dataset, builtin};
use precision_audit::format::{Format, Held, Native};
use precision_audit::kernel::Unobserved;
use precision_audit::model::{Activation, Loss, Preset, glorot_uniform};
use precision_audit::train::{MixedTrainer, OpFormats, TrainConfig, Trainer, Training};

use crate::common::{default_config, exact, schedule};

const STEPS: usize = 30;

fn config() -> (TrainConfig, Dataset) {
    let data = builtin(40, 3, 5);
    let mut config = default_config(&data);
    config.architecture.widths = vec![3, 6, 5, 1];
    config.architecture.activation = Activation::Tanh;
    config.architecture.dropout = 0.25;
    config.loss = Loss::from(Preset::Relative);
    config.batch_size = 8;
    (config, data)
}

/// Trains `training` for `STEPS` steps: every batch loss, the final whole-data loss and every
/// parameter, exactly.
fn trained<T: Training>(mut training: T, config: &TrainConfig, data: &Dataset) -> Vec<String> {
    let losses: Vec<T::Master> = schedule(config, data)
        .take(STEPS)
        .map(|plan| training.step::<Unobserved>(&plan, None).0)
        .collect();
    let params = training
        .master()
        .layers
        .iter()
        .flat_map(|d| d.weight.iter().chain(d.bias.iter()))
        .map(exact);
    let full = training.full_loss();
    losses
        .iter()
        .chain([&full])
        .map(exact)
        .chain(params)
        .collect()
}

fn held(config: &TrainConfig, data: &Dataset, formats: OpFormats) -> Vec<String> {
    let params = glorot_uniform(&config.architecture, config.seed);
    let training = Trainer::<Held>::with_precision(config, data, &params, Arc::new(formats));
    trained(training, config, data)
}

fn native<S: Native>(config: &TrainConfig, data: &Dataset) -> Vec<String> {
    let params = glorot_uniform(&config.architecture, config.seed);
    trained(Trainer::<S>::new(config, data, &params, ()), config, data)
}

fn mixed<C: Native>(config: &TrainConfig, data: &Dataset) -> Vec<String> {
    let params = glorot_uniform(&config.architecture, config.seed);
    trained(
        MixedTrainer::<C, f32>::new(config, data, &params),
        config,
        data,
    )
}

#[test]
fn a_policy_without_rules_is_the_formats_own_run() {
    let (config, data) = config();
    let all = |x: &[String]| x.len();
    for (format, expected) in [
        (Format::F16, native::<f16>(&config, &data)),
        (Format::Bf16, native::<bf16>(&config, &data)),
        (Format::F32, native::<f32>(&config, &data)),
        (Format::F64, native::<f64>(&config, &data)),
    ] {
        let got = held(&config, &data, OpFormats::pure(format));
        assert_eq!(all(&got), all(&expected));
        assert_eq!(got, expected, "{format}");
    }
    // f16 stores eps = 1e-8 as 0: the relative loss is inf from the first step, as its own
    // run has it (the comparison above is of something that happens).
    let f16 = held(&config, &data, OpFormats::pure(Format::F16));
    assert!(f16[0].contains("inf") || f16[0] == "nan", "{}", f16[0]);
}

#[test]
fn the_rules_of_mixed_precision_are_the_mixed_trainer() {
    let (config, data) = config();
    assert_eq!(
        held(&config, &data, OpFormats::mixed(Format::F16)),
        mixed::<f16>(&config, &data)
    );
    assert_eq!(
        held(&config, &data, OpFormats::mixed(Format::Bf16)),
        mixed::<bf16>(&config, &data)
    );
    // And mixed is not pure: the rules change something.
    assert_ne!(
        held(&config, &data, OpFormats::mixed(Format::Bf16)),
        native::<bf16>(&config, &data)
    );
}
