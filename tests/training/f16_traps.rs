//! The two ways f16 training fails on the built-in data, pinned by name, with the mechanism
//! asserted op by op: the relative loss's ε = 1e-8 flushes to zero, and Adam's second moment
//! underflows so that the first step divides by ε.

use precision_audit::data::builtin;
use precision_audit::format::{Mpfr, Scalar};
use precision_audit::model::{Loss, Preset, glorot_uniform};
use precision_audit::train::{TrainConfig, Trainer};

use crate::common::{REFERENCE_BITS, Recorder, decimal, default_config, schedule};
use crate::support::prec;

/// f16's smallest positive subnormal, 2⁻²⁴ ≈ 5.96e-8: anything at most half of it rounds to 0.
const F16_SMALLEST_SUBNORMAL: f64 = 5.960_464_477_539_063e-8;

/// The built-in data (100 × 2, seed 0) with the relative loss and ε = 1e-8, defaults otherwise.
fn relative_setup() -> (TrainConfig, precision_audit::data::Dataset) {
    let data = builtin(100, 2, 0);
    let mut config = default_config(&data);
    config.loss = Loss::with_eps(Preset::Relative, &decimal("1e-8"));
    (config, data)
}

/// One step of the relative setup in `S`: the loss, what the ops produced, and the trainer.
fn first_step<S: Scalar>(ctx: S::Context) -> (S, Recorder, Trainer<S>) {
    let (config, data) = relative_setup();
    let params = glorot_uniform(&config.architecture, config.seed);
    let mut trainer = Trainer::<S>::new(&config, &data, &params, ctx);
    let plan = schedule(&config, &data).next().expect("a first step");
    let mut recorder = Recorder::default();
    let loss = trainer.step(&plan, Some(&mut recorder));
    (loss, recorder, trainer)
}

/// ε = 1e-8 is below half of f16's smallest subnormal (2.98e-8), so f16 stores it as 0; bf16,
/// with f32's exponent range, stores it as 1.0011717677116394e-8 (8 significant bits). With
/// ε = 0 the denominator |y| + ε is 0 for every target that is 0 in f16: the 13 exact zeros of
/// the built-in data and the nonzero targets at most 2⁻²⁵, which f16 flushes. The first batch
/// holds some of them, the predictions there are nonzero, |p − 0| / 0 = +inf, and the batch
/// loss is +inf at step 1 (as is |p − y| divided by the tiniest nonzero targets, which
/// overflows f16's 65504). The backward pass then divides sign(p − y) by 0 too, the gradients
/// are infinite, Adam's m̂ / (√v̂ + ε) is inf / inf = NaN, and the weights are NaN after one step.
#[test]
fn f16_flushes_relative_eps_to_zero_and_the_loss_is_infinite_at_step_1() {
    let (_, data) = relative_setup();
    let (loss, recorder, trainer) = first_step::<half::f16>(());

    assert!(
        trainer.eps().unwrap().is_zero(),
        "f16 ε is {:?}",
        trainer.eps()
    );
    let flushed = data
        .targets
        .iter()
        .filter(|y| y.abs() <= F16_SMALLEST_SUBNORMAL / 2.0)
        .count();
    let exact_zeros = data.targets.iter().filter(|y| **y == 0.0).count();
    assert_eq!(exact_zeros, 13);
    assert!(flushed > exact_zeros, "some nonzero targets flush too");
    let zero_targets = trainer.targets().iter().filter(|y| y.is_zero()).count();
    assert_eq!(zero_targets, flushed, "targets that are 0 in f16");

    let denominators = recorder.outputs("loss.denominator");
    let zero_denominators = denominators.iter().filter(|d| **d == 0.0).count();
    assert!(zero_denominators > 0, "no zero |y| + ε in the first batch");
    assert_eq!(denominators.len(), 32);
    let ratios = recorder.outputs("loss.div");
    for (d, r) in denominators.iter().zip(&ratios) {
        if *d == 0.0 {
            assert_eq!(
                *r,
                f64::INFINITY,
                "a zero denominator meets a nonzero |p − y|"
            );
        }
    }
    // Tiny nonzero denominators overflow the quotient too: |p − y| / 2⁻²⁴ > 65504 for any
    // |p − y| above 0.004.
    let overflowed = (0..ratios.len())
        .filter(|&k| denominators[k] > 0.0 && ratios[k] == f64::INFINITY)
        .count();
    assert!(overflowed > 0, "{ratios:?}");
    assert_eq!(loss.to_f64(), f64::INFINITY, "the step-1 loss");

    let loss_grads = recorder.outputs("bwd.loss.div");
    assert!(loss_grads.iter().any(|g| g.is_infinite()));
    let weights = &trainer.mlp().layers[0].weight;
    assert!(weights.iter().any(Scalar::is_nan), "{weights:?}");
}

