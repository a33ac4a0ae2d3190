//! Plain-language verdicts: what a user should take away about one format.

use super::{ConstantReport, FormatReport};
use crate::format::Class;
use crate::format::text::shortest;
use crate::train::Policy;

fn loss_word(loss: f64) -> &'static str {
    if loss.is_nan() {
        "NaN"
    } else if loss.is_infinite() {
        "inf"
    } else {
        "finite"
    }
}

crate::named_enum! {
    /// What a cause is; the name is the `kind` of a cause in JSON.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum CauseKind {
        /// The chain that led to the lane's first inf or NaN (its head is the origin).
        Chain = "nonfinite_chain",
        /// Updates smaller than half an ulp of their weight, lost in `opt.update`.
        LostUpdates = "lost_updates",
        /// A subtraction of nearly equal values that lost half the format's bits or more.
        Cancellation = "cancellation",
        /// The op that adds the most error by itself (mean bits).
        LocalError = "local_error",
    }
}

/// One cause the verdict names, with the op it points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    /// What kind of cause.
    pub kind: CauseKind,
    /// The op: the chain's head, `opt.update`, the cancelling op, the op with the most local
    /// error.
    pub op: String,
    /// How the verdict says it.
    pub text: String,
}

/// Lost updates are named as a cause when the drift they alone explain (to first order: each
/// weight's lost reference moves summed over the run, see [`FormatReport::lost_drift`]) is at
/// least this share of the lane's measured parameter drift: then they are the main effect, not
/// a side effect. Feedback through the gradients can undo part of a lost move, so the first
/// order explanation can exceed the drift itself; half is the point where they stop being a
/// minority explanation.
const LOST_UPDATES_MAIN_SHARE: f64 = 0.5;

/// ... and when the lane lost at least this share of the moves the reference makes visibly in
/// the lane's format ([`super::Flow::lost_share`]): below it, absorption is a rare rounding
/// event (f32 and f64 lose about 0.2% on the default job), and the first-order sum mostly
/// measures ordinary rounding noise.
const LOST_UPDATES_MIN_SHARE: f64 = 0.01;

/// A cancellation is named as a cause when it is systematic — at least half of the op's results
/// cancelled (a difference of nearly equal terms by construction, not the odd sign change of an
/// activation crossing zero) — and the op's output carries, on average, a relative error of at
/// least √u (u = 2^−p, the format's unit roundoff) against the reference: it has lost half of
/// its bits or more, which is what makes a cancellation catastrophic rather than benign.
///
/// The optimizer's ops are left out: Kahan's `opt.kahan.applied` and `opt.kahan.compensation`
/// cancel on purpose (that is how the buffer recovers what the update lost), against a
/// reference compensation near zero.
fn cancellation_is_catastrophic(op: &super::OpStats, precision_bits: u32) -> bool {
    if op.phase() == "opt" {
        return false;
    }
    let sqrt_u = 2f64.powf(-f64::from(precision_bits) / 2.0);
    let cancelled = op.events.get(super::EventKind::Cancellation);
    cancelled > 0 && 2 * cancelled >= op.elements && op.accumulated.mean_rel() >= sqrt_u
}

