//! Scaled low-precision recipes: lanes that train in f32 (master weights, optimizer, loss,
//! activations, f32 accumulation) with every matmul's operands quantized first, as FP8 with a
//! per-tensor scale (Transformer Engine's `DelayedScaling`), OCP MX or NVFP4 store them.
//!
//! The operands are quantized along the matmul's reduction dimension (an MX block is 32
//! consecutive terms of one dot product) and dequantized exactly; the f32 matmul then runs on
//! the values they stand for. With power-of-two scales (MX) that is what an MX matmul computes,
//! up to the order of its f32 accumulation; with FP8's f32 per-tensor scale, cuBLAS multiplies
//! the accumulated FP8 products by the two scale inverses afterwards, where this lane rounds
//! each dequantized element to f32 first: one f32 rounding per element, far below FP8's own,
//! but a dot product that cancels exactly on the FP8 grid leaves an f32 residue here where
//! cuBLAS gives 0 (the matmul's local error shows it).

use std::collections::BTreeMap;

use ndarray::{Array2, Axis};

use crate::format::Format;
use crate::format::scaled::{
    self, MX_BLOCK, MxElement, NVFP4_BLOCK, Quantized, ScaleRule, amax, fp8_tensor,
    fp8_tensor_scale,
};
use crate::kernel::{Operand, Quantization, Quantizer, Tensor};

crate::named_enum! {
    /// A scaled low-precision recipe, named as a lane of `--formats`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Recipe {
        /// Transformer Engine's FP8 with `DelayedScaling` defaults (format HYBRID, margin 0,
        /// amax history 1024, max): forward operands in e4m3, gradients in e5m2, one f32 scale
        /// per tensor from the largest amax of its earlier steps (1 at the first step).
        Fp8Tensor = "fp8-tensor",
        /// MXFP8 with E4M3 elements for every operand.
        Mxfp8E4m3 = "mxfp8-e4m3",
        /// MXFP8 with E5M2 elements.
        Mxfp8E5m2 = "mxfp8-e5m2",
        /// MXFP6 with E3M2 elements.
        Mxfp6E3m2 = "mxfp6-e3m2",
        /// MXFP6 with E2M3 elements.
        Mxfp6E2m3 = "mxfp6-e2m3",
        /// MXFP4 (E2M1 elements).
        Mxfp4 = "mxfp4",
        /// MXINT8.
        Mxint8 = "mxint8",
        /// NVFP4: E2M1 elements, an E4M3 scale per 16 along the reduction dimension and an f32
        /// scale per tensor.
        Nvfp4 = "nvfp4",
    }
}

impl Recipe {
    /// The format everything but the matmul operands computes and is stored in.
    pub const COMPUTE: Format = Format::F32;

    /// Whether it is an MX recipe (blocks of 32 with an E8M0 scale).
    pub fn is_mx(self) -> bool {
        self.mx_element().is_some()
    }

    /// The element of an MX recipe.
    fn mx_element(self) -> Option<MxElement> {
        let scheme = match self {
            Recipe::Mxfp8E4m3 => scaled::Scheme::Mxfp8E4m3,
            Recipe::Mxfp8E5m2 => scaled::Scheme::Mxfp8E5m2,
            Recipe::Mxfp6E3m2 => scaled::Scheme::Mxfp6E3m2,
            Recipe::Mxfp6E2m3 => scaled::Scheme::Mxfp6E2m3,
            Recipe::Mxfp4 => scaled::Scheme::Mxfp4,
            Recipe::Mxint8 => scaled::Scheme::Mxint8,
            Recipe::Fp8Tensor | Recipe::Nvfp4 => return None,
        };
        scheme.mx_element()
    }
}

/// Which operand of a backward matmul is a gradient, by the network's op names: the weight
/// gradient is inputᵀ · grad (the right operand), the input gradient grad · weightᵀ (the left).
/// Forward matmuls have none.
pub fn gradient_operand(op: &str) -> Option<Operand> {
    if !op.starts_with("bwd.") {
        None
    } else if op.ends_with(".weight_grad") {
        Some(Operand::Rhs)
    } else if op.ends_with(".input_grad") {
        Some(Operand::Lhs)
    } else {
        None
    }
}

/// The largest number of amaxes a delayed-scaling history keeps (Transformer Engine's default
/// `amax_history_len`).
pub const AMAX_HISTORY: usize = 1024;

/// The quantizer of a recipe lane.
#[derive(Clone, Debug)]
pub struct RecipeQuantizer {
    recipe: Recipe,
    rule: ScaleRule,
    /// Per quantization op (FP8 per-tensor scaling): its delayed scale.
    delayed: BTreeMap<String, DelayedScale>,
}

