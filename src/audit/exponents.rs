//! Where values sit in a format's exponent range: per lane, histograms of floor(log2 |x|) of
//! the activations, the gradients and the updates over the run (`exponents.csv`).
//!
//! What each role counts, element by element, every step:
//!
//! - **activations**: every forward op's output (`fwd.*`): pre-activations, activations and the
//!   network's output, in the format the forward pass runs in;
//! - **gradients**: every output of the backward pass through the layers (`bwd.*` except the
//!   loss's own `bwd.loss.*`): activation gradients and parameter gradients, in the format the
//!   backward pass runs in, as stored — times the loss scale when the lane scales its loss,
//!   since the scaled values are the ones that must fit the format. Activation gradients are
//!   included because they are the values that underflow first (Micikevicius et al., "Mixed
//!   Precision Training", 2018, fig. 3); the loss's gradient is left out because a mixed lane
//!   computes it in its master format, and one role should live in one format;
//! - **updates**: the step Δ that `opt.update` subtracts from a weight (its second input; with
//!   `--update-rounding kahan`, Δ plus the carried compensation), in the weight's format. The
//!   new weight itself sits where the weights sit; whether Δ fits the format (or is flushed to
//!   zero) is the question. A skipped step (dynamic loss scaling) runs no update and counts none.
//!
//! A value's bin is the integer floor(log2 |x|) of a nonzero finite value (subnormals
//! included), or zero, inf or NaN. The counts live in one fixed array per lane and role,
//! allocated once; counting an element allocates nothing.

use crate::format::Scalar;
use crate::format::round::exponent;
use crate::kernel::{OpRecord, Role, Tensor};

crate::named_enum! {
    /// The values a histogram counts, in report order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ValueRole {
        /// Forward op outputs.
        Activations = "activations",
        /// Backward op outputs through the layers.
        Gradients = "gradients",
        /// The steps Δ of the weight updates.
        Updates = "updates",
    }
}

/// floor(log2 |x|) of the smallest nonzero f64 (a subnormal): every format up to f64 fits.
pub const MIN_EXPONENT: i32 = -1074;
/// floor(log2 |x|) of the largest finite f64.
pub const MAX_EXPONENT: i32 = 1023;
const FINITE_BINS: usize = (MAX_EXPONENT - MIN_EXPONENT + 1) as usize;

/// One bin of a histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bin {
    /// ±0.
    Zero,
    /// Nonzero finite values with this floor(log2 |x|).
    Finite(i32),
    /// ±inf.
    Inf,
    /// NaN.
    Nan,
}

impl Bin {
    /// The bin's kind as `exponents.csv` writes it: `zero`, `finite`, `inf` or `nan`.
    pub fn name(self) -> &'static str {
        match self {
            Bin::Zero => "zero",
            Bin::Finite(_) => "finite",
            Bin::Inf => "inf",
            Bin::Nan => "nan",
        }
    }

    /// floor(log2 |x|) of a finite bin.
    pub fn exponent(self) -> Option<i32> {
        match self {
            Bin::Finite(e) => Some(e),
            _ => None,
        }
    }

    /// The bin of `x`.
    pub fn of(x: f64) -> Bin {
        if x == 0.0 {
            Bin::Zero
        } else if x.is_nan() {
            Bin::Nan
        } else if x.is_infinite() {
            Bin::Inf
        } else {
            Bin::Finite(exponent(x))
        }
    }
}

/// The histogram of one role's values in one lane, in the format they are stored in.
#[derive(Clone, Debug, PartialEq)]
pub struct Exponents {
    /// Which values.
    pub role: ValueRole,
    /// The format they are stored in (a mixed lane's updates are in its master format).
    pub stored_in: &'static str,
    zero: u64,
    inf: u64,
    nan: u64,
    finite: Box<[u64]>,
}

impl Exponents {
    /// An empty histogram.
    pub fn new(role: ValueRole, stored_in: &'static str) -> Exponents {
        Exponents {
            role,
            stored_in,
            zero: 0,
            inf: 0,
            nan: 0,
            finite: vec![0; FINITE_BINS].into_boxed_slice(),
        }
    }

    /// Counts one value.
    pub fn add(&mut self, x: f64) {
        match Bin::of(x) {
            Bin::Zero => self.zero += 1,
            Bin::Nan => self.nan += 1,
            Bin::Inf => self.inf += 1,
            Bin::Finite(e) => self.finite[(e - MIN_EXPONENT) as usize] += 1,
        }
    }

    /// The count of one bin.
    pub fn count(&self, bin: Bin) -> u64 {
        match bin {
            Bin::Zero => self.zero,
            Bin::Inf => self.inf,
            Bin::Nan => self.nan,
            Bin::Finite(e) if (MIN_EXPONENT..=MAX_EXPONENT).contains(&e) => {
                self.finite[(e - MIN_EXPONENT) as usize]
            }
            Bin::Finite(_) => 0,
        }
    }

    /// Every value counted.
    pub fn total(&self) -> u64 {
        self.zero + self.inf + self.nan + self.finite.iter().sum::<u64>()
    }

