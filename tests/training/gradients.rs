//! Backpropagation against central finite differences of the crate's own forward pass, for
//! every parameter of a two-hidden-layer network, every activation, every loss preset and a
//! set of written loss expressions (whose derivative the tool derives), with and without a
//! dropout mask, all in 256-bit MPFR; and the forward pass against a plain-f64 one written here.

use ndarray::{Array2, array};
use precision_audit::format::{Mpfr, Scalar};
use precision_audit::kernel::{Activation, Engine, Reduction, Tensor};
use precision_audit::model::{Architecture, Gradients, Loss, Mlp, Preset, Reduce, glorot_uniform};

use crate::common::{Recorder, decimal};
use crate::support::prec;

/// MPFR precision of the gradient check.
const BITS: u32 = 256;

/// Layer widths: three inputs, hidden layers of 4 and 3, one output.
const WIDTHS: [usize; 4] = [3, 4, 3, 1];

/// The relative loss's ε in the check: large enough that the zero target's term (|p| / ε)
/// stays of moderate size, nonzero so that ε is exercised.
const RELATIVE_EPS: &str = "1e-3";

/// Five samples, one target exactly zero (the relative loss then divides by ε alone).
fn batch() -> (Array2<f64>, Array2<f64>) {
    let x = array![
        [0.3, -1.2, 0.7],
        [1.1, 0.4, -0.5],
        [-0.8, 0.9, 1.3],
        [0.2, -0.6, -1.4],
        [1.5, 1.0, 0.1]
    ];
    let y = array![[0.5], [-0.25], [0.0], [1.0], [-0.75]];
    (x, y)
}

/// Dropout multipliers 0 or 1/(1 − p) with p = 1/4 (4/3 is inexact in binary, which is fine:
/// the check differentiates whatever multiplier the forward pass applies). Every hidden unit
/// is dropped for some sample and kept for another.
fn masks() -> Vec<Tensor<Mpfr>> {
    let scale = Mpfr::one(&BITS).div(&Mpfr::from_f64(0.75, &BITS));
    let pattern = |rows: usize, cols: usize, salt: usize| {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            if (3 * i + 5 * j + salt).is_multiple_of(4) {
                Mpfr::zero(&BITS)
            } else {
                scale.clone()
            }
        })
    };
    vec![pattern(5, WIDTHS[1], 0), pattern(5, WIDTHS[2], 1)]
}

/// The network: Glorot weights of seed 7, and nonzero biases so that their gradients are not
/// taken at a special point; `outputs` wide at the top.
fn network(activation: Activation, outputs: usize) -> Mlp<Mpfr> {
    let mut widths = WIDTHS.to_vec();
    widths[3] = outputs;
    let architecture = Architecture {
        widths,
        activation,
        dropout: 0.0,
    };
    let mut params = glorot_uniform(&architecture, 7);
    for (l, layer) in params.layers.iter_mut().enumerate() {
        for (j, b) in layer.bias.iter_mut().enumerate() {
            *b = 0.05 * (j as f64 + 1.0) * if (l + j) % 2 == 0 { 1.0 } else { -1.0 };
        }
    }
    Mlp::from_params(&architecture, &params, &BITS)
}

fn tensor(t: &Array2<f64>) -> Tensor<Mpfr> {
    t.mapv(|v| Mpfr::from_f64(v, &BITS))
}

/// One problem: network, batch, ε and masks in MPFR.
struct Problem {
    mlp: Mlp<Mpfr>,
    loss: Loss,
    x: Tensor<Mpfr>,
    y: Tensor<Mpfr>,
    constants: Vec<Tensor<Mpfr>>,
    masks: Vec<Tensor<Mpfr>>,
}

impl Problem {
    fn new(activation: Activation, loss: Loss, dropout: bool) -> Self {
        let (_, y) = batch();
        Problem::with_targets(activation, loss, dropout, &y)
    }

