//! The audit's tables, each defined once: `summary.csv`, `ops.csv`, `steps.csv`,
//! `events.csv`, `exponents.csv`, `constants.csv`, `config.csv`, `data.csv` and
//! `schedule.csv`, and the terminal views of them.

use ndarray::ArrayView1;

use crate::audit::chain::Link;
use crate::audit::{
    AuditConfig, AuditResult, Bin, ConstantReport, ErrorStats, EventCounts, EventKind, Exponents,
    FirstEvent, Flow, FormatReport, OpStats, StepRow, relative_difference,
};
use crate::data::Dataset;
use crate::format::Decimal;
use crate::model::Reduce;
use crate::report::schema::{Cell, Column, Schema, Style};
use crate::train::{LaneSpec, StepPlan};

/// The terminal title of an event count; `None` for the counts only the files carry.
fn event_title(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::NanPropagated => None,
        EventKind::DivByZero => Some("div0"),
        EventKind::Absorption => Some("absorbed"),
        EventKind::Cancellation => Some("cancel"),
        other => Some(other.name()),
    }
}

/// One count column per event kind, in [`EventKind::ALL`] order.
fn event_columns<'s, R: 's>(counts: fn(&R) -> &EventCounts) -> Vec<Column<'s, R>> {
    EventKind::ALL
        .into_iter()
        .map(|kind| {
            let column = Column::new(
                kind.name(),
                event_title(kind).unwrap_or(kind.name()),
                "",
                Style::Plain,
                move |row: &R| counts(row).get(kind),
            );
            match event_title(kind) {
                Some(_) => column,
                None => column.files_only(),
            }
        })
        .collect()
}

/// `summary.csv`: one row per format.
pub fn summary<'s>() -> Schema<'s, FormatReport> {
    let mut columns = vec![
        Column::new("format", "format", "", Style::Plain, |f: &FormatReport| {
            f.lane.to_string()
        }),
        Column::new(
            "precision_bits",
            "bits",
            "bits",
            Style::Plain,
            |f: &FormatReport| f.precision_bits,
        ),
        Column::new("accumulate", "acc", "", Style::Plain, |f: &FormatReport| {
            f.accumulate.name()
        }),
        Column::new("steps", "steps", "", Style::Plain, |f: &FormatReport| {
            f.steps
        })
        .files_only(),
        Column::new(
            "final_loss",
            "final loss",
            "loss",
            Style::Sci,
            |f: &FormatReport| f.final_loss,
        ),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |f: &FormatReport| f.reference_loss,
        ),
        Column::new(
            "loss_abs_drift",
            "abs drift",
            "loss",
            Style::Sci,
            |f: &FormatReport| f.loss_abs_drift,
        )
        .files_only(),
        Column::new(
            "loss_rel_drift",
            "rel drift",
            "relative",
            Style::Sci,
            |f: &FormatReport| f.loss_rel_drift,
        ),
        Column::new(
            "max_rel_drift",
            "max rel drift",
            "relative",
            Style::Sci,
            |f: &FormatReport| f.max_rel_drift,
        ),
        Column::new(
            "param_rel_drift",
            "param drift",
            "relative",
            Style::Sci,
            |f: &FormatReport| f.param_rel_drift,
        ),
        Column::new(
            "first_nonfinite_step",
            "nonfinite@",
            "step",
            Style::Plain,
            |f: &FormatReport| f.first_nonfinite_step,
        ),
    ];
    columns.extend(event_columns(|f: &FormatReport| &f.events));
    columns.extend([
        Column::new(
            "skipped_steps",
            "skipped",
            "",
            Style::Plain,
            |f: &FormatReport| f.scales.last.map(|_| f.scales.skipped_steps),
        ),
        Column::new(
            "final_scale",
            "scale",
            "",
            Style::Plain,
            |f: &FormatReport| f.scales.last.map(f64::from),
        ),
        Column::new(
            "min_scale",
            "min scale",
            "",
            Style::Plain,
            |f: &FormatReport| f.scales.min.map(f64::from),
        ),
    ]);
    columns.extend(flow_columns(|f: &FormatReport| &f.flow));
    Schema::new(columns).terminal_order(&SUMMARY_ON_TERMINAL)
}

