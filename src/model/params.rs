//! The parameters of an MLP's dense layers, held in f64, and the checks that they form a network
//! and fit an architecture. Reading and writing them as CSV is `data::params`'s job.

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

    /// Checks that there is at least one layer, every bias is 1 × the layer's outputs, each
    /// layer's outputs are the next layer's inputs, no tensor is empty, and every value is
    /// finite.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] saying the first thing that is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        let refuse = |message: String| Error::InvalidData {
            what: "parameters".into(),
            message,
        };
        if self.layers.is_empty() {
            return Err(refuse("no layers".into()));
        }
        for (index, layer) in self.layers.iter().enumerate() {
            let number = index + 1;
            let (inputs, outputs) = layer.weight.dim();
            if inputs == 0 || outputs == 0 {
                return Err(refuse(format!(
                    "layer {number} weight is {inputs}×{outputs}; a layer needs at least one input and one output"
                )));
            }
            if layer.bias.dim() != (1, outputs) {
                let (rows, columns) = layer.bias.dim();
                return Err(refuse(format!(
                    "layer {number} bias is {rows}×{columns}, but its weight is {inputs}×{outputs}, so the bias must be 1×{outputs}"
                )));
            }
            if let Some(next) = self.layers.get(index + 1)
                && next.weight.nrows() != outputs
            {
                return Err(refuse(format!(
                    "layer {number} has {outputs} outputs but layer {} weight has {} rows (inputs)",
                    number + 1,
                    next.weight.nrows()
                )));
            }
            for (tensor, values) in [("weight", &layer.weight), ("bias", &layer.bias)] {
                if let Some(((row, column), value)) =
                    values.indexed_iter().find(|(_, value)| !value.is_finite())
                {
                    return Err(refuse(format!(
                        "layer {number} {tensor} row {} column {} is {value}; parameters must be finite",
                        row + 1,
                        column + 1
                    )));
                }
            }
        }
        Ok(())
    }
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
    let needed_layers = widths.len() - 1;
    let mut mismatches = Vec::new();
    if params.layers.len() != needed_layers {
        mismatches.push(format!(
            "{} dense layers, the network has {needed_layers}",
            params.layers.len()
        ));
    } else {
        for (index, layer) in params.layers.iter().enumerate() {
            let needed_weight = (widths[index], widths[index + 1]);
            let needed_bias = (1, widths[index + 1]);
            for (tensor, found, needed) in [
                ("weight", layer.weight.dim(), needed_weight),
                ("bias", layer.bias.dim(), needed_bias),
            ] {
                if found != needed {
                    mismatches.push(format!(
                        "layer {} {tensor} is {}×{}, the network needs {}×{}",
                        index + 1,
                        found.0,
                        found.1,
                        needed.0,
                        needed.1
                    ));
                }
            }
        }
    }
    if mismatches.is_empty() {
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn layer(weight: Array2<f64>, bias: Array2<f64>) -> LayerParams {
        LayerParams { weight, bias }
    }

    /// A 2 → 3 → 1 network.
    fn two_three_one() -> ParamSet {
        ParamSet {
            layers: vec![
                layer(
                    array![[0.1, -0.2, 1.0 / 3.0], [f64::MIN_POSITIVE, 5e-324, -0.0]],
                    array![[1e300, -7.0, 2.0f64.powi(-30)]],
                ),
                layer(
                    array![[std::f64::consts::PI], [-1e-8], [123456789.125]],
                    array![[0.0]],
                ),
            ],
        }
    }

    #[test]
    fn validate_names_the_first_flaw() {
        assert!(two_three_one().validate().is_ok());
        let mut params = two_three_one();
        params.layers[1].weight[[2, 0]] = f64::NAN;
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 2 weight row 3 column 1 is NaN; parameters must be finite"
        );
        let mut params = two_three_one();
        params.layers[1].weight = Array2::zeros((4, 1));
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 1 has 3 outputs but layer 2 weight has 4 rows (inputs)"
        );
        let mut params = two_three_one();
        params.layers[0].bias = Array2::zeros((1, 2));
        assert_eq!(
            params.validate().unwrap_err().to_string(),
            "parameters: layer 1 bias is 1×2, but its weight is 2×3, so the bias must be 1×3"
        );
        let mut params = two_three_one();
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
        let params = two_three_one();
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
