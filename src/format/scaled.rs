//! Scaled low-precision formats: a block (or a tensor) of values stored as narrow elements
//! times a shared scale. OCP Microscaling (MX v1.0: blocks of 32 sharing an E8M0 power of two),
//! NVFP4 (e2m1 elements, an E4M3 scale per 16 and an f32 scale per tensor) and FP8 with one
//! f32 scale per tensor (Transformer Engine's `DelayedScaling`).
//!
//! Each quantizer returns the values it stands for (element × scale, exactly, as f64) and what
//! it did that an audit counts: elements clipped to the element format's largest value,
//! nonzero elements flushed to zero, and scales that saturated.

use super::round::{Rounded, round_f64_with};
use super::{Format, Overflow, pow2};

crate::named_enum! {
    /// How an MX block's shared scale is chosen (`--mx-scale`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ScaleRule: parsed from "--mx-scale" as "MX scale rule" {
        /// OCP MX v1.0 (and torchao): 2^(⌊log2 amax⌋ − emax of the element), which can put the
        /// block's largest magnitude above the element's largest value: it is clipped.
        Floor = "floor",
        /// Transformer Engine and cuBLAS: the smallest power of two with amax / scale ≤ the
        /// element's largest value; never clips.
        Rceil = "rceil",
    }
}

crate::named_enum! {
    /// A scaled format, as `quantize --scheme` names it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Scheme: parsed from "--scheme" as "scaled format" {
        /// MXFP8 with E4M3 elements: blocks of 32, an E8M0 scale.
        Mxfp8E4m3 = "mxfp8-e4m3",
        /// MXFP8 with E5M2 elements.
        Mxfp8E5m2 = "mxfp8-e5m2",
        /// MXFP6 with E3M2 elements.
        Mxfp6E3m2 = "mxfp6-e3m2",
        /// MXFP6 with E2M3 elements.
        Mxfp6E2m3 = "mxfp6-e2m3",
        /// MXFP4: E2M1 elements.
        Mxfp4 = "mxfp4",
        /// MXINT8: 8-bit integers with an implicit 2^−6.
        Mxint8 = "mxint8",
        /// NVFP4: E2M1 elements, an E4M3 scale per 16, an f32 scale per tensor.
        Nvfp4 = "nvfp4",
        /// E4M3 with one f32 scale for the whole tensor, from its amax (margin 0).
        Fp8E4m3 = "fp8-e4m3",
        /// E5M2 with one f32 scale for the whole tensor.
        Fp8E5m2 = "fp8-e5m2",
    }
}

impl Scheme {
    /// The element of an MX scheme; `None` for NVFP4 and per-tensor FP8.
    pub fn mx_element(self) -> Option<MxElement> {
        Some(match self {
            Scheme::Mxfp8E4m3 => MxElement::Float(Format::E4m3),
            Scheme::Mxfp8E5m2 => MxElement::Float(Format::E5m2),
            Scheme::Mxfp6E3m2 => MxElement::Float(Format::E3m2),
            Scheme::Mxfp6E2m3 => MxElement::Float(Format::E2m3),
            Scheme::Mxfp4 => MxElement::Float(Format::E2m1),
            Scheme::Mxint8 => MxElement::Int8,
            Scheme::Nvfp4 | Scheme::Fp8E4m3 | Scheme::Fp8E5m2 => return None,
        })
    }
}

/// The elements of an MX block (OCP MX v1.0).
pub const MX_BLOCK: usize = 32;

/// `tensor` (a row-major run of values along the reduction dimension) in `scheme`: its blocks
/// in order (one for per-tensor FP8). `rule` applies to the MX schemes.
pub fn quantize(tensor: &[f64], scheme: Scheme, rule: ScaleRule) -> Vec<Quantized> {
    match (scheme.mx_element(), scheme) {
        (Some(element), _) => tensor
            .chunks(MX_BLOCK)
            .map(|block| mx_block(block, element, rule))
            .collect(),
        (None, Scheme::Nvfp4) => nvfp4(tensor),
        (None, fp8) => {
            let format = if fp8 == Scheme::Fp8E4m3 {
                Format::E4m3
            } else {
                Format::E5m2
            };
            vec![fp8_tensor(
                tensor,
                format,
                fp8_tensor_scale(format, amax(tensor), 0, 1.0),
            )]
        }
    }
}

/// The element of an MX block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MxElement {
    /// A narrow floating-point format (e4m3, e5m2, e3m2, e2m3, e2m1), saturating.
    Float(Format),
    /// MXINT8: 8-bit two's complement with an implicit scale of 2^−6, used symmetrically
    /// (±127/64).
    Int8,
}

