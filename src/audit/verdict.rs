//! Plain-language verdicts: what a user should take away about one format.

use super::FormatReport;
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

/// A few sentences on one lane, most serious finding first; a mixed lane is also compared with
/// the pure lane of its format when `lanes` (every lane of the run) has one.
pub fn verdict(report: &FormatReport, lanes: &[FormatReport]) -> String {
    let name = report.lane.to_string();
    let mut sentences = Vec::new();
    if report.lane.policy == Policy::Mixed {
        sentences.push(policy_sentence(report));
    }
    for constant in &report.constants {
        let label = constant.constant.label();
        let stored = &constant.stored;
        match stored.class {
            Class::Zero => sentences.push(format!(
                "{label} = {} is stored as 0 (it underflows)",
                constant.text
            )),
            Class::Subnormal => sentences.push(format!(
                "{label} = {} is stored as the subnormal {} ({:.1}% off)",
                constant.text,
                shortest(stored.value),
                stored.rel_error * 100.0
            )),
            _ => {}
        }
    }
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
    match report.first_nonfinite_step {
        Some(step) => {
            let first = loss_word(report.first_nonfinite_loss);
            let last = loss_word(report.final_loss);
            let at_end = if last == first { format!("still {last}") } else { last.to_string() };
            sentences.push(format!("the loss is {first} at step {step} and {at_end} at the end"));
        }
        None => sentences.push(format!(
            "the final loss is {} against the reference's {} (relative drift {:.2e}; parameters drift {:.2e})",
            shortest(report.final_loss),
            shortest(report.reference_loss),
            report.loss_rel_drift,
            report.param_rel_drift
        )),
    }
    // The first op in run order among the worst, so that an overflow is blamed where it starts.
    let worst = report
        .ops
        .iter()
        .filter(|op| op.local.mean_bits() > 0.0)
        .fold(None, |best: Option<&super::OpStats>, op| match best {
            Some(b) if b.local.mean_bits() >= op.local.mean_bits() => Some(b),
            _ => Some(op),
        });
    if let Some(op) = worst {
        if op.local.mean_bits().is_finite() {
            sentences.push(format!(
                "most local error enters at {} ({:.2} bits on average)",
                op.op,
                op.local.mean_bits()
            ));
        } else {
            sentences.push(format!(
                "{} stores inf or NaN where its exact result is finite",
                op.op
            ));
        }
    }
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
