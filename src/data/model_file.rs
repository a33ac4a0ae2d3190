//! A model's parameters from the files people train with: the CSV layout of [`super::params`],
//! and safetensors or `.npz` files of an MLP written by PyTorch or Keras; and the parameters
//! written back as safetensors in PyTorch's layout. The layout of a tensor file is told from
//! its keys:
//!
//! | layout | keys, in layer order | weight | bias |
//! |---|---|---|---|
//! | PyTorch `nn.Sequential` of `Linear` | `0.weight`, `0.bias`, `2.weight`, … (any common prefix, e.g. `net.0.weight`) | `[out, in]`, transposed on reading | `[out]` |
//! | Keras `Dense` layers | `dense/kernel`, `dense/bias`, `dense_1/kernel`, … | `[in, out]` | `[out]` |
//! | Keras `model.get_weights()` saved by `np.savez` | `arr_0` (kernel), `arr_1` (bias), `arr_2`, … | `[in, out]` | `[out]` |
//!
//! PyTorch layers are ordered by their index, Keras layers by name with Keras's numeric suffix
//! compared as a number (`dense`, `dense_1`, …, `dense_10`). Tensors are F16, BF16, F32 or F64
//! and are converted to f64 exactly. A safetensors file may name the hidden activation in its
//! `__metadata__` under [`ACTIVATION_KEY`].

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::npz::read_npz;
use super::params::read_params;
use super::safetensors::{read_safetensors, write_safetensors};
use super::tensors::{Dtype, NamedArray, bad, extension};
use crate::Error;
use crate::kernel::Activation;
use crate::model::params::Flaw;
use crate::model::{LayerParams, LayerTensor, Misfit, ParamSet, check_shapes, misfit};
use crate::names::one_of;

/// The `__metadata__` key of a safetensors file that names the hidden activation: `relu`,
/// `tanh`, `sigmoid` or `identity` (any case; Keras's `linear` is `identity`).
pub const ACTIVATION_KEY: &str = "activation";

/// Parameters read from a file, with what the file says about the network.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// The parameters, in our layout (weights inputs × outputs).
    pub params: ParamSet,
    /// The hidden activation, when the file names one.
    pub activation: Option<Activation>,
    path: PathBuf,
    /// Where each layer's weight and bias came from; `None` for a CSV file.
    origins: Option<Vec<[Origin; 2]>>,
}

/// The key layouts of a tensor file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// `0.weight` `[out, in]`, `0.bias`, `2.weight`, …
    Torch,
    /// `dense/kernel` `[in, out]`, `dense/bias`, `dense_1/kernel`, …
    Keras,
    /// `arr_0` `[in, out]`, `arr_1`, …
    KerasList,
}

/// Where one tensor of a layer came from.
#[derive(Clone, Debug)]
struct Origin {
    key: String,
    dtype: Dtype,
    layout: Layout,
}

impl Origin {
    /// A shape of ours (rows × columns) as this file stores it.
    fn stored(&self, tensor: LayerTensor, (rows, columns): (usize, usize)) -> Vec<usize> {
        match (tensor, self.layout) {
            (LayerTensor::Bias, _) => vec![columns],
            (LayerTensor::Weight, Layout::Torch) => vec![columns, rows],
            (LayerTensor::Weight, _) => vec![rows, columns],
        }
    }

    /// `F32 [16, 2] as [out, in]`: the dtype, and a shape of ours as this file stores it.
    fn spec(&self, tensor: LayerTensor, shape: (usize, usize)) -> String {
        let order = match (tensor, self.layout) {
            (LayerTensor::Bias, _) => "",
            (LayerTensor::Weight, Layout::Torch) => " as [out, in]",
            (LayerTensor::Weight, _) => " as [in, out]",
        };
        format!("{} {:?}{order}", self.dtype, self.stored(tensor, shape))
    }

    /// `` `0.weight` (F32 [16, 2] as [out, in]) ``: the tensor as messages name it.
    fn describe(&self, tensor: LayerTensor, shape: (usize, usize)) -> String {
        format!("`{}` ({})", self.key, self.spec(tensor, shape))
    }
}

