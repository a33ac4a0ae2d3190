//! The audit as the terminal shows it: a summary per format, the worst ops, the first events,
//! the constants and a verdict per format.

use std::fmt::Write;

use crate::audit::{AuditResult, EventKind, OpStats, verdict};
use crate::format::text::shortest;
use crate::report::Table;

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
    let mut summary = Table::new([
        "format",
        "bits",
        "acc",
        "final loss",
        "reference",
        "rel drift",
        "max rel drift",
        "param drift",
        "nonfinite@",
        "overflow",
        "underflow",
        "subnormal",
        "nan",
        "inf",
        "div0",
        "absorbed",
        "cancel",
    ]);
    for f in &result.formats {
        let e = |k| f.events.get(k).to_string();
        summary.row([
            f.format.name().to_string(),
            f.precision_bits.to_string(),
            f.accumulate.name().to_string(),
            sci(f.final_loss),
            sci(f.reference_loss),
            sci(f.loss_rel_drift),
            sci(f.max_rel_drift),
            sci(f.param_rel_drift),
            f.first_nonfinite_step
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            e(EventKind::Overflow),
            e(EventKind::Underflow),
            e(EventKind::Subnormal),
            e(EventKind::Nan),
            e(EventKind::Inf),
            e(EventKind::DivByZero),
            e(EventKind::Absorption),
            e(EventKind::Cancellation),
        ]);
    }
    out.push_str(&summary.render());

    for (title, pick) in [
        (
            "Largest local errors (what each op adds by itself)",
            local as fn(&OpStats) -> (f64, f64, f64),
        ),
        (
            "Largest accumulated errors (against the reference trajectory)",
            accumulated,
        ),
    ] {
        let _ = writeln!(out, "\n{title}:");
        let mut table = Table::new(["format", "op", "mean bits", "max rel", "max ulp"]);
        for f in &result.formats {
            let mut ops: Vec<&OpStats> = f.ops.iter().filter(|op| pick(op).0 > 0.0).collect();
            ops.sort_by(|a, b| {
                pick(b)
                    .0
                    .total_cmp(&pick(a).0)
                    .then(pick(b).1.total_cmp(&pick(a).1))
            });
            for op in ops.into_iter().take(TOP_OPS / 2) {
                let (bits, rel, ulp) = pick(op);
                table.row([
                    f.format.name().to_string(),
                    op.op.clone(),
                    format!("{bits:.3}"),
                    sci(rel),
                    sci(ulp),
                ]);
            }
        }
        if table.is_empty() {
            out.push_str("  none: every op was exact\n");
        } else {
            out.push_str(&table.render());
        }
    }

    let _ = writeln!(out, "\nFirst events:");
    let mut events = Table::new([
        "format",
        "event",
        "count",
        "step",
        "op",
        "index",
        "value",
        "exact",
        "reference",
    ]);
    for f in &result.formats {
        for first in &f.first_events {
            events.row([
                f.format.name().to_string(),
                first.kind.name().to_string(),
                f.events.get(first.kind).to_string(),
                first.step.to_string(),
                first.op.clone(),
                first.index.to_string(),
                shortest(first.value),
                shortest(first.exact),
                shortest(first.reference),
            ]);
        }
    }
    if events.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&events.render());
    }

    let _ = writeln!(out, "\nConstants as stored:");
    let mut constants = Table::new([
        "format",
        "constant",
        "given",
        "stored",
        "class",
        "rel error",
    ]);
    for f in &result.formats {
        for c in &f.constants {
            constants.row([
                f.format.name().to_string(),
                c.name.clone(),
                c.text.clone(),
                shortest(c.stored),
                c.class.name().to_string(),
                sci(c.rel_error),
            ]);
        }
    }
    out.push_str(&constants.render());

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
    for f in &result.formats {
        let _ = writeln!(out, "  {}", verdict(f));
    }
    out
}

fn local(op: &OpStats) -> (f64, f64, f64) {
    (op.local.mean_bits(), op.local.max_rel, op.local.max_ulp)
}

fn accumulated(op: &OpStats) -> (f64, f64, f64) {
    (
        op.accumulated.mean_bits(),
        op.accumulated.max_rel,
        op.accumulated.max_ulp,
    )
}
