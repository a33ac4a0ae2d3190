//! Comparing one format's ops with the reference (accumulated error) and with the same op
//! evaluated exactly on the format's own inputs (local error), and spotting events on the way.

use std::borrow::Cow;

use super::chain::{ChainRecorder, Sightings};
use super::exponents::{self, Exponents};
use super::stats::{ElementError, EventCounts, EventKind, FirstEvent, Flow, OpStats};
use crate::format::round::{exponent, round_f64_with};
use crate::format::{Class, Native as NativeFormat, Overflow, Scalar, Spec, pow2};
use crate::kernel::{
    Binary, Broadcast, Observable, Observer, OpKind, OpRecord, Operand, RecordFn, Role, Tensor,
    eval_widened, operand_name,
};

/// A value as an unevaluated sum hi + lo of two f64s (see [`Scalar::to_f64_pair`]): exact
/// enough to measure any format up to f64 against, and cheap to share between lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pair {
    /// The value correctly rounded to f64.
    pub hi: f64,
    /// The remainder, rounded to f64.
    pub lo: f64,
}

impl Pair {
    /// The pair of any scalar.
    pub fn of<T: Scalar>(x: &T) -> Pair {
        let (hi, lo) = x.to_f64_pair();
        Pair { hi, lo }
    }

    /// Whether the value is zero.
    pub fn is_zero(self) -> bool {
        self.hi == 0.0 && self.lo == 0.0
    }

    fn is_finite(self) -> bool {
        self.hi.is_finite()
    }

    /// Nonzero and below `min_normal`: a value that underflows when stored in that format.
    fn tiny(self, min_normal: f64) -> bool {
        !self.is_zero() && self.hi.abs() < min_normal
    }
}

/// The reference's step, as every lane compares against it.
#[derive(Clone, Debug, Default)]
pub struct RecordedStep {
    /// (op name, output) per op, in the order the ops ran.
    pub ops: Vec<(String, Tensor<Pair>)>,
    /// The batch loss.
    pub loss: Pair,
    /// Every parameter after the step's update, weights then bias, layer by layer.
    pub params: Vec<Pair>,
    /// Every parameter tensor at the start of the step, by name (`dense1.weight`), in the
    /// optimizer's order.
    pub start: Vec<(String, Tensor<Pair>)>,
    /// When a lane quantizes matmul operands: each matmul's operands, by
    /// [`operand_name`](crate::kernel::operand_name) (`fwd.dense1.matmul.lhs`).
    pub operands: Vec<(String, Tensor<Pair>)>,
}

impl RecordedStep {
    /// The value of the op or parameter `name` in this step: what a cast or a loss scaling
    /// (which the reference does not run) carries.
    fn value(&self, name: &str) -> &Tensor<Pair> {
        self.ops
            .iter()
            .chain(&self.start)
            .chain(&self.operands)
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("the reference has no op or parameter `{name}`"))
    }
}

/// Records the reference's op outputs.
pub struct Recorder<'a> {
    /// Where the outputs go (cleared by the caller each step).
    pub step: &'a mut RecordedStep,
    /// Whether to keep the matmuls' operands too (for lanes that quantize them).
    pub operands: bool,
}

impl<R: Scalar> Observer<R> for Recorder<'_> {
    fn observe(&mut self, record: &OpRecord<'_, R>) {
        self.step
            .ops
            .push((record.name.to_string(), record.output.map(Pair::of)));
        if self.operands && matches!(record.kind, OpKind::MatMul { .. }) {
            for (operand, input) in [Operand::Lhs, Operand::Rhs].into_iter().zip(record.inputs) {
                self.step
                    .operands
                    .push((operand_name(record.name, operand), input.map(Pair::of)));
            }
        }
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
    /// The kinds in `first`, one bit each (bit `kind as u16`).
    pub first_kinds: u16,
    /// Events of the current step.
    pub step_events: EventCounts,
    /// `loss.denominator` elements evaluated, and those where eps changed nothing.
    pub denominators: u64,
    /// `loss.denominator` elements equal to |y|: eps absorbed or flushed to zero.
    pub eps_lost: u64,
    /// Gradients and updates of the current step.
    pub step_flow: Flow,
    /// Where activations, gradients and updates sit in the exponent range, over the run.
    pub exponents: Vec<Exponents>,
    /// The chain to the lane's first inf or NaN, followed until it is found.
    pub chains: ChainRecorder,
    /// Per parameter tensor (in the optimizer's order) and element: the sum over the run of
    /// the steps Δ the lane computed and lost to absorption (w − Δ == w).
    pub lost_moves: Vec<Vec<f64>>,
}