impl MxElement {
    /// The largest magnitude an element holds.
    pub fn max(self) -> f64 {
        match self {
            MxElement::Float(format) => format.spec().max_finite().expect("a narrow format"),
            MxElement::Int8 => 127.0 / 64.0,
        }
    }

    /// The exponent of the largest power of two an element holds (emax_elem in OCP MX).
    pub fn emax(self) -> i32 {
        exponent(self.max())
    }

    /// `x` as an element, saturating: (the element's value, whether it was clipped).
    fn quantize(self, x: f64) -> (f64, bool) {
        match self {
            MxElement::Float(format) => {
                let Rounded { value, overflow } =
                    round_f64_with(x, &format.spec(), Overflow::Saturate);
                (value, overflow)
            }
            MxElement::Int8 => {
                // Round half to even on the grid of 2^−6, then clamp.
                let steps = (x * 64.0).round_ties_even();
                let clipped = steps.abs() > 127.0;
                (steps.clamp(-127.0, 127.0) / 64.0, clipped)
            }
        }
    }
}

/// ⌊log2 |x|⌋ for a finite nonzero x, exactly.
fn exponent(x: f64) -> i32 {
    super::round::exponent(x.abs())
}

/// The E8M0 exponents a scale may have: 2^−127 … 2^127 (0xFF is NaN).
const E8M0_MIN: i32 = -127;
const E8M0_MAX: i32 = 127;

/// A quantized block or tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// The value each element stands for: element × scale(s), exactly.
    pub values: Vec<f64>,
    /// The scale of the block as applied (NaN when the block held inf or NaN).
    pub scale: f64,
    /// Per element: whether its scaled magnitude was above the element's largest value.
    pub element_clipped: Vec<bool>,
    /// Elements whose scaled magnitude was above the element's largest value.
    pub clipped: usize,
    /// Nonzero inputs stored as zero.
    pub flushed: usize,
    /// Whether the scale itself left its format's range (and was clamped).
    pub scale_saturated: bool,
}

/// The E8M0 exponent of an MX block whose largest magnitude is `amax` (finite, ≥ 0), clamped
/// to E8M0's range: (exponent, whether it was clamped). An all-zero block takes the smallest.
pub fn mx_scale_exponent(amax: f64, element: MxElement, rule: ScaleRule) -> (i32, bool) {
    if amax == 0.0 {
        return (E8M0_MIN, false);
    }
    let floor = exponent(amax) - element.emax();
    let e = match rule {
        ScaleRule::Floor => floor,
        // max · 2^floor and amax share a binade, so one comparison decides, exactly.
        ScaleRule::Rceil if amax <= element.max() * pow2(floor) => floor,
        ScaleRule::Rceil => floor + 1,
    };
    (
        e.clamp(E8M0_MIN, E8M0_MAX),
        !(E8M0_MIN..=E8M0_MAX).contains(&e),
    )
}

/// One MX block (OCP MX v1.0 §6.3): the shared scale X from the block's largest magnitude,
/// each element Vi / X rounded to the element format (ties to even, saturating). A block
/// holding inf or NaN has a NaN scale, and every value is NaN.
pub fn mx_block(block: &[f64], element: MxElement, rule: ScaleRule) -> Quantized {
    if block.iter().any(|x| !x.is_finite()) {
        return Quantized {
            values: vec![f64::NAN; block.len()],
            scale: f64::NAN,
            element_clipped: vec![false; block.len()],
            clipped: 0,
            flushed: 0,
            scale_saturated: false,
        };
    }
    let (e, scale_saturated) = mx_scale_exponent(amax(block), element, rule);
    scaled(block, pow2(e), scale_saturated, |x| element.quantize(x))
}

/// `block` / `scale` quantized by `quantize`, times `scale`, with the counts.
fn scaled(
    block: &[f64],
    scale: f64,
    scale_saturated: bool,
    quantize: impl Fn(f64) -> (f64, bool),
) -> Quantized {
    let mut element_clipped = Vec::with_capacity(block.len());
    let mut flushed = 0;
    let values = block
        .iter()
        .map(|&x| {
            let (q, clip) = quantize(x / scale);
            element_clipped.push(clip);
            flushed += usize::from(q == 0.0 && x != 0.0);
            q * scale
        })
        .collect();
    Quantized {
        values,
        scale,
        clipped: element_clipped.iter().filter(|c| **c).count(),
        element_clipped,
        flushed,
        scale_saturated,
    }
}

/// x rounded to f32 (ties to even).
fn f32_of(x: f64) -> f64 {
    f64::from(x as f32)
}