/// The same first step in bf16, f32, f64 and the reference: ε is nonzero, no denominator is
/// zero, the loss is finite (large: |p| / 1e-8 at the zero targets) and so are the weights.
#[test]
fn wider_exponent_ranges_keep_relative_eps_and_the_loss_finite() {
    fn check<S: Scalar>(ctx: S::Context, name: &str, eps: f64) {
        let (loss, recorder, trainer) = first_step::<S>(ctx);
        assert_eq!(trainer.eps().unwrap().to_f64(), eps, "{name} ε");
        let denominators = recorder.outputs("loss.denominator");
        assert!(denominators.iter().all(|d| *d > 0.0), "{name}");
        assert!(loss.is_finite() && loss.to_f64() > 1e3, "{name}: {loss:?}");
        let weights_finite = trainer
            .mlp()
            .layers
            .iter()
            .all(|d| d.weight.iter().all(Scalar::is_finite));
        assert!(weights_finite, "{name}");
    }
    check::<half::bf16>((), "bf16", 1.0011717677116394e-8);
    check::<f32>((), "f32", f64::from(1e-8f32));
    check::<f64>((), "f64", 1e-8);
    check::<Mpfr>(REFERENCE_BITS, "reference", 1e-8);
}

/// Adam in f16 with the command line's defaults (ε = 1e-7, mse, built-in data) diverges at
/// once. Gradients of the first layer are ~1e-4–1e-3; g² is a subnormal f16 and (1 − β2)·g² ≈
/// 1e-9 is below 2⁻²⁵, so v = 0 while m = 0.1·g is not. The first update is then
/// lr·m̂ / (0 + ε) = lr·g / 1.19e-7 (ε = 1e-7 rounds to 2⁻²³ in f16): tens of units instead of
/// lr = 0.01. Step 2's forward pass overflows (loss +inf), step 3's is NaN. In f32 the same
/// step is at most lr, as the exact formula says (|m̂| / √v̂ = 1 at t = 1).
#[test]
fn adam_v_underflows_in_f16_and_the_first_step_explodes() {
    let data = builtin(100, 2, 0);
    let config = default_config(&data);
    let params = glorot_uniform(&config.architecture, config.seed);
    let plans: Vec<_> = schedule(&config, &data).take(3).collect();

    let mut trainer = Trainer::<half::f16>::new(&config, &data, &params, ());
    let mut recorder = Recorder::default();
    let first = trainer.step(&plans[0], Some(&mut recorder));
    assert!(first.is_finite(), "step 1 starts from finite weights");
    // The optimizer ops run once per parameter tensor in the same order, so their
    // concatenated outputs line up element by element.
    let m = recorder.outputs("opt.adam.m");
    let v = recorder.outputs("opt.adam.v");
    let steps = recorder.outputs("opt.adam.step");
    assert_eq!((m.len(), v.len()), (steps.len(), steps.len()));
    let exploded: Vec<f64> = (0..steps.len())
        .filter(|&k| v[k] == 0.0 && m[k] != 0.0)
        .map(|k| steps[k].abs())
        .collect();
    assert!(!exploded.is_empty(), "no second moment underflowed");
    assert!(
        exploded.iter().all(|s| *s > 1.0),
        "every update with v = 0 and m ≠ 0 is over 100 lr: {exploded:?}"
    );
    assert!(trainer.adam_eps().to_f64() == 2f64.powi(-23));
    let second = trainer.step(&plans[1], None);
    assert_eq!(second.to_f64(), f64::INFINITY, "step 2");
    let third = trainer.step(&plans[2], None);
    assert!(third.is_nan(), "step 3: {third:?}");

    let mut reference = Trainer::<f32>::new(&config, &data, &params, ());
    let mut recorder = Recorder::default();
    reference.step(&plans[0], Some(&mut recorder));
    let largest = recorder
        .outputs("opt.adam.step")
        .iter()
        .fold(0.0f64, |a, s| a.max(s.abs()));
    assert!(
        largest <= 0.01 * (1.0 + prec::F32_FEW_ROUNDINGS),
        "f32's largest first step is {largest}"
    );
    assert!(largest > 0.009, "and it is about lr: {largest}");
}