    /// A problem with other targets (several columns, class labels): the output layer is as
    /// wide as the loss needs.
    fn with_targets(activation: Activation, loss: Loss, dropout: bool, y: &Array2<f64>) -> Self {
        let (x, _) = batch();
        Problem {
            mlp: network(activation, loss.outputs(y.ncols())),
            constants: loss.round_constants(&BITS),
            y: tensor(&loss.encode_targets(y)),
            loss,
            x: tensor(&x),
            masks: if dropout { masks() } else { Vec::new() },
        }
    }

    fn engine(&self) -> Engine<'static, Mpfr> {
        Engine::new(BITS, Reduction::EXACT)
    }

    /// The loss of `mlp` (the problem's network or a perturbed copy).
    fn loss_of(&self, mlp: &Mlp<Mpfr>) -> Mpfr {
        let mut engine = self.engine();
        let (prediction, _) = mlp.forward(&mut engine, &self.x, self.masks.clone());
        let (loss, _) = self
            .loss
            .forward(&mut engine, &prediction, &self.y, &self.constants);
        loss[[0, 0]].clone()
    }

    /// Backprop's gradients, and what the forward pass computed, op by op.
    fn backprop(&self) -> (Gradients<Mpfr>, Recorder) {
        let mut recorder = Recorder::default();
        let grads = {
            let mut engine = Engine::observed(BITS, Reduction::EXACT, &mut recorder);
            let (prediction, cache) = self.mlp.forward(&mut engine, &self.x, self.masks.clone());
            let (_, loss_cache) =
                self.loss
                    .forward(&mut engine, &prediction, &self.y, &self.constants);
            let output_grad = self.loss.backward(&mut engine, &loss_cache);
            self.mlp.backward(&mut engine, &cache, output_grad)
        };
        (grads, recorder)
    }
}

/// (L(w + h) − L(w − h)) / 2h for the parameter that `pick` selects; h = 2⁻⁶⁶ is a power of
/// two, so w ± h is exact at 256 bits (|w| < 2 and w has 53 significant bits) and so is the
/// division by 2h.
fn central_difference(problem: &Problem, pick: impl Fn(&mut Mlp<Mpfr>) -> &mut Mpfr) -> Mpfr {
    let h = Mpfr::from_f64(2f64.powi(-66), &BITS);
    let shifted = |h: &Mpfr| {
        let mut mlp = problem.mlp.clone();
        let w = pick(&mut mlp);
        *w = w.add(h);
        problem.loss_of(&mlp)
    };
    let plus = shifted(&h);
    let minus = shifted(&h.neg());
    let two_h = h.add(&h);
    plus.sub(&minus).div(&two_h)
}

fn check(activation: Activation, loss: Loss, dropout: bool) {
    let problem = Problem::new(activation, loss.clone(), dropout);
    let case = format!(
        "{} / {} / {}",
        activation.name(),
        loss.name(),
        if dropout { "dropout" } else { "no dropout" }
    );
    let (grads, recorder) = problem.backprop();

    // The points are away from every kink the perturbation could cross.
    for layer in 1..WIDTHS.len() - 1 {
        let z = recorder.outputs(&format!("fwd.dense{layer}.bias"));
        assert!(
            z.iter().all(|z| z.abs() >= prec::KINK_MARGIN),
            "{case}: a pre-activation of layer {layer} is within the kink margin: {z:?}"
        );
        if activation == Activation::Relu {
            // Both relu branches are exercised.
            assert!(
                z.iter().any(|z| *z > 0.0) && z.iter().any(|z| *z < 0.0),
                "{case}"
            );
        }
    }
    let (x, y) = batch();
    let prediction = problem
        .mlp
        .forward(&mut problem.engine(), &tensor(&x), problem.masks.clone())
        .0;
    let residuals: Vec<f64> = prediction
        .iter()
        .zip(&y)
        .map(|(p, y)| p.to_f64() - y)
        .collect();
    assert!(
        residuals.iter().all(|d| d.abs() >= prec::KINK_MARGIN),
        "{case}: p − y within the kink margin: {residuals:?}"
    );
    assert!(
        recorder.outputs("loss.mean").iter().all(|l| l.is_finite()),
        "{case}: the loss is not finite"
    );

    // 3·4 + 4 + 4·3 + 3 + 3·1 + 1 parameters, every one checked.
    compare_with_central_differences(&problem, &grads, &case, 35);
}