/// The summary's columns on the terminal (the loss-scaling and gradient columns have a table
/// of their own: [`precision`]).
const SUMMARY_ON_TERMINAL: [&str; 17] = [
    "format",
    "precision_bits",
    "accumulate",
    "final_loss",
    "reference_loss",
    "loss_rel_drift",
    "max_rel_drift",
    "param_rel_drift",
    "first_nonfinite_step",
    "overflow",
    "underflow",
    "subnormal",
    "nan",
    "inf",
    "div_by_zero",
    "absorption",
    "cancellation",
];

/// The summary's view of what loss scaling and the precision policy did, per lane.
pub fn precision<'s>() -> Schema<'s, FormatReport> {
    summary().terminal_order(&[
        "format",
        "skipped_steps",
        "final_scale",
        "min_scale",
        "grad_underflow",
        "grad_underflow_unscaled",
        "lost_updates",
    ])
}

/// The shares of gradients that underflowed (with and without the loss scale) and of updates
/// that were lost.
fn flow_columns<'s, R: 's>(flow: fn(&R) -> &Flow) -> Vec<Column<'s, R>> {
    vec![
        Column::new(
            "grad_underflow",
            "grad underflow",
            "share",
            Style::FinePercent,
            move |r: &R| flow(r).underflow_share(),
        ),
        Column::new(
            "grad_underflow_unscaled",
            "unscaled",
            "share",
            Style::FinePercent,
            move |r: &R| flow(r).underflow_share_unscaled(),
        ),
        Column::new(
            "lost_updates",
            "lost updates",
            "share",
            Style::FinePercent,
            move |r: &R| flow(r).lost_share(),
        ),
    ]
}

/// A row of `ops.csv`: one op of one format.
pub type OpRow<'a> = (&'a FormatReport, &'a OpStats);

/// `ops.csv`: per format, ops in the order they run.
pub fn ops<'a>() -> Schema<'a, OpRow<'a>> {
    let mut columns = vec![
        Column::new("format", "format", "", Style::Plain, |(f, _): &OpRow| {
            f.lane.to_string()
        }),
        Column::new("op", "op", "", Style::Plain, |(_, op): &OpRow| {
            op.op.clone()
        }),
        Column::new("phase", "phase", "", Style::Plain, |(_, op): &OpRow| {
            op.phase().to_string()
        }),
        Column::new(
            "elements",
            "elements",
            "",
            Style::Plain,
            |(_, op): &OpRow| op.elements,
        ),
    ];
    let accumulated: fn(&OpStats) -> &ErrorStats = |op| &op.accumulated;
    let local: fn(&OpStats) -> &ErrorStats = |op| &op.local;
    for (prefix, pick) in [("acc", accumulated), ("local", local)] {
        columns.extend([
            Column::new(
                format!("{prefix}_max_rel"),
                "max rel",
                "relative",
                Style::Sci,
                move |(_, op): &OpRow| pick(op).max_rel,
            ),
            Column::new(
                format!("{prefix}_mean_rel"),
                "mean rel",
                "relative",
                Style::Sci,
                move |(_, op): &OpRow| pick(op).mean_rel(),
            ),
            Column::new(
                format!("{prefix}_max_ulp"),
                "max ulp",
                "ulp",
                Style::Sci,
                move |(_, op): &OpRow| pick(op).max_ulp,
            ),
            Column::new(
                format!("{prefix}_mean_bits"),
                "mean bits",
                "bits",
                Style::Fixed3,
                move |(_, op): &OpRow| pick(op).mean_bits(),
            ),
        ]);
    }
    columns.extend(event_columns(|(_, op): &OpRow| &op.events));
    Schema::new(columns)
}

/// The rows of `ops.csv`.
pub fn op_rows(formats: &[FormatReport]) -> Vec<OpRow<'_>> {
    formats
        .iter()
        .flat_map(|f| f.ops.iter().map(move |op| (f, op)))
        .collect()
}