/// NVFP4: the tensor's f32 scale s = amax / (448 · 6) (f32 arithmetic), then per block of 16
/// an E4M3 scale b = e4m3(amax_block / 6 / s) (saturating), and elements e2m1(x / (b · s))
/// (saturating); each value is element × b × s. A block scale of 0 (an all-zero block, or one
/// far below the tensor's largest) flushes the block. Returns the blocks in order.
pub fn nvfp4(tensor: &[f64]) -> Vec<Quantized> {
    let tensor_scale = nvfp4_tensor_scale(amax(tensor));
    tensor
        .chunks(NVFP4_BLOCK)
        .map(|block| nvfp4_block(block, tensor_scale))
        .collect()
}

/// The elements of an NVFP4 block.
pub const NVFP4_BLOCK: usize = 16;

/// NVFP4's f32 scale of a tensor whose largest magnitude is `amax`: amax / (448 · 6) in f32
/// arithmetic (1 for an all-zero or non-finite tensor).
pub fn nvfp4_tensor_scale(amax: f64) -> f64 {
    if amax > 0.0 && amax.is_finite() {
        f32_of(f32_of(amax) / (448.0 * 6.0))
    } else {
        1.0
    }
}

/// One NVFP4 block of at most 16 elements of a tensor whose scale is `tensor_scale`.
pub fn nvfp4_block(block: &[f64], tensor_scale: f64) -> Quantized {
    let block_amax = amax(block);
    let wanted = f32_of(f32_of(block_amax / 6.0) / tensor_scale);
    let Rounded {
        value: block_scale,
        overflow,
    } = round_f64_with(wanted, &Format::E4m3.spec(), Overflow::Saturate);
    let scale = f32_of(block_scale * tensor_scale);
    if scale == 0.0 || !scale.is_finite() {
        let flushed = block.iter().filter(|x| **x != 0.0).count();
        return Quantized {
            values: vec![0.0; block.len()],
            scale,
            element_clipped: vec![false; block.len()],
            clipped: 0,
            flushed,
            scale_saturated: overflow,
        };
    }
    let e2m1 = Format::E2m1.spec();
    scaled(block, scale, overflow, |x| {
        let Rounded { value, overflow } = round_f64_with(x, &e2m1, Overflow::Saturate);
        (value, overflow)
    })
}

/// The largest magnitude of `values` (0 when empty; NaN-blind, as the quantizers are).
pub fn amax<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    values.into_iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Transformer Engine's `DelayedScaling` scale of an FP8 tensor: fp8_max / amax / 2^margin in
/// f32, from the largest amax of the history; the previous scale when that amax is 0 or not
/// finite.
pub fn fp8_tensor_scale(format: Format, amax_history_max: f64, margin: i32, previous: f64) -> f64 {
    if amax_history_max == 0.0 || !amax_history_max.is_finite() {
        return previous;
    }
    let max = format.spec().max_finite().expect("an FP8 format");
    f32_of(f32_of(max / f32_of(amax_history_max)) / pow2(margin))
}

