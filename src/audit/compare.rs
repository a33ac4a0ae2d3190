//! Comparing one format's ops with the reference (accumulated error) and with the same op
//! evaluated exactly on the format's own inputs (local error), and spotting events on the way.

use half::{bf16, f16};
use rug::Float;

use super::stats::{ElementError, EventCounts, EventKind, FirstEvent, OpStats};
use crate::format::round::exponent;
use crate::format::{Class, Mpfr, Scalar, Spec};
use crate::kernel::{Binary, Observer, OpKind, OpRecord, Reduction, Tensor, eval};

/// A format the audit can run, with the yardstick its local error is measured against: a format
/// whose own rounding error is negligible next to this one's.
pub trait Audited: Scalar<Context = ()> {
    /// The format local errors are measured in.
    type Yardstick: Scalar;
    /// The yardstick's context for a reference of `reference_bits`.
    fn yardstick(reference_bits: u32) -> <Self::Yardstick as Scalar>::Context;
}

macro_rules! audited_against_f64 {
    ($($ty:ty),*) => {$(
        /// f64 carries 29 or more bits beyond this format: its own error is negligible.
        impl Audited for $ty {
            type Yardstick = f64;
            fn yardstick(_: u32) -> () {}
        }
    )*};
}

audited_against_f64!(f16, bf16, f32);

/// f64 is measured against MPFR at the reference's precision.
impl Audited for f64 {
    type Yardstick = Mpfr;
    fn yardstick(reference_bits: u32) -> u32 {
        reference_bits
    }
}

/// The reference's op outputs of one step, in the order the ops ran.
#[derive(Clone, Debug, Default)]
pub struct RecordedStep {
    /// (op name, output) per op.
    pub ops: Vec<(String, Tensor<Mpfr>)>,
}

/// Records the reference's op outputs.
pub struct Recorder<'a> {
    /// Where the outputs go (cleared by the caller each step).
    pub step: &'a mut RecordedStep,
}

impl Observer<Mpfr> for Recorder<'_> {
    fn observe(&mut self, record: &OpRecord<'_, Mpfr>) {
        self.step
            .ops
            .push((record.name.to_string(), record.output.clone()));
    }
}

/// Everything one format accumulates over the run.
#[derive(Clone, Debug, Default)]
pub struct LaneStats {
    /// Per op name, in the order names first run within a step.
    pub ops: Vec<OpStats>,
    /// For each op position within a step, its entry in `ops` (names repeat: one optimizer op
    /// runs once per parameter tensor).
    pub slots: Vec<usize>,
    /// The first event of each kind.
    pub first: Vec<FirstEvent>,
    /// Events of the current step.
    pub step_events: EventCounts,
    /// `loss.denominator` elements evaluated, and those where eps changed nothing.
    pub denominators: u64,
    /// `loss.denominator` elements equal to |y|: eps absorbed or flushed to zero.
    pub eps_lost: u64,
}

/// The observer of one format's step.
pub struct Comparator<'a, S: Audited> {
    /// The reference's ops of the same step.
    pub reference: &'a RecordedStep,
    /// The 1-based step.
    pub step: u64,
    /// The yardstick's context.
    pub yardstick: <S::Yardstick as Scalar>::Context,
    /// Where the statistics go.
    pub stats: &'a mut LaneStats,
    /// The next op's position within the step.
    pub position: usize,
}

