//! SGD, SGD with momentum and Adam, one and two steps, against values worked out by hand.
//!
//! The problem is small enough to do on paper: one dense layer (no hidden layer, so the output
//! is linear), two inputs, one sample, mse:
//!
//! ```text
//! x = [2, −1], y = 0.5, W = [0.75, 0.5]ᵀ, b = 0.25
//! p = 2·0.75 − 0.5 + 0.25 = 1.25,  p − y = 0.75,  ∂L/∂p = 2·0.75 / 1 = 1.5
//! ∂L/∂W = xᵀ·1.5 = [3, −1.5]ᵀ,  ∂L/∂b = 1.5
//! ```
//!
//! Every one of these is exact in every format (f16 included), so the formats differ only in
//! how they round the update.

use ndarray::{Array2, array};
use precision_audit::data::Dataset;
use precision_audit::format::{Mpfr, Scalar};
use precision_audit::kernel::{Activation, Reduction};
use precision_audit::model::{Architecture, LayerParams, Loss, ParamSet, Preset};
use precision_audit::train::{LossScaling, OptimizerConfig, TrainConfig, Trainer};
use rug::Float;
use rug::ops::Pow;

use crate::common::{REFERENCE_BITS, adam, assert_near_exact, big, schedule, sgd};
use crate::support::prec;

/// The one-sample data set of the module documentation.
pub fn tiny_data() -> Dataset {
    Dataset::new(
        array![[2.0, -1.0]],
        array![[0.5]],
        vec!["x1".into(), "x2".into()],
        vec!["y".into()],
        "by hand".into(),
    )
    .expect("a valid data set")
}

/// W = [0.75, 0.5]ᵀ, b = 0.25.
pub fn tiny_params() -> ParamSet {
    ParamSet {
        layers: vec![LayerParams {
            weight: array![[0.75], [0.5]],
            bias: array![[0.25]],
        }],
    }
}

/// One linear layer, mse, one sample per batch, `epochs` steps.
pub fn tiny_config(optimizer: OptimizerConfig, epochs: usize) -> TrainConfig {
    TrainConfig {
        architecture: Architecture {
            widths: vec![2, 1],
            activation: Activation::Identity,
            dropout: 0.0,
        },
        loss: Loss::from(Preset::Mse),
        optimizer,
        reduction: Reduction::EXACT,
        batch_size: 1,
        epochs,
        seed: 1,
        loss_scaling: LossScaling::None,
        promote: Vec::new(),
        mx_scale: precision_audit::format::scaled::ScaleRule::Floor,
    }
}

/// The tiny problem's parameters after each step, computed at 1000 bits by the formulas
/// written out here: the test's own optimizer, sharing no code with the crate's.
#[derive(Clone, Debug)]
pub struct Hand {
    /// [w1, w2, b].
    pub params: [Float; 3],
    first: [Float; 3],
    second: [Float; 3],
    t: u32,
}

impl Default for Hand {
    fn default() -> Self {
        Self::new()
    }
}

impl Hand {
    /// W = [0.75, 0.5], b = 0.25, zero optimizer state.
    pub fn new() -> Self {
        let zero = || big("0");
        Hand {
            params: [big("0.75"), big("0.5"), big("0.25")],
            first: [zero(), zero(), zero()],
            second: [zero(), zero(), zero()],
            t: 0,
        }
    }

    /// [∂L/∂w1, ∂L/∂w2, ∂L/∂b] = 2(2·w1 − w2 + b − 0.5)·[2, −1, 1].
    fn gradient(&self) -> [Float; 3] {
        let [w1, w2, b] = &self.params;
        let residual = big("2") * w1.clone() - w2 + b - big("0.5");
        let dp = big("2") * residual;
        [big("2") * dp.clone(), -dp.clone(), dp]
    }