/// An FP8 tensor with one scale: each x · scale rounded to `format` (ties to even,
/// saturating), times 1 / scale (the f32 inverse Transformer Engine stores).
pub fn fp8_tensor(tensor: &[f64], format: Format, scale: f64) -> Quantized {
    let spec = format.spec();
    let inverse = f32_of(1.0 / scale);
    let mut element_clipped = Vec::with_capacity(tensor.len());
    let mut flushed = 0;
    let values = tensor
        .iter()
        .map(|&x| {
            let Rounded { value, overflow } =
                round_f64_with(f32_of(x * scale), &spec, Overflow::Saturate);
            element_clipped.push(overflow);
            flushed += usize::from(value == 0.0 && x != 0.0);
            value * inverse
        })
        .collect();
    Quantized {
        values,
        scale: inverse,
        clipped: element_clipped.iter().filter(|c| **c).count(),
        element_clipped,
        flushed,
        scale_saturated: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E4M3: MxElement = MxElement::Float(Format::E4m3);

    #[test]
    fn element_facts_are_those_of_ocp_mx() {
        let emax = |e: MxElement| e.emax();
        assert_eq!(emax(E4M3), 8);
        assert_eq!(emax(MxElement::Float(Format::E5m2)), 15);
        assert_eq!(emax(MxElement::Float(Format::E3m2)), 4);
        assert_eq!(emax(MxElement::Float(Format::E2m3)), 2);
        assert_eq!(emax(MxElement::Float(Format::E2m1)), 2);
        assert_eq!(emax(MxElement::Int8), 0);
    }

    #[test]
    fn floor_clips_a_block_whose_scaled_amax_is_above_448_and_rceil_does_not() {
        // amax = 480 · 2^3: floor gives X = 2^(11 − 8) = 8, 480 > 448 clips to 448.
        let block = [3840.0, 1.0, -2.0, 0.0];
        let floor = mx_block(&block, E4M3, ScaleRule::Floor);
        assert_eq!(floor.scale, 8.0);
        assert_eq!(floor.values[0], 448.0 * 8.0);
        assert_eq!(floor.clipped, 1);
        let rceil = mx_block(&block, E4M3, ScaleRule::Rceil);
        assert_eq!(rceil.scale, 16.0);
        assert_eq!(rceil.values[0], 3840.0);
        assert_eq!(rceil.clipped, 0);
        // 1 / 16 = 2^-4 is an e4m3 normal; -2 too.
        assert_eq!(&rceil.values[1..], &[1.0, -2.0, 0.0]);
    }

    #[test]
    fn rceil_takes_the_floor_when_amax_fits_exactly() {
        // 448 · 2^k fits e4m3's max exactly: both rules give 2^(k), nothing clips.
        for k in [-20, 0, 7] {
            let amax = 448.0 * pow2(k);
            assert_eq!(mx_scale_exponent(amax, E4M3, ScaleRule::Rceil), (k, false));
            assert_eq!(mx_scale_exponent(amax, E4M3, ScaleRule::Floor), (k, false));
        }
    }

    #[test]
    fn tiny_blocks_saturate_the_scale_and_flush() {
        let block = [1e-45, 0.0];
        let q = mx_block(&block, E4M3, ScaleRule::Floor);
        assert!(q.scale_saturated);
        assert_eq!(q.scale, pow2(-127));
        assert_eq!(
            mx_block(&[0.0; 4], E4M3, ScaleRule::Floor).scale,
            pow2(-127)
        );
        let nan = mx_block(&[1.0, f64::NAN], E4M3, ScaleRule::Floor);
        assert!(nan.scale.is_nan() && nan.values.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn mxint8_rounds_on_a_grid_of_a_64th_and_clamps_symmetrically() {
        // amax 1.5: floor scale 2^0; 0.0078125 = 2^-7 is half a step: ties to even (0).
        let q = mx_block(
            &[1.5, 0.0078125, -0.0234375],
            MxElement::Int8,
            ScaleRule::Floor,
        );
        assert_eq!(q.values, vec![1.5, 0.0, -0.03125]);
        assert_eq!(q.flushed, 1);
        // 1.99 · 64 = 127.36 rounds to 127: no clipping; 1.999 · 64 rounds to 128: clipped.
        let q = mx_block(&[1.99], MxElement::Int8, ScaleRule::Floor);
        assert_eq!((q.values[0], q.clipped), (127.0 / 64.0, 0));
        let q = mx_block(&[1.999], MxElement::Int8, ScaleRule::Floor);
        assert_eq!((q.values[0], q.clipped), (127.0 / 64.0, 1));
    }

    #[test]
    fn nvfp4_scales_blocks_of_16_by_e4m3_times_the_tensor_scale() {
        let mut tensor = vec![0.0; 32];
        tensor[0] = 6.0 * 448.0; // the tensor's amax: tensor scale 1, block scale 448
        tensor[1] = 448.0;
        tensor[16] = 3.0; // second block: scale e4m3(0.5) = 0.5, 3 / 0.5 = 6
        tensor[17] = 0.2; // 0.4 → e2m1 0.5, × 0.5 = 0.25
        let blocks = nvfp4(&tensor);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].scale, 448.0);
        assert_eq!(blocks[0].values[0], 2688.0);
        assert_eq!(blocks[0].values[1], 448.0);
        assert_eq!(blocks[1].scale, 0.5);
        assert_eq!(blocks[1].values[0], 3.0);
        assert_eq!(blocks[1].values[1], 0.25);
    }

    #[test]
    fn fp8_tensor_scaling_follows_delayed_scaling() {
        assert_eq!(fp8_tensor_scale(Format::E4m3, 4.0, 0, 1.0), 112.0);
        assert_eq!(fp8_tensor_scale(Format::E4m3, 4.0, 1, 1.0), 56.0);
        assert_eq!(fp8_tensor_scale(Format::E4m3, 0.0, 0, 3.0), 3.0);
        // 4 · 112 = 448 is stored exactly; it stands for 448 times the f32 inverse of 112,
        // exactly (the f32 rounding of a dequantized product belongs to the op that makes it).
        let q = fp8_tensor(&[4.0, -1.0, 1e-9], Format::E4m3, 112.0);
        let inverse = f64::from(1.0f32 / 112.0);
        assert_eq!(q.values[0], 448.0 * inverse);
        assert_eq!(q.values[1], -112.0 * inverse);
        assert_eq!(q.flushed, 1);
    }
}