/// The observer of one lane's step.
pub struct Comparator<'a> {
    /// The reference's ops of the same step.
    reference: &'a RecordedStep,
    /// The 1-based step.
    step: u64,
    /// Where the statistics go.
    stats: &'a mut LaneStats,
    /// The next op's position within the lane's step.
    position: usize,
    /// The next reference op to pair with a lane op of the network's own (policy ops, such
    /// as casts, have no counterpart in the reference's list).
    cursor: usize,
    /// Updates seen so far in this step: the k-th updates the k-th parameter tensor.
    updates: usize,
}

impl<'a> Comparator<'a> {
    /// The observer of step `step`, against the reference's same step.
    pub fn new(reference: &'a RecordedStep, step: u64, stats: &'a mut LaneStats) -> Self {
        stats.step_events = EventCounts::default();
        stats.step_flow = Flow::default();
        Comparator {
            reference,
            step,
            stats,
            position: 0,
            cursor: 0,
            updates: 0,
        }
    }

    /// The reference's value for `record`, scaled as the record's values are.
    fn reference_of<S: Scalar>(&mut self, record: &OpRecord<'_, S>) -> Cow<'a, Tensor<Pair>> {
        let reference = match record.carries {
            Some(name) => self.reference.value(name),
            None => {
                let (name, value) = &self.reference.ops[self.cursor];
                assert_eq!(name, record.name, "a lane ran other ops than the reference");
                self.cursor += 1;
                value
            }
        };
        if record.scale == 1.0 {
            Cow::Borrowed(reference)
        } else {
            // Loss scales are powers of two: the product is exact.
            let scale = record.scale;
            Cow::Owned(reference.mapv(|Pair { hi, lo }| Pair {
                hi: hi * scale,
                lo: lo * scale,
            }))
        }
    }

    /// The reference's start value of the parameter the next update op updates.
    fn next_update_start(&mut self) -> &'a Tensor<Pair> {
        let start = &self.reference.start[self.updates].1;
        self.updates += 1;
        start
    }
}

/// Counts one element of a parameter gradient or an update in `flow`: `x` the lane's value,
/// `exact` the op evaluated exactly on the lane's inputs, `reference` the reference's (times
/// the lane's scale), `before` the lane's parameter before an update and `start` the
/// reference's.
fn count_flow<S: NativeFormat>(
    flow: &mut Flow,
    role: Role,
    (x, exact, reference, scale): (&S, Pair, Pair, f64),
    (before, start): (Option<&S>, Option<Pair>),
    min_normal: f64,
) {
    match (role, before, start) {
        (Role::ParamGrad, _, _) if !reference.is_zero() => {
            flow.gradients += 1;
            flow.gradients_underflowed += u64::from(x.is_zero() && !exact.is_zero());
            // At or above the smallest normal, nothing rounds to zero: no rounding needed.
            let unscaled = reference.hi / scale;
            let flushed = unscaled.abs() < min_normal && S::from_f64(unscaled, &()).is_zero();
            flow.gradients_underflowed_unscaled += u64::from(flushed);
        }
        // A move the lane's format can see: the reference's weight before and after rounds to
        // two different values of it (tinier moves are lost by any format; equal values round
        // alike without rounding them).
        (Role::Update, Some(before), Some(start))
            if reference.hi != start.hi
                && S::from_f64(reference.hi, &()) != S::from_f64(start.hi, &()) =>
        {
            flow.updates += 1;
            flow.updates_lost += u64::from(x == before);
        }
        _ => {}
    }
}

/// Lanes of a native format are compared as they are; a lane under a per-op precision policy
/// op by op, each in the native type of its format.
impl<S: Observable> Observer<S> for Comparator<'_> {
    fn observe(&mut self, record: &OpRecord<'_, S>) {
        S::with_native(record, Native(self));
    }
}

struct Native<'c, 'a>(&'c mut Comparator<'a>);