    /// PyTorch SGD: buf = μ·buf + g (buf = g at the first step), w ← w − lr·buf.
    pub fn sgd(&mut self, lr: &str, momentum: &str) {
        let g = self.gradient();
        for ((w, buf), g) in self.params.iter_mut().zip(&mut self.first).zip(&g) {
            *buf = big(momentum) * &*buf + g;
            *w -= big(lr) * &*buf;
        }
    }

    /// Adam with β1 = 0.9, β2 = 0.999, ε = 1e-7: m = β1·m + (1 − β1)·g,
    /// v = β2·v + (1 − β2)·g², w ← w − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε).
    pub fn adam(&mut self, lr: &str) {
        let g = self.gradient();
        self.t += 1;
        let (beta1, beta2, eps) = (big("0.9"), big("0.999"), big("1e-7"));
        let bc1 = big("1") - beta1.clone().pow(self.t);
        let bc2 = big("1") - beta2.clone().pow(self.t);
        let moments = self.first.iter_mut().zip(&mut self.second);
        for ((w, (m, v)), g) in self.params.iter_mut().zip(moments).zip(&g) {
            *m = beta1.clone() * &*m + (big("1") - &beta1) * g;
            *v = beta2.clone() * &*v + (big("1") - &beta2) * g.clone().square();
            let m_hat = m.clone() / &bc1;
            let v_hat = v.clone() / &bc2;
            *w -= big(lr) * m_hat / (v_hat.sqrt() + &eps);
        }
    }
}

/// [w1, w2, b] of a trainer of the tiny problem.
pub fn tiny_trained<S: Scalar>(trainer: &Trainer<S>) -> [S; 3] {
    let layer = &trainer.mlp().layers[0];
    [
        layer.weight[[0, 0]].clone(),
        layer.weight[[1, 0]].clone(),
        layer.bias[[0, 0]].clone(),
    ]
}

/// Trains the tiny problem `steps` steps in `S` and returns [w1, w2, b] after each step.
pub fn tiny_run<S: Scalar>(
    optimizer: OptimizerConfig,
    steps: usize,
    ctx: S::Context,
) -> Vec<[S; 3]> {
    let config = tiny_config(optimizer, steps);
    let data = tiny_data();
    let mut trainer = Trainer::<S>::new(&config, &data, &tiny_params(), ctx);
    schedule(&config, &data)
        .map(|plan| {
            trainer.step(&plan, None);
            tiny_trained(&trainer)
        })
        .collect()
}

const NAMES: [&str; 3] = ["w1", "w2", "b"];

/// Asserts that two 1000-bit computations of the same value agree to their own rounding.
fn agree(got: &[Float; 3], expected: &[Float; 3], what: &str) {
    for k in 0..3 {
        let gap = Float::with_val(1000, &got[k] - &expected[k]).abs();
        assert!(
            gap < prec::MPFR_1000_AGREEMENT,
            "{what}: {} is {} not {}",
            NAMES[k],
            got[k],
            expected[k]
        );
    }
}

/// Checks the f64 and the 113-bit runs against `expected[step][parameter]`: f64 after k steps
/// within k × [`prec::ULPS_PER_HAND_STEP`].
fn check_runs(optimizer: OptimizerConfig, expected: &[[Float; 3]]) {
    let steps = expected.len();
    let f64_run = tiny_run::<f64>(optimizer.clone(), steps, ());
    let reference_run = tiny_run::<Mpfr>(optimizer, steps, REFERENCE_BITS);
    for step in 0..steps {
        for k in 0..3 {
            let what = format!("step {} {}", step + 1, NAMES[k]);
            assert_near_exact(
                &f64_run[step][k],
                &expected[step][k],
                prec::ULPS_PER_HAND_STEP * (step as i64 + 1),
                &(),
                &what,
            );
            assert_near_exact(
                &reference_run[step][k],
                &expected[step][k],
                0,
                &REFERENCE_BITS,
                &what,
            );
        }
    }
}

