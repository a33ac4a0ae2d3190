//! Streaming statistics: error summaries and event counts that never grow with the run.

crate::named_enum! {
    /// The kinds of numerical event the audit counts, in report order; the name is the column
    /// name in reports.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum EventKind {
        /// The exact result is finite, the stored one infinite (or, in a format whose overflow
        /// rule is NaN or saturation, what that rule stored).
        Overflow = "overflow",
        /// The exact result is nonzero, the stored one zero.
        Underflow = "underflow",
        /// The stored result is subnormal.
        Subnormal = "subnormal",
        /// NaN out of inputs without NaN (0/0, ∞ − ∞, …).
        Nan = "nan",
        /// NaN out of NaN inputs.
        NanPropagated = "nan_propagated",
        /// ±inf out of finite inputs (overflow, or division by zero).
        Inf = "inf",
        /// A division whose divisor is zero.
        DivByZero = "div_by_zero",
        /// a + b == a although b ≠ 0: b was absorbed.
        Absorption = "absorption",
        /// A subtraction of nearly equal values lost at least half of the format's bits.
        Cancellation = "cancellation",
        /// A quantization block (MX, NVFP4) whose shared scale left its format's range and was
        /// clamped: counted once per block, at its first element.
        ScaleSaturated = "scale_saturated",
    }
}

/// A count per event kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts([u64; EventKind::ALL.len()]);

impl EventCounts {
    /// Adds one event.
    pub fn add(&mut self, kind: EventKind) {
        self.0[kind as usize] += 1;
    }

    /// Sets the count of one kind (counts read back from a file).
    pub fn set(&mut self, kind: EventKind, count: u64) {
        self.0[kind as usize] = count;
    }

    /// The count of one kind.
    pub fn get(&self, kind: EventKind) -> u64 {
        self.0[kind as usize]
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &EventCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// Counts in [`EventKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (EventKind, u64)> + '_ {
        EventKind::ALL.into_iter().map(|k| (k, self.get(k)))
    }
}

/// The error of one element against a value it should have been.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ElementError {
    /// |x − r| / max(|r|, smallest normal of the format).
    pub relative: f64,
    /// |x − r| in units in the last place of the format at r.
    pub ulps: f64,
    /// log2(1 + number of format values between x and r correctly rounded).
    pub bits: f64,
}

impl ElementError {
    /// Both values agree.
    pub const NONE: ElementError = ElementError {
        relative: 0.0,
        ulps: 0.0,
        bits: 0.0,
    };
    /// One value is finite and the other is not.
    pub const INFINITE: ElementError = ElementError {
        relative: f64::INFINITY,
        ulps: f64::INFINITY,
        bits: f64::INFINITY,
    };
}

/// Max and mean of element errors, accumulated as they come.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ErrorStats {
    /// Elements measured.
    pub count: u64,
    /// Largest relative error.
    pub max_rel: f64,
    sum_rel: f64,
    /// Largest error in ULPs.
    pub max_ulp: f64,
    sum_bits: f64,
}

impl ErrorStats {
    /// Adds one element.
    pub fn add(&mut self, error: ElementError) {
        self.count += 1;
        self.max_rel = self.max_rel.max(error.relative);
        self.sum_rel += error.relative;
        self.max_ulp = self.max_ulp.max(error.ulps);
        self.sum_bits += error.bits;
    }

    /// Mean relative error (0 when nothing was measured).
    pub fn mean_rel(&self) -> f64 {
        self.mean(self.sum_rel)
    }

    /// Mean bits of error.
    pub fn mean_bits(&self) -> f64 {
        self.mean(self.sum_bits)
    }

    fn mean(&self, sum: f64) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            sum / self.count as f64
        }
    }
}

/// What the audit learned about one op in one format over the whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct OpStats {
    /// The op's stable name.
    pub op: String,
    /// Elements evaluated over all steps.
    pub elements: u64,
    /// The format's output against the reference trajectory.
    pub accumulated: ErrorStats,
    /// The format's output against the op evaluated exactly on the format's own inputs.
    pub local: ErrorStats,
    /// Events, counted per element.
    pub events: EventCounts,
}

