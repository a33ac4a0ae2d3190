//! Same seed and configuration, same bits, in every format, dropout included, on any thread;
//! another seed, other bits.

use precision_audit::data::builtin;
use precision_audit::format::Scalar;
use precision_audit::model::{Activation, glorot_uniform};
use precision_audit::train::TrainConfig;

use crate::common::{default_config, exact, exact_params, schedule, train};

const STEPS: usize = 20;

/// Two hidden layers with dropout 0.25, batches of 8 over 40 rows of 3 features.
fn config() -> (TrainConfig, precision_audit::data::Dataset) {
    let data = builtin(40, 3, 5);
    let mut config = default_config(&data);
    config.architecture.widths = vec![3, 6, 5, 1];
    config.architecture.activation = Activation::Tanh;
    config.architecture.dropout = 0.25;
    config.batch_size = 8;
    config.seed = 11;
    (config, data)
}

/// The exact text of every batch loss and of the final parameters after `STEPS` steps.
fn fingerprint<S: Scalar>(
    config: &TrainConfig,
    data: &precision_audit::data::Dataset,
    init_seed: u64,
    ctx: S::Context,
) -> (Vec<String>, Vec<String>) {
    let params = glorot_uniform(&config.architecture, init_seed);
    let (losses, trainer) = train::<S>(config, data, &params, ctx, STEPS);
    assert!(
        losses.iter().all(Scalar::is_finite),
        "a meaningful comparison needs finite losses: {losses:?}"
    );
    (
        losses.iter().map(exact).collect(),
        exact_params(trainer.mlp()),
    )
}

fn same_seed_same_bits<S: Scalar>(ctx: S::Context) {
    let (config, data) = config();
    // Dropout is really on: within the 20 steps some units are dropped and some kept.
    let kept: Vec<bool> = schedule(&config, &data)
        .take(STEPS)
        .flat_map(|plan| plan.keep.into_iter().flatten().collect::<Vec<_>>())
        .collect();
    assert!(kept.contains(&true) && kept.contains(&false));

    let here = fingerprint::<S>(&config, &data, config.seed, ctx.clone());
    let again = fingerprint::<S>(&config, &data, config.seed, ctx.clone());
    let elsewhere = std::thread::scope(|scope| {
        scope
            .spawn(|| fingerprint::<S>(&config, &data, config.seed, ctx.clone()))
            .join()
            .expect("the other thread trains")
    });
    assert_eq!(here, again, "same seed, same thread");
    assert_eq!(here, elsewhere, "same seed, another thread");

    // Another training seed (other shuffles and masks), same initial parameters.
    let mut reseeded = config.clone();
    reseeded.seed = 12;
    let shuffled = fingerprint::<S>(&reseeded, &data, config.seed, ctx.clone());
    assert_ne!(here.0, shuffled.0, "another seed reshuffles the batches");
    assert_ne!(here.1, shuffled.1);

    // Another seed for everything, initial parameters included.
    let other = fingerprint::<S>(&reseeded, &data, reseeded.seed, ctx);
    assert_ne!(
        here.0[0], other.0[0],
        "other initial weights, other first loss"
    );
    assert_ne!(here.1, other.1);
}

every_format!(same_seed_same_bits);