impl RecordFn for Native<'_, '_> {
    fn call<S: NativeFormat>(self, record: &OpRecord<'_, S>) {
        self.0.observe_native(record);
    }
}

impl Comparator<'_> {
    fn observe_native<S: NativeFormat>(&mut self, record: &OpRecord<'_, S>) {
        let position = self.position;
        self.position += 1;
        let reference = self.reference_of(record);
        let start = (record.role == Role::Update).then(|| self.next_update_start());
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
        exponents::observe(&mut self.stats.exponents, record, spec.name);
        // Widening reads every input once: whether any is NaN or infinite comes with it.
        let mut inputs_flags = (false, false);
        let widened: Vec<Tensor<S::Yardstick>> = record
            .inputs
            .iter()
            .map(|t| {
                t.mapv(|x| {
                    let x = x.to_f64();
                    inputs_flags = with_flags(inputs_flags, x);
                    S::Yardstick::from_f64(x, &())
                })
            })
            .collect();
        let widened: Vec<&Tensor<S::Yardstick>> = widened.iter().collect();
        // A cast's exact result is its input; any other op is evaluated again on its inputs.
        let evaluated = match record.source {
            Some(_) => None,
            None => Some(eval_widened(record.kind, &widened, &spec, &())),
        };
        // Outputs, reference values and exact values side by side in row-major order.
        let evaluated = evaluated.as_ref().map(|e| e.as_standard_layout());
        let source = record.source.map(|s| s.as_standard_layout());
        let (evaluated, source) = (
            evaluated.as_ref().and_then(|e| e.as_slice()),
            source.as_ref().and_then(|s| s.as_slice()),
        );
        let exact_at = |index: usize| match (evaluated, source) {
            (Some(evaluated), _) => Pair::of(&evaluated[index]),
            (None, Some(source)) => Pair::of(&source[index]),
            (None, None) => unreachable!("an op is evaluated again unless it is a cast"),
        };
        let output = record.output.as_standard_layout();
        let output = output
            .as_slice()
            .expect("a standard-layout array is a slice");
        let reference = reference.as_standard_layout();
        let reference = reference
            .as_slice()
            .expect("a standard-layout array is a slice");
        let columns = record.output.ncols();
        let (mut row, mut column) = (0, 0);
        let whole_op_inputs = match record.source {
            Some(source) => Some(flags(source.iter())),
            None if record.kind.is_reduction() => Some(inputs_flags),
            // Inputs without NaN or inf have none at any element: one look instead of one per
            // element and input.
            None => Some(inputs_flags).filter(|&whole| whole == (false, false)),
        };
        let inputs: Vec<Broadcast<'_, S>> =
            record.inputs.iter().map(|t| Broadcast::new(t)).collect();
        // The op's statistics, added to element by element here and stored after the loop.
        let op = &self.stats.ops[slot];
        let (mut elements, mut accumulated, mut local) = (op.elements, op.accumulated, op.local);
        let cancellation_bits = spec.precision.div_ceil(2) as i32;
        let is_denominator = record.name == crate::model::LOSS_DENOMINATOR;
        let min_normal = pow2(spec.emin);
        // Selections (relu, its gradient, sign) make exact zeros on purpose; only arithmetic
        // is held to the reference's zeros. A quantization underflows where it flushes a
        // nonzero element of its operand, not where the operand was zero already (the op that
        // made that zero counted it).
        let arithmetic = record.quantization.is_none()
            && (!matches!(record.kind, OpKind::Unary(_) | OpKind::ActivationGrad(_))
                || record.kind == OpKind::Unary(crate::kernel::Unary::Sqrt));
        let chains = self.stats.chains.active();
        let mut sightings = Sightings::default();
        for (index, x) in output.iter().enumerate() {
            let (i, j) = (row, column);
            column += 1;
            if column == columns {
                (row, column) = (row + 1, 0);
            }
            let reference = reference[index];
            let exact = exact_at(index);
            count_flow(
                &mut self.stats.step_flow,
                record.role,
                (x, exact, reference, record.scale),
                (
                    start.map(|_| inputs[0].at(i, j)),
                    start.map(|start| start[[i, j]]),
                ),
                min_normal,
            );
            if record.role == Role::Update {
                // The lane computed a move and the weight did not take it: absorbed.
                let (before, delta) = (inputs[0].at(i, j), inputs[1].at(i, j));
                if x == before && !delta.is_zero() && delta.is_finite() {
                    let tensor = self.updates - 1;
                    let lost_moves = &mut self.stats.lost_moves;
                    if lost_moves.len() <= tensor {
                        lost_moves.resize(tensor + 1, Vec::new());
                    }
                    if lost_moves[tensor].is_empty() {
                        lost_moves[tensor] = vec![0.0; record.output.len()];
                    }
                    // Only the norm of each weight's sum is used (lane.rs): summing −Δ would
                    // give the same norm (mutation testing: an equivalent mutant).
                    lost_moves[tensor][index] += delta.to_f64();
                }
            }
            elements += 1;
            accumulated.add(measure(x, reference, &spec));
            local.add(measure(x, exact, &spec));

            let (inputs_nan, inputs_inf) =
                whole_op_inputs.unwrap_or_else(|| flags(inputs.iter().map(|input| input.at(i, j))));
            let mut events = EventSet::default();
            let class = x.classify();
            let exact_finite = exact.is_finite();
            // Formats that overflow to NaN (e4m3) or saturate (FP6, FP4) overflow all the same.
            // Their yardstick is f64, so `exact.hi` is the exact value.
            let quiet_overflow = spec.overflow != Overflow::Ieee
                && exact_finite
                && round_f64_with(exact.hi, &spec, spec.overflow).overflow;
            if let Some(quantization) = record.quantization {
                // Clipped to the element's largest value: an overflow, as saturating formats
                // count it; stored as zero although nonzero: flushed, an underflow.
                if quantization.clipped[[i, j]] {
                    events.push(EventKind::Overflow);
                }
                if class == Class::Zero && !exact.is_zero() {
                    events.push(EventKind::Underflow);
                }
                if quantization.scale_saturated[[i, j]] {
                    events.push(EventKind::ScaleSaturated);
                }
            }
            match class {
                _ if quiet_overflow => events.push(EventKind::Overflow),
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
                    if exact.tiny(min_normal) || (arithmetic && reference.tiny(min_normal)) =>
                {
                    events.push(EventKind::Underflow)
                }
                Class::Subnormal => events.push(EventKind::Subnormal),
                _ => {}
            }
            if let OpKind::Binary(op) = record.kind {
                let (a, b) = (inputs[0].at(i, j), inputs[1].at(i, j));
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
            if events.is_empty() {
                continue;
            }
            // A quantization's clipping is a saturation by design, not a step towards inf:
            // it passes chains on but starts none.
            if chains && record.quantization.is_none() {
                sightings.note(events.kinds(), exact.hi, || inputs[0].at(i, j).to_f64());
            }
            let op = &mut self.stats.ops[slot];
            for kind in events.kinds() {
                op.events.add(kind);
                self.stats.step_events.add(kind);
                if self.stats.first_kinds & (1 << kind as u16) == 0 {
                    self.stats.first_kinds |= 1 << kind as u16;
                    self.stats.first.push(FirstEvent {
                        kind,
                        op: record.name.to_string(),
                        step: self.step,
                        index,
                        value: x.to_f64(),
                        exact: exact.hi,
                        reference: reference.hi,
                    });
                }
            }
        }
        let op = &mut self.stats.ops[slot];
        (op.elements, op.accumulated, op.local) = (elements, accumulated, local);
        if chains {
            self.stats.chains.observe(self.step, record, &sightings);
        }
    }
}

