//! The audit's CSV files: one observation per row, `format` and `op` as columns, plain numbers.

use crate::audit::{AuditResult, EventKind, StepRow};
use crate::report::csv_out::{maybe, number};

/// Columns of `summary.csv`.
pub const SUMMARY_HEADER: &[&str] = &[
    "format",
    "precision_bits",
    "accumulate",
    "steps",
    "final_loss",
    "reference_loss",
    "loss_abs_drift",
    "loss_rel_drift",
    "max_rel_drift",
    "param_rel_drift",
    "first_nonfinite_step",
    "overflow",
    "underflow",
    "subnormal",
    "nan",
    "nan_propagated",
    "inf",
    "div_by_zero",
    "absorption",
    "cancellation",
];

/// Rows of `summary.csv`, one per format.
pub fn summary_rows(result: &AuditResult) -> Vec<Vec<String>> {
    result
        .formats
        .iter()
        .map(|f| {
            let mut row = vec![
                f.format.name().to_string(),
                f.precision_bits.to_string(),
                f.accumulate.name().to_string(),
                f.steps.to_string(),
                number(f.final_loss),
                number(f.reference_loss),
                number(f.loss_abs_drift),
                number(f.loss_rel_drift),
                number(f.max_rel_drift),
                number(f.param_rel_drift),
                f.first_nonfinite_step
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            ];
            row.extend(f.events.iter().map(|(_, n)| n.to_string()));
            row
        })
        .collect()
}

/// Columns of `ops.csv`.
pub fn ops_header() -> Vec<&'static str> {
    let mut header = vec![
        "format",
        "op",
        "phase",
        "elements",
        "acc_max_rel",
        "acc_mean_rel",
        "acc_max_ulp",
        "acc_mean_bits",
        "local_max_rel",
        "local_mean_rel",
        "local_max_ulp",
        "local_mean_bits",
    ];
    header.extend(EventKind::ALL.iter().map(|k| k.name()));
    header
}

/// Rows of `ops.csv`, per format, ops in the order they run.
pub fn ops_rows(result: &AuditResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &result.formats {
        for op in &f.ops {
            let mut row = vec![
                f.format.name().to_string(),
                op.op.clone(),
                op.phase().to_string(),
                op.elements.to_string(),
                number(op.accumulated.max_rel),
                number(op.accumulated.mean_rel()),
                number(op.accumulated.max_ulp),
                number(op.accumulated.mean_bits()),
                number(op.local.max_rel),
                number(op.local.mean_rel()),
                number(op.local.max_ulp),
                number(op.local.mean_bits()),
            ];
            row.extend(op.events.iter().map(|(_, n)| n.to_string()));
            rows.push(row);
        }
    }
    rows
}

/// Columns of `steps.csv`.
pub fn steps_header() -> Vec<&'static str> {
    let mut header = vec![
        "format",
        "epoch",
        "step",
        "loss",
        "reference_loss",
        "abs_drift",
        "rel_drift",
        "param_rel_drift",
    ];
    header.extend(EventKind::ALL.iter().map(|k| k.name()));
    header
}

/// One row of `steps.csv`.
pub fn step_row(row: &StepRow) -> Vec<String> {
    let mut cells = vec![
        row.format.name().to_string(),
        row.epoch.to_string(),
        row.step.to_string(),
        number(row.loss),
        number(row.reference_loss),
        number(row.abs_drift),
        number(row.rel_drift),
        number(row.param_rel_drift),
    ];
    cells.extend(row.events.iter().map(|(_, n)| n.to_string()));
    cells
}

/// Columns of `events.csv`.
pub const EVENTS_HEADER: &[&str] = &[
    "format",
    "kind",
    "op",
    "step",
    "index",
    "value",
    "exact",
    "reference",
    "count",
];

/// Rows of `events.csv`: the first occurrence of each kind per format, with the kind's total.
pub fn events_rows(result: &AuditResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &result.formats {
        for first in &f.first_events {
            rows.push(vec![
                f.format.name().to_string(),
                first.kind.name().to_string(),
                first.op.clone(),
                first.step.to_string(),
                first.index.to_string(),
                number(first.value),
                number(first.exact),
                number(first.reference),
                f.events.get(first.kind).to_string(),
            ]);
        }
    }
    rows
}

/// Columns of `constants.csv`.
pub const CONSTANTS_HEADER: &[&str] = &[
    "format",
    "constant",
    "given",
    "stored",
    "class",
    "rel_error",
    "eps_lost_share",
    "zero_denominators",
    "targets",
];

/// Rows of `constants.csv`: eps and the Adam eps per format; the eps row also says how often
/// adding eps to |y| changed nothing, and how many targets have a zero denominator.
pub fn constants_rows(result: &AuditResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in &result.formats {
        for c in &f.constants {
            let is_eps = c.name == "eps";
            let share =
                (is_eps && f.denominators > 0).then(|| f.eps_lost as f64 / f.denominators as f64);
            rows.push(vec![
                f.format.name().to_string(),
                c.name.clone(),
                c.text.clone(),
                number(c.stored),
                c.class.name().to_string(),
                number(c.rel_error),
                maybe(share),
                if is_eps {
                    f.zero_denominators.to_string()
                } else {
                    String::new()
                },
                if is_eps {
                    f.targets.to_string()
                } else {
                    String::new()
                },
            ]);
        }
    }
    rows
}
