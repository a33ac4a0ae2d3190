//! Plain-language verdicts: what a user should take away about one format.

use super::FormatReport;
use crate::format::Class;
use crate::format::text::shortest;

fn loss_word(loss: f64) -> &'static str {
    if loss.is_nan() {
        "NaN"
    } else if loss.is_infinite() {
        "inf"
    } else {
        "finite"
    }
}

/// A few sentences on one format, most serious finding first.
pub fn verdict(report: &FormatReport) -> String {
    let name = report.format.name();
    let mut sentences = Vec::new();
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
    let zero_denominators = report.constants.iter().filter_map(|c| c.denominators);
    for denominators in zero_denominators.filter(|d| d.zero > 0) {
        sentences.push(format!(
            "{} of {} loss denominators |y| + eps are zero",
            denominators.zero, denominators.targets
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
    format!("{name}: {}.", sentences.join("; "))
}