/// The events of one element: a set small enough to live on the stack.
#[derive(Clone, Copy, Default)]
struct EventSet(u16);

impl EventSet {
    fn push(&mut self, kind: EventKind) {
        self.0 |= 1 << kind as u16;
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn kinds(self) -> impl Iterator<Item = EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(move |k| self.0 & (1 << *k as u16) != 0)
    }
}

/// Whether any of the values is NaN, and whether any is infinite (read from the exact f64 of a
/// native format's value: NaN and ±inf are themselves there).
fn flags<'a, S: NativeFormat>(values: impl Iterator<Item = &'a S>) -> (bool, bool) {
    values.fold((false, false), |flags, x| with_flags(flags, x.to_f64()))
}

/// (NaN seen, infinity seen) after also seeing `x`.
fn with_flags((nan, inf): (bool, bool), x: f64) -> (bool, bool) {
    (nan || x.is_nan(), inf || x.is_infinite())
}

/// |x| ≤ max(|a|, |b|) · 2^−bits: the leading `bits` bits cancelled.
fn cancelled<S: Scalar>(a: &S, b: &S, x: &S, bits: i32) -> bool {
    let larger = a.to_f64().abs().max(b.to_f64().abs());
    let x = x.to_f64().abs();
    x == 0.0 || exponent(larger) - exponent(x) >= bits
}