/// `steps.csv`: one row per step and format, written as the run goes.
pub fn steps<'s>() -> Schema<'s, StepRow> {
    let mut columns = vec![
        Column::new("format", "format", "", Style::Plain, |r: &StepRow| {
            r.lane.to_string()
        }),
        Column::new("epoch", "epoch", "", Style::Plain, |r: &StepRow| r.epoch),
        Column::new("step", "step", "", Style::Plain, |r: &StepRow| r.step),
        Column::new("loss", "loss", "loss", Style::Sci, |r: &StepRow| r.loss),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |r: &StepRow| r.reference_loss,
        ),
        Column::new(
            "abs_drift",
            "abs drift",
            "loss",
            Style::Sci,
            |r: &StepRow| r.abs_drift,
        ),
        Column::new(
            "rel_drift",
            "rel drift",
            "relative",
            Style::Sci,
            |r: &StepRow| r.rel_drift,
        ),
        Column::new(
            "param_rel_drift",
            "param drift",
            "relative",
            Style::Sci,
            |r: &StepRow| r.param_rel_drift,
        ),
    ];
    columns.extend(event_columns(|r: &StepRow| &r.events));
    columns.extend([
        Column::new("loss_scale", "scale", "", Style::Plain, |r: &StepRow| {
            r.scale.map(f64::from)
        }),
        Column::new("skipped", "skipped", "", Style::Plain, |r: &StepRow| {
            r.skipped
        }),
        Column::new(
            "first_nonfinite_grad",
            "nonfinite grad",
            "",
            Style::Plain,
            |r: &StepRow| r.first_nonfinite_grad.clone(),
        ),
    ]);
    columns.extend(flow_columns(|r: &StepRow| &r.flow));
    Schema::new(columns)
}

/// A row of `events.csv`: the first event of one kind in one format.
pub type EventRow<'a> = (&'a FormatReport, &'a FirstEvent);

/// `events.csv`: the first occurrence of each kind per format, with the kind's total.
pub fn events<'a>() -> Schema<'a, EventRow<'a>> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |(f, _): &EventRow| {
            f.lane.to_string()
        }),
        Column::new("kind", "event", "", Style::Plain, |(_, e): &EventRow| {
            e.kind.name()
        }),
        Column::new("op", "op", "", Style::Plain, |(_, e): &EventRow| {
            e.op.clone()
        }),
        Column::new("step", "step", "step", Style::Plain, |(_, e): &EventRow| {
            e.step
        }),
        Column::new("index", "index", "", Style::Plain, |(_, e): &EventRow| {
            e.index
        }),
        Column::new("value", "value", "", Style::Plain, |(_, e): &EventRow| {
            e.value
        }),
        Column::new("exact", "exact", "", Style::Plain, |(_, e): &EventRow| {
            e.exact
        }),
        Column::new(
            "reference",
            "reference",
            "",
            Style::Plain,
            |(_, e): &EventRow| e.reference,
        ),
        Column::new("count", "count", "", Style::Plain, |(f, e): &EventRow| {
            f.events.get(e.kind)
        }),
    ])
    .terminal_order(&[
        "format",
        "kind",
        "count",
        "step",
        "op",
        "index",
        "value",
        "exact",
        "reference",
    ])
}

/// The rows of `events.csv`.
pub fn event_rows(formats: &[FormatReport]) -> Vec<EventRow<'_>> {
    formats
        .iter()
        .flat_map(|f| f.first_events.iter().map(move |e| (f, e)))
        .collect()
}

/// A row of `chains.csv`: one link (0-based index) of one lane's chain to its first inf or NaN.
pub type ChainRow<'a> = (&'a FormatReport, usize, &'a Link);

/// `chains.csv`: per lane that stored an inf or NaN, the chain from the op where it started to
/// the first op that stored one, one row per link (see [`crate::audit::chain`]).
pub fn chains<'a>() -> Schema<'a, ChainRow<'a>> {
    Schema::new(vec![
        Column::new(
            "format",
            "format",
            "",
            Style::Plain,
            |(f, _, _): &ChainRow| f.lane.to_string(),
        ),
        Column::new("link", "link", "", Style::Plain, |(_, i, _): &ChainRow| *i),
        Column::new(
            "step",
            "step",
            "step",
            Style::Plain,
            |(_, _, l): &ChainRow| l.step,
        ),
        Column::new("op", "op", "", Style::Plain, |(_, _, l): &ChainRow| {
            l.op.clone()
        }),
        Column::new(
            "event",
            "event",
            "",
            Style::Plain,
            |(_, _, l): &ChainRow| l.event.name(),
        ),
        Column::new(
            "constant",
            "constant",
            "",
            Style::Plain,
            |(_, _, l): &ChainRow| l.constant.clone(),
        ),
        Column::new(
            "value",
            "value",
            "",
            Style::Plain,
            |(_, _, l): &ChainRow| l.value,
        ),
    ])
}