/// Reads the parameters in `path`, choosing the format by its extension: `.safetensors`,
/// `.npz`, and otherwise the CSV layout of [`read_params`].
///
/// ```
/// use std::path::Path;
/// use precision_audit::data::read_model_file;
///
/// let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models");
/// let file = read_model_file(&fixtures.join("torch-2-3-1-f32.safetensors")).unwrap();
/// assert_eq!(file.params.widths(), [2, 3, 1]);
/// assert_eq!(file.activation.map(|a| a.name()), Some("tanh"));
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; for a CSV file what [`read_params`] refuses;
/// for a tensor file [`Error::BadTensorFile`], naming the file and the key with its dtype and
/// shape, for what the safetensors or `.npz` reader refuses, keys that follow none of the
/// layouts, a layer without its weight or bias, a tensor of a non-float dtype or of the wrong
/// rank, a bias whose length is not its weight's outputs, a layer whose inputs are not the
/// previous layer's outputs, and an unknown activation in the metadata.
pub fn read_model_file(path: &Path) -> Result<ModelFile, Error> {
    match extension(path).as_str() {
        "safetensors" => {
            let file = read_safetensors(path)?;
            let activation = file
                .metadata
                .get(ACTIVATION_KEY)
                .map(|name| activation(path, name))
                .transpose()?;
            from_tensors(path, file.tensors, activation)
        }
        "npz" => from_tensors(path, read_npz(path)?, None),
        "npy" => Err(bad(
            path,
            "",
            "a .npy file holds one array; save a model's parameters as .safetensors or .npz".into(),
        )),
        _ => Ok(ModelFile {
            params: read_params(path)?,
            activation: None,
            path: path.to_path_buf(),
            origins: None,
        }),
    }
}

impl ModelFile {
    /// Checks that the parameters fit a network of `widths` `[inputs, hidden…, outputs]`.
    ///
    /// # Errors
    ///
    /// For a CSV file, [`check_shapes`]'s refusal prefixed with the file; for a tensor file
    /// [`Error::BadTensorFile`] naming the first tensor that does not fit, by key, with its
    /// dtype, its shape and the shape needed as the file stores them (and the other tensors
    /// that do not fit), or the number of layers found and needed.
    pub fn check_widths(&self, widths: &[usize]) -> Result<(), Error> {
        let Some(origins) = &self.origins else {
            return check_shapes(&self.params, widths).map_err(|error| match error {
                Error::InvalidData { what, message } => Error::InvalidData {
                    what: format!("{}: {what}", self.path.display()),
                    message,
                },
                other => other,
            });
        };
        match misfit(&self.params, widths) {
            None => Ok(()),
            Some(Misfit::Depth { found, needed }) => Err(bad(
                &self.path,
                "",
                format!(
                    "{found} dense layers (weights {}), the network {widths:?} has {needed}",
                    origins
                        .iter()
                        .map(|[weight, _]| format!("`{}`", weight.key))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(Misfit::Shapes(mismatches)) => {
                let origin = |m: &crate::model::ShapeMismatch| {
                    &origins[m.layer - 1][usize::from(m.tensor == LayerTensor::Bias)]
                };
                let first = &mismatches[0];
                let others: Vec<String> = mismatches[1..]
                    .iter()
                    .map(|m| {
                        format!(
                            "{} needs {:?}",
                            origin(m).describe(m.tensor, m.found),
                            origin(m).stored(m.tensor, m.needed)
                        )
                    })
                    .collect();
                let others = if others.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", others.join(", "))
                };
                Err(bad(
                    &self.path,
                    &origin(first).key,
                    format!(
                        "{}: the network {widths:?} needs {:?}{others}",
                        origin(first).spec(first.tensor, first.found),
                        origin(first).stored(first.tensor, first.needed)
                    ),
                ))
            }
        }
    }
}

/// The activation a metadata value names.
fn activation(path: &Path, name: &str) -> Result<Activation, Error> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = if lower == "linear" {
        "identity"
    } else {
        &lower
    };
    Activation::from_name(lower).ok_or_else(|| {
        bad(
            path,
            "__metadata__",
            format!(
                "{ACTIVATION_KEY} `{name}` is not one precision-audit has: {} (Keras's linear is identity)",
                one_of(&Activation::ALL.map(Activation::name))
            ),
        )
    })
}

/// Where a key puts its tensor: the layer's place in the order, and which tensor.
type Place = ((String, u64, String), LayerTensor);

/// `net.0.weight` → layer (`net`, 0), weight.
fn torch_place(key: &str) -> Option<Place> {
    let (layer, tensor) = key.rsplit_once('.')?;
    let tensor = match tensor {
        "weight" => LayerTensor::Weight,
        "bias" => LayerTensor::Bias,
        _ => return None,
    };
    let (prefix, index) = layer.rsplit_once('.').unwrap_or(("", layer));
    Some(((prefix.into(), whole_number(index)?, String::new()), tensor))
}

/// `dense_1/kernel` → layer (`dense`, 1, `dense_1`), weight.
fn keras_place(key: &str) -> Option<Place> {
    let (group, tensor) = key.rsplit_once('/')?;
    let tensor = match tensor {
        "kernel" => LayerTensor::Weight,
        "bias" => LayerTensor::Bias,
        _ => return None,
    };
    let (base, number) = group
        .rsplit_once('_')
        .and_then(|(base, suffix)| Some((base, whole_number(suffix)?)))
        .unwrap_or((group, 0));
    Some(((base.into(), number, group.into()), tensor))
}

/// `arr_3` → layer 1, bias.
fn list_place(key: &str) -> Option<Place> {
    let index = whole_number(key.strip_prefix("arr_")?)?;
    let tensor = if index % 2 == 0 {
        LayerTensor::Weight
    } else {
        LayerTensor::Bias
    };
    Some(((String::new(), index / 2, String::new()), tensor))
}

fn whole_number(text: &str) -> Option<u64> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse().ok())
        .flatten()
}

