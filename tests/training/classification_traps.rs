//! The two classic f16 traps of classification losses, asserted op by op: the naive softmax
//! cross-entropy's exponentials overflow where the stable log-sum-exp form does not, and the
//! binary cross-entropy's eps = 1e-8 flushes to zero in f16 so that `log(0)` appears.

use half::f16;
use ndarray::{Array2, array};
use precision_audit::format::Scalar;
use precision_audit::kernel::{Engine, Reduction, Tensor};
use precision_audit::model::{Loss, Preset};

use crate::common::{Recorder, decimal};

/// The loss of `logits` against `labels` in `S`, with every op recorded.
fn evaluate<S: Scalar<Context = ()>>(
    loss: &Loss,
    logits: &Array2<f64>,
    labels: &Array2<f64>,
) -> (f64, Recorder) {
    let round = |t: &Array2<f64>| -> Tensor<S> { t.mapv(|x| S::from_f64(x, &())) };
    let mut recorder = Recorder::default();
    let value = {
        let mut engine = Engine::observed((), Reduction::EXACT, &mut recorder);
        let constants = loss.round_constants::<S>(&());
        let (value, cache) = loss.forward(
            &mut engine,
            &round(logits),
            &round(&loss.encode_targets(labels)),
            &constants,
        );
        loss.backward(&mut engine, &cache);
        value[[0, 0]].to_f64()
    };
    (value, recorder)
}

/// Logits of a network that has learnt to be confident: 12 is above ln(65504) ≈ 11.09, so
/// exp(12) ≈ 162755 overflows f16.
fn confident() -> (Array2<f64>, Array2<f64>) {
    (
        array![[12.0, 0.5, -3.0], [1.0, 2.0, 0.0]],
        array![[0.0], [1.0]],
    )
}

#[test]
fn naive_softmax_overflows_in_f16_where_the_stable_form_does_not() {
    let (logits, labels) = confident();
    let naive = Loss::with_eps(Preset::SoftmaxCeNaive, &decimal("1e-8")).with_classes(3);
    let stable = Loss::with_eps(Preset::SoftmaxCe, &decimal("1e-8")).with_classes(3);

    let (naive_loss, naive_ops) = evaluate::<f16>(&naive, &logits, &labels);
    let exponentials = naive_ops.outputs("loss.softmax.exp");
    assert_eq!(exponentials[0], f64::INFINITY, "exp(12) overflows f16");
    assert_eq!(naive_ops.outputs("loss.softmax.sum")[0], f64::INFINITY);
    // inf / inf: the picked probability is NaN, and so are the loss and the gradient row.
    assert!(naive_ops.outputs("loss.softmax.prob")[0].is_nan());
    assert!(naive_loss.is_nan());
    assert!(naive_ops.outputs("bwd.loss.softmax.prob")[0].is_nan());

    let (stable_loss, stable_ops) = evaluate::<f16>(&stable, &logits, &labels);
    let shifted = stable_ops.outputs("loss.softmax.shift");
    assert!(shifted.iter().all(|s| *s <= 0.0), "{shifted:?}");
    assert!(
        stable_ops
            .outputs("loss.softmax.exp")
            .iter()
            .all(|e| e.is_finite() && *e <= 1.0)
    );
    assert!(stable_loss.is_finite());
    // In f64 both forms agree with the exact value to a few ulps.
    let (naive_f64, _) = evaluate::<f64>(&naive, &logits, &labels);
    let (stable_f64, _) = evaluate::<f64>(&stable, &logits, &labels);
    assert!((naive_f64 - stable_f64).abs() < 1e-15);
    assert!(
        (stable_loss - stable_f64).abs() < 2e-3,
        "{stable_loss} vs {stable_f64}"
    );
}

/// σ(9) = 0.99987660 rounds to 1 in f16 (the spacing below 1 is 2⁻¹¹ ≈ 4.9e-4), and eps = 1e-8
/// is below half of f16's smallest subnormal: 1 − σ(p) + eps is 0 and log(0) = −inf. A label 0
/// makes the term +inf; a label 1 multiplies that −inf by 1 − y = 0: NaN.
#[test]
fn binary_cross_entropy_flushes_eps_in_f16_and_takes_log_of_zero() {
    let bce = Loss::with_eps(Preset::Bce, &decimal("1e-8"));
    let logits = array![[9.0], [9.0], [0.25]];
    let labels = array![[0.0], [1.0], [1.0]];
    let constants = bce.round_constants::<f16>(&());
    assert!(bce.constant_in(&constants, "eps").unwrap().is_zero());

    let (loss, ops) = evaluate::<f16>(&bce, &logits, &labels);
    let guards = bce.guards();
    let log_arguments: Vec<&str> = guards.iter().map(|g| g.op.as_str()).collect();
    assert_eq!(guards.len(), 1, "eps guards the logs: {log_arguments:?}");
    // The second log's argument 1 − σ(p) + eps: 0 for both confident rows.
    let logs: Vec<(String, Vec<f64>)> = ops
        .ops
        .iter()
        .filter(|(name, _)| name.ends_with(".log"))
        .cloned()
        .collect();
    assert_eq!(logs.len(), 2, "{logs:?}");
    let (_, one_minus) = &logs[1];
    assert_eq!(one_minus[..2], [f64::NEG_INFINITY, f64::NEG_INFINITY]);
    assert!(one_minus[2].is_finite());
    assert!(loss.is_nan(), "0 × −inf in the mean: {loss}");

    // f32 keeps eps (9.99999993922529e-09) and σ(9) < 1: every log is finite.
    let (loss_f32, ops_f32) = evaluate::<f32>(&bce, &logits, &labels);
    assert!(loss_f32.is_finite());
    assert!(
        ops_f32
            .ops
            .iter()
            .filter(|(name, _)| name.ends_with(".log"))
            .all(|(_, values)| values.iter().all(|v| v.is_finite()))
    );
}