/// Plain SGD, lr = 0.01, by hand:
///
/// ```text
/// step 1: W = [0.75 − 0.01·3, 0.5 + 0.01·1.5] = [0.72, 0.515],  b = 0.25 − 0.015 = 0.235
///         p = 2·0.72 − 0.515 + 0.235 = 1.16,  p − y = 0.66,  ∂L/∂p = 1.32,  g = [2.64, −1.32, 1.32]
/// step 2: W = [0.72 − 0.0264, 0.515 + 0.0132] = [0.6936, 0.5282],  b = 0.235 − 0.0132 = 0.2218
/// ```
///
/// f64: step 1 is lr·g (two roundings of relative 2⁻⁵³ on a 0.03 step: 0.03 ulp of w ≈ 0.72)
/// plus the rounding of the subtraction (½ ulp): within 1 ulp. Step 2 carries step 1's error
/// and adds one more rounding: within 2 ulps.
#[test]
fn sgd_two_steps_by_hand() {
    let expected = [
        [big("0.72"), big("0.515"), big("0.235")],
        [big("0.6936"), big("0.5282"), big("0.2218")],
    ];
    let mut hand = Hand::new();
    for step in &expected {
        hand.sgd("0.01", "0");
        agree(&hand.params, step, "the test's own SGD against the paper");
    }
    check_runs(sgd("0.01", "0"), &expected);
}

/// SGD with momentum 0.9 (PyTorch: buf₁ = g₁, buf₂ = 0.9·buf₁ + g₂). Step 1 is plain SGD's, so
/// step 2's gradient is plain SGD's step-2 gradient [2.64, −1.32, 1.32]:
///
/// ```text
/// buf₂ = 0.9·[3, −1.5, 1.5] + [2.64, −1.32, 1.32] = [5.34, −2.67, 2.67]
/// step 2: W = [0.72 − 0.0534, 0.515 + 0.0267] = [0.6666, 0.5417],  b = 0.235 − 0.0267 = 0.2083
/// ```
#[test]
fn sgd_with_momentum_two_steps_by_hand() {
    let expected = [
        [big("0.72"), big("0.515"), big("0.235")],
        [big("0.6666"), big("0.5417"), big("0.2083")],
    ];
    let mut hand = Hand::new();
    for step in &expected {
        hand.sgd("0.01", "0.9");
        agree(&hand.params, step, "the test's own SGD against the paper");
    }
    check_runs(sgd("0.01", "0.9"), &expected);
}

/// Adam's first step, lr = 0.01, by hand. With m₀ = v₀ = 0:
///
/// ```text
/// m₁ = 0.1·g,  m̂₁ = m₁ / (1 − 0.9) = g;   v₁ = 0.001·g²,  v̂₁ = v₁ / (1 − 0.999) = g²
/// Δw = −lr·g / (|g| + ε) = −lr·sign(g)·(1 − ε/(|g| + ε))
/// w1: 0.75 − 0.01·3/3.0000001   = 0.740000000333333322222222592592580246913…
/// w2: 0.5  + 0.01·1.5/1.5000001 = 0.509999999333333377777774814815012345665…
/// b:  0.25 − 0.01·1.5/1.5000001 = 0.240000000666666622222225185184987654334…
/// ```
///
/// So the first Adam step moves every parameter by lr against the sign of its gradient, short
/// by lr·ε/|g| ≈ 3.3e-10 (w1) and 6.7e-10 (w2, b). f64: m̂ and v̂ are g and g² up to a few
/// roundings, the ratio is 1 ± 6·2⁻⁵³, so lr·ratio is off by ~0.07 ulp of w; with the rounding
/// of w − step that is within 1 ulp.
#[test]
fn adam_first_step_by_hand() {
    let exact = |text: &str| big(text);
    let expected = [[
        Float::with_val(1000, big("0.75") - big("0.03") / big("3.0000001")),
        Float::with_val(1000, big("0.5") + big("0.015") / big("1.5000001")),
        Float::with_val(1000, big("0.25") - big("0.015") / big("1.5000001")),
    ]];
    // The decimals written above, to the 39 digits shown.
    let shown = [
        "0.740000000333333322222222592592580246913",
        "0.509999999333333377777774814815012345665",
        "0.240000000666666622222225185184987654334",
    ];
    for (value, text) in expected[0].iter().zip(shown) {
        let gap = Float::with_val(1000, value - exact(text)).abs();
        assert!(gap < 1e-39, "{value} is not {text}");
    }
    let mut hand = Hand::new();
    hand.adam("0.01");
    agree(
        &hand.params,
        &expected[0],
        "the test's own Adam against the paper",
    );
    check_runs(adam("0.01"), &expected);

    // The signSGD-like size of the first step, on the f64 run.
    let after = &tiny_run::<f64>(adam("0.01"), 1, ())[0];
    let moved = [after[0] - 0.75, after[1] - 0.5, after[2] - 0.25];
    for (delta, sign) in moved.iter().zip([-1.0, 1.0, -1.0]) {
        assert!(
            (delta - 0.01 * sign).abs() < prec::ADAM_FIRST_STEP_SHORTFALL,
            "moved {delta}"
        );
        assert!(
            delta.abs() < 0.01,
            "Adam's first step is a bit shorter than lr"
        );
    }
}