/// The layout the keys follow.
fn layout(path: &Path, tensors: &[NamedArray]) -> Result<Layout, Error> {
    if tensors.is_empty() {
        return Err(bad(path, "", "the file holds no tensors".into()));
    }
    let fits = |place: fn(&str) -> Option<Place>| tensors.iter().any(|t| place(&t.key).is_some());
    if tensors.iter().all(|t| list_place(&t.key).is_some()) {
        Ok(Layout::KerasList)
    } else if fits(keras_place) {
        Ok(Layout::Keras)
    } else if fits(torch_place) {
        Ok(Layout::Torch)
    } else {
        let mut keys: Vec<&str> = tensors.iter().map(|t| t.key.as_str()).take(6).collect();
        if tensors.len() > keys.len() {
            keys.push("…");
        }
        Err(bad(
            path,
            "",
            format!(
                "the keys ({}) follow none of the layouts precision-audit reads: PyTorch nn.Sequential (0.weight, 0.bias, 2.weight, …), Keras (dense/kernel, dense/bias, dense_1/kernel, …) or Keras get_weights() saved by np.savez (arr_0, arr_1, …)",
                keys.join(", ")
            ),
        ))
    }
}

/// The layers of a tensor file, checked and converted to our layout.
fn from_tensors(
    path: &Path,
    tensors: Vec<NamedArray>,
    activation: Option<Activation>,
) -> Result<ModelFile, Error> {
    let layout = layout(path, &tensors)?;
    let (place, what): (fn(&str) -> Option<Place>, &str) = match layout {
        Layout::Torch => (torch_place, "a Linear layer's N.weight or N.bias"),
        Layout::Keras => (keras_place, "a Dense layer's NAME/kernel or NAME/bias"),
        Layout::KerasList => (list_place, "arr_N"),
    };
    let mut layers: BTreeMap<(String, u64, String), [Option<NamedArray>; 2]> = BTreeMap::new();
    let mut prefix: Option<(String, String)> = None;
    for tensor in tensors {
        let Some((layer, kind)) = place(&tensor.key) else {
            return Err(bad(
                path,
                &tensor.key,
                format!(
                    "{}: the other keys are a model's dense layers, this is not {what} (precision-audit audits MLPs of dense layers only)",
                    tensor.describe()
                ),
            ));
        };
        if layout == Layout::Torch {
            match &prefix {
                Some((first, key)) if *first != layer.0 => {
                    return Err(bad(
                        path,
                        &tensor.key,
                        format!(
                            "`{key}` and this key belong to different modules; give one nn.Sequential's parameters"
                        ),
                    ));
                }
                Some(_) => {}
                None => prefix = Some((layer.0.clone(), tensor.key.clone())),
            }
        }
        let slot = &mut layers.entry(layer).or_default()[usize::from(kind == LayerTensor::Bias)];
        if let Some(other) = slot {
            return Err(bad(
                path,
                &tensor.key,
                format!("`{}` is the same layer's {} too", other.key, kind.name()),
            ));
        }
        *slot = Some(tensor);
    }
    if layout == Layout::KerasList
        && let Some((missing, _)) = layers
            .keys()
            .enumerate()
            .find(|(i, key)| key.1 != *i as u64)
    {
        return Err(bad(
            path,
            &format!("arr_{}", 2 * missing),
            "is missing: get_weights() arrays are numbered arr_0, arr_1, … without gaps".into(),
        ));
    }
    let mut params = Vec::with_capacity(layers.len());
    let mut origins: Vec<[Origin; 2]> = Vec::with_capacity(layers.len());
    for [weight, bias] in layers.into_values() {
        let (weight, bias) = match (weight, bias) {
            (Some(weight), Some(bias)) => (weight, bias),
            (Some(weight), None) => return Err(lacking(path, &weight, "a weight", "bias")),
            (None, Some(bias)) => return Err(lacking(path, &bias, "a bias", "weight")),
            (None, None) => unreachable!("a layer exists only with a tensor"),
        };
        let origin = |tensor: &NamedArray| Origin {
            key: tensor.key.clone(),
            dtype: tensor.dtype,
            layout,
        };
        let layer = LayerParams {
            weight: weight_matrix(path, &weight, layout)?,
            bias: bias_row(path, &bias)?,
        };
        let layer_origins = [origin(&weight), origin(&bias)];
        if let Some(flaw) = layer.flaw(params.len() + 1, params.last()) {
            return Err(chain_error(
                path,
                flaw,
                &layer,
                &layer_origins,
                origins.last(),
            ));
        }
        params.push(layer);
        origins.push(layer_origins);
    }
    Ok(ModelFile {
        params: ParamSet { layers: params },
        activation,
        path: path.to_path_buf(),
        origins: Some(origins),
    })
}

