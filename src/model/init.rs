//! Initial parameters: Glorot-uniform weights and zero biases, drawn once in f64.

use ndarray::Array2;

use super::Architecture;
use super::params::{LayerParams, ParamSet};
use crate::seed::{self, Stream, uniform};

/// Glorot-uniform weights, `W[i][j] = (2u − 1)·√(6 / (fan_in + fan_out))`, drawn layer by layer,
/// row by row, from [`Stream::Init`] of `seed`; biases zero.
pub fn glorot_uniform(architecture: &Architecture, seed: u64) -> ParamSet {
    let mut rng = seed::generator(seed, Stream::Init);
    let layers = architecture
        .widths
        .windows(2)
        .map(|pair| {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            let weight = Array2::from_shape_simple_fn((fan_in, fan_out), || {
                (2.0 * uniform(&mut rng) - 1.0) * limit
            });
            LayerParams {
                weight,
                bias: Array2::zeros((1, fan_out)),
            }
        })
        .collect();
    ParamSet { layers }
}
