//! The parameters of an MLP's dense layers, held in f64, and the checks that they form a network
//! and fit an architecture. Reading and writing them as CSV is `data::params`'s job.

use std::fmt;

use ndarray::Array2;

use crate::Error;

/// The parameters of an MLP's dense layers, in forward order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    /// Layer 1 first.
    pub layers: Vec<LayerParams>,
}

/// One dense layer: `y = x · weight + bias` for a row vector `x`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerParams {
    /// inputs × outputs.
    pub weight: Array2<f64>,
    /// 1 × outputs.
    pub bias: Array2<f64>,
}

crate::named_enum! {
    /// Which of a dense layer's two tensors; the name is the `tensor` column of a parameter file.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum LayerTensor {
        /// inputs × outputs.
        Weight = "weight",
        /// 1 × outputs.
        Bias = "bias",
    }
}

impl LayerParams {
    /// The layer's two tensors, weight first: the order files and checks walk them in.
    pub fn tensors(&self) -> [(LayerTensor, &Array2<f64>); 2] {
        [
            (LayerTensor::Weight, &self.weight),
            (LayerTensor::Bias, &self.bias),
        ]
    }

    /// The first thing that keeps this layer, number `number` (from 1) after `previous`, from
    /// being part of a network, checked in this order: an empty weight, a bias that is not
    /// 1 × outputs, inputs that are not `previous`'s outputs, a value that is not finite.
    ///
    /// This is the one check of a network's parameters: [`ParamSet::validate`] runs it on
    /// every layer, and the parameter-file reader on each layer as it is read (so that its
    /// message can point at a line).
    pub(crate) fn flaw(&self, number: usize, previous: Option<&LayerParams>) -> Option<Flaw> {
        let (inputs, outputs) = self.weight.dim();
        if inputs == 0 || outputs == 0 {
            return Some(Flaw::EmptyWeight {
                layer: number,
                inputs,
                outputs,
            });
        }
        if self.bias.dim() != (1, outputs) {
            return Some(Flaw::BiasShape {
                layer: number,
                bias: self.bias.dim(),
                weight: (inputs, outputs),
            });
        }
        if let Some(previous) = previous
            && previous.weight.ncols() != inputs
        {
            return Some(Flaw::Unchained {
                layer: number,
                inputs,
                previous_outputs: previous.weight.ncols(),
            });
        }
        self.tensors().into_iter().find_map(|(tensor, values)| {
            let ((row, column), value) = values
                .indexed_iter()
                .find(|(_, value)| !value.is_finite())?;
            Some(Flaw::NotFinite {
                layer: number,
                tensor,
                row: row + 1,
                column: column + 1,
                value: *value,
            })
        })
    }
}

/// Why a [`ParamSet`] is not a network (layers and positions numbered from 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Flaw {
    /// There is no layer at all.
    NoLayers,
    /// A weight without inputs or without outputs.
    EmptyWeight {
        layer: usize,
        inputs: usize,
        outputs: usize,
    },
    /// A bias that is not 1 × the weight's outputs.
    BiasShape {
        layer: usize,
        bias: (usize, usize),
        weight: (usize, usize),
    },
    /// A layer whose inputs are not the previous layer's outputs.
    Unchained {
        layer: usize,
        inputs: usize,
        previous_outputs: usize,
    },
    /// An inf or NaN.
    NotFinite {
        layer: usize,
        tensor: LayerTensor,
        row: usize,
        column: usize,
        value: f64,
    },
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Flaw::NoLayers => write!(f, "no layers"),
            Flaw::EmptyWeight {
                layer,
                inputs,
                outputs,
            } => write!(
                f,
                "layer {layer} weight is {inputs}×{outputs}; a layer needs at least one input and one output"
            ),
            Flaw::BiasShape {
                layer,
                bias: (rows, columns),
                weight: (inputs, outputs),
            } => write!(
                f,
                "layer {layer} bias is {rows}×{columns}, but its weight is {inputs}×{outputs}, so the bias must be 1×{outputs}"
            ),
            Flaw::Unchained {
                layer,
                inputs,
                previous_outputs,
            } => write!(
                f,
                "layer {} has {previous_outputs} outputs but layer {layer} weight has {inputs} rows (inputs)",
                layer - 1
            ),
            Flaw::NotFinite {
                layer,
                tensor,
                row,
                column,
                value,
            } => write!(
                f,
                "layer {layer} {} row {row} column {column} is {value}; parameters must be finite",
                tensor.name()
            ),
        }
    }
}