/// Every parameter's backprop gradient against its central difference; `expected` parameters.
fn compare_with_central_differences(
    problem: &Problem,
    grads: &Gradients<Mpfr>,
    case: &str,
    expected: usize,
) {
    let mut checked = 0;
    let mut nonzero = 0;
    for (l, layer_grads) in grads.iter().enumerate() {
        let tensors = [(&layer_grads.weight, "weight"), (&layer_grads.bias, "bias")];
        for (tensor_index, (grad, what)) in tensors.into_iter().enumerate() {
            for ((i, j), analytic) in grad.indexed_iter() {
                let numeric = central_difference(problem, |mlp| {
                    let layer = &mut mlp.layers[l];
                    let t = if tensor_index == 0 {
                        &mut layer.weight
                    } else {
                        &mut layer.bias
                    };
                    &mut t[[i, j]]
                });
                let error = analytic.sub(&numeric).abs().to_f64();
                let scale = analytic.abs().to_f64().max(1.0);
                assert!(
                    error <= prec::BACKPROP_VS_CENTRAL_DIFFERENCE * scale,
                    "{case}: layer {} {what}[{i}][{j}]: backprop {} vs central difference {} \
                     (error {error:e})",
                    l + 1,
                    analytic.to_f64(),
                    numeric.to_f64()
                );
                checked += 1;
                nonzero += usize::from(!analytic.is_zero());
            }
        }
    }
    assert_eq!(checked, expected, "{case}");
    // A check of zeros against zeros would prove little: most gradients are nonzero.
    assert!(nonzero >= 20, "{case}: only {nonzero} nonzero gradients");
}

/// A preset, with the check's eps.
fn preset(preset: Preset) -> Loss {
    Loss::with_eps(preset, &decimal(RELATIVE_EPS))
}

/// A written expression (mean over the batch); `delta` is 0.5.
fn written(text: &str) -> Loss {
    let constant = |name: &str| (name == "delta").then(|| decimal("0.5"));
    Loss::expression(text, &constant, Reduce::Mean).expect("a valid expression")
}

macro_rules! gradient_checks {
    ($($name:ident: $activation:ident, $loss:expr, $dropout:expr;)+) => {$(
        #[test]
        fn $name() {
            check(Activation::$activation, $loss, $dropout);
        }
    )+};
}