/// One tensor's delayed scale (Transformer Engine's FP8 meta): its format, the scale in use,
/// the amaxes of earlier steps (newest first) and the largest amax of the current step.
#[derive(Clone, Debug)]
struct DelayedScale {
    format: Format,
    scale: f64,
    history: Vec<f64>,
    current: f64,
}

impl RecipeQuantizer {
    /// The quantizer of `recipe`, MX scales chosen by `rule`.
    pub fn new(recipe: Recipe, rule: ScaleRule) -> RecipeQuantizer {
        RecipeQuantizer {
            recipe,
            rule,
            delayed: BTreeMap::new(),
        }
    }

    /// The scale the FP8 operand `key` is quantized with this step (1 before it was seen).
    pub fn scale_of(&self, key: &str) -> f64 {
        self.delayed.get(key).map_or(1.0, |d| d.scale)
    }
}

impl Quantizer for RecipeQuantizer {
    fn quantize(
        &mut self,
        op: &str,
        operand: Operand,
        values: &Tensor<f64>,
        axis: Axis,
    ) -> Option<Quantization> {
        let rule = self.rule;
        Some(match (self.recipe, self.recipe.mx_element()) {
            (_, Some(element)) => along(values, axis, MX_BLOCK, |block| {
                scaled::mx_block(block, element, rule)
            }),
            (Recipe::Nvfp4, None) => {
                let tensor_scale = scaled::nvfp4_tensor_scale(amax(values));
                along(values, axis, NVFP4_BLOCK, |block| {
                    scaled::nvfp4_block(block, tensor_scale)
                })
            }
            (_, None) => {
                let format = if gradient_operand(op) == Some(operand) {
                    Format::E5m2
                } else {
                    Format::E4m3
                };
                let delayed = self
                    .delayed
                    .entry(crate::kernel::quant_op_name(op, operand))
                    .or_insert(DelayedScale {
                        format,
                        scale: 1.0,
                        history: Vec::new(),
                        current: 0.0,
                    });
                delayed.current = delayed.current.max(amax(values));
                let flat: Vec<f64> = values.iter().copied().collect();
                let quantized = fp8_tensor(&flat, format, delayed.scale);
                let shape = values.dim();
                Quantization {
                    values: Array2::from_shape_vec(shape, quantized.values)
                        .expect("the operand's shape"),
                    clipped: Array2::from_shape_vec(shape, quantized.element_clipped)
                        .expect("the operand's shape"),
                    scale_saturated: Array2::from_elem(shape, false),
                }
            }
        })
    }

    /// Transformer Engine's update after each step: the step's amax joins the front of the
    /// history, and the scale comes from the history's largest (kept when that is 0 or not
    /// finite).
    fn end_step(&mut self) {
        for delayed in self.delayed.values_mut() {
            delayed.history.insert(0, delayed.current);
            delayed.history.truncate(AMAX_HISTORY);
            delayed.current = 0.0;
            let largest = amax(&delayed.history);
            delayed.scale = fp8_tensor_scale(delayed.format, largest, 0, delayed.scale);
        }
    }

    fn boxed_clone(&self) -> Box<dyn Quantizer> {
        Box::new(self.clone())
    }
}

/// `values` quantized in blocks of `block` consecutive elements along `axis` (each line along
/// the axis split from its start; the last block of a line may be shorter).
fn along(
    values: &Tensor<f64>,
    axis: Axis,
    block: usize,
    quantize: impl Fn(&[f64]) -> Quantized,
) -> Quantization {
    let shape = values.dim();
    let mut out = Quantization {
        values: Array2::zeros(shape),
        clipped: Array2::from_elem(shape, false),
        scale_saturated: Array2::from_elem(shape, false),
    };
    for (index, line) in values.lanes(axis).into_iter().enumerate() {
        let line: Vec<f64> = line.iter().copied().collect();
        for (start, chunk) in (0..line.len()).step_by(block).zip(line.chunks(block)) {
            let q = quantize(chunk);
            for (offset, (&value, &clipped)) in q.values.iter().zip(&q.element_clipped).enumerate()
            {
                let at = position(axis, index, start + offset);
                out.values[at] = value;
                out.clipped[at] = clipped;
            }
            out.scale_saturated[position(axis, index, start)] = q.scale_saturated;
        }
    }
    out
}

