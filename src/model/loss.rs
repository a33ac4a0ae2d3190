//! The losses: mse, mae and the relative loss |y − p| / (|y| + eps), each written once.

use crate::format::Scalar;
use crate::kernel::{Binary, Engine, OpKind, Tensor, Unary};

crate::named_enum! {
    /// A loss function, averaged over the batch.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Loss: parsed from "--loss" as "loss" {
        /// mean((p − y)²).
        Mse = "mse",
        /// mean(|p − y|).
        Mae = "mae",
        /// mean(|y − p| / (|y| + eps)): eps is stored in the format and can flush to zero.
        Relative = "relative",
    }
}

/// The relative loss's op `|y| + eps`: where eps is absorbed or flushed to zero.
pub const LOSS_DENOMINATOR: &str = "loss.denominator";

/// The op whose output is the gradient of the loss with respect to the prediction.
pub const LOSS_GRAD: &str = "bwd.loss.mean";

/// What a stored eps does to the relative loss's denominators `|y| + eps`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Denominators {
    /// Targets whose `|y| + eps` equals `|y|`: eps changes nothing there.
    pub absorbed: u64,
    /// Targets whose `|y| + eps` is zero: the loss divides by zero there.
    pub zero: u64,
}

impl Denominators {
    /// Counts them over `targets`, each already stored in the format of `eps`.
    pub fn of<'a, S: Scalar>(targets: impl IntoIterator<Item = &'a S>, eps: &S) -> Denominators {
        let mut counts = Denominators::default();
        for y in targets {
            let magnitude = y.abs();
            let denominator = magnitude.add(eps);
            counts.absorbed += u64::from(denominator == magnitude);
            counts.zero += u64::from(denominator.is_zero());
        }
        counts
    }
}

/// What the loss's backward pass needs from its forward pass.
#[derive(Clone, Debug)]
pub struct LossCache<S> {
    difference: Tensor<S>,
    denominator: Option<Tensor<S>>,
}

impl Loss {
    /// The loss of `prediction` against `target` as a 1 × 1 tensor. `eps` (1 × 1) is used by
    /// the relative loss only.
    pub fn forward<S: Scalar>(
        self,
        engine: &mut Engine<'_, S>,
        prediction: &Tensor<S>,
        target: &Tensor<S>,
        eps: &Tensor<S>,
    ) -> (Tensor<S>, LossCache<S>) {
        let difference = engine.binary("loss.sub", Binary::Sub, prediction, target);
        let (pointwise, denominator) = match self {
            Loss::Mse => (
                engine.binary("loss.square", Binary::Mul, &difference, &difference),
                None,
            ),
            Loss::Mae => (engine.unary("loss.abs", Unary::Abs, &difference), None),
            Loss::Relative => {
                let magnitude = engine.unary("loss.abs", Unary::Abs, &difference);
                let target_magnitude = engine.unary("loss.target_abs", Unary::Abs, target);
                let denominator =
                    engine.binary(LOSS_DENOMINATOR, Binary::Add, &target_magnitude, eps);
                let ratio = engine.binary("loss.div", Binary::Div, &magnitude, &denominator);
                (ratio, Some(denominator))
            }
        };
        let loss = engine.op("loss.mean", OpKind::Mean, &[&pointwise]);
        (
            loss,
            LossCache {
                difference,
                denominator,
            },
        )
    }

    /// ∂loss/∂prediction.
    pub fn backward<S: Scalar>(
        self,
        engine: &mut Engine<'_, S>,
        cache: &LossCache<S>,
    ) -> Tensor<S> {
        let ctx = engine.ctx().clone();
        let count = Tensor::from_elem((1, 1), S::from_f64(cache.difference.len() as f64, &ctx));
        let pointwise = match (self, &cache.denominator) {
            (Loss::Mse, _) => {
                let two = Tensor::from_elem((1, 1), S::from_f64(2.0, &ctx));
                engine.binary("bwd.loss.scale", Binary::Mul, &cache.difference, &two)
            }
            (Loss::Mae, _) => engine.unary("bwd.loss.sign", Unary::Sign, &cache.difference),
            (Loss::Relative, Some(denominator)) => {
                let sign = engine.unary("bwd.loss.sign", Unary::Sign, &cache.difference);
                engine.binary("bwd.loss.div", Binary::Div, &sign, denominator)
            }
            (Loss::Relative, None) => unreachable!("the relative loss keeps its denominator"),
        };
        engine.binary(LOSS_GRAD, Binary::Div, &pointwise, &count)
    }
}
