//! Plain-language verdicts: what a user should take away about one format.

use super::FormatReport;
use crate::format::Class;
use crate::format::text::shortest;

/// A few sentences on one format, most serious finding first.
pub fn verdict(report: &FormatReport) -> String {
    let name = report.format.name();
    let mut sentences = Vec::new();
    for constant in &report.constants {
        let label = if constant.name == "eps" {
            "eps"
        } else {
            "the Adam eps"
        };
        match constant.class {
            Class::Zero => sentences.push(format!(
                "{label} = {} is stored as 0 (it underflows)",
                constant.text
            )),
            Class::Subnormal => sentences.push(format!(
                "{label} = {} is stored as the subnormal {} ({:.1}% off)",
                constant.text,
                shortest(constant.stored),
                constant.rel_error * 100.0
            )),
            _ => {}
        }
    }
    if report.zero_denominators > 0 {
        sentences.push(format!(
            "{} of {} loss denominators |y| + eps are zero",
            report.zero_denominators, report.targets
        ));
    }
    match report.first_nonfinite_step {
        Some(step) => {
            let what = if report.final_loss.is_nan() || report.events.get(super::EventKind::Nan) > 0 && report.final_loss.is_nan() {
                "NaN"
            } else if report.final_loss.is_infinite() {
                "inf"
            } else {
                "not finite"
            };
            if step == 1 && !report.final_loss.is_finite() {
                sentences.push(format!("the loss is {what} from step 1"));
            } else {
                sentences.push(format!("the loss is first not finite at step {step}; at the end it is {}", shortest(report.final_loss)));
            }
        }
        None => sentences.push(format!(
            "the final loss is {} against the reference's {} (relative drift {:.2e}; parameters drift {:.2e})",
            shortest(report.final_loss),
            shortest(report.reference_loss),
            report.loss_rel_drift,
            report.param_rel_drift
        )),
    }
    if let Some(op) = report
        .ops
        .iter()
        .filter(|op| op.local.max_rel > 0.0)
        .max_by(|a, b| a.local.mean_bits().total_cmp(&b.local.mean_bits()))
        && op.local.mean_bits() > 0.0
    {
        sentences.push(format!(
            "most local error enters at {} ({:.2} bits on average)",
            op.op,
            op.local.mean_bits()
        ));
    }
    format!("{name}: {}.", sentences.join("; "))
}
