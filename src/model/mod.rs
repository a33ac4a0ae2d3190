//! The network: dense layers, activations, dropout, Glorot initialisation, the losses (written
//! once for every format) and the f64 parameters a network starts from.

pub mod expr;
pub mod init;
mod loss;
mod mlp;
pub mod params;
pub mod softmax;

pub use init::glorot_uniform;
pub use loss::{
    DEFAULT_EPS, Denominators, LOSS_DENOMINATOR, LOSS_GRAD, LOSS_GRAD_SUM, Loss, LossCache, Preset,
    Reduce, Targets, guarded_phrase,
};
pub use mlp::{Dense, ForwardCache, Gradients, Mlp};
pub use params::{LayerParams, LayerTensor, Misfit, ParamSet, ShapeMismatch, check_shapes, misfit};

pub use crate::kernel::Activation;

/// The shape of the network: layer widths from input to output, the hidden activation and the
/// dropout rate after each hidden layer. The output layer is linear (identity).
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    /// [inputs, hidden…, outputs].
    pub widths: Vec<usize>,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Probability of dropping a hidden unit during training (0 disables dropout).
    pub dropout: f64,
}

impl Architecture {
    /// The number of dense layers.
    pub fn depth(&self) -> usize {
        self.widths.len() - 1
    }

    /// The widths of the hidden layers, where dropout masks apply.
    pub fn hidden(&self) -> &[usize] {
        &self.widths[1..self.widths.len() - 1]
    }
}