    /// The bins as `exponents.csv` lists them: zero, the nonzero finite bins by increasing
    /// exponent, inf, NaN (the three special bins even when empty).
    pub fn bins(&self) -> impl Iterator<Item = (Bin, u64)> + '_ {
        let finite = (MIN_EXPONENT..=MAX_EXPONENT)
            .map(Bin::Finite)
            .map(|bin| (bin, self.count(bin)))
            .filter(|&(_, count)| count > 0);
        std::iter::once((Bin::Zero, self.zero))
            .chain(finite)
            .chain([(Bin::Inf, self.inf), (Bin::Nan, self.nan)])
    }
}

/// The role of an op's values, and the values, if the op holds any of the three.
fn values_of<'r, S: Scalar>(record: &'r OpRecord<'_, S>) -> Option<(ValueRole, &'r Tensor<S>)> {
    let mut parts = record.name.split('.');
    let (phase, what) = (parts.next(), parts.next());
    match (record.role, phase, what) {
        (Role::Update, _, _) => record.inputs.get(1).map(|&d| (ValueRole::Updates, d)),
        (_, Some("fwd"), _) => Some((ValueRole::Activations, record.output)),
        (_, Some("bwd"), Some(what)) if what != "loss" => {
            Some((ValueRole::Gradients, record.output))
        }
        _ => None,
    }
}

/// Counts the values of `record`, stored in the format `stored_in`, into the lane's
/// histograms (one per role and format, created the first time one is seen).
pub fn observe<S: Scalar>(
    histograms: &mut Vec<Exponents>,
    record: &OpRecord<'_, S>,
    stored_in: &'static str,
) {
    let Some((role, values)) = values_of(record) else {
        return;
    };
    let index = match histograms
        .iter()
        .position(|h| h.role == role && h.stored_in == stored_in)
    {
        Some(index) => index,
        None => {
            histograms.push(Exponents::new(role, stored_in));
            histograms.len() - 1
        }
    };
    let histogram = &mut histograms[index];
    for x in values.iter() {
        histogram.add(x.to_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Binary, OpKind};

    #[test]
    fn bins_are_floor_log2_with_subnormals_and_specials() {
        assert_eq!(Bin::of(1.0), Bin::Finite(0));
        assert_eq!(Bin::of(-0.75), Bin::Finite(-1));
        assert_eq!(Bin::of(65504.0), Bin::Finite(15));
        assert_eq!(Bin::of(2f64.powi(-24)), Bin::Finite(-24));
        assert_eq!(Bin::of(f64::from_bits(1)), Bin::Finite(MIN_EXPONENT));
        assert_eq!(Bin::of(f64::MAX), Bin::Finite(MAX_EXPONENT));
        assert_eq!(Bin::of(-0.0), Bin::Zero);
        assert_eq!(Bin::of(f64::NEG_INFINITY), Bin::Inf);
        assert_eq!(Bin::of(f64::NAN), Bin::Nan);
    }

    #[test]
    fn histogram_lists_specials_and_nonempty_bins_and_sums_to_its_total() {
        let mut h = Exponents::new(ValueRole::Gradients, "f16");
        for x in [0.0, 3.0, 2.5, 0.001, f64::NAN, f64::INFINITY, -1e-300] {
            h.add(x);
        }
        let bins: Vec<(Bin, u64)> = h.bins().collect();
        assert_eq!(
            bins,
            vec![
                (Bin::Zero, 1),
                (Bin::Finite(-997), 1),
                (Bin::Finite(-10), 1),
                (Bin::Finite(1), 2),
                (Bin::Inf, 1),
                (Bin::Nan, 1),
            ]
        );
        assert_eq!(h.total(), 7);
        assert_eq!(bins.iter().map(|(_, n)| n).sum::<u64>(), h.total());
    }

    #[test]
    fn roles_follow_phase_and_role() {
        let a = Tensor::from_elem((1, 2), 1.0f64);
        let delta = Tensor::from_elem((1, 2), 0.001f64);
        let mut histograms = Vec::new();
        for (name, role, stored_in) in [
            ("fwd.dense1.matmul", Role::Value, "f64"),
            ("bwd.loss.div", Role::Value, "f64"),
            ("bwd.dense1.weight_grad", Role::ParamGrad, "f64"),
            ("opt.update", Role::Update, "f32"),
            ("opt.adam.m", Role::Value, "f64"),
        ] {
            let inputs = [&a, &delta];
            let record = OpRecord {
                name,
                kind: OpKind::Binary(Binary::Sub),
                inputs: &inputs,
                output: &a,
                scale: 1.0,
                role,
                carries: None,
                source: None,
                quantization: None,
            };
            observe(&mut histograms, &record, stored_in);
        }
        let summary: Vec<(ValueRole, &str, u64, u64)> = histograms
            .iter()
            .map(|h| (h.role, h.stored_in, h.total(), h.count(Bin::Finite(-10))))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ValueRole::Activations, "f64", 2, 0),
                (ValueRole::Gradients, "f64", 2, 0),
                // Δ = 0.001 counts, not the new weight.
                (ValueRole::Updates, "f32", 2, 2),
            ]
        );
    }
}
