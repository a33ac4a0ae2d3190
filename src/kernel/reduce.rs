//! Summation orders and accumulators: how a dot product or a sum is rounded, stated explicitly.
//!
//! - `Sequential`: left to right; each term is added with a fused multiply-add (one rounding per
//!   term in the accumulator format), as a straightforward CPU loop with FMA does.
//! - `Pairwise`: products are rounded to the accumulator, then summed as a balanced binary tree
//!   (halves split at ⌈n/2⌉), as NumPy-style and GPU tree reductions do.
//! - `Kahan`: products are rounded to the accumulator, then summed left to right with Kahan's
//!   compensation term, itself held in the accumulator format.
//! - `Shuffled(seed)`: sequential, but over a seeded permutation of the terms — what
//!   nondeterministic parallel hardware does to a sum. Each op call draws one permutation of its
//!   reduction index (the engine mixes the step and the call's position into the seed), so every
//!   format, fed the same seed, sums in the same order.
//!
//! The accumulator is never narrower than the format itself: `f32` for an f64 run means f64.

use std::str::FromStr;

use crate::error::Error;
use crate::format::{Scalar, Spec};
use crate::{names, seed};

/// The order in which the terms of a reduction are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Left to right, one fused multiply-add per term.
    #[default]
    Sequential,
    /// A balanced binary tree.
    Pairwise,
    /// Left to right with Kahan compensation.
    Kahan,
    /// Sequential over a seeded permutation of the terms.
    Shuffled(u64),
}

impl Order {
    /// The orders `--order` accepts, by name.
    pub const PARSED: [Order; 3] = [Order::Sequential, Order::Pairwise, Order::Kahan];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Order::Sequential => "sequential",
            Order::Pairwise => "pairwise",
            Order::Kahan => "kahan",
            Order::Shuffled(_) => "shuffled",
        }
    }

    /// For `Shuffled`, the same order kind with `nonce` [`seed::mix`]ed into the seed, so that
    /// successive ops and steps get independent permutations.
    pub fn mixed(self, nonce: u64) -> Order {
        match self {
            Order::Shuffled(seed) => Order::Shuffled(seed::mix(seed, nonce)),
            other => other,
        }
    }
}

/// The seeded permutation of 0..n that a `Shuffled(seed)` reduction sums in.
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    seed::permutation(&mut seed::order_generator(seed), n)
}

/// `--order` takes the unit orders by name; `Shuffled(seed)` carries a seed, so it is not in the
/// [`named_enum!`](crate::named_enum) family and is reached through the order study instead.
impl FromStr for Order {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Order::PARSED
            .into_iter()
            .find(|order| order.name() == s)
            .ok_or_else(|| names::unknown("--order", "order", s, &Order::PARSED.map(Order::name)))
    }
}

crate::named_enum! {
    /// The accumulator a reduction asks for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Accumulate: parsed from "--accumulate" as "accumulator" {
        /// The format itself.
        Same = "same",
        /// At least binary32.
        F32 = "f32",
        /// At least binary64.
        F64 = "f64",
    }
}

impl Accumulate {
    /// The default for a format: f32 for formats narrower than f32 (what tensor cores and common
    /// CPU kernels do), the format itself otherwise.
    pub fn default_for(spec: &Spec) -> Accumulate {
        if spec.precision < 24 {
            Accumulate::F32
        } else {
            Accumulate::Same
        }
    }

    /// What this request means for a format: a request narrower than the format means `Same`.
    pub fn effective_for(self, spec: &Spec) -> Accumulate {
        match self {
            Accumulate::F32 if spec.precision < 24 => Accumulate::F32,
            Accumulate::F64 if spec.precision < 53 => Accumulate::F64,
            _ => Accumulate::Same,
        }
    }
}

/// How every reduction of a run is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reduction {
    /// Summation order.
    pub order: Order,
    /// Requested accumulator (see [`Accumulate::effective_for`]).
    pub accumulate: Accumulate,
}

impl Reduction {
    /// The evaluation an exact yardstick uses: sequential, in its own format.
    pub const EXACT: Reduction = Reduction {
        order: Order::Sequential,
        accumulate: Accumulate::Same,
    };
}

/// Σ a_k·b_k in format `T`, in the given order.
pub fn dot<'a, T: Scalar>(
    terms: impl Iterator<Item = (&'a T, &'a T)>,
    order: Order,
    ctx: &T::Context,
) -> T {
    match order {
        Order::Sequential => {
            let mut acc = T::zero(ctx);
            for (a, b) in terms {
                acc.mul_add_assign(a, b);
            }
            acc
        }
        Order::Shuffled(seed) => {
            let terms: Vec<(&T, &T)> = terms.collect();
            let mut acc = T::zero(ctx);
            for index in permutation(terms.len(), seed) {
                acc.mul_add_assign(terms[index].0, terms[index].1);
            }
            acc
        }
        Order::Pairwise | Order::Kahan => {
            let products: Vec<T> = terms.map(|(a, b)| a.mul(b)).collect();
            sum_owned(&products, order, ctx)
        }
    }
}

