//! The multilayer perceptron: forward and backward passes over named ops.

use ndarray::Array2;

use super::Architecture;
use super::params::{LayerParams, ParamSet};
use crate::format::Scalar;
use crate::kernel::{Activation, Binary, Engine, OpKind, Tensor, Unary};

/// One dense layer's parameters in a format.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<S> {
    /// in × out.
    pub weight: Tensor<S>,
    /// 1 × out.
    pub bias: Tensor<S>,
}

/// Op names of one layer, built once.
#[derive(Clone, Debug)]
struct LayerNames {
    matmul: String,
    bias: String,
    activation: String,
    dropout: String,
    weight_grad: String,
    bias_grad: String,
    input_grad: String,
    activation_grad: String,
    dropout_grad: String,
}

impl LayerNames {
    fn new(index: usize, activation: Activation) -> Self {
        let fwd = |what: &str| format!("fwd.dense{index}.{what}");
        let bwd = |what: &str| format!("bwd.dense{index}.{what}");
        LayerNames {
            matmul: fwd("matmul"),
            bias: fwd("bias"),
            activation: fwd(activation.name()),
            dropout: fwd("dropout"),
            weight_grad: bwd("weight_grad"),
            bias_grad: bwd("bias_grad"),
            input_grad: bwd("input_grad"),
            activation_grad: bwd(activation.name()),
            dropout_grad: bwd("dropout"),
        }
    }
}

/// The network in format `S`.
#[derive(Clone, Debug)]
pub struct Mlp<S> {
    /// The dense layers, input first.
    pub layers: Vec<Dense<S>>,
    activation: Activation,
    names: Vec<LayerNames>,
}

/// What the backward pass needs from the forward pass.
#[derive(Clone, Debug)]
pub struct ForwardCache<S> {
    /// The input of each layer (the batch, then each hidden activation after dropout).
    inputs: Vec<Tensor<S>>,
    /// Each hidden layer's pre-activation z and activation a (before dropout).
    hidden: Vec<(Tensor<S>, Tensor<S>)>,
    /// Each hidden layer's dropout multiplier (0 or 1/(1−p)), when dropout is on.
    masks: Vec<Tensor<S>>,
}

/// Gradients of the loss with respect to every parameter, in layer order.
pub type Gradients<S> = Vec<Dense<S>>;

impl<S: Scalar> Mlp<S> {
    /// The network with `params` rounded once into format `S`.
    pub fn from_params(architecture: &Architecture, params: &ParamSet, ctx: &S::Context) -> Self {
        let round = |t: &Array2<f64>| t.mapv(|x| S::from_f64(x, ctx));
        let depth = params.layers.len();
        Mlp {
            layers: params
                .layers
                .iter()
                .map(|LayerParams { weight, bias }| Dense {
                    weight: round(weight),
                    bias: round(bias),
                })
                .collect(),
            activation: architecture.activation,
            names: (1..=depth)
                .map(|i| {
                    let activation = if i == depth {
                        Activation::Identity
                    } else {
                        architecture.activation
                    };
                    LayerNames::new(i, activation)
                })
                .collect(),
        }
    }

    /// The parameters as exact f64 values (exact for f16…f64, rounded for the reference).
    pub fn to_params(&self) -> ParamSet {
        let widen = |t: &Tensor<S>| t.mapv(|x| x.to_f64());
        ParamSet {
            layers: self
                .layers
                .iter()
                .map(|d| LayerParams {
                    weight: widen(&d.weight),
                    bias: widen(&d.bias),
                })
                .collect(),
        }
    }

    /// The forward pass over a batch; `masks` holds one dropout multiplier per hidden layer, or
    /// is empty when dropout is off.
    pub fn forward(
        &self,
        engine: &mut Engine<'_, S>,
        batch: &Tensor<S>,
        masks: Vec<Tensor<S>>,
    ) -> (Tensor<S>, ForwardCache<S>) {
        let depth = self.layers.len();
        let mut cache = ForwardCache {
            inputs: Vec::with_capacity(depth),
            hidden: Vec::with_capacity(depth - 1),
            masks,
        };
        let mut x = batch.clone();
        for (index, (layer, names)) in self.layers.iter().zip(&self.names).enumerate() {
            let product = engine.matmul(&names.matmul, &x, &layer.weight, false, false);
            let z = engine.binary(&names.bias, Binary::Add, &product, &layer.bias);
            cache.inputs.push(x);
            if index + 1 == depth {
                return (z, cache);
            }
            let a = engine.unary(&names.activation, Unary::Activation(self.activation), &z);
            x = match cache.masks.get(index) {
                Some(mask) => engine.binary(&names.dropout, Binary::Mul, &a, mask),
                None => a.clone(),
            };
            cache.hidden.push((z, a));
        }
        unreachable!("a network has at least one layer")
    }

    /// The backward pass: gradients of the loss for every parameter, from the gradient of the
    /// loss with respect to the network's output.
    pub fn backward(
        &self,
        engine: &mut Engine<'_, S>,
        cache: &ForwardCache<S>,
        output_grad: Tensor<S>,
    ) -> Gradients<S> {
        let depth = self.layers.len();
        let mut grads = Vec::with_capacity(depth);
        let mut grad_z = output_grad;
        for index in (0..depth).rev() {
            let (layer, names) = (&self.layers[index], &self.names[index]);
            let input = &cache.inputs[index];
            let weight = engine.matmul(&names.weight_grad, input, &grad_z, true, false);
            let bias = engine.op(&names.bias_grad, OpKind::SumRows, &[&grad_z]);
            grads.push(Dense { weight, bias });
            if index == 0 {
                break;
            }
            let below = &self.names[index - 1];
            let mut grad_a = engine.matmul(&names.input_grad, &grad_z, &layer.weight, false, true);
            if let Some(mask) = cache.masks.get(index - 1) {
                grad_a = engine.binary(&below.dropout_grad, Binary::Mul, &grad_a, mask);
            }
            let (z, a) = &cache.hidden[index - 1];
            grad_z = engine.op(
                &below.activation_grad,
                OpKind::ActivationGrad(self.activation),
                &[&grad_a, z, a],
            );
        }
        grads.reverse();
        grads
    }
}