/// The causes of what went wrong in a lane, the one that mattered most in this run first:
/// the head of the non-finite chain (nothing is more consequential than an inf or NaN), then
/// causes with a measured share of the drift (lost updates; later, a blame ranking by
/// promotion slots in here with its share), then causes without one (a catastrophic
/// cancellation, then the op with the most local error).
pub fn causes(report: &FormatReport) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(chain) = &report.chain {
        causes.push(Cause {
            kind: CauseKind::Chain,
            op: chain.head().op.clone(),
            text: chain.text(),
        });
    }
    // Causes whose share of the drift was measured, largest share first.
    let mut measured: Vec<(f64, Cause)> = Vec::new();
    if let (Some(explained), Some(lost)) = (report.lost_drift, report.flow.lost_share()) {
        let drift = report.param_rel_drift;
        let share = if drift > 0.0 { explained / drift } else { 0.0 };
        let update = crate::train::update::UPDATE;
        let absorbed = report.ops.iter().find(|op| op.op == update);
        let main = share >= LOST_UPDATES_MAIN_SHARE && lost >= LOST_UPDATES_MIN_SHARE;
        if let (true, None, true, Some(op)) = (main, &report.chain, drift.is_finite(), absorbed) {
            let count = op.events.get(super::EventKind::Absorption);
            measured.push((
                share,
                Cause {
                    kind: CauseKind::LostUpdates,
                    op: update.to_string(),
                    text: format!(
                        "updates lost to absorption: {count} of the {} weight updates ({}) were smaller than half an ulp of their weight and vanished in {update}; alone they would drift the parameters by {explained:.2e} of the {drift:.2e} measured",
                        op.elements,
                        percent(Some(count as f64 / op.elements as f64)),
                    ),
                },
            ));
        }
    }
    measured.sort_by(|a, b| b.0.total_cmp(&a.0));
    causes.extend(measured.into_iter().map(|(_, c)| c));
    if report.chain.is_none() {
        let cancelling = report
            .ops
            .iter()
            .filter(|op| cancellation_is_catastrophic(op, report.precision_bits))
            .max_by(|a, b| {
                a.accumulated
                    .mean_rel()
                    .total_cmp(&b.accumulated.mean_rel())
            });
        if let Some(op) = cancelling {
            let count = op.events.get(super::EventKind::Cancellation);
            causes.push(Cause {
                kind: CauseKind::Cancellation,
                op: op.op.clone(),
                text: format!(
                    "catastrophic cancellation in {}: {count} of its {} results lost half of the format's bits or more, leaving a mean relative error of {:.2e} against the reference",
                    op.op,
                    op.elements,
                    op.accumulated.mean_rel()
                ),
            });
        }
    }
    let worst = worst_local(report);
    // With a chain, an op that stores inf or NaN is already its last link.
    let worst = worst.filter(|op| report.chain.is_none() || op.local.mean_bits().is_finite());
    if let Some(op) = worst {
        causes.push(Cause {
            kind: CauseKind::LocalError,
            op: op.op.clone(),
            text: if op.local.mean_bits().is_finite() {
                format!(
                    "most local error enters at {} ({:.2} bits on average)",
                    op.op,
                    op.local.mean_bits()
                )
            } else {
                format!(
                    "{} stores inf or NaN where its exact result is finite",
                    op.op
                )
            },
        });
    }
    causes
}

/// The first op in run order among those with the most local error, so that an overflow is
/// blamed where it starts.
fn worst_local(report: &FormatReport) -> Option<&super::OpStats> {
    report
        .ops
        .iter()
        .filter(|op| op.local.mean_bits() > 0.0)
        .fold(None, |best: Option<&super::OpStats>, op| match best {
            Some(b) if b.local.mean_bits() >= op.local.mean_bits() => Some(b),
            _ => Some(op),
        })
}

/// What a stored constant did in this run: whether it mattered, and if not, why not.
fn constant_sentence(report: &FormatReport, constant: &ConstantReport) -> Option<(bool, String)> {
    let label = constant.constant.label();
    let name = constant.constant.name();
    let stored = &constant.stored;
    let fact = match stored.class {
        Class::Zero => format!("{label} = {} is stored as 0 (it underflows)", constant.text),
        Class::Subnormal => format!(
            "{label} = {} is stored as the subnormal {} ({:.1}% off)",
            constant.text,
            shortest(stored.value),
            stored.rel_error * 100.0
        ),
        _ => return None,
    };
    let in_chain = report.chain.as_ref().is_some_and(|chain| {
        chain
            .links
            .iter()
            .any(|l| l.constant.as_deref() == Some(name))
    });
    let zero_denominators = constant.denominators.as_ref().map_or(0, |d| d.zero);
    let uses = report.constant_uses.iter().find(|u| u.name == name);
    let mattered = in_chain
        || zero_denominators > 0
        || (stored.class == Class::Subnormal && uses.is_some_and(|u| u.changed > 0));
    if mattered {
        return Some((true, fact));
    }
    let before = if report.chain.is_some() {
        " before the first inf or NaN"
    } else {
        ""
    };
    let why = match (stored.class, constant.denominators.as_ref(), uses) {
        (Class::Zero, Some(d), _) => format!("none of the {} is zero", d.what),
        (_, _, Some(u)) if u.evaluated == 0 => format!("no op added it{before}"),
        (Class::Subnormal, _, Some(_)) => {
            format!("it was absorbed in every sum it entered{before}")
        }
        _ => "no result depended on it".to_string(),
    };
    Some((
        false,
        format!("{fact}, which played no part in this run ({why})"),
    ))
}