/// The refusal of a layer that has only `tensor`.
fn lacking(path: &Path, tensor: &NamedArray, has: &str, lacks: &str) -> Error {
    bad(
        path,
        &tensor.key,
        format!("{}: this layer has {has} but no {lacks}", tensor.describe()),
    )
}

/// A float tensor's refusal unless it is; parameters are never integers.
fn float(path: &Path, tensor: &NamedArray) -> Result<(), Error> {
    if tensor.dtype.is_float() {
        Ok(())
    } else {
        Err(bad(
            path,
            &tensor.key,
            format!(
                "{}: parameters are F16, BF16, F32 or F64",
                tensor.describe()
            ),
        ))
    }
}

/// A weight as inputs × outputs: PyTorch's `[out, in]` transposed, Keras's `[in, out]` as is.
fn weight_matrix(path: &Path, tensor: &NamedArray, layout: Layout) -> Result<Array2<f64>, Error> {
    float(path, tensor)?;
    let &[rows, columns] = tensor.shape.as_slice() else {
        let order = if layout == Layout::Torch {
            "[out, in]"
        } else {
            "[in, out]"
        };
        return Err(bad(
            path,
            &tensor.key,
            format!(
                "{}: a dense layer's weight is 2-D, {order}",
                tensor.describe()
            ),
        ));
    };
    let at = |row: usize, column: usize| tensor.values[row * columns + column];
    Ok(match layout {
        Layout::Torch => {
            Array2::from_shape_fn((columns, rows), |(input, output)| at(output, input))
        }
        Layout::Keras | Layout::KerasList => {
            Array2::from_shape_fn((rows, columns), |(r, c)| at(r, c))
        }
    })
}

/// A bias `[out]` as 1 × outputs.
fn bias_row(path: &Path, tensor: &NamedArray) -> Result<Array2<f64>, Error> {
    float(path, tensor)?;
    if tensor.shape.len() != 1 {
        return Err(bad(
            path,
            &tensor.key,
            format!("{}: a bias is 1-D, [out]", tensor.describe()),
        ));
    }
    Ok(
        Array2::from_shape_vec((1, tensor.values.len()), tensor.values.clone())
            .expect("one row of all the values"),
    )
}