impl<S: Audited> Observer<S> for Comparator<'_, S> {
    fn observe(&mut self, record: &OpRecord<'_, S>) {
        let position = self.position;
        self.position += 1;
        let (reference_name, reference) = &self.reference.ops[position];
        assert_eq!(reference_name, record.name, "formats ran different ops");
        if self.stats.slots.len() == position {
            let slot = match self.stats.ops.iter().position(|op| op.op == record.name) {
                Some(slot) => slot,
                None => {
                    self.stats.ops.push(OpStats::new(record.name));
                    self.stats.ops.len() - 1
                }
            };
            self.stats.slots.push(slot);
        }
        let slot = self.stats.slots[position];
        let spec = S::spec(&());
        let widened: Vec<Tensor<S::Yardstick>> = record
            .inputs
            .iter()
            .map(|t| t.mapv(|x| S::Yardstick::from_f64(x.to_f64(), &self.yardstick)))
            .collect();
        let widened: Vec<&Tensor<S::Yardstick>> = widened.iter().collect();
        let exact = eval(record.kind, &widened, Reduction::EXACT, &self.yardstick);
        let whole_op_inputs = if record.kind.is_reduction() {
            Some(flags(record.inputs.iter().flat_map(|t| t.iter())))
        } else {
            None
        };
        let cancellation_bits = spec.precision.div_ceil(2) as i32;
        let is_denominator = record.name == "loss.denominator";
        let min_normal = pow2(spec.emin);
        // Selections (relu, its gradient, sign) make exact zeros on purpose; only arithmetic
        // is held to the reference's zeros.
        let arithmetic = !matches!(record.kind, OpKind::Unary(_) | OpKind::ActivationGrad(_))
            || record.kind == OpKind::Unary(crate::kernel::Unary::Sqrt);
        for (index, ((position2, x), exact)) in
            record.output.indexed_iter().zip(exact.iter()).enumerate()
        {
            let reference = &reference[position2];
            let op = &mut self.stats.ops[slot];
            op.elements += 1;
            op.accumulated.add(measure(x, reference, &spec));
            op.local.add(measure(x, exact, &spec));

            let (inputs_nan, inputs_inf) = whole_op_inputs.unwrap_or_else(|| {
                flags(record.inputs.iter().map(|t| broadcast_pick(t, position2)))
            });
            let mut events = Vec::new();
            let class = x.classify();
            let exact_class = exact.classify();
            let exact_finite = !matches!(exact_class, Class::Infinite | Class::Nan);
            match class {
                Class::Nan if inputs_nan => events.push(EventKind::NanPropagated),
                Class::Nan => events.push(EventKind::Nan),
                Class::Infinite => {
                    if !inputs_inf && !inputs_nan {
                        events.push(EventKind::Inf);
                    }
                    if exact_finite {
                        events.push(EventKind::Overflow);
                    }
                }
                Class::Zero
                    if tiny(exact, min_normal) || (arithmetic && tiny(reference, min_normal)) =>
                {
                    events.push(EventKind::Underflow)
                }
                Class::Subnormal => events.push(EventKind::Subnormal),
                _ => {}
            }
            if let OpKind::Binary(op) = record.kind {
                let a = broadcast_pick(record.inputs[0], position2);
                let b = broadcast_pick(record.inputs[1], position2);
                match op {
                    Binary::Div if b.is_zero() => events.push(EventKind::DivByZero),
                    Binary::Add | Binary::Sub
                        if a.is_finite() && b.is_finite() && x.is_finite() =>
                    {
                        if !b.is_zero() && x == a {
                            events.push(EventKind::Absorption);
                        }
                        let subtracts =
                            (a.is_sign_negative() != b.is_sign_negative()) == (op == Binary::Add);
                        if subtracts
                            && !a.is_zero()
                            && !b.is_zero()
                            && cancelled(a, b, x, cancellation_bits)
                        {
                            events.push(EventKind::Cancellation);
                        }
                    }
                    _ => {}
                }
                if is_denominator {
                    self.stats.denominators += 1;
                    if x == a {
                        self.stats.eps_lost += 1;
                    }
                }
            }
            for kind in events {
                op.events.add(kind);
                self.stats.step_events.add(kind);
                if !self.stats.first.iter().any(|f| f.kind == kind) {
                    self.stats.first.push(FirstEvent {
                        kind,
                        op: record.name.to_string(),
                        step: self.step,
                        index,
                        value: x.to_f64(),
                        exact: exact.to_f64(),
                        reference: reference.to_f64(),
                    });
                }
            }
        }
    }
}

/// Nonzero and below the format's smallest normal: a value that underflows when stored.
fn tiny<T: Scalar>(value: &T, min_normal: f64) -> bool {
    let x = value.to_f64().abs();
    !value.is_zero() && value.is_finite() && x < min_normal
}

/// Whether any of the values is NaN, and whether any is infinite.
fn flags<'a, S: Scalar>(values: impl Iterator<Item = &'a S>) -> (bool, bool) {
    values.fold((false, false), |(nan, inf), x| match x.classify() {
        Class::Nan => (true, inf),
        Class::Infinite => (nan, true),
        _ => (nan, inf),
    })
}

