//! Quantized matmul operands: what a scaled low-precision recipe (FP8 with a per-tensor scale,
//! MX, NVFP4) does to a matmul's inputs before the matmul runs, as the engine asks for it.

use std::fmt;

use ndarray::Axis;

use super::Tensor;

/// One of a matmul's two operands, as stored (before any transposition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The left factor.
    Lhs,
    /// The right factor.
    Rhs,
}

impl Operand {
    /// `lhs` or `rhs`: the last part of a quantization op's name.
    pub fn name(self) -> &'static str {
        match self {
            Operand::Lhs => "lhs",
            Operand::Rhs => "rhs",
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operand as a recipe stores it, and what storing it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantization {
    /// The value each element stands for (element × its scales), exactly.
    pub values: Tensor<f64>,
    /// Per element: its scaled magnitude was above the element format's largest value, and it
    /// was clipped to that value.
    pub clipped: Tensor<bool>,
    /// Per block whose shared scale left the scale format's range (and was clamped): true at
    /// the block's first element, so that counting the trues counts blocks.
    pub scale_saturated: Tensor<bool>,
}

/// Quantizes matmul operands (see [`Engine::with_quantizer`](super::Engine::with_quantizer)).
/// The engine hands it each operand of each matmul exactly (as f64) with the axis the matmul
/// reduces along, so that blocks run along the reduction dimension as MX requires.
pub trait Quantizer: Send + Sync + fmt::Debug {
    /// The operand `operand` of the matmul `op`, quantized along `axis` (the matmul's reduction
    /// dimension in the stored tensor); `None` when the recipe leaves it as it is.
    fn quantize(
        &mut self,
        op: &str,
        operand: Operand,
        values: &Tensor<f64>,
        axis: Axis,
    ) -> Option<Quantization>;

    /// The step is over: a recipe with delayed scaling moves its scales on.
    fn end_step(&mut self);

    /// A copy with the same state (a trainer is cloned whole).
    fn boxed_clone(&self) -> Box<dyn Quantizer>;
}

impl Clone for Box<dyn Quantizer> {
    fn clone(&self) -> Self {
        self.boxed_clone()
    }
}

/// The name of the op that quantizes `operand` of the matmul `op`: `quant.fwd.dense1.matmul.lhs`.
pub fn quant_op_name(op: &str, operand: Operand) -> String {
    format!("quant.{op}.{operand}")
}

/// The name under which a run that does not quantize keeps `operand` of the matmul `op`, what
/// the quantization op carries: `fwd.dense1.matmul.lhs`.
pub fn operand_name(op: &str, operand: Operand) -> String {
    format!("{op}.{operand}")
}