/// A layer's flaw (the one check of a network's layers) said with the file's keys and shapes.
fn chain_error(
    path: &Path,
    flaw: Flaw,
    layer: &LayerParams,
    [weight, bias]: &[Origin; 2],
    previous: Option<&[Origin; 2]>,
) -> Error {
    let weight_shape = layer.weight.dim();
    match flaw {
        Flaw::BiasShape { .. } => bad(
            path,
            &bias.key,
            format!(
                "{}: its weight {} has {} outputs, so the bias must be {:?}",
                bias.spec(LayerTensor::Bias, layer.bias.dim()),
                weight.describe(LayerTensor::Weight, weight_shape),
                weight_shape.1,
                bias.stored(LayerTensor::Bias, (1, weight_shape.1))
            ),
        ),
        Flaw::Unchained {
            inputs,
            previous_outputs,
            ..
        } => bad(
            path,
            &weight.key,
            format!(
                "{}: takes {inputs} inputs, but the previous layer's weight `{}` has {previous_outputs} outputs",
                weight.spec(LayerTensor::Weight, weight_shape),
                previous.map_or("", |[w, _]| w.key.as_str())
            ),
        ),
        other => bad(
            path,
            &weight.key,
            format!(
                "{}: {other}",
                weight.spec(LayerTensor::Weight, weight_shape)
            ),
        ),
    }
}

/// `params` as f64 tensors under the keys and in the layout of PyTorch's
/// `nn.Sequential(Linear, activation, Linear, …)`: layer `i` (from 0) is `{2i}.weight`
/// `[out, in]` and `{2i}.bias` `[out]`.
pub fn torch_tensors(params: &ParamSet) -> Vec<(String, Vec<usize>, Vec<f64>)> {
    params
        .layers
        .iter()
        .enumerate()
        .flat_map(|(index, layer)| {
            let (inputs, outputs) = layer.weight.dim();
            [
                (
                    format!("{}.weight", 2 * index),
                    vec![outputs, inputs],
                    layer.weight.t().iter().copied().collect(),
                ),
                (
                    format!("{}.bias", 2 * index),
                    vec![outputs],
                    layer.bias.iter().copied().collect(),
                ),
            ]
        })
        .collect()
}