impl ParamSet {
    /// The network widths `[inputs, outputs of layer 1, …, outputs of layer L]` these
    /// parameters imply; empty when there are no layers. Meaningful once [`validate`] passes.
    ///
    /// [`validate`]: ParamSet::validate
    pub fn widths(&self) -> Vec<usize> {
        let Some(first) = self.layers.first() else {
            return Vec::new();
        };
        std::iter::once(first.weight.nrows())
            .chain(self.layers.iter().map(|layer| layer.weight.ncols()))
            .collect()
    }

    /// Checks that there is at least one layer, and that every layer passes the one check of
    /// a layer: its weight is not empty, its bias is 1 × its outputs, its inputs are the
    /// previous layer's outputs, and every value is finite.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] saying the first thing that is wrong, layer by layer.
    pub fn validate(&self) -> Result<(), Error> {
        match self.flaw() {
            None => Ok(()),
            Some(flaw) => Err(Error::InvalidData {
                what: "parameters".into(),
                message: flaw.to_string(),
            }),
        }
    }

    fn flaw(&self) -> Option<Flaw> {
        if self.layers.is_empty() {
            return Some(Flaw::NoLayers);
        }
        let previous = std::iter::once(None).chain(self.layers.iter().map(Some));
        (1..)
            .zip(self.layers.iter().zip(previous))
            .find_map(|(number, (layer, previous))| layer.flaw(number, previous))
    }
}

/// How parameters fail to fit a network's widths (layers numbered from 1).
#[derive(Clone, Debug, PartialEq)]
pub enum Misfit {
    /// The parameters have `found` dense layers, the network `needed`.
    Depth {
        /// Layers in the parameters.
        found: usize,
        /// Layers in the network.
        needed: usize,
    },
    /// Tensors whose shape differs from the network's, in layer order, weight before bias.
    Shapes(Vec<ShapeMismatch>),
}

/// One tensor whose shape is not the one the network needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The layer, from 1.
    pub layer: usize,
    /// Which of its tensors.
    pub tensor: LayerTensor,
    /// Its shape (rows, columns): inputs × outputs for a weight, 1 × outputs for a bias.
    pub found: (usize, usize),
    /// The shape the network needs.
    pub needed: (usize, usize),
}

/// How `params` fail to fit a network of `widths` `[inputs, hidden…, outputs]` (at least two
/// widths): one layer per consecutive pair, layer `i`'s weight `widths[i-1] × widths[i]` and
/// bias `1 × widths[i]`. `None` when they fit.
///
/// This is the one comparison of parameters with an architecture; [`check_shapes`] words it
/// for parameters in general, the tensor-file reader with the keys of a file.
pub fn misfit(params: &ParamSet, widths: &[usize]) -> Option<Misfit> {
    let needed_layers = widths.len().saturating_sub(1);
    if params.layers.len() != needed_layers {
        return Some(Misfit::Depth {
            found: params.layers.len(),
            needed: needed_layers,
        });
    }
    let mismatches: Vec<ShapeMismatch> = params
        .layers
        .iter()
        .enumerate()
        .flat_map(|(index, layer)| {
            layer.tensors().map(|(tensor, values)| ShapeMismatch {
                layer: index + 1,
                tensor,
                found: values.dim(),
                needed: match tensor {
                    LayerTensor::Weight => (widths[index], widths[index + 1]),
                    LayerTensor::Bias => (1, widths[index + 1]),
                },
            })
        })
        .filter(|mismatch| mismatch.found != mismatch.needed)
        .collect();
    (!mismatches.is_empty()).then_some(Misfit::Shapes(mismatches))
}