/// The rows of `chains.csv`.
pub fn chain_rows(formats: &[FormatReport]) -> Vec<ChainRow<'_>> {
    formats
        .iter()
        .flat_map(|f| {
            f.chain
                .iter()
                .flat_map(move |c| c.links.iter().enumerate().map(move |(i, l)| (f, i, l)))
        })
        .collect()
}

/// A row of `exponents.csv`: one bin of one role's histogram in one lane.
pub type ExponentRow<'a> = (&'a FormatReport, &'a Exponents, Bin, u64);

/// `exponents.csv`: per lane and role (activations, gradients, updates; see
/// [`crate::audit::exponents`]), how many values fell in each bin of floor(log2 |x|) over the
/// run, and how many were zero, inf or NaN; `stored_in` is the format the values are stored in.
pub fn exponents<'a>() -> Schema<'a, ExponentRow<'a>> {
    Schema::new(vec![
        Column::new(
            "format",
            "format",
            "",
            Style::Plain,
            |(f, _, _, _): &ExponentRow| f.lane.to_string(),
        ),
        Column::new(
            "role",
            "role",
            "",
            Style::Plain,
            |(_, h, _, _): &ExponentRow| h.role.name(),
        ),
        Column::new(
            "stored_in",
            "stored in",
            "",
            Style::Plain,
            |(_, h, _, _): &ExponentRow| h.stored_in,
        ),
        Column::new(
            "bin",
            "bin",
            "",
            Style::Plain,
            |(_, _, bin, _): &ExponentRow| bin.name(),
        ),
        Column::new(
            "exponent",
            "log2",
            "",
            Style::Plain,
            |(_, _, bin, _): &ExponentRow| bin.exponent(),
        ),
        Column::new(
            "count",
            "count",
            "",
            Style::Plain,
            |(_, _, _, count): &ExponentRow| *count,
        ),
    ])
}

/// The rows of `exponents.csv`.
pub fn exponent_rows(formats: &[FormatReport]) -> Vec<ExponentRow<'_>> {
    formats
        .iter()
        .flat_map(|f| {
            f.exponents
                .iter()
                .flat_map(move |h| h.bins().map(move |(bin, count)| (f, h, bin, count)))
        })
        .collect()
}

/// `constants.csv`: each constant the run uses, per format; a loss constant that guards a
/// denominator or log argument of the targets alone (`|y| + eps`) also says how often
/// adding it to |y| changed nothing, and for how many targets |y| + eps is zero.
pub fn constants<'s>() -> Schema<'s, ConstantReport> {
    Schema::new(vec![
        Column::new(
            "format",
            "format",
            "",
            Style::Plain,
            |c: &ConstantReport| c.lane.to_string(),
        ),
        Column::new(
            "constant",
            "constant",
            "",
            Style::Plain,
            |c: &ConstantReport| c.constant.name().to_string(),
        ),
        Column::new("given", "given", "", Style::Plain, |c: &ConstantReport| {
            Cell::Decimal(c.text.clone())
        }),
        Column::new(
            "stored",
            "stored",
            "",
            Style::Plain,
            |c: &ConstantReport| c.stored.value,
        ),
        Column::new("class", "class", "", Style::Plain, |c: &ConstantReport| {
            c.stored.class.name()
        }),
        Column::new(
            "rel_error",
            "rel error",
            "relative",
            Style::Sci,
            |c: &ConstantReport| c.stored.rel_error,
        ),
        Column::new(
            "eps_lost_share",
            "eps lost",
            "share",
            Style::Percent,
            |c: &ConstantReport| c.denominators.as_ref().and_then(|d| d.eps_lost_share),
        )
        .files_only(),
        Column::new(
            "zero_denominators",
            "zero denominators",
            "",
            Style::Plain,
            |c: &ConstantReport| c.denominators.as_ref().map(|d| d.zero),
        )
        .files_only(),
        Column::new(
            "targets",
            "targets",
            "",
            Style::Plain,
            |c: &ConstantReport| c.denominators.as_ref().map(|d| d.targets),
        )
        .files_only(),
    ])
}

/// The rows of `constants.csv`.
pub fn constant_rows(formats: &[FormatReport]) -> Vec<&ConstantReport> {
    formats.iter().flat_map(|f| &f.constants).collect()
}