/// Adam's second step, against the test's own Adam at 1000 bits. The step-2 gradient depends
/// on the irrational-looking w after step 1, so it is not written out; with m̂₂ =
/// (0.09·g₁ + 0.1·g₂)/0.19 and v̂₂ = (0.000999·g₁² + 0.001·g₂²)/0.001999 the step is still about
/// lr in size. f64: step 1's error (≤ 1 ulp) carries over, step 2 adds ~0.1 ulp of rounding
/// inside the step (the gradient's own error is damped by m̂/√v̂) and ½ ulp at the subtraction:
/// within 2 ulps.
#[test]
fn adam_two_steps_by_hand() {
    let mut hand = Hand::new();
    let expected: Vec<[Float; 3]> = (0..2)
        .map(|_| {
            hand.adam("0.01");
            hand.params.clone()
        })
        .collect();
    check_runs(adam("0.01"), &expected);
}

/// The learning-rate decimal is rounded once into the format, not through f64: lr = 0.01 in
/// MPFR-113 is 0.01 to 113 bits, so after one plain SGD step w1 = 0.75 − 0.03 exactly to
/// ~1e-34, which a lr rounded to f64 first (error 2e-19 × 3) could not give.
#[test]
fn learning_rate_is_not_routed_through_f64() {
    let after = &tiny_run::<Mpfr>(sgd("0.01", "0"), 1, REFERENCE_BITS)[0];
    let error = Float::with_val(1000, after[0].to_big(REFERENCE_BITS) - big("0.72")).abs();
    assert!(error < prec::REFERENCE_LR_STEP, "w1 − 0.72 = {error}");
    let through_f64 = Float::with_val(1000, 0.01f64) * 3u32;
    let f64_error = Float::with_val(1000, big("0.03") - through_f64).abs();
    assert!(
        f64_error > prec::F64_ROUNDED_LR_MIN,
        "the f64-rounded lr would be visible: {f64_error}"
    );
}

/// The shape of the gradient the hand computations start from: one sample, mse, so ∂L/∂W is
/// xᵀ·2(p − y) exactly.
#[test]
fn tiny_problem_gradient_is_exact() {
    let data = tiny_data();
    let params = tiny_params();
    assert_eq!(
        data.features,
        Array2::from_shape_vec((1, 2), vec![2.0, -1.0]).unwrap()
    );
    // One SGD step with lr = 1 (exact in every format) moves each parameter by its gradient.
    let after = &tiny_run::<f64>(sgd("1", "0"), 1, ())[0];
    let moved: Vec<f64> = after
        .iter()
        .zip([0.75, 0.5, 0.25])
        .map(|(a, b)| b - a)
        .collect();
    assert_eq!(moved, [3.0, -1.5, 1.5]);
    assert_eq!(params.layers[0].weight[[0, 0]], 0.75);
}