/// The (row, column) of element `along` of line `line`, lines running along `axis`.
fn position(axis: Axis, line: usize, along: usize) -> [usize; 2] {
    if axis == Axis(1) {
        [line, along]
    } else {
        [along, line]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::pow2;

    fn matrix(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Tensor<f64> {
        Array2::from_shape_fn((rows, cols), |(i, j)| f(i, j))
    }

    /// Values whose blocks differ in scale, with a block maximum that floor clips (480 · 2^k).
    fn values(i: usize, j: usize) -> f64 {
        let v = ((i * 37 + j * 11) % 23) as f64 / 7.0 - 1.5;
        if j == 5 {
            480.0 * pow2(i as i32)
        } else {
            v * pow2(i as i32 - 3)
        }
    }

    #[test]
    fn mx_blocks_run_along_the_reduction_axis() {
        let x = matrix(3, 40, values);
        let mut quantizer = RecipeQuantizer::new(Recipe::Mxfp8E4m3, ScaleRule::Floor);
        let element = MxElement::Float(Format::E4m3);
        let along_rows = quantizer
            .quantize("fwd.dense1.matmul", Operand::Lhs, &x, Axis(1))
            .unwrap();
        for i in 0..3 {
            let row: Vec<f64> = x.row(i).to_vec();
            for (start, block) in [(0, &row[..32]), (32, &row[32..])] {
                let q = scaled::mx_block(block, element, ScaleRule::Floor);
                for (k, value) in q.values.iter().enumerate() {
                    assert_eq!(along_rows.values[[i, start + k]], *value);
                    assert_eq!(along_rows.clipped[[i, start + k]], q.element_clipped[k]);
                }
            }
            // The 480 · 2^i in each row's first block is clipped to 448 · 2^i by floor.
            assert!(along_rows.clipped[[i, 5]]);
            assert_eq!(along_rows.values[[i, 5]], 448.0 * pow2(i as i32));
        }
        // Along the columns (a transposed operand), each column is one block of 3.
        let t = x.t().to_owned();
        let along_columns = quantizer
            .quantize("bwd.dense1.weight_grad", Operand::Lhs, &t, Axis(0))
            .unwrap();
        assert_eq!(along_columns.values, along_rows.values.t());
    }

    #[test]
    fn nvfp4_scales_by_the_whole_tensor_and_blocks_of_16() {
        let x = matrix(2, 20, values);
        let mut quantizer = RecipeQuantizer::new(Recipe::Nvfp4, ScaleRule::Floor);
        let q = quantizer
            .quantize("fwd.dense1.matmul", Operand::Rhs, &x, Axis(1))
            .unwrap();
        let tensor_scale = scaled::nvfp4_tensor_scale(amax(&x));
        let row: Vec<f64> = x.row(1).to_vec();
        let tail = scaled::nvfp4_block(&row[16..], tensor_scale);
        assert_eq!(q.values.row(1).to_vec()[16..], tail.values[..]);
    }

    #[test]
    fn delayed_scaling_uses_earlier_amaxes_e4m3_forward_and_e5m2_for_gradients() {
        let mut quantizer = RecipeQuantizer::new(Recipe::Fp8Tensor, ScaleRule::Floor);
        let x = matrix(1, 2, |_, j| [4.0, 1000.0][j]);
        // Step 1: scale 1, so 1000 clips to e4m3's 448; the gradient operand is e5m2 (57344).
        let forward = quantizer
            .quantize("fwd.dense1.matmul", Operand::Lhs, &x, Axis(1))
            .unwrap();
        assert_eq!(forward.values.row(0).to_vec(), vec![4.0, 448.0]);
        assert!(forward.clipped[[0, 1]]);
        let gradient = quantizer
            .quantize("bwd.dense1.weight_grad", Operand::Rhs, &x, Axis(0))
            .unwrap();
        assert_eq!(gradient.values.row(0).to_vec(), vec![4.0, 1024.0]);
        quantizer.end_step();
        // Step 2: scale = max / amax of step 1, in f32.
        let forward_key = "quant.fwd.dense1.matmul.lhs";
        let gradient_key = "quant.bwd.dense1.weight_grad.rhs";
        assert_eq!(
            quantizer.scale_of(forward_key),
            f64::from(448.0f32 / 1000.0)
        );
        assert_eq!(
            quantizer.scale_of(gradient_key),
            f64::from(57344.0f32 / 1000.0)
        );
        // A smaller tensor keeps the scale while the larger amax stays in the history of 1024.
        let small = matrix(1, 2, |_, _| 1.0);
        for _ in 0..AMAX_HISTORY - 1 {
            quantizer.quantize("fwd.dense1.matmul", Operand::Lhs, &small, Axis(1));
            quantizer.end_step();
        }
        assert_eq!(
            quantizer.scale_of(forward_key),
            f64::from(448.0f32 / 1000.0)
        );
        quantizer.quantize("fwd.dense1.matmul", Operand::Lhs, &small, Axis(1));
        quantizer.end_step();
        assert_eq!(quantizer.scale_of(forward_key), 448.0);
    }

    #[test]
    fn gradient_operands_follow_the_networks_op_names() {
        assert_eq!(
            gradient_operand("bwd.dense2.weight_grad"),
            Some(Operand::Rhs)
        );
        assert_eq!(
            gradient_operand("bwd.dense2.input_grad"),
            Some(Operand::Lhs)
        );
        assert_eq!(gradient_operand("fwd.dense2.matmul"), None);
    }
}