/// A row of `config.csv`.
pub type ConfigRow = (&'static str, String);

/// `config.csv`: the configuration as (key, value) rows. `check` refuses a baseline whose
/// configuration differs (except in the formats audited).
pub fn config<'s>() -> Schema<'s, ConfigRow> {
    Schema::new(vec![
        Column::new("key", "key", "", Style::Plain, |(key, _): &ConfigRow| *key),
        Column::new(
            "value",
            "value",
            "",
            Style::Plain,
            |(_, value): &ConfigRow| value.clone(),
        ),
    ])
}

/// The rows of `config.csv`.
pub fn config_rows(config: &AuditConfig) -> Vec<ConfigRow> {
    let train = &config.train;
    let optimizer = &train.optimizer;
    let list = |items: Vec<String>| items.join(",");
    let mut rows = vec![
        (
            "formats",
            list(config.formats.iter().map(LaneSpec::to_string).collect()),
        ),
        ("reference", config.reference.name()),
        ("loss", train.loss.name().into()),
    ];
    let loss_constants: Vec<(&str, &Decimal)> = train.loss.constants().collect();
    if let Some((_, eps)) = loss_constants.iter().find(|(name, _)| *name == "eps") {
        rows.push(("eps", eps.text().into()));
    }
    let others: Vec<String> = loss_constants
        .iter()
        .filter(|(name, _)| *name != "eps")
        .map(|(name, value)| format!("{name}={}", value.text()))
        .collect();
    if !others.is_empty() {
        rows.push(("const", list(others)));
    }
    if train.loss.reduce() != Reduce::Mean {
        rows.push(("loss_reduce", train.loss.reduce().name().into()));
    }
    rows.extend([
        (
            "widths",
            list(
                train
                    .architecture
                    .widths
                    .iter()
                    .map(usize::to_string)
                    .collect(),
            ),
        ),
        ("activation", train.architecture.activation.name().into()),
        ("dropout", Cell::Number(train.architecture.dropout).csv()),
        ("optimizer", optimizer.kind.name().into()),
        ("lr", optimizer.lr.text().into()),
        ("momentum", optimizer.momentum.text().into()),
        ("beta1", optimizer.beta1.text().into()),
        ("beta2", optimizer.beta2.text().into()),
        ("adam_eps", optimizer.adam_eps.text().into()),
        ("update_rounding", optimizer.update_rounding.name().into()),
        ("epochs", train.epochs.to_string()),
        ("batch_size", train.batch_size.to_string()),
        ("seed", train.seed.to_string()),
        ("loss_scale", train.loss_scaling.to_string()),
        ("accumulate", train.reduction.accumulate.name().into()),
        ("order", train.reduction.order.name().into()),
        ("data", config.data.source.clone()),
        ("data_fingerprint", config.data_fingerprint()),
        ("init_fingerprint", config.init_fingerprint()),
    ]);
    // Only runs with promoted lanes have op groups to promote; older result sets lack the key.
    if !train.promote.is_empty() {
        let patterns: Vec<&str> = train.promote.iter().map(|p| p.as_str()).collect();
        rows.push(("promote", patterns.join(",")));
    }
    // Likewise the MX scale rule, for runs with an MX recipe lane.
    if config
        .formats
        .iter()
        .any(|l| l.recipe.is_some_and(crate::train::Recipe::is_mx))
    {
        rows.push(("mx_scale", train.mx_scale.name().into()));
    }
    rows
}

/// A row of `data.csv`: one sample's features and targets.
pub type DataRow<'a> = (ArrayView1<'a, f64>, ArrayView1<'a, f64>);

/// `data.csv`: the data set as the audit used it, at full precision; one column per feature,
/// then the targets, named as in the data set.
pub fn data<'a>(data: &Dataset) -> Schema<'a, DataRow<'a>> {
    let mut columns: Vec<Column<DataRow>> = data
        .feature_names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            Column::new(
                name.clone(),
                name.clone(),
                "",
                Style::Plain,
                move |(x, _): &DataRow| x[j],
            )
        })
        .collect();
    columns.extend(data.target_names.iter().enumerate().map(|(k, name)| {
        Column::new(
            name.clone(),
            name.clone(),
            "",
            Style::Plain,
            move |(_, y): &DataRow| y[k],
        )
    }));
    Schema::new(columns)
}

/// The rows of `data.csv`.
pub fn data_rows(data: &Dataset) -> Vec<DataRow<'_>> {
    data.features
        .rows()
        .into_iter()
        .zip(data.targets.rows())
        .collect()
}

