//! How the update w − Δ reaches a parameter (`--update-rounding`): rounded to nearest,
//! rounded stochastically, or with a Kahan compensation buffer. In a narrow format an update
//! below half an ulp of the weight vanishes to nearest; the other two keep it on average or in
//! the buffer.
//!
//! Ops, each observed and compared with the reference like any other:
//!
//! | rounding | ops, in order, per parameter tensor |
//! |---|---|
//! | `nearest` | `opt.update` = w − Δ |
//! | `stochastic` | `opt.update` = w − Δ, rounded stochastically |
//! | `kahan` | `opt.kahan.corrected` = Δ + c, `opt.update` = w − (Δ + c), `opt.kahan.applied` = w − w′ (the decrement the weight received), `opt.kahan.compensation` = c′ = (Δ + c) − applied (what it did not) |
//!
//! Kahan's form is that of Zamirai et al., "Revisiting BFloat16 Training" (2020) — y = −Δ − c,
//! t = w + y, c = (t − w) − y, w = t — with y and t − w negated, which rounds to the same
//! values (rounding to nearest is symmetric) and keeps `opt.update` a subtraction w − Δ′. The
//! buffer c is in the weight's format and starts at zero.
//!
//! The reference runs the same ops with the same rounding, except that its `opt.update` rounds
//! to nearest where a format rounds stochastically ([`Scalar::sub_stochastic`]): the reference
//! is the exact trajectory, which stochastic rounding follows on average. The uniforms come
//! from their own stream of `--seed`, one per element and step whatever the values
//! ([`crate::seed`]).

use rand_chacha::ChaCha20Rng;

use crate::format::Scalar;
use crate::kernel::{Binary, Engine, OpKind, Role, Tensor};
use crate::seed::{self, Stream};

crate::named_enum! {
    /// How the update w − Δ is rounded to the weight's format.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum UpdateRounding: parsed from "--update-rounding" as "update rounding" {
        /// To nearest, ties to even, like every other op.
        Nearest = "nearest",
        /// Stochastically: up with probability (exact − down)/(up − down), unbiased.
        Stochastic = "stochastic",
        /// To nearest, with a Kahan compensation buffer per parameter tensor.
        Kahan = "kahan",
    }
}

/// The name of the op that writes a parameter.
pub const UPDATE: &str = "opt.update";

/// What an update rounding keeps from step to step.
#[derive(Clone, Debug)]
pub(super) enum Updater<S> {
    /// Nothing.
    Nearest,
    /// The stream of uniforms.
    Stochastic(Box<ChaCha20Rng>),
    /// The compensation c of every parameter tensor.
    Kahan(Vec<Tensor<S>>),
}

impl<S: Scalar> Updater<S> {
    /// The state of `rounding` for parameters shaped like `params`, drawing from `seed`.
    pub fn new<'a>(
        rounding: UpdateRounding,
        seed: u64,
        params: impl Iterator<Item = &'a Tensor<S>>,
        ctx: &S::Context,
    ) -> Self {
        match rounding {
            UpdateRounding::Nearest => Updater::Nearest,
            UpdateRounding::Stochastic => {
                Updater::Stochastic(Box::new(seed::generator(seed, Stream::UpdateRounding)))
            }
            UpdateRounding::Kahan => Updater::Kahan(
                params
                    .map(|t| Tensor::from_elem(t.dim(), S::zero(ctx)))
                    .collect(),
            ),
        }
    }

    /// Parameter tensor `index` after the step `step` (of its shape): w − Δ, rounded.
    pub fn apply(
        &mut self,
        engine: &mut Engine<'_, S>,
        index: usize,
        param: &Tensor<S>,
        step: &Tensor<S>,
    ) -> Tensor<S> {
        match self {
            Updater::Nearest => engine
                .role(Role::Update)
                .binary(UPDATE, Binary::Sub, param, step),
            Updater::Stochastic(rng) => {
                assert_eq!(param.dim(), step.dim(), "a step has its parameter's shape");
                let (param, step) = (engine.operand(UPDATE, param), engine.operand(UPDATE, step));
                let (param, step) = (param.as_ref(), step.as_ref());
                // Row-major, one draw per element whatever its value.
                let updated = param
                    .iter()
                    .zip(step)
                    .map(|(w, delta)| w.sub_stochastic(delta, seed::uniform(rng.as_mut())))
                    .collect();
                let updated = Tensor::from_shape_vec(param.dim(), updated).expect("same shape");
                engine.role(Role::Update).record(
                    UPDATE,
                    OpKind::Binary(Binary::Sub),
                    &[param, step],
                    updated,
                )
            }
            Updater::Kahan(compensation) => {
                let c = &mut compensation[index];
                let corrected = engine.binary("opt.kahan.corrected", Binary::Add, step, c);
                let updated =
                    engine
                        .role(Role::Update)
                        .binary(UPDATE, Binary::Sub, param, &corrected);
                let applied = engine.binary("opt.kahan.applied", Binary::Sub, param, &updated);
                *c = engine.binary("opt.kahan.compensation", Binary::Sub, &corrected, &applied);
                updated
            }
        }
    }
}