impl OpStats {
    /// Empty statistics for an op.
    pub fn new(op: &str) -> Self {
        OpStats {
            op: op.to_string(),
            elements: 0,
            accumulated: ErrorStats::default(),
            local: ErrorStats::default(),
            events: EventCounts::default(),
        }
    }

    /// The phase: the part of the name before the first dot (`fwd`, `loss`, `bwd`, `opt`).
    pub fn phase(&self) -> &str {
        self.op.split('.').next().unwrap_or("")
    }
}

/// The first time an event of one kind happened in one format.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstEvent {
    /// Which event.
    pub kind: EventKind,
    /// The op it happened in.
    pub op: String,
    /// 1-based training step.
    pub step: u64,
    /// Row-major index of the element in the op's output.
    pub index: usize,
    /// The stored value.
    pub value: f64,
    /// The op evaluated exactly on the format's inputs.
    pub exact: f64,
    /// The reference trajectory's value of the same op and element.
    pub reference: f64,
}

/// What happened to the gradients and the updates of a step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flow {
    /// Parameter-gradient elements that are nonzero in the reference.
    pub gradients: u64,
    /// Of those, the ones that are zero in the lane although the op evaluated exactly on the
    /// lane's own inputs is not: flushed by rounding (with the lane's loss scale, if any). A
    /// ReLU that is off in the lane and on in the reference is not counted.
    pub gradients_underflowed: u64,
    /// Of those, the ones that would be zero in the lane's format without a loss scale: the
    /// reference's unscaled gradient rounded to the format.
    pub gradients_underflowed_unscaled: u64,
    /// Parameter elements the reference's update moved by a step the lane's format can see
    /// (the reference's weight before and after rounds to two values of the format).
    pub updates: u64,
    /// Of those, the ones the lane's update left exactly where they were.
    pub updates_lost: u64,
}

impl Flow {
    /// Adds another step's counts.
    pub fn merge(&mut self, other: &Flow) {
        self.gradients += other.gradients;
        self.gradients_underflowed += other.gradients_underflowed;
        self.gradients_underflowed_unscaled += other.gradients_underflowed_unscaled;
        self.updates += other.updates;
        self.updates_lost += other.updates_lost;
    }

    /// The share of reference-nonzero gradient elements that are zero in the lane; `None`
    /// when there were none.
    pub fn underflow_share(&self) -> Option<f64> {
        share(self.gradients_underflowed, self.gradients)
    }

    /// The same share without loss scaling.
    pub fn underflow_share_unscaled(&self) -> Option<f64> {
        share(self.gradients_underflowed_unscaled, self.gradients)
    }

    /// The share of the reference's parameter moves the lane lost entirely; `None` when the
    /// reference moved nothing.
    pub fn lost_share(&self) -> Option<f64> {
        share(self.updates_lost, self.updates)
    }
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// |value − reference| / |reference|: 0 when the two are equal (two zeros included), inf when
/// only the reference is 0, NaN when either is NaN.
pub fn relative_difference(value: f64, reference: f64) -> f64 {
    let difference = (value - reference).abs();
    if difference == 0.0 {
        0.0
    } else {
        difference / reference.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stats_keep_max_and_mean() {
        let mut stats = ErrorStats::default();
        stats.add(ElementError {
            relative: 1e-3,
            ulps: 2.0,
            bits: 1.0,
        });
        stats.add(ElementError {
            relative: 3e-3,
            ulps: 0.5,
            bits: 0.0,
        });
        assert_eq!(stats.count, 2);
        assert_eq!(stats.max_rel, 3e-3);
        assert_eq!(stats.mean_rel(), 2e-3);
        assert_eq!(stats.max_ulp, 2.0);
        assert_eq!(stats.mean_bits(), 0.5);
    }

    #[test]
    fn event_counts_merge_by_kind() {
        let mut a = EventCounts::default();
        a.add(EventKind::Underflow);
        let mut b = EventCounts::default();
        b.add(EventKind::Underflow);
        b.add(EventKind::DivByZero);
        a.merge(&b);
        assert_eq!(a.get(EventKind::Underflow), 2);
        assert_eq!(a.get(EventKind::DivByZero), 1);
        assert_eq!(a.get(EventKind::Nan), 0);
    }
}