/// The element of `t` that elementwise broadcasting pairs with output element (i, j).
fn broadcast_pick<S>(t: &Tensor<S>, (i, j): (usize, usize)) -> &S {
    let row = if t.nrows() == 1 { 0 } else { i };
    let col = if t.ncols() == 1 { 0 } else { j };
    &t[[row, col]]
}

/// |x| ≤ max(|a|, |b|) · 2^−bits: the leading `bits` bits cancelled.
fn cancelled<S: Scalar>(a: &S, b: &S, x: &S, bits: i32) -> bool {
    let larger = a.to_f64().abs().max(b.to_f64().abs());
    let x = x.to_f64().abs();
    x == 0.0 || exponent(larger) - exponent(x) >= bits
}

/// 2^e for any e an f64 can hold, subnormal powers included.
fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        2f64.powi(e)
    } else {
        f64::from_bits(1u64 << (e + 1074).max(0))
    }
}

/// The error of `x` (format `S`) against `r`, a value it should have been.
pub fn measure<S: Scalar<Context = ()>, Y: Scalar>(x: &S, r: &Y, spec: &Spec) -> ElementError {
    match (x.classify(), r.classify()) {
        (Class::Nan, Class::Nan) => return ElementError::NONE,
        (Class::Nan, _) | (_, Class::Nan) => return ElementError::INFINITE,
        (Class::Infinite, Class::Infinite) if x.is_sign_negative() == r.is_sign_negative() => {
            return ElementError::NONE;
        }
        (Class::Infinite, _) | (_, Class::Infinite) => return ElementError::INFINITE,
        _ => {}
    }
    let narrow = spec.precision <= 24;
    let (difference, magnitude) = if narrow {
        let r = r.to_f64();
        ((x.to_f64() - r).abs(), r.abs())
    } else {
        // f64 against MPFR: subtract in MPFR so that the difference itself is exact enough.
        let prec = r.precision().max(53) + 64;
        let difference = Float::with_val(prec, x.to_big(prec) - r.to_big(prec));
        (difference.abs().to_f64(), r.to_f64().abs())
    };
    let t = spec.precision as i32;
    let min_normal = pow2(spec.emin);
    let relative = difference / magnitude.max(min_normal);
    let ulp = if magnitude == 0.0 || !magnitude.is_finite() {
        pow2(spec.emin - t + 1)
    } else {
        pow2(exponent(magnitude).max(spec.emin) - t + 1)
    };
    let rounded = if narrow {
        S::from_f64(r.to_f64(), &())
    } else {
        S::from_big(&r.to_big(r.precision()), &())
    };
    let between = match (x.ordinal(), rounded.ordinal()) {
        (Some(a), Some(b)) => a.abs_diff(b),
        _ => 0,
    };
    ElementError {
        relative,
        ulps: difference / ulp,
        bits: (1.0 + between as f64).log2(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Format;

    #[test]
    fn one_ulp_off_in_f16() {
        let spec = Format::F16.spec();
        let x = f16::from_f64(1.0 + 2f64.powi(-10));
        let e = measure(&x, &1.0f64, &spec);
        assert_eq!(e.ulps, 1.0);
        assert_eq!(e.bits, 1.0);
        assert_eq!(e.relative, 2f64.powi(-10));
    }

    #[test]
    fn f64_error_is_measured_in_mpfr() {
        let spec = Format::F64.spec();
        let third = Mpfr(Float::with_val(113, 1) / 3u32);
        let e = measure(&(1.0f64 / 3.0), &third, &spec);
        assert!(e.ulps > 0.0 && e.ulps <= 0.5, "{}", e.ulps);
        assert_eq!(e.bits, 0.0);
    }

    #[test]
    fn non_finite_against_finite_is_infinite_error() {
        let spec = Format::F16.spec();
        assert_eq!(
            measure(&f16::INFINITY, &70000.0f64, &spec),
            ElementError::INFINITE
        );
        assert_eq!(measure(&f16::NAN, &f64::NAN, &spec), ElementError::NONE);
    }
}
