//! Softmax cross-entropy over the output layer's K logits against one-hot targets, in the two
//! forms people write: the naive `−log(exp(p_y) / Σ_j exp(p_j))`, whose exponentials overflow
//! in f16 once a logit passes ln(65504) ≈ 11.09, and the stable log-sum-exp form
//! `log Σ_j exp(p_j − m) − (p_y − m)` with m the row's largest logit. Every step is an audited
//! op with a stable name (`loss.softmax.*`, `bwd.loss.softmax.*`); the row sum of the
//! exponentials is a reduction in the run's order and accumulator. The gradient is derived
//! analytically: softmax(p) − onehot(y), computed from the forward pass's exponentials.

use crate::format::Scalar;
use crate::kernel::{Binary, Engine, OpKind, Tensor, Unary};

crate::named_enum! {
    /// How the cross-entropy is evaluated.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Form {
        /// log-sum-exp with the row maximum subtracted first: exp never overflows.
        Stable = "stable",
        /// exp of the raw logits, divided by their sum, then the log.
        Naive = "naive",
    }
}

/// What the backward pass needs from the forward pass.
#[derive(Clone, Debug)]
pub struct Cache<S> {
    /// The exponentials (of the shifted logits in the stable form), batch × K.
    exponentials: Tensor<S>,
    /// Their row sums, batch × 1.
    sums: Tensor<S>,
    /// The one-hot targets, batch × K.
    one_hot: Tensor<S>,
    /// Each row's cross-entropy, batch × 1.
    terms: Tensor<S>,
}

impl<S> Cache<S> {
    /// Each row's cross-entropy.
    pub fn terms(&self) -> &Tensor<S> {
        &self.terms
    }
}

/// Each row's cross-entropy of `logits` (batch × K) against `one_hot` (batch × K).
pub fn forward<S: Scalar>(
    form: Form,
    engine: &mut Engine<'_, S>,
    logits: &Tensor<S>,
    one_hot: &Tensor<S>,
) -> Cache<S> {
    let (exponentials, sums, terms) = match form {
        Form::Stable => {
            let max = engine.op("loss.softmax.max", OpKind::MaxColumns, &[logits]);
            let shifted = engine.binary("loss.softmax.shift", Binary::Sub, logits, &max);
            let exponentials = engine.unary("loss.softmax.exp", Unary::Exp, &shifted);
            let sums = engine.op("loss.softmax.sum", OpKind::SumColumns, &[&exponentials]);
            let log_sum = engine.unary("loss.softmax.log", Unary::Ln, &sums);
            let picked = engine.op("loss.softmax.pick", OpKind::Pick, &[&shifted, one_hot]);
            let terms = engine.binary("loss.softmax.ce", Binary::Sub, &log_sum, &picked);
            (exponentials, sums, terms)
        }
        Form::Naive => {
            let exponentials = engine.unary("loss.softmax.exp", Unary::Exp, logits);
            let sums = engine.op("loss.softmax.sum", OpKind::SumColumns, &[&exponentials]);
            let picked = engine.op("loss.softmax.pick", OpKind::Pick, &[&exponentials, one_hot]);
            let probability = engine.binary("loss.softmax.prob", Binary::Div, &picked, &sums);
            let log = engine.unary("loss.softmax.log", Unary::Ln, &probability);
            let terms = engine.unary("loss.softmax.ce", Unary::Neg, &log);
            (exponentials, sums, terms)
        }
    };
    Cache {
        exponentials,
        sums,
        one_hot: one_hot.clone(),
        terms,
    }
}

/// ∂(row's cross-entropy)/∂logits = softmax − onehot, batch × K.
pub fn backward<S: Scalar>(engine: &mut Engine<'_, S>, cache: &Cache<S>) -> Tensor<S> {
    let probabilities = engine.binary(
        "bwd.loss.softmax.prob",
        Binary::Div,
        &cache.exponentials,
        &cache.sums,
    );
    engine.binary(
        "bwd.loss.softmax.sub",
        Binary::Sub,
        &probabilities,
        &cache.one_hot,
    )
}

/// The one-hot encoding of integer `labels` (n × 1, each in 0..classes) as n × classes; 0 and
/// 1 are exact in every format.
pub fn one_hot(labels: &ndarray::Array2<f64>, classes: usize) -> ndarray::Array2<f64> {
    ndarray::Array2::from_shape_fn((labels.nrows(), classes), |(i, k)| {
        f64::from(u8::from(labels[[i, 0]] == k as f64))
    })
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use crate::kernel::Reduction;

    fn terms(form: Form, logits: &Tensor<f64>, one_hot: &Tensor<f64>) -> Vec<f64> {
        let mut engine = Engine::new((), Reduction::EXACT);
        forward(form, &mut engine, logits, one_hot)
            .terms()
            .iter()
            .copied()
            .collect()
    }

    #[test]
    fn both_forms_agree_where_nothing_overflows_and_match_the_definition() {
        let logits = array![[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]];
        let hot = one_hot(&array![[1.0], [0.0]], 3);
        assert_eq!(hot, array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]);
        let expected: Vec<f64> = logits
            .rows()
            .into_iter()
            .zip([1, 0])
            .map(|(row, y)| {
                let sum: f64 = row.iter().map(|z| z.exp()).sum();
                sum.ln() - row[y]
            })
            .collect();
        for form in Form::ALL {
            for (got, want) in terms(form, &logits, &hot).iter().zip(&expected) {
                assert!((got - want).abs() < 1e-14, "{form}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn the_gradient_is_softmax_minus_one_hot_and_rows_sum_to_zero() {
        let logits = array![[1.0, 2.0, 0.5]];
        let hot = one_hot(&array![[2.0]], 3);
        let mut engine = Engine::new((), Reduction::EXACT);
        let cache = forward(Form::Stable, &mut engine, &logits, &hot);
        let grad = backward(&mut engine, &cache);
        let sum: f64 = [1.0f64, 2.0, 0.5].iter().map(|z| z.exp()).sum();
        assert!((grad[[0, 2]] - (0.5f64.exp() / sum - 1.0)).abs() < 1e-15);
        assert!(grad.iter().sum::<f64>().abs() < 1e-15);
    }

    #[test]
    fn large_logits_overflow_the_naive_form_only() {
        // exp(800) is inf in f64: the naive form divides inf by inf.
        let logits = array![[800.0, 0.0]];
        let hot = one_hot(&array![[0.0]], 2);
        assert!(terms(Form::Naive, &logits, &hot)[0].is_nan());
        assert_eq!(terms(Form::Stable, &logits, &hot)[0], 0.0);
    }
}