/// Checks that `params` fit a network of `widths` `[inputs, hidden…, outputs]`: one layer per
/// consecutive pair, layer `i`'s weight `widths[i-1] × widths[i]` and bias `1 × widths[i]`.
///
/// ```
/// use ndarray::Array2;
/// use precision_audit::model::{check_shapes, LayerParams, ParamSet};
///
/// let layer = |i, o| LayerParams { weight: Array2::zeros((i, o)), bias: Array2::zeros((1, o)) };
/// let params = ParamSet { layers: vec![layer(2, 8), layer(8, 1)] };
/// assert!(check_shapes(&params, &[2, 8, 1]).is_ok());
/// let err = check_shapes(&params, &[3, 8, 1]).unwrap_err().to_string();
/// assert_eq!(
///     err,
///     "parameters for widths [3, 8, 1]: they have widths [2, 8, 1]: layer 1 weight is 2×8, the network needs 3×8"
/// );
/// ```
///
/// # Errors
///
/// [`Error::InvalidData`] listing every mismatch: the number of layers, or each tensor whose
/// shape differs, with the shape found and the shape needed.
pub fn check_shapes(params: &ParamSet, widths: &[usize]) -> Result<(), Error> {
    let what = format!("parameters for widths {widths:?}");
    if widths.len() < 2 {
        return Err(Error::InvalidData {
            what,
            message: "a network needs at least an input width and an output width".into(),
        });
    }
    let mismatches = match misfit(params, widths) {
        None => return Ok(()),
        Some(Misfit::Depth { found, needed }) => {
            vec![format!("{found} dense layers, the network has {needed}")]
        }
        Some(Misfit::Shapes(mismatches)) => mismatches
            .iter()
            .map(|m| {
                format!(
                    "layer {} {} is {}×{}, the network needs {}×{}",
                    m.layer,
                    m.tensor.name(),
                    m.found.0,
                    m.found.1,
                    m.needed.0,
                    m.needed.1
                )
            })
            .collect(),
    };
    let found_widths = if params.validate().is_ok() {
        format!("they have widths {:?}: ", params.widths())
    } else {
        String::new()
    };
    Err(Error::InvalidData {
        what,
        message: format!("{found_widths}{}", mismatches.join("; ")),
    })
}

/// A 2 → 3 → 1 network with values that are awkward in decimal (subnormals, −0, 1/3, π,
/// 1e300): a fixture for the tests of parameters and of parameter files.
#[cfg(test)]
pub(crate) fn awkward() -> ParamSet {
    let layer = |weight, bias| LayerParams { weight, bias };
    ParamSet {
        layers: vec![
            layer(
                ndarray::array![[0.1, -0.2, 1.0 / 3.0], [f64::MIN_POSITIVE, 5e-324, -0.0]],
                ndarray::array![[1e300, -7.0, 2.0f64.powi(-30)]],
            ),
            layer(
                ndarray::array![[std::f64::consts::PI], [-1e-8], [123456789.125]],
                ndarray::array![[0.0]],
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_first_flaw() {
        assert!(awkward().validate().is_ok());
        let mut params = awkward();
        params.layers[1].weight[[2, 0]] = f64::NAN;
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 2 weight row 3 column 1 is NaN; parameters must be finite"
        );
        let mut params = awkward();
        params.layers[1].weight = Array2::zeros((4, 1));
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 1 has 3 outputs but layer 2 weight has 4 rows (inputs)"
        );
        let mut params = awkward();
        params.layers[0].bias = Array2::zeros((1, 2));
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 1 bias is 1×2, but its weight is 2×3, so the bias must be 1×3"
        );
        let mut params = awkward();
        params.layers[0].weight = Array2::zeros((0, 3));
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 1 weight is 0×3; a layer needs at least one input and one output"
        );
        assert_eq!(
            ParamSet { layers: vec![] }
                .validate()
                .unwrap_err()
                .to_string(),
            "parameters: no layers"
        );
    }

    #[test]
    fn check_shapes_names_every_mismatch() {
        let params = awkward();
        assert!(check_shapes(&params, &[2, 3, 1]).is_ok());
        assert_eq!(
            check_shapes(&params, &[2, 4, 1]).unwrap_err().to_string(),
            "parameters for widths [2, 4, 1]: they have widths [2, 3, 1]: \
             layer 1 weight is 2×3, the network needs 2×4; \
             layer 1 bias is 1×3, the network needs 1×4; \
             layer 2 weight is 3×1, the network needs 4×1"
        );
        assert_eq!(
            check_shapes(&params, &[2, 3, 3, 1])
                .unwrap_err()
                .to_string(),
            "parameters for widths [2, 3, 3, 1]: they have widths [2, 3, 1]: 2 dense layers, the network has 3"
        );
        assert_eq!(
            check_shapes(&params, &[2]).unwrap_err().to_string(),
            "parameters for widths [2]: a network needs at least an input width and an output width"
        );
    }
}