/// The f64 next to `x` in the direction of `sign`'s sign.
fn nudge(x: f64, sign: f64) -> f64 {
    let up = (sign > 0.0) == (x >= 0.0);
    let bits = x.to_bits();
    if x == 0.0 {
        return f64::from_bits(1).copysign(sign);
    }
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

/// `r` = hi + lo correctly rounded to `S`. Rounding hi alone is right unless hi is exactly
/// halfway between two values of `S`, where lo's sign decides.
fn round_pair<S: Scalar<Context = ()>>(hi: f64, lo: f64, precision: u32) -> S {
    let rounded = S::from_f64(hi, &());
    if lo == 0.0 || !hi.is_finite() || rounded.to_f64() == hi {
        return rounded;
    }
    // A midpoint of S has at most precision + 1 significant bits: anything with a set bit below
    // that cannot be one. (f64 values are the only S with 53 bits; they are never midpoints.)
    let low_bits = 52u32.saturating_sub(precision);
    if precision >= 53 || hi.to_bits() & ((1u64 << low_bits) - 1) != 0 {
        return rounded;
    }
    let (below, above) = (
        S::from_f64(nudge(hi, -1.0), &()),
        S::from_f64(nudge(hi, 1.0), &()),
    );
    if below == above {
        rounded
    } else {
        S::from_f64(nudge(hi, lo), &())
    }
}

/// The error of `x` (format `S`) against `r`, a value it should have been.
#[inline(always)]
pub fn measure<S: Scalar<Context = ()>>(x: &S, r: Pair, spec: &Spec) -> ElementError {
    let x64 = x.to_f64();
    let Pair { hi, lo } = r;
    if !(x64.is_finite() && hi.is_finite()) {
        return measure_special(x64, hi);
    }
    if x64 == hi && lo == 0.0 {
        return ElementError::NONE;
    }
    // x − hi is exact when the two are close (Sterbenz), which is when precision matters.
    let difference = ((x64 - hi) - lo).abs();
    let magnitude = hi.abs();
    let t = spec.precision as i32;
    let relative = difference / magnitude.max(pow2(spec.emin));
    let ulp_exponent = if magnitude == 0.0 || !magnitude.is_finite() {
        spec.emin - t + 1
    } else {
        exponent(magnitude).max(spec.emin) - t + 1
    };
    let ulp = pow2(ulp_exponent);
    // Closer to r than half an ulp of r's binade, x is the value of S nearest to r: r lies
    // between two neighbours of S an ulp apart (or on one), and any other value of S is at least
    // half an ulp away; so r rounds to x, and no rounding is needed to know that. When hi is a
    // power of two and lo pulls r below it, r's binade is the one below, whose ulp may be half
    // as large: there a quarter of hi's ulp is the bound.
    let below_power_of_two = lo != 0.0
        && hi.to_bits() & ((1u64 << 52) - 1) == 0
        && lo.is_sign_negative() != hi.is_sign_negative();
    let bound = if below_power_of_two { 0.25 } else { 0.5 };
    let between = if difference < bound * ulp {
        0
    } else {
        let rounded: S = round_pair(hi, lo, spec.precision);
        match (x.ordinal(), rounded.ordinal()) {
            (Some(a), Some(b)) => a.abs_diff(b),
            _ => 0,
        }
    };
    ElementError {
        relative,
        // Dividing by a power of two is multiplying by its inverse, when that is an f64.
        ulps: if ulp_exponent >= -1023 {
            difference * pow2(-ulp_exponent)
        } else {
            difference / ulp
        },
        bits: bits_between(between),
    }
}

/// [`measure`] where `x` or `r` (its f64 `hi`) is NaN or infinite.
#[cold]
fn measure_special(x: f64, hi: f64) -> ElementError {
    match (x.is_nan(), hi.is_nan()) {
        (true, true) => ElementError::NONE,
        (true, false) | (false, true) => ElementError::INFINITE,
        // Both ±inf, or one of them.
        _ if x == hi => ElementError::NONE,
        _ => ElementError::INFINITE,
    }
}

/// log2(1 + `between`): the bits of error of a value `between` values away from the correct
/// rounding; the small counts from a table of the same logarithms.
fn bits_between(between: u64) -> f64 {
    const TABLED: usize = 64;
    static TABLE: std::sync::LazyLock<[f64; TABLED]> =
        std::sync::LazyLock::new(|| std::array::from_fn(|n| (1.0 + n as f64).log2()));
    match usize::try_from(between) {
        Ok(0) => 0.0,
        Ok(n) if n < TABLED => TABLE[n],
        _ => (1.0 + between as f64).log2(),
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;
    use crate::format::Format;
    use rug::Float;

    /// A reference exactly on a midpoint of f16 as its f64 part, with the rest of its value in
    /// the low part: the correct rounding is decided by the low part's sign, not by ties to
    /// even (issue 15: inverting `rounded.to_f64() == hi` in `round_pair` passed every test).
    #[test]
    fn a_midpoint_reference_is_rounded_by_its_low_part() {
        let spec = Format::F16.spec();
        // 1 + 2^-11 lies halfway between 1 (even) and 1 + 2^-10 (odd).
        let (below, above) = (f16::from_f64(1.0), f16::from_f64(1.0 + 2f64.powi(-10)));
        let midpoint = 1.0 + 2f64.powi(-11);
        let up = Pair {
            hi: midpoint,
            lo: 2f64.powi(-60),
        };
        let down = Pair {
            hi: midpoint,
            lo: -(2f64.powi(-60)),
        };
        // Against a reference just above the midpoint, `above` is the correct rounding (0 bits
        // of error) and `below` one value off; just below, the other way round.
        assert_eq!(measure(&above, up, &spec).bits, 0.0);
        assert_eq!(measure(&below, up, &spec).bits, 1.0);
        assert_eq!(measure(&below, down, &spec).bits, 0.0);
        assert_eq!(measure(&above, down, &spec).bits, 1.0);
    }

    /// Just below a power of two the values of a format are twice as dense: a reference
    /// 1 − 2^-40 (hi 1, lo −2^-40) rounds to 1 in f16, so 1 − 2^-11 is one value off although it
    /// is within half an ulp of 1 (mutation testing: a half-ulp shortcut there passed every CLI
    /// job).
    #[test]
    fn below_a_power_of_two_the_finer_spacing_counts() {
        let spec = Format::F16.spec();
        let r = Pair {
            hi: 1.0,
            lo: -(2f64.powi(-40)),
        };
        assert_eq!(measure(&f16::from_f64(1.0), r, &spec).bits, 0.0);
        assert_eq!(
            measure(&f16::from_f64(1.0 - 2f64.powi(-11)), r, &spec).bits,
            1.0
        );
    }

    /// The shortcuts of `measure` (no rounding close to r) give the bits of rounding r and
    /// counting the values between, on values next to powers of two, binade edges, subnormals
    /// and the overflow threshold, in f16, bf16 and f32.
    #[test]
    fn measure_counts_as_rounding_every_reference_would() {
        fn check<S: Scalar<Context = ()>>(format: Format) {
            let spec = format.spec();
            let mut state = 0x2545_f491_4f6c_dd1du64;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let max = spec.max_finite().expect("inside f64");
            for _ in 0..200_000 {
                let bits = next();
                // A value of S, then a reference within a few ulps of it.
                let scale =
                    pow2((bits % 40) as i32 - 20 + spec.emin.max(-30) * i32::from(bits & 64 != 0));
                let base = [1.0, max, pow2(spec.emin), 0.75, 1.5][(bits >> 8) as usize % 5] * scale;
                let x: S = S::from_f64(
                    base * (1.0 + ((bits >> 16) % 16) as f64 * pow2(1 - spec.precision as i32)),
                    &(),
                );
                let ulp = pow2(
                    crate::format::round::exponent(base.max(f64::MIN_POSITIVE)).max(spec.emin)
                        - spec.precision as i32
                        + 1,
                );
                let offset = (((bits >> 24) % 17) as f64 - 8.0) * 0.125 * ulp;
                let hi = base + offset;
                let lo = if bits & 32 != 0 {
                    0.0
                } else {
                    (((bits >> 40) % 5) as f64 - 2.0) * hi.abs() * 2f64.powi(-60)
                };
                if !hi.is_finite() || !x.to_f64().is_finite() {
                    continue;
                }
                let r = Pair { hi, lo };
                let rounded: S = round_pair(hi, lo, spec.precision);
                let expected = match (x.ordinal(), rounded.ordinal()) {
                    (Some(a), Some(b)) => bits_between(a.abs_diff(b)),
                    _ => 0.0,
                };
                assert_eq!(
                    measure(&x, r, &spec).bits,
                    expected,
                    "{} x={:e} r={hi:e}{lo:+e}",
                    spec.name,
                    x.to_f64()
                );
            }
        }
        check::<f16>(Format::F16);
        check::<half::bf16>(Format::Bf16);
        check::<f32>(Format::F32);
    }

    #[test]
    fn one_ulp_off_in_f16() {
        let spec = Format::F16.spec();
        let x = f16::from_f64(1.0 + 2f64.powi(-10));
        let e = measure(&x, Pair::of(&1.0f64), &spec);
        assert_eq!(e.ulps, 1.0);
        assert_eq!(e.bits, 1.0);
        assert_eq!(e.relative, 2f64.powi(-10));
    }

    #[test]
    fn f64_error_is_measured_beyond_f64() {
        let spec = Format::F64.spec();
        let third = crate::format::Mpfr(Float::with_val(113, 1) / 3u32);
        let e = measure(&(1.0f64 / 3.0), Pair::of(&third), &spec);
        assert!(e.ulps > 0.0 && e.ulps <= 0.5, "{}", e.ulps);
        assert_eq!(e.bits, 0.0);
    }

    #[test]
    fn non_finite_against_finite_is_infinite_error() {
        let spec = Format::F16.spec();
        assert_eq!(
            measure(&f16::INFINITY, Pair::of(&70000.0f64), &spec),
            ElementError::INFINITE
        );
        assert_eq!(
            measure(&f16::NAN, Pair::of(&f64::NAN), &spec),
            ElementError::NONE
        );
    }

    /// Each lane op is compared with the reference's op of the same step and position: an f64
    /// lane then agrees with the 113-bit reference to about f64's precision in every op, and
    /// an f32 lane to about f32's (mutation testing: advancing the cursor the wrong way passed
    /// every unit, format and training test; only the CLI snapshots saw it).
    #[test]
    fn every_lane_op_is_compared_with_the_reference_op_it_pairs_with() {
        use clap::Parser;
        let cli = crate::flags::Cli::parse_from([
            "precision-audit",
            "--epochs",
            "2",
            "--formats",
            "f32,f64",
            "--loss",
            "mse",
        ]);
        let config = crate::flags::audit_config(&cli.audit).expect("a valid audit");
        let result = crate::audit::run(&config, &mut crate::audit::DiscardSteps, &mut |_, _| {})
            .expect("the audit runs");
        let [f32_lane, f64_lane] = &result.formats[..] else {
            panic!("two lanes")
        };
        assert!(f64_lane.ops.len() > 20, "{}", f64_lane.ops.len());
        for (lane, bound) in [(f64_lane, 1e-9), (f32_lane, 1e-2)] {
            for op in &lane.ops {
                assert!(
                    op.accumulated.count > 0,
                    "{}: {} compared",
                    lane.lane,
                    op.op
                );
                assert!(
                    op.accumulated.max_rel < bound,
                    "{} {}: accumulated error {} against the reference",
                    lane.lane,
                    op.op,
                    op.accumulated.max_rel
                );
            }
        }
        let matmul = |lane: &crate::audit::FormatReport| {
            lane.ops
                .iter()
                .find(|op| op.op == "fwd.dense1.matmul")
                .expect("the first matmul")
                .accumulated
                .max_rel
        };
        assert!(matmul(f32_lane) > 0.0, "f32 rounds its products");
    }

    /// A NaN computed from a NaN input is propagated, not produced: in the default job's f16
    /// lane, eps = 1e-8 is stored as 0, `loss.div` divides by zero and produces NaN, and the
    /// ops after it receive that NaN (mutation testing: counting every NaN as produced passed
    /// every unit, format and training test).
    #[test]
    fn a_nan_from_a_nan_input_is_counted_as_propagated() {
        use clap::Parser;
        let cli = crate::flags::Cli::parse_from([
            "precision-audit",
            "--loss",
            "relative",
            "--eps",
            "1e-8",
            "--formats",
            "f16",
            "--epochs",
            "1",
        ]);
        let config = crate::flags::audit_config(&cli.audit).expect("a valid audit");
        let result = crate::audit::run(&config, &mut crate::audit::DiscardSteps, &mut |_, _| {})
            .expect("the audit runs");
        let f16 = &result.formats[0];
        let produced = f16.events.get(EventKind::Nan);
        let propagated = f16.events.get(EventKind::NanPropagated);
        assert!(produced > 0, "loss.div produces NaN (0/0)");
        assert!(
            propagated > produced,
            "{propagated} propagated, {produced} produced"
        );
    }

    /// The low part of a reference pair counts with its sign: 1 + 2^-23 in f32 against
    /// 1 + 2^-60 is 2^-23 − 2^-60 away, exactly (mutation testing: adding the low part instead
    /// of subtracting it passed every unit, format and training test).
    #[test]
    fn the_low_part_of_the_reference_counts_with_its_sign() {
        let spec = Format::F32.spec();
        let x = 1.0f32 + 2f32.powi(-23);
        let r = Pair {
            hi: 1.0,
            lo: 2f64.powi(-60),
        };
        assert_eq!(
            measure(&x, r, &spec).relative,
            2f64.powi(-23) - 2f64.powi(-60)
        );
        let below = Pair {
            hi: 1.0,
            lo: -(2f64.powi(-60)),
        };
        assert_eq!(
            measure(&x, below, &spec).relative,
            2f64.powi(-23) + 2f64.powi(-60)
        );
    }

    /// Two audits the flow counts and the cancellation events are asserted on (mutation
    /// testing: not counting the reference's visible moves, and counting cancellation in
    /// additions of like signs instead of subtractions, passed every unit, format and training
    /// test).
    fn audit(args: &[&str]) -> crate::audit::AuditResult {
        use clap::Parser;
        let cli = crate::flags::Cli::parse_from(
            std::iter::once("precision-audit").chain(args.iter().copied()),
        );
        let config = crate::flags::audit_config(&cli.audit).expect("a valid audit");
        crate::audit::run(&config, &mut crate::audit::DiscardSteps, &mut |_, _| {})
            .expect("the audit runs")
    }

    #[test]
    fn updates_the_reference_makes_visible_are_counted_and_some_are_lost_in_bf16() {
        let result = audit(&["--formats", "bf16,f64", "--epochs", "3", "--lr", "0.0001"]);
        let [bf16, f64_lane] = &result.formats[..] else {
            panic!("two lanes")
        };
        assert!(bf16.flow.updates > 0, "{:?}", bf16.flow);
        assert!(
            bf16.flow.updates_lost > 0,
            "bf16 loses small updates: {:?}",
            bf16.flow
        );
        assert!(bf16.flow.updates_lost <= bf16.flow.updates);
        assert_eq!(f64_lane.flow.updates_lost, 0, "{:?}", f64_lane.flow);
    }

    #[test]
    fn a_difference_of_nearly_equal_terms_cancels_and_a_sum_of_like_signs_does_not() {
        let result = audit(&[
            "--formats",
            "bf16",
            "--loss-expr",
            "((p + c) - (y + c))^2",
            "--const",
            "c=100",
            "--epochs",
            "2",
        ]);
        let cancellations = |name: &str| {
            let op = result.formats[0].ops.iter().find(|op| op.op == name);
            op.unwrap_or_else(|| panic!("{name}"))
                .events
                .get(EventKind::Cancellation)
        };
        // (p + c) − (y + c): two values near 100 of like sign, subtracted.
        assert!(cancellations("loss.n6.sub") > 0);
        // y + c: y in the built-in data is at most a few units, c = 100: a sum of like signs
        // (and a sum of unlike signs that keeps its leading bits) never cancels.
        assert_eq!(cancellations("loss.n5.add"), 0);
    }
}