/// Σ x_k in format `T`, in the given order.
pub fn sum<'a, T: Scalar>(terms: impl Iterator<Item = &'a T>, order: Order, ctx: &T::Context) -> T {
    match order {
        Order::Sequential => {
            let mut acc = T::zero(ctx);
            for x in terms {
                acc.add_assign(x);
            }
            acc
        }
        Order::Pairwise | Order::Kahan | Order::Shuffled(_) => {
            let owned: Vec<T> = terms.cloned().collect();
            sum_owned(&owned, order, ctx)
        }
    }
}

fn sum_owned<T: Scalar>(terms: &[T], order: Order, ctx: &T::Context) -> T {
    match order {
        Order::Pairwise => pairwise(terms, ctx),
        Order::Kahan => kahan(terms, ctx),
        Order::Shuffled(seed) => {
            let mut acc = T::zero(ctx);
            for index in permutation(terms.len(), seed) {
                acc.add_assign(&terms[index]);
            }
            acc
        }
        Order::Sequential => sum(terms.iter(), order, ctx),
    }
}

fn pairwise<T: Scalar>(terms: &[T], ctx: &T::Context) -> T {
    match terms {
        [] => T::zero(ctx),
        [only] => only.clone(),
        _ => {
            let (left, right) = terms.split_at(terms.len().div_ceil(2));
            pairwise(left, ctx).add(&pairwise(right, ctx))
        }
    }
}

fn kahan<T: Scalar>(terms: &[T], ctx: &T::Context) -> T {
    let mut total = T::zero(ctx);
    let mut compensation = T::zero(ctx);
    for x in terms {
        let corrected = x.sub(&compensation);
        let next = total.add(&corrected);
        compensation = next.sub(&total).sub(&corrected);
        total = next;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_differ_where_they_should() {
        // 1 + 2^-24 + 2^-24 in f32: sequential loses both halves, Kahan keeps them.
        let terms = [1.0f32, 2f32.powi(-24), 2f32.powi(-24)];
        assert_eq!(sum(terms.iter(), Order::Sequential, &()), 1.0);
        assert_eq!(sum(terms.iter(), Order::Kahan, &()), 1.0 + 2f32.powi(-23));
        // Pairwise adds (1 + 2^-24) first, then 2^-24: 1 again, but [a, b | c, d] trees differ.
        let four = [2f32.powi(-24), 2f32.powi(-24), 1.0, 0.0];
        assert_eq!(sum(four.iter(), Order::Pairwise, &()), 1.0 + 2f32.powi(-23));
        assert_eq!(
            sum(four.iter(), Order::Sequential, &()),
            1.0 + 2f32.powi(-23)
        );
    }

    #[test]
    fn shuffled_orders_are_permutations_that_depend_on_the_seed() {
        let terms: Vec<f32> = (0..64).map(|i| 1.0 + i as f32 * 2f32.powi(-20)).collect();
        let a = sum(terms.iter(), Order::Shuffled(1), &());
        let b = sum(terms.iter(), Order::Shuffled(1), &());
        assert_eq!(a, b, "same seed, same order");
        let mut p = permutation(64, 7);
        assert_ne!(p, (0..64).collect::<Vec<_>>());
        p.sort();
        assert_eq!(p, (0..64).collect::<Vec<_>>());
        assert_ne!(Order::Shuffled(1).mixed(1), Order::Shuffled(1).mixed(2));
        assert_eq!(Order::Pairwise.mixed(5), Order::Pairwise);
        // Exact sums do not depend on the order.
        let small: Vec<f64> = (0..64).map(f64::from).collect();
        assert_eq!(sum(small.iter(), Order::Shuffled(3), &()), 2016.0);
    }

    #[test]
    fn accumulator_is_never_narrower_than_the_format() {
        use crate::format::Format;
        assert_eq!(
            Accumulate::F32.effective_for(&Format::F16.spec()),
            Accumulate::F32
        );
        assert_eq!(
            Accumulate::F32.effective_for(&Format::F64.spec()),
            Accumulate::Same
        );
        assert_eq!(
            Accumulate::F64.effective_for(&Format::F32.spec()),
            Accumulate::F64
        );
        assert_eq!(
            Accumulate::default_for(&Format::Bf16.spec()),
            Accumulate::F32
        );
    }
}
