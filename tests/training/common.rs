//! Shared set-up: the default-like configuration, exact value comparison, an op recorder, and
//! the macro that instantiates one generic body for every format. The tolerances are shared
//! with the other suites (`tests/support/prec.rs`).

use precision_audit::data::Dataset;
use precision_audit::format::{Decimal, Scalar};
use precision_audit::kernel::{Accumulate, Observer, OpRecord, Order, Reduction};
use precision_audit::model::{Activation, Architecture, Loss, Mlp, ParamSet, Preset};
use precision_audit::train::{
    LossScaling, Optimizer, OptimizerConfig, Schedule, TrainConfig, Trainer, UpdateRounding,
};
use rug::Float;

use crate::support::prec;

/// The reference precision the training runs use (binary128's, the crate's default).
pub const REFERENCE_BITS: u32 = 113;

/// A decimal constant as a user would type it.
pub fn decimal(text: &str) -> Decimal {
    text.parse().expect("a valid decimal")
}

/// Adam with the command line's defaults (Keras's ε = 1e-7) and learning rate `lr`.
pub fn adam(lr: &str) -> OptimizerConfig {
    OptimizerConfig {
        kind: Optimizer::Adam,
        lr: decimal(lr),
        momentum: decimal("0"),
        beta1: decimal("0.9"),
        beta2: decimal("0.999"),
        adam_eps: decimal("1e-7"),
        update_rounding: UpdateRounding::Nearest,
    }
}

/// SGD with learning rate `lr` and momentum `momentum` (PyTorch's, no dampening).
pub fn sgd(lr: &str, momentum: &str) -> OptimizerConfig {
    OptimizerConfig {
        kind: Optimizer::Sgd,
        momentum: decimal(momentum),
        ..adam(lr)
    }
}

/// The command line's defaults for `data`: one hidden layer of 10 relu units, mse, Adam at
/// 0.01, batches of 32, 100 epochs, seed 42, sequential sums in an f32 (or wider) accumulator.
pub fn default_config(data: &Dataset) -> TrainConfig {
    TrainConfig {
        architecture: Architecture {
            widths: vec![data.feature_count(), 10, 1],
            activation: Activation::Relu,
            dropout: 0.0,
        },
        loss: Loss::from(Preset::Mse),
        optimizer: adam("0.01"),
        reduction: Reduction {
            order: Order::Sequential,
            accumulate: Accumulate::F32,
        },
        batch_size: 32,
        epochs: 100,
        seed: 42,
        loss_scaling: LossScaling::None,
        promote: Vec::new(),
        mx_scale: precision_audit::format::scaled::ScaleRule::Floor,
    }
}

/// The batch schedule of `config` over `data`.
pub fn schedule(config: &TrainConfig, data: &Dataset) -> Schedule {
    Schedule::new(
        data.samples(),
        config.batch_size,
        config.epochs,
        config.architecture.hidden(),
        config.architecture.dropout,
        config.seed,
    )
}

/// Trains `steps` steps (at most the schedule's) and returns each batch loss and the trainer.
pub fn train<S: Scalar>(
    config: &TrainConfig,
    data: &Dataset,
    params: &ParamSet,
    ctx: S::Context,
    steps: usize,
) -> (Vec<S>, Trainer<S>) {
    let mut trainer = Trainer::<S>::new(config, data, params, ctx);
    let losses = schedule(config, data)
        .take(steps)
        .map(|plan| trainer.step(&plan, None))
        .collect();
    (losses, trainer)
}

/// The exact value of `x` as text (hexadecimal significand, all of its bits), so that two
/// values compare equal exactly when they are the same number; NaN is `nan`, signs are kept.
pub fn exact<S: Scalar>(x: &S) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let big = x.to_big(x.precision());
    let sign = if x.is_sign_negative() { "-" } else { "+" };
    format!("{sign}{:x}", big.abs())
}

/// Every parameter of `mlp`, layer by layer, weight then bias, as [`exact`] text.
pub fn exact_params<S: Scalar>(mlp: &Mlp<S>) -> Vec<String> {
    mlp.layers
        .iter()
        .flat_map(|d| d.weight.iter().chain(d.bias.iter()))
        .map(exact)
        .collect()
}

/// The number of format values between `got` and `expected` correctly rounded to the format,
/// or, for the reference (whose values are not enumerable), `None`.
pub fn ulps_from<S: Scalar>(got: &S, expected: &Float, ctx: &S::Context) -> Option<i64> {
    let rounded = S::from_big(expected, ctx);
    Some((got.ordinal()? - rounded.ordinal()?).abs())
}

/// Asserts that `got` is within `ulps` format values of the exact `expected`, or, in the
/// reference, within [`prec::REFERENCE_VS_EXACT`] of it.
pub fn assert_near_exact<S: Scalar>(
    got: &S,
    expected: &Float,
    ulps: i64,
    ctx: &S::Context,
    what: &str,
) {
    match ulps_from(got, expected, ctx) {
        Some(distance) => assert!(
            distance <= ulps,
            "{what}: got {got:?}, exact {expected}, {distance} ulps apart (allowed {ulps})"
        ),
        None => {
            let error = Float::with_val(1000, &got.to_big(got.precision()) - expected);
            assert!(
                error.clone().abs() < prec::REFERENCE_VS_EXACT,
                "{what}: got {got:?}, exact {expected}, error {error}"
            );
        }
    }
}

/// An exact decimal at 1000 bits, the test side's stand-in for a rational.
pub fn big(text: &str) -> Float {
    Float::with_val(1000, Float::parse(text).expect("a decimal"))
}

/// Records the name and output of every op, as f64 (exact for the fixed formats).
#[derive(Default)]
pub struct Recorder {
    /// (op name, output values in row-major order).
    pub ops: Vec<(String, Vec<f64>)>,
}

impl Recorder {
    /// The outputs of every op called `name`, concatenated.
    pub fn outputs(&self, name: &str) -> Vec<f64> {
        self.ops
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, values)| values.iter().copied())
            .collect()
    }
}

impl<S: Scalar> Observer<S> for Recorder {
    fn observe(&mut self, record: &OpRecord<'_, S>) {
        self.ops.push((
            record.name.to_string(),
            record.output.iter().map(Scalar::to_f64).collect(),
        ));
    }
}

/// Instantiates each generic property `fn name<S: Scalar>(ctx: S::Context)` as a module of
/// the same name with one test per format: f16, bf16, f32, f64 and the 113-bit reference.
macro_rules! every_format {
    ($($property:ident),+ $(,)?) => {$(
        mod $property {
            #[test]
            fn f16() {
                super::$property::<half::f16>(());
            }
            #[test]
            fn bf16() {
                super::$property::<half::bf16>(());
            }
            #[test]
            fn f32() {
                super::$property::<f32>(());
            }
            #[test]
            fn f64() {
                super::$property::<f64>(());
            }
            #[test]
            fn mpfr113() {
                super::$property::<precision_audit::format::Mpfr>(
                    crate::common::REFERENCE_BITS,
                );
            }
        }
    )+};
}