/// A few sentences on one lane: what happened, then its causes by measured impact (see
/// [`causes`]), then the facts that mattered, then those that did not; a mixed lane is also
/// compared with the pure lane of its format when `lanes` (every lane of the run) has one.
pub fn verdict(report: &FormatReport, lanes: &[FormatReport]) -> String {
    let name = report.lane.to_string();
    let mut sentences = Vec::new();
    if report.lane.policy == Policy::Mixed {
        sentences.push(policy_sentence(report));
    }
    let mut causes = causes(report).into_iter();
    match report.first_nonfinite_step {
        Some(step) => {
            let first = loss_word(report.first_nonfinite_loss);
            let last = loss_word(report.final_loss);
            let at_end = if last == first {
                format!("still {last}")
            } else {
                last.to_string()
            };
            let outcome = format!("the loss is {first} at step {step} and {at_end} at the end");
            sentences.push(match &report.chain {
                Some(_) => format!(
                    "{outcome}, from {}",
                    causes.next().map(|c| c.text).unwrap_or_default()
                ),
                None => outcome,
            });
        }
        None => {
            sentences.push(format!(
                "the final loss is {} against the reference's {} (relative drift {:.2e}; parameters drift {:.2e})",
                shortest(report.final_loss),
                shortest(report.reference_loss),
                report.loss_rel_drift,
                report.param_rel_drift
            ));
            if let Some(chain) = &report.chain {
                let what = if chain.ends_in_explosion() {
                    "the weights explode"
                } else {
                    "the loss stays finite, but ops store inf or NaN"
                };
                sentences.push(format!(
                    "{what} from {}",
                    causes.next().map(|c| c.text).unwrap_or_default()
                ));
            }
        }
    }
    let causes: Vec<Cause> = causes.collect();
    let (local, named): (Vec<Cause>, Vec<Cause>) = causes
        .into_iter()
        .partition(|c| c.kind == CauseKind::LocalError);
    sentences.extend(named.into_iter().map(|c| c.text));
    let constants: Vec<(bool, String)> = report
        .constants
        .iter()
        .filter_map(|c| constant_sentence(report, c))
        .collect();
    sentences.extend(constants.iter().filter(|c| c.0).map(|c| c.1.clone()));
    let zero_denominators = report
        .constants
        .iter()
        .filter_map(|c| c.denominators.as_ref());
    for denominators in zero_denominators.filter(|d| d.zero > 0) {
        sentences.push(format!(
            "{} of {} {} are zero",
            denominators.zero, denominators.targets, denominators.what
        ));
    }
    sentences.extend(local.into_iter().map(|c| c.text));
    sentences.extend(constants.into_iter().filter(|c| !c.0).map(|c| c.1));
    if report.lane.policy == Policy::Mixed {
        sentences.extend(gradient_sentence(report));
        sentences.push(remedy_sentence(report, lanes));
    }
    format!("{name}: {}.", sentences.join("; "))
}

fn percent(share: Option<f64>) -> String {
    share.map_or("-".into(), |s| format!("{:.2}%", s * 100.0))
}

/// How a mixed lane ran: its formats and what its loss scale did.
fn policy_sentence(report: &FormatReport) -> String {
    let formats = format!(
        "{} compute with f32 master weights, optimizer and loss",
        report.lane.format
    );
    let scales = &report.scales;
    match (scales.last, scales.min) {
        (Some(last), Some(min)) => format!(
            "{formats}, loss scaling: {} of {} steps skipped for inf/NaN gradients, scale {} at the end (smallest {})",
            scales.skipped_steps,
            report.steps,
            shortest(f64::from(last)),
            shortest(f64::from(min))
        ),
        _ => format!("{formats}, no loss scaling"),
    }
}

/// What happened to the gradients: how many flushed to zero, with and without the scale.
fn gradient_sentence(report: &FormatReport) -> Option<String> {
    let flow = &report.flow;
    let scaled = flow.underflow_share()?;
    let unscaled = flow.underflow_share_unscaled()?;
    Some(if report.scales.last.is_some() {
        format!(
            "{} of the gradient elements that are nonzero in the reference flushed to zero with the scale ({} would without it)",
            percent(Some(scaled)),
            percent(Some(unscaled))
        )
    } else if unscaled > 0.0 {
        format!(
            "{} of the gradient elements that are nonzero in the reference flushed to zero (loss scaling, not run here, is the usual remedy: --loss-scale dynamic)",
            percent(Some(scaled))
        )
    } else {
        format!(
            "{} of the gradient elements that are nonzero in the reference flushed to zero",
            percent(Some(scaled))
        )
    })
}

/// The mixed lane against the pure lane of its format, on what both runs measured.
fn remedy_sentence(report: &FormatReport, lanes: &[FormatReport]) -> String {
    let pure = report.lane.format;
    let Some(other) = lanes
        .iter()
        .find(|l| l.lane.format == pure && l.lane.policy == Policy::Pure)
    else {
        return format!("pure {pure} was not run (add it to --formats to compare)");
    };
    let outcome = |r: &FormatReport| match r.first_nonfinite_step {
        Some(step) => format!("{} from step {step}", loss_word(r.first_nonfinite_loss)),
        None => format!("finite, drift {:.2e}", r.loss_rel_drift),
    };
    format!(
        "against pure {pure}: loss {} here, {} there; gradient underflow {} here, {} there; lost updates {} here, {} there",
        outcome(report),
        outcome(other),
        percent(report.flow.underflow_share()),
        percent(other.flow.underflow_share()),
        percent(report.flow.lost_share()),
        percent(other.flow.lost_share()),
    )
}
