//! The multilayer perceptron: forward and backward passes over named ops.

use ndarray::Array2;

use super::Architecture;
use super::params::{LayerParams, ParamSet};
use crate::format::Scalar;
use crate::kernel::{Activation, Binary, Engine, OpKind, Role, Tensor, Unary};

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
    /// `dense1.weight`, `dense1.bias`: the parameters, as casts name what they carry.
    weight_param: String,
    bias_param: String,
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
            weight_param: format!("dense{index}.weight"),
            bias_param: format!("dense{index}.bias"),
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

    /// The parameter names (`dense1.weight`, `dense1.bias`, …) in the order of
    /// [`Mlp::to_params`] and of the optimizer.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .flat_map(|n| [n.weight_param.as_str(), n.bias_param.as_str()])
    }

    /// The name of the op whose output is the network's prediction.
    pub fn output_op(&self) -> &str {
        &self.names[self.names.len() - 1].bias
    }

    /// This network with every parameter cast into `T` by `engine`: ops `cast.dense1.weight`,
    /// `cast.dense1.bias`, … (master weights into the compute format).
    pub fn cast<T: Scalar>(&self, engine: &mut Engine<'_, T>) -> Mlp<T> {
        let mut cast = |name: &str, tensor: &Tensor<S>| {
            engine.cast(&format!("cast.{name}"), name, &tensor.mapv(|x| x.to_f64()))
        };
        Mlp {
            layers: self
                .layers
                .iter()
                .zip(&self.names)
                .map(|(layer, names)| Dense {
                    weight: cast(&names.weight_param, &layer.weight),
                    bias: cast(&names.bias_param, &layer.bias),
                })
                .collect(),
            activation: self.activation,
            names: self.names.clone(),
        }
    }

    /// Gradients computed in this network's format, cast into `T` by `engine`: ops
    /// `cast.dense1.weight_grad`, …, each carrying its backward op's value.
    pub fn cast_grads<T: Scalar>(
        &self,
        engine: &mut Engine<'_, T>,
        grads: &Gradients<S>,
    ) -> Gradients<T> {
        self.grad_ops(grads, |names, grad, which| {
            let op = &names[which];
            let widened = grad.mapv(|x| x.to_f64());
            engine.cast(&op.replacen("bwd.", "cast.", 1), op, &widened)
        })
    }

    /// Gradients multiplied by `factor` (1 × 1): ops `unscale.dense1.weight_grad`, …, each
    /// carrying its backward op's value.
    pub fn unscale_grads(
        &self,
        engine: &mut Engine<'_, S>,
        grads: &Gradients<S>,
        factor: &Tensor<S>,
    ) -> Gradients<S> {
        self.grad_ops(grads, |names, grad, which| {
            let op = &names[which];
            let name = op.replacen("bwd.", "unscale.", 1);
            engine.policy_op(
                &name,
                Some(op),
                OpKind::Binary(Binary::Mul),
                &[grad, factor],
            )
        })
    }

    /// Applies `f(names of the gradient ops, gradient, 0 for the weight or 1 for the bias)` to
    /// every gradient, in layer order.
    fn grad_ops<T>(
        &self,
        grads: &Gradients<S>,
        mut f: impl FnMut(&[&str; 2], &Tensor<S>, usize) -> Tensor<T>,
    ) -> Gradients<T> {
        grads
            .iter()
            .zip(&self.names)
            .map(|(grad, names)| {
                let ops = [names.weight_grad.as_str(), names.bias_grad.as_str()];
                Dense {
                    weight: f(&ops, &grad.weight, 0),
                    bias: f(&ops, &grad.bias, 1),
                }
            })
            .collect()
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
            let weight = engine.role(Role::ParamGrad).matmul(
                &names.weight_grad,
                input,
                &grad_z,
                true,
                false,
            );
            let bias =
                engine
                    .role(Role::ParamGrad)
                    .op(&names.bias_grad, OpKind::SumRows, &[&grad_z]);
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