/// A row of `schedule.csv`: which data row a step used at one position of its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleRow {
    /// 1-based step.
    pub step: u64,
    /// 1-based epoch.
    pub epoch: usize,
    /// 0-based position within the batch.
    pub position: usize,
    /// 0-based row of data.csv's data lines.
    pub row: usize,
}

/// `schedule.csv`: which data rows each step used, in order.
pub fn schedule<'s>() -> Schema<'s, ScheduleRow> {
    Schema::new(vec![
        Column::new("step", "step", "", Style::Plain, |r: &ScheduleRow| r.step),
        Column::new("epoch", "epoch", "", Style::Plain, |r: &ScheduleRow| {
            r.epoch
        }),
        Column::new(
            "position",
            "position",
            "",
            Style::Plain,
            |r: &ScheduleRow| r.position,
        ),
        Column::new("row", "row", "", Style::Plain, |r: &ScheduleRow| r.row),
    ])
}

/// The rows of one step of `schedule.csv`.
pub fn schedule_rows(plan: &StepPlan) -> impl Iterator<Item = ScheduleRow> + '_ {
    plan.rows
        .iter()
        .enumerate()
        .map(|(position, &row)| ScheduleRow {
            step: plan.step,
            epoch: plan.epoch,
            position,
            row,
        })
}

/// A row of `rows.csv`: one data row's loss term in one lane and in the reference, at the end.
pub struct RowTerm<'a> {
    /// The lane.
    pub lane: &'a FormatReport,
    /// 0-based, as in data.csv's data lines.
    pub row: usize,
    /// The row's target (with several, the one of smallest magnitude), or its class label.
    pub target: f64,
    /// Whether the targets are class labels (bce, softmax-ce): no target is then "zero".
    pub label: bool,
    /// The reference's loss term.
    pub reference: f64,
    /// The lane's.
    pub term: f64,
    /// The loss's eps, when it has one: what makes a target small.
    pub eps: Option<f64>,
}

/// `rows.csv`: which rows make the loss, and where the lanes lose it: every data row's loss
/// term over the whole data set after training, per lane, against the reference's.
pub fn rows<'a>() -> Schema<'a, RowTerm<'a>> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |r: &RowTerm| {
            r.lane.lane.to_string()
        }),
        Column::new("row", "row", "", Style::Plain, |r: &RowTerm| r.row),
        Column::new("target", "target", "", Style::Plain, |r: &RowTerm| r.target),
        Column::new(
            "reference_term",
            "reference",
            "loss",
            Style::Sci,
            |r: &RowTerm| r.reference,
        ),
        Column::new("term", "term", "loss", Style::Sci, |r: &RowTerm| r.term),
        Column::new(
            "rel_error",
            "rel error",
            "relative",
            Style::Sci,
            |r: &RowTerm| relative_difference(r.term, r.reference),
        ),
        Column::new("zero_target", "y = 0", "", Style::Plain, |r: &RowTerm| {
            (!r.label).then_some(r.target == 0.0)
        }),
        Column::new(
            "small_target",
            "|y| < 10·eps",
            "",
            Style::Plain,
            |r: &RowTerm| {
                r.eps
                    .filter(|_| !r.label)
                    .map(|eps| r.target != 0.0 && r.target.abs() < 10.0 * eps)
            },
        ),
        Column::new(
            "nonfinite",
            "non-finite",
            "",
            Style::Plain,
            |r: &RowTerm| !r.term.is_finite(),
        ),
    ])
}

/// The rows of `rows.csv`, lane by lane.
pub fn row_terms<'a>(config: &AuditConfig, result: &'a AuditResult) -> Vec<RowTerm<'a>> {
    let eps = config
        .train
        .loss
        .constants()
        .find(|(name, _)| *name == "eps")
        .map(|(_, eps)| eps.to_f64());
    let targets = crate::audit::rows::row_targets(&config.data.targets);
    let label = config.train.loss.targets() != crate::model::Targets::Values;
    result
        .formats
        .iter()
        .flat_map(|lane| {
            lane.row_terms
                .iter()
                .zip(&result.reference_row_terms)
                .zip(targets.clone())
                .enumerate()
                .map(move |(row, ((&term, &reference), target))| RowTerm {
                    lane,
                    row,
                    target,
                    label,
                    reference,
                    term,
                    eps,
                })
        })
        .collect()
}