gradient_checks! {
    relu_mse: Relu, preset(Preset::Mse), false;
    relu_mae: Relu, preset(Preset::Mae), false;
    relu_relative: Relu, preset(Preset::Relative), false;
    tanh_mse: Tanh, preset(Preset::Mse), false;
    tanh_mae: Tanh, preset(Preset::Mae), false;
    tanh_relative: Tanh, preset(Preset::Relative), false;
    sigmoid_mse: Sigmoid, preset(Preset::Mse), false;
    sigmoid_mae: Sigmoid, preset(Preset::Mae), false;
    sigmoid_relative: Sigmoid, preset(Preset::Relative), false;
    identity_mse: Identity, preset(Preset::Mse), false;
    identity_mae: Identity, preset(Preset::Mae), false;
    identity_relative: Identity, preset(Preset::Relative), false;
    relu_mse_dropout: Relu, preset(Preset::Mse), true;
    relu_mae_dropout: Relu, preset(Preset::Mae), true;
    relu_relative_dropout: Relu, preset(Preset::Relative), true;
    tanh_mse_dropout: Tanh, preset(Preset::Mse), true;
    tanh_mae_dropout: Tanh, preset(Preset::Mae), true;
    tanh_relative_dropout: Tanh, preset(Preset::Relative), true;
    sigmoid_mse_dropout: Sigmoid, preset(Preset::Mse), true;
    sigmoid_mae_dropout: Sigmoid, preset(Preset::Mae), true;
    sigmoid_relative_dropout: Sigmoid, preset(Preset::Relative), true;
    identity_mse_dropout: Identity, preset(Preset::Mse), true;
    identity_mae_dropout: Identity, preset(Preset::Mae), true;
    identity_relative_dropout: Identity, preset(Preset::Relative), true;
    tanh_huber: Tanh, preset(Preset::Huber), false;
    tanh_huber_dropout: Tanh, preset(Preset::Huber), true;
    tanh_log_cosh: Tanh, preset(Preset::LogCosh), false;
    tanh_msle: Tanh, preset(Preset::Msle), false;
    tanh_smape: Tanh, preset(Preset::Smape), false;
    tanh_mape: Tanh, preset(Preset::Mape), false;
    relu_mape_dropout: Relu, preset(Preset::Mape), true;
    tanh_sqrt_of_a_sum: Tanh, written("sqrt((p - y)^2 + 0.01)"), false;
    tanh_cubic_over_quadratic: Tanh, written("(p - y)^3 * p / (2 + p^2) - 3 * (1 + y^2)^-2 * p"), false;
    tanh_max_and_min: Tanh, written("max(p - y, 0.5 * (y - p)) + min(p, y) * delta"), false;
    tanh_softplus_of_a_product: Tanh, written("log(1 + exp(-(p * y))) + sigmoid(p - y)"), false;
    tanh_log1p_tanh_exp: Tanh, written("-log1p(-tanh(abs(p - y)) / 2) + exp(-p^2) * y"), false;
    relu_quotient_dropout: Relu, written("(p - y) / (1 + p^2) + p / delta"), true;
}

/// Class labels of the five samples: every class of three occurs.
fn labels() -> Array2<f64> {
    array![[2.0], [0.0], [1.0], [2.0], [1.0]]
}

/// The softmax cross-entropy over three logits (and the same network with binary and
/// several-column targets) against central differences: the gradient softmax − onehot is
/// derived by hand, so this is its check.
fn check_targets(activation: Activation, loss: Loss, targets: Array2<f64>, dropout: bool) {
    let case = format!(
        "{} / {} / {:?}",
        activation.name(),
        loss.name(),
        targets.dim()
    );
    let loss = match loss.targets() {
        precision_audit::model::Targets::Classes => loss.with_classes(3),
        _ => loss,
    };
    let problem = Problem::with_targets(activation, loss, dropout, &targets);
    let (grads, recorder) = problem.backprop();
    assert!(
        recorder.outputs("loss.mean").iter().all(|l| l.is_finite()),
        "{case}: the loss is not finite"
    );
    let outputs = problem.mlp.layers[2].bias.len();
    // 3·4 + 4 + 4·3 + 3 + 3·K + K parameters.
    compare_with_central_differences(&problem, &grads, &case, 31 + 4 * outputs);
}

#[test]
fn softmax_cross_entropy_gradients_match_central_differences() {
    for preset in [Preset::SoftmaxCe, Preset::SoftmaxCeNaive] {
        for (activation, dropout) in [(Activation::Tanh, false), (Activation::Relu, true)] {
            check_targets(activation, self::preset(preset), labels(), dropout);
        }
    }
}

#[test]
fn binary_cross_entropy_gradients_match_central_differences() {
    let binary = array![[1.0], [0.0], [0.0], [1.0], [1.0]];
    check_targets(Activation::Tanh, preset(Preset::Bce), binary, false);
    // Several binary targets: one sigmoid output each, the loss averaged over all.
    let multi = array![[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]];
    check_targets(Activation::Tanh, preset(Preset::Bce), multi, false);
}

