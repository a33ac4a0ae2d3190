//! Bugs found by this suite, each pinned by a test named after it.

use precision_audit::data::builtin;
use precision_audit::format::{Mpfr, Scalar};
use precision_audit::kernel::{Activation, Observer, OpRecord};
use precision_audit::model::glorot_uniform;
use precision_audit::train::Trainer;
use rug::Float;

use crate::common::{REFERENCE_BITS, default_config, schedule};

/// The reference's values of the first hidden layer before and after dropout.
#[derive(Default)]
struct DropoutWatch {
    activations: Vec<Mpfr>,
    dropped: Vec<Mpfr>,
}

impl Observer<Mpfr> for DropoutWatch {
    fn observe(&mut self, record: &OpRecord<'_, Mpfr>) {
        let into = match record.name {
            "fwd.dense1.identity" => &mut self.activations,
            "fwd.dense1.dropout" => &mut self.dropped,
            _ => return,
        };
        into.extend(record.output.iter().cloned());
    }
}

/// The dropout multiplier 1/(1 − p) was computed as `Float::with_val(256, 1.0 - p)` in
/// `Trainer::new`: 1 − p was rounded in f64 before the 256-bit division. For p = 0.2 (the f64
/// 0.2000000000000000111) the exact 1 − p is 0.7999999999999999888978, which f64 rounds to
/// 0.8000000000000000444; the reference then scales kept units by 1.2499999999999999306
/// instead of 1.2500000000000000173, a relative error of 6.9e-17. f16…f64 round both to the
/// same multiplier (1.25), so the error shows up only in the reference, where an audit then
/// charges f64's dropout op with an error of 7e-17 that f64 did not make.
///
/// Fails until `Trainer::new` computes `1u32 - Float::with_val(256, dropout)` (exact at 256
/// bits) instead. That fix moves the reference of every dropout run by ~1e-17 relative, so the
/// committed `cli__matrix__dropout` and `cli__matrix__two_layers_sgd_tanh_dropout_kahan`
/// snapshots change in their last digits along with it.
#[test]
fn reference_dropout_scale_is_not_rounded_through_f64() {
    let data = builtin(8, 2, 3);
    let mut config = default_config(&data);
    config.architecture.widths = vec![2, 6, 1];
    config.architecture.activation = Activation::Identity;
    config.architecture.dropout = 0.2;
    config.batch_size = 8;
    let params = glorot_uniform(&config.architecture, 5);
    let mut trainer = Trainer::<Mpfr>::new(&config, &data, &params, REFERENCE_BITS);
    let plan = schedule(&config, &data).next().expect("a step");
    let mut watch = DropoutWatch::default();
    trainer.step(&plan, Some(&mut watch));

    let p = Float::with_val(256, config.architecture.dropout);
    let exact_scale = Float::with_val(256, 1u32 / Float::with_val(256, 1u32 - p));
    let scale = Mpfr::from_big(&exact_scale, &REFERENCE_BITS);
    let kept: Vec<usize> = plan.keep[0]
        .iter()
        .enumerate()
        .filter_map(|(k, keep)| keep.then_some(k))
        .collect();
    assert!(kept.len() > 20, "most of the 48 units are kept");
    let pairs = watch.activations.iter().zip(&watch.dropped);
    for (k, (activation, dropped)) in pairs.enumerate() {
        let expected = if kept.contains(&k) {
            activation.mul(&scale)
        } else {
            Mpfr::zero(&REFERENCE_BITS)
        };
        assert_eq!(
            *dropped, expected,
            "unit {k}: {activation:?} × 1/(1 − p) with 1/(1 − p) = {exact_scale}"
        );
    }
}