/// Writes `params` as a safetensors file of f64 tensors in PyTorch's layout
/// ([`torch_tensors`]), its `__metadata__` saying `format` `pt` (the convention for PyTorch
/// tensors), the [`ACTIVATION_KEY`] and the network's `widths` (`2,10,1`), so that
/// [`read_model_file`] and `safetensors.torch.load_file` read it back.
pub fn write_model_safetensors(
    out: &mut dyn Write,
    params: &ParamSet,
    activation: Activation,
) -> io::Result<()> {
    let widths: Vec<String> = params.widths().iter().map(usize::to_string).collect();
    write_safetensors(
        out,
        &torch_tensors(params),
        &[
            ("format", "pt".into()),
            (ACTIVATION_KEY, activation.name().into()),
            ("widths", widths.join(",")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;
    use crate::data::scratch;

    /// The parameters of `fixtures/data/params-2-3-1.csv`, each value rounded by `round`.
    fn csv_fixture(round: fn(f64) -> f64) -> ParamSet {
        let mut params = read_params(&scratch::fixture("params-2-3-1.csv")).unwrap();
        for layer in &mut params.layers {
            layer.weight.mapv_inplace(round);
            layer.bias.mapv_inplace(round);
        }
        params
    }

    fn model_fixture(name: &str) -> ModelFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/models")
            .join(name);
        read_model_file(&path).unwrap()
    }

    #[test]
    fn every_layout_reads_to_the_same_network() {
        let f32_exact = |x: f64| f64::from(x as f32);
        let f16_exact = |x: f64| f16::from_f64(x).to_f64();
        for (name, round, activation) in [
            (
                "torch-2-3-1-f32.safetensors",
                f32_exact as fn(f64) -> f64,
                Some(Activation::Tanh),
            ),
            ("torch-2-3-1-f64.npz", |x| x, None),
            ("keras-2-3-1-f16.safetensors", f16_exact, None),
            ("keras-2-3-1-f32.npz", f32_exact, None),
        ] {
            let file = model_fixture(name);
            assert_eq!(file.params, csv_fixture(round), "{name}");
            assert_eq!(file.activation, activation, "{name}");
            assert!(file.check_widths(&[2, 3, 1]).is_ok(), "{name}");
        }
        // 0.1 in f16 is 0.0999755859375: read exactly, not re-rounded to the nearest f64 of 0.1.
        let f16_file = model_fixture("keras-2-3-1-f16.safetensors");
        assert_eq!(f16_file.params.layers[0].bias[[0, 1]], 0.0999755859375);
    }

    #[test]
    fn written_parameters_read_back_bit_for_bit() {
        let params = csv_fixture(|x| x / 3.0);
        let mut bytes = Vec::new();
        write_model_safetensors(&mut bytes, &params, Activation::Sigmoid).unwrap();
        let dir = scratch::dir("model-file-roundtrip");
        let path = scratch::file(&dir, "p.safetensors", &bytes);
        let file = read_model_file(&path).unwrap();
        assert_eq!(file.params, params);
        assert_eq!(file.activation, Some(Activation::Sigmoid));
        let keys: Vec<String> = torch_tensors(&params).into_iter().map(|t| t.0).collect();
        assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    }

    /// Keys and shapes of tensors.
    type Tensors<'a> = &'a [(&'a str, &'a [usize])];

    /// A safetensors file of F64 tensors `(key, shape)` (values 0.5, chained shapes are up to
    /// the caller) with `metadata`, read as a model file.
    fn read(
        name: &str,
        tensors: Tensors,
        metadata: &[(&str, String)],
    ) -> Result<ModelFile, String> {
        let tensors: Vec<(String, Vec<usize>, Vec<f64>)> = tensors
            .iter()
            .map(|(key, shape)| {
                (
                    key.to_string(),
                    shape.to_vec(),
                    vec![0.5; shape.iter().product()],
                )
            })
            .collect();
        let mut bytes = Vec::new();
        write_safetensors(&mut bytes, &tensors, metadata).unwrap();
        let dir = scratch::dir(&format!("model-file-{name}"));
        let path = scratch::file(&dir, "m.safetensors", &bytes);
        read_model_file(&path).map_err(|error| {
            let message = error.to_string();
            let prefix = path.display().to_string();
            assert!(message.starts_with(&prefix), "{message}");
            message[prefix.len()..].to_string()
        })
    }

    #[test]
    fn keras_layers_are_ordered_by_their_numeric_suffix() {
        // Only the order dense, dense_2, dense_10 chains 2 → 3 → 4 → 1.
        let file = read(
            "keras-order",
            &[
                ("dense_10/kernel", &[4, 1]),
                ("dense_10/bias", &[1]),
                ("dense/kernel", &[2, 3]),
                ("dense/bias", &[3]),
                ("dense_2/kernel", &[3, 4]),
                ("dense_2/bias", &[4]),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(file.params.widths(), [2, 3, 4, 1]);
    }

    #[test]
    fn torch_layers_follow_their_index_under_any_prefix() {
        let file = read(
            "torch-prefix",
            &[
                ("net.10.weight", &[1, 4]),
                ("net.10.bias", &[1]),
                ("net.3.weight", &[4, 2]),
                ("net.3.bias", &[4]),
            ],
            &[("activation", "Tanh".into())],
        )
        .unwrap();
        assert_eq!(file.params.widths(), [2, 4, 1]);
        assert_eq!(file.activation, Some(Activation::Tanh));
    }

    #[test]
    fn wrong_shapes_name_the_key_dtype_and_shapes() {
        let file = model_fixture("torch-2-3-1-f32.safetensors");
        let message = file.check_widths(&[2, 4, 1]).unwrap_err().to_string();
        assert!(
            message.ends_with(
                "torch-2-3-1-f32.safetensors, key `0.weight`: F32 [3, 2] as [out, in]: the network [2, 4, 1] needs [4, 2]; \
                 also `0.bias` (F32 [3]) needs [4], `2.weight` (F32 [1, 3] as [out, in]) needs [1, 4]"
            ),
            "{message}"
        );
        let message = file.check_widths(&[2, 3, 3, 1]).unwrap_err().to_string();
        assert!(
            message.ends_with(
                "torch-2-3-1-f32.safetensors: 2 dense layers (weights `0.weight`, `2.weight`), the network [2, 3, 3, 1] has 3"
            ),
            "{message}"
        );
        let keras = model_fixture("keras-2-3-1-f32.npz");
        let message = keras.check_widths(&[3, 3, 1]).unwrap_err().to_string();
        assert!(
            message.ends_with(
                "keras-2-3-1-f32.npz, key `arr_0`: F32 [2, 3] as [in, out]: the network [3, 3, 1] needs [3, 3]"
            ),
            "{message}"
        );
    }

    #[test]
    fn files_that_are_no_mlp_are_refused_by_key() {
        let cases: [(&str, Tensors, &str); 9] = [
            (
                "no-layout",
                &[("embedding", &[4, 2])],
                ": the keys (embedding) follow none of the layouts precision-audit reads",
            ),
            (
                "batch-norm",
                &[
                    ("0.weight", &[3, 2]),
                    ("0.bias", &[3]),
                    ("1.running_mean", &[3]),
                ],
                ", key `1.running_mean`: F64 [3]: the other keys are a model's dense layers, this is not a Linear layer's N.weight or N.bias",
            ),
            (
                "no-bias",
                &[
                    ("0.weight", &[3, 2]),
                    ("0.bias", &[3]),
                    ("2.weight", &[1, 3]),
                ],
                ", key `2.weight`: F64 [1, 3]: this layer has a weight but no bias",
            ),
            (
                "rank",
                &[("0.weight", &[3, 2, 1]), ("0.bias", &[3])],
                ", key `0.weight`: F64 [3, 2, 1]: a dense layer's weight is 2-D, [out, in]",
            ),
            (
                "bias-rank",
                &[("dense/kernel", &[2, 3]), ("dense/bias", &[1, 3])],
                ", key `dense/bias`: F64 [1, 3]: a bias is 1-D, [out]",
            ),
            (
                "bias-length",
                &[("0.weight", &[3, 2]), ("0.bias", &[4])],
                ", key `0.bias`: F64 [4]: its weight `0.weight` (F64 [3, 2] as [out, in]) has 3 outputs, so the bias must be [3]",
            ),
            (
                "unchained",
                &[
                    ("0.weight", &[3, 2]),
                    ("0.bias", &[3]),
                    ("2.weight", &[1, 4]),
                    ("2.bias", &[1]),
                ],
                ", key `2.weight`: F64 [1, 4] as [out, in]: takes 4 inputs, but the previous layer's weight `0.weight` has 3 outputs",
            ),
            (
                "two-modules",
                &[
                    ("a.0.weight", &[3, 2]),
                    ("a.0.bias", &[3]),
                    ("b.2.weight", &[1, 3]),
                    ("b.2.bias", &[1]),
                ],
                ", key `b.2.bias`: `a.0.bias` and this key belong to different modules",
            ),
            (
                "gap",
                &[
                    ("arr_0", &[2, 3]),
                    ("arr_1", &[3]),
                    ("arr_4", &[3, 1]),
                    ("arr_5", &[1]),
                ],
                ", key `arr_2`: is missing: get_weights() arrays are numbered arr_0, arr_1, … without gaps",
            ),
        ];
        for (name, tensors, expected) in cases {
            let message = read(name, tensors, &[]).unwrap_err();
            assert!(message.starts_with(expected), "{name}: {message}");
        }
        let message = read(
            "same-layer",
            &[("0.weight", &[3, 2]), ("00.weight", &[3, 2])],
            &[],
        )
        .unwrap_err();
        assert!(
            message.starts_with(", key `00.weight`: `0.weight` is the same layer's weight too"),
            "{message}"
        );
        let message = read(
            "activation",
            &[("0.weight", &[1, 2]), ("0.bias", &[1])],
            &[("activation", "gelu".into())],
        )
        .unwrap_err();
        assert_eq!(
            message,
            ", key `__metadata__`: activation `gelu` is not one precision-audit has: relu, tanh, sigmoid or identity (Keras's linear is identity)"
        );
    }

    #[test]
    fn a_lone_npy_is_not_a_model() {
        let dir = scratch::dir("model-file-npy");
        let path = scratch::file(&dir, "w.npy", b"");
        assert!(read_model_file(&path).unwrap_err().to_string().ends_with(
            "a .npy file holds one array; save a model's parameters as .safetensors or .npz"
        ));
    }
}