#[test]
fn several_regression_outputs_gradients_match_central_differences() {
    let (_, y) = batch();
    let two = ndarray::concatenate![ndarray::Axis(1), y, y.mapv(|v| 0.5 - v)];
    check_targets(
        Activation::Tanh,
        preset(Preset::Relative),
        two.clone(),
        false,
    );
    let summed = Loss::expression("(p - y)^2", &|_| None, Reduce::Sum).expect("valid");
    check_targets(Activation::Tanh, summed, two, false);
}

/// The stable and naive forms are the same function: at 256 bits their losses agree to the
/// last bits, and their op names share every step but the last ones.
#[test]
fn both_softmax_forms_compute_the_same_loss() {
    let stable = Problem::with_targets(
        Activation::Tanh,
        preset(Preset::SoftmaxCe).with_classes(3),
        false,
        &labels(),
    );
    let naive = Problem::with_targets(
        Activation::Tanh,
        preset(Preset::SoftmaxCeNaive).with_classes(3),
        false,
        &labels(),
    );
    let (a, b) = (stable.loss_of(&stable.mlp), naive.loss_of(&naive.mlp));
    let difference = a.sub(&b).abs().to_f64() / a.to_f64();
    assert!(difference < 1e-70, "{} vs {}", a.to_f64(), b.to_f64());
    // log 3 is the loss of uniform logits: the small initial network is near it.
    assert!((a.to_f64() - 3f64.ln()).abs() < 0.5, "{}", a.to_f64());
}

/// The test's own forward pass and loss in plain f64, sharing no code with the crate.
fn plain_f64_loss(activation: Activation, loss: Preset, dropout: bool) -> f64 {
    let problem = Problem::new(activation, self::preset(loss), dropout);
    let (x, y) = batch();
    let f = |v: f64| match activation {
        Activation::Relu => v.max(0.0),
        Activation::Tanh => v.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        Activation::Identity => v,
    };
    let layers = problem.mlp.to_params().layers;
    let masks: Vec<Array2<f64>> = problem
        .masks
        .iter()
        .map(|m| m.mapv(|v| v.to_f64()))
        .collect();
    let mut total = 0.0;
    for (i, row) in x.rows().into_iter().enumerate() {
        let mut a: Vec<f64> = row.to_vec();
        for (l, layer) in layers.iter().enumerate() {
            let mut z: Vec<f64> = (0..layer.weight.ncols())
                .map(|j| {
                    let dot: f64 = a
                        .iter()
                        .enumerate()
                        .map(|(k, v)| v * layer.weight[[k, j]])
                        .sum();
                    dot + layer.bias[[0, j]]
                })
                .collect();
            if l + 1 < layers.len() {
                for (j, v) in z.iter_mut().enumerate() {
                    *v = f(*v) * masks.get(l).map_or(1.0, |m| m[[i, j]]);
                }
            }
            a = z;
        }
        let (p, t) = (a[0], y[[i, 0]]);
        total += match loss {
            Preset::Mse => (p - t) * (p - t),
            Preset::Mae => (p - t).abs(),
            Preset::Relative => (p - t).abs() / (t.abs() + 1e-3),
            _ => unreachable!("the plain check covers the first three presets"),
        };
    }
    total / x.nrows() as f64
}

#[test]
fn forward_and_loss_agree_with_a_plain_f64_evaluation() {
    for activation in Activation::ALL {
        for loss in [Preset::Mse, Preset::Mae, Preset::Relative] {
            for dropout in [false, true] {
                let problem = Problem::new(activation, preset(loss), dropout);
                let reference = problem.loss_of(&problem.mlp).to_f64();
                let plain = plain_f64_loss(activation, loss, dropout);
                let relative = ((reference - plain) / reference).abs();
                assert!(
                    relative < prec::F64_FORWARD_VS_MPFR,
                    "{} / {} / dropout {dropout}: MPFR {reference} vs f64 {plain}",
                    activation.name(),
                    loss.name()
                );
            }
        }
    }
}
