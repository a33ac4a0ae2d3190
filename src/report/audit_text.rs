//! The audit as the terminal shows it: a summary per format, the worst ops, the first events,
//! the constants and a verdict per format.

use std::fmt::Write;

use crate::audit::{AuditResult, ErrorStats, FormatReport, OpStats, verdict};
use crate::format::text::shortest;
use crate::report::audit_tables::{self as tables, OpRow};
use crate::train::Policy;

/// How many ops the "largest errors" tables list.
const TOP_OPS: usize = 8;

fn sci(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3e}")
    } else {
        shortest(x)
    }
}

/// The whole terminal report.
pub fn render(result: &AuditResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "precision-audit: {} steps against the reference {} ({} bits)\n",
        result.steps, result.reference, result.reference_bits
    );
    out.push_str(&tables::summary().table(&result.formats).render());
    if result
        .formats
        .iter()
        .any(|f| f.lane.policy == Policy::Mixed)
    {
        let _ = writeln!(
            out,
            "\nPrecision policy (loss scale; gradients nonzero in the reference that flushed to zero, with and without the scale; the reference's updates the lane lost):"
        );
        out.push_str(&tables::precision().table(&result.formats).render());
    }

    for (title, prefix, pick) in [
        (
            "Largest local errors (what each op adds by itself)",
            "local",
            (|op: &OpStats| &op.local) as fn(&OpStats) -> &ErrorStats,
        ),
        (
            "Largest accumulated errors (against the reference trajectory)",
            "acc",
            |op: &OpStats| &op.accumulated,
        ),
    ] {
        let _ = writeln!(out, "\n{title}:");
        let rows = largest(&result.formats, pick);
        if rows.is_empty() {
            out.push_str("  none: every op was exact\n");
        } else {
            let columns = ["format", "op", "mean_bits", "max_rel", "max_ulp"].map(|c| match c {
                "format" | "op" => c.to_string(),
                _ => format!("{prefix}_{c}"),
            });
            let view = tables::ops().terminal_order(&columns);
            out.push_str(&view.table(&rows).render());
        }
    }

    let _ = writeln!(out, "\nFirst events:");
    let events = tables::event_rows(&result.formats);
    if events.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&tables::events().table(&events).render());
    }

    let _ = writeln!(out, "\nConstants as stored:");
    let constants = tables::constant_rows(&result.formats);
    out.push_str(&tables::constants().table(constants).render());

    if let Some(check) = &result.reference_check {
        let _ = writeln!(
            out,
            "\nReference check: {} bits against {} bits agree to {:.1} digits (loss: {}, parameters: {}).",
            check.bits,
            check.check_bits,
            check.agreeing_digits(),
            sci(check.max_loss_rel_diff),
            sci(check.param_rel_diff)
        );
    }

    let _ = writeln!(out, "\nVerdict:");
    if let Some(rows) = &result.dominant_rows {
        let _ = writeln!(out, "  rows: {}.", rows.sentence());
    }
    for f in &result.formats {
        let _ = writeln!(out, "  {}", verdict(f, &result.formats));
    }
    out
}

/// The ops with the largest errors by `pick`, the first half of [`TOP_OPS`] per format: most
/// bits first, then largest relative error.
fn largest(formats: &[FormatReport], pick: fn(&OpStats) -> &ErrorStats) -> Vec<OpRow<'_>> {
    let mut rows = Vec::new();
    for f in formats {
        let mut ops: Vec<&OpStats> = f
            .ops
            .iter()
            .filter(|op| pick(op).mean_bits() > 0.0)
            .collect();
        ops.sort_by(|a, b| {
            let (a, b) = (pick(a), pick(b));
            b.mean_bits()
                .total_cmp(&a.mean_bits())
                .then(b.max_rel.total_cmp(&a.max_rel))
        });
        rows.extend(ops.into_iter().take(TOP_OPS / 2).map(|op| (f, op)));
    }
    rows
}
