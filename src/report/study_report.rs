//! The studies' tables, each defined once — seed sweeps (`sweep.csv`, `sweep_summary.csv`),
//! reduction-order noise (`orders.csv`, `orders_summary.csv`, `orders_ops.csv`) and the
//! epsilon advisor (`advice.csv`) — and their terminal reports.

use std::fmt::Write;

use serde_json::json;

use crate::error::Error;
use crate::format::text::shortest;
use crate::report::Output;
use crate::report::files::CsvDir;
use crate::report::schema::{Cell, Column, Schema, Style, json_text};
use crate::study::EpsAdvice;
use crate::study::orders::{FormatOrders, OpOrders, OrderOutcome};
use crate::study::sweep::{FormatSweep, SeedOutcome, SeedRun};

fn interval((low, high): (f64, f64)) -> String {
    let sci = |x: f64| Style::Sci.text(&Cell::Number(x));
    format!("[{}, {}]", sci(low), sci(high))
}

/// A row of `sweep.csv`: one format under one seed.
pub type SweepRow<'a> = (&'a SeedRun, &'a SeedOutcome);

/// `sweep.csv`: one row per seed × format.
pub fn sweep<'a>() -> Schema<'a, SweepRow<'a>> {
    Schema::new(vec![
        Column::new("seed", "seed", "", Style::Plain, |(run, _): &SweepRow| {
            run.seed
        }),
        Column::new("format", "format", "", Style::Plain, |(_, f): &SweepRow| {
            f.lane.to_string()
        }),
        Column::new(
            "final_loss",
            "final loss",
            "loss",
            Style::Sci,
            |(_, f): &SweepRow| f.final_loss,
        ),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |(run, _): &SweepRow| run.reference_loss,
        ),
        Column::new("drift", "drift", "loss", Style::Sci, |(_, f): &SweepRow| {
            f.drift
        }),
        Column::new(
            "rel_drift",
            "rel drift",
            "relative",
            Style::Sci,
            |(_, f): &SweepRow| f.rel_drift,
        ),
        Column::new(
            "first_nonfinite_step",
            "nonfinite@",
            "step",
            Style::Plain,
            |(_, f): &SweepRow| f.first_nonfinite_step,
        ),
    ])
}

/// The rows of `sweep.csv`.
pub fn sweep_rows(runs: &[SeedRun]) -> Vec<SweepRow<'_>> {
    runs.iter()
        .flat_map(|run| run.formats.iter().map(move |f| (run, f)))
        .collect()
}

/// `sweep_summary.csv`: one row per format; the terminal shows the essentials.
pub fn sweep_summary<'s>() -> Schema<'s, FormatSweep> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |f: &FormatSweep| {
            f.lane.to_string()
        }),
        Column::new("seeds", "seeds", "", Style::Plain, |f: &FormatSweep| {
            f.loss.n
        })
        .files_only(),
        Column::new(
            "nonfinite_seeds",
            "nonfinite",
            "",
            Style::Plain,
            |f: &FormatSweep| f.nonfinite_seeds,
        )
        .files_only(),
        Column::new(
            "loss_mean",
            "mean loss",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.loss.mean,
        ),
        Column::new("loss_std", "std", "loss", Style::Sci, |f: &FormatSweep| {
            f.loss.std_dev
        }),
        Column::new(
            "loss_ci_low",
            "ci low",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.loss.ci95.0,
        )
        .files_only(),
        Column::new(
            "loss_ci_high",
            "ci high",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.loss.ci95.1,
        )
        .files_only(),
        Column::new(
            "loss_ci",
            "95% CI",
            "loss",
            Style::Plain,
            |f: &FormatSweep| interval(f.loss.ci95),
        )
        .terminal_only(),
        Column::new(
            "reference_mean",
            "reference",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.reference.mean,
        )
        .files_only(),
        Column::new(
            "reference_std",
            "reference std",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.reference.std_dev,
        )
        .files_only(),
        Column::new(
            "drift_mean",
            "mean drift",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.drift.mean,
        ),
        Column::new(
            "drift_ci_low",
            "drift ci low",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.drift.ci95.0,
        )
        .files_only(),
        Column::new(
            "drift_ci_high",
            "drift ci high",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.drift.ci95.1,
        )
        .files_only(),
        Column::new(
            "drift_ci",
            "drift 95% CI",
            "loss",
            Style::Plain,
            |f: &FormatSweep| interval(f.drift.ci95),
        )
        .terminal_only(),
        Column::new("t", "t", "", Style::Sci, |f: &FormatSweep| f.drift.t).files_only(),
        Column::new("p_value", "p", "", Style::Sci, |f: &FormatSweep| {
            f.drift.p_value
        }),
        Column::new(
            "noise_floor",
            "noise floor",
            "loss",
            Style::Sci,
            |f: &FormatSweep| f.drift.noise_floor,
        ),
        Column::new(
            "ratio_to_noise",
            "drift/noise",
            "",
            Style::Sci,
            |f: &FormatSweep| f.drift.ratio_to_noise,
        ),
        Column::new(
            "significance",
            "finding",
            "",
            Style::Plain,
            |f: &FormatSweep| f.significance.name(),
        ),
        Column::new("verdict", "verdict", "", Style::Plain, |f: &FormatSweep| {
            f.verdict.clone()
        })
        .files_only(),
    ])
}

/// The sweep as the terminal shows it.
pub fn sweep_text(reference: &str, runs: &[SeedRun], formats: &[FormatSweep]) -> String {
    let mut out = String::new();
    let seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    let _ = writeln!(
        out,
        "precision-audit seed sweep: {} seed{} ({}..={}) against the reference {reference}; the loss is over the whole data set after training\n",
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" },
        seeds.first().copied().unwrap_or_default(),
        seeds.last().copied().unwrap_or_default(),
    );
    out.push_str(&sweep_summary().table(formats).render());
    let _ = writeln!(out, "\nVerdict:");
    for f in formats {
        let _ = writeln!(out, "  {}.", f.verdict.trim_end_matches('.'));
    }
    out
}

/// `orders.csv`: each format's final loss under each order.
pub fn orders<'s>() -> Schema<'s, OrderOutcome> {
    Schema::new(vec![
        Column::new(
            "order_seed",
            "order",
            "",
            Style::Plain,
            |o: &OrderOutcome| o.order_seed,
        ),
        Column::new("format", "format", "", Style::Plain, |o: &OrderOutcome| {
            o.lane.to_string()
        }),
        Column::new(
            "final_loss",
            "final loss",
            "loss",
            Style::Sci,
            |o: &OrderOutcome| o.final_loss,
        ),
        Column::new(
            "reference_loss",
            "reference",
            "loss",
            Style::Sci,
            |o: &OrderOutcome| o.reference_loss,
        ),
    ])
}

/// `orders_summary.csv`: one row per format.
pub fn orders_summary<'s>() -> Schema<'s, FormatOrders> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |f: &FormatOrders| {
            f.lane.to_string()
        }),
        Column::new("orders", "orders", "", Style::Plain, |f: &FormatOrders| {
            f.loss.n
        }),
        Column::new(
            "loss_mean",
            "mean loss",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.loss.mean,
        ),
        Column::new(
            "loss_std",
            "order spread (std)",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.loss.std_dev,
        ),
        Column::new(
            "loss_min",
            "min loss",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.loss_range.0,
        ),
        Column::new(
            "loss_max",
            "max loss",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.loss_range.1,
        ),
        Column::new(
            "reference_mean",
            "reference",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.reference.mean,
        ),
        Column::new(
            "drift_mean",
            "drift from reference",
            "loss",
            Style::Sci,
            |f: &FormatOrders| f.drift,
        ),
        Column::new(
            "drift_to_order_spread",
            "drift/spread",
            "",
            Style::Sci,
            |f: &FormatOrders| f.drift_to_order_spread,
        ),
        Column::new(
            "verdict",
            "verdict",
            "",
            Style::Plain,
            |f: &FormatOrders| f.verdict.clone(),
        ),
    ])
    .terminal_order(&[
        "format",
        "loss_mean",
        "loss_std",
        "drift_mean",
        "drift_to_order_spread",
    ])
}

/// `orders_ops.csv`: the spread of every op's errors over orders.
pub fn orders_ops<'s>() -> Schema<'s, OpOrders> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |o: &OpOrders| {
            o.lane.to_string()
        }),
        Column::new("op", "op", "", Style::Plain, |o: &OpOrders| o.op.clone()),
        Column::new("orders", "orders", "", Style::Plain, |o: &OpOrders| {
            o.acc_mean_rel.n
        }),
        Column::new(
            "acc_mean_rel_mean",
            "acc mean rel (mean)",
            "relative",
            Style::Sci,
            |o: &OpOrders| o.acc_mean_rel.mean,
        ),
        Column::new(
            "acc_mean_rel_std",
            "std over orders",
            "relative",
            Style::Sci,
            |o: &OpOrders| o.acc_mean_rel.std_dev,
        ),
        Column::new(
            "local_mean_bits_mean",
            "local mean bits (mean)",
            "bits",
            Style::Sci,
            |o: &OpOrders| o.local_mean_bits.mean,
        ),
        Column::new(
            "local_mean_bits_std",
            "local std over orders",
            "bits",
            Style::Sci,
            |o: &OpOrders| o.local_mean_bits.std_dev,
        ),
    ])
    .terminal_order(&["format", "op", "acc_mean_rel_mean", "acc_mean_rel_std"])
}

/// The order study as the terminal shows it.
pub fn orders_text(orders: u64, formats: &[FormatOrders], ops: &[OpOrders]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "precision-audit order study: {orders} seeded summation order{} of every reduction; the loss is over the whole data set after training\n",
        if orders == 1 { "" } else { "s" }
    );
    out.push_str(&orders_summary().table(formats).render());
    let _ = writeln!(
        out,
        "\nOps whose accumulated error moves most with the order:"
    );
    let mut moving = Vec::new();
    for format in formats {
        let mut mine: Vec<&OpOrders> = ops
            .iter()
            .filter(|o| o.lane == format.lane && o.acc_mean_rel.std_dev > 0.0)
            .collect();
        mine.sort_by(|a, b| b.acc_mean_rel.std_dev.total_cmp(&a.acc_mean_rel.std_dev));
        moving.extend(mine.into_iter().take(3));
    }
    if moving.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&orders_ops().table(moving).render());
    }
    let _ = writeln!(out, "\nVerdict:");
    for f in formats {
        let _ = writeln!(out, "  {}.", f.verdict);
    }
    out
}

/// `advice.csv`: what each format does to each constant, and the range that works there.
pub fn advice<'s>() -> Schema<'s, EpsAdvice> {
    Schema::new(vec![
        Column::new("format", "format", "", Style::Plain, |a: &EpsAdvice| {
            a.lane.to_string()
        }),
        Column::new("constant", "constant", "", Style::Plain, |a: &EpsAdvice| {
            a.constant.name().to_string()
        }),
        Column::new("guards", "guards", "", Style::Plain, |a: &EpsAdvice| {
            a.role.name()
        })
        .files_only(),
        Column::new("given", "given", "", Style::Plain, |a: &EpsAdvice| {
            Cell::Decimal(a.given.clone())
        })
        .files_only(),
        Column::new("stored", "stored", "", Style::Plain, |a: &EpsAdvice| {
            a.stored
        }),
        Column::new("class", "class", "", Style::Plain, |a: &EpsAdvice| {
            a.class.name()
        }),
        Column::new(
            "rel_error",
            "rel error",
            "relative",
            Style::Sci,
            |a: &EpsAdvice| a.rel_error,
        )
        .files_only(),
        Column::new(
            "smallest_unflushed",
            "smallest unflushed",
            "",
            Style::Plain,
            |a: &EpsAdvice| a.smallest_unflushed,
        )
        .files_only(),
        Column::new(
            "accurate_from",
            "within 1% from",
            "",
            Style::Plain,
            |a: &EpsAdvice| Some(a.accurate_from).filter(|x| !x.is_nan()),
        )
        .files_only(),
        Column::new(
            "absorbed_share",
            "absorbed",
            "share",
            Style::Percent,
            |a: &EpsAdvice| a.absorbed_share,
        ),
        Column::new(
            "zero_denominators",
            "zero denominators",
            "",
            Style::Plain,
            |a: &EpsAdvice| a.zero_denominators,
        ),
        Column::new(
            "zero_target_weight",
            "y = 0 weight",
            "",
            Style::Sci,
            |a: &EpsAdvice| Some(a.zero_target_weight).filter(|w| !w.is_nan()),
        ),
        Column::new(
            "small_target_bias",
            "y10 bias",
            "relative",
            Style::Sci,
            |a: &EpsAdvice| Some(a.small_target_bias).filter(|b| !b.is_nan()),
        ),
        Column::new(
            "recommended_low",
            "recommended low",
            "",
            Style::Plain,
            |a: &EpsAdvice| a.recommended.0,
        )
        .files_only(),
        Column::new(
            "recommended_high",
            "recommended high",
            "",
            Style::Plain,
            |a: &EpsAdvice| a.recommended.1,
        )
        .files_only(),
        Column::new(
            "recommended",
            "recommended",
            "",
            Style::Plain,
            |a: &EpsAdvice| {
                format!(
                    "[{}, {}]",
                    shortest(a.recommended.0),
                    shortest(a.recommended.1)
                )
            },
        )
        .terminal_only(),
        Column::new("reason", "reason", "", Style::Plain, |a: &EpsAdvice| {
            a.reason.clone()
        })
        .files_only(),
    ])
}

/// The advisor's section of the audit report.
pub fn advice_text(advice: &[EpsAdvice]) -> String {
    let mut out = String::from("\nEpsilon advice:\n");
    if advice.is_empty() {
        out.push_str(
            "  none: this run uses no epsilon (no loss constant in a denominator or a log, no Adam)\n",
        );
        return out;
    }
    out.push_str(&self::advice().table(advice).render());
    for a in advice {
        let _ = writeln!(out, "  {}", a.reason);
    }
    out
}

/// The seed sweep as `--output` asks for it.
pub fn render_sweep(
    output: Output,
    reference: &str,
    runs: &[SeedRun],
    formats: &[FormatSweep],
) -> String {
    match output {
        Output::Table => sweep_text(reference, runs, formats),
        Output::Csv => sweep_summary().csv_text(formats),
        Output::Json => json_text(&json!({
            "runs": sweep().json(&sweep_rows(runs)),
            "formats": sweep_summary().json(formats),
        })),
    }
}

/// Stages `sweep.csv` and `sweep_summary.csv`; the caller commits them, both or neither.
pub fn stage_sweep(
    files: &mut CsvDir,
    runs: &[SeedRun],
    formats: &[FormatSweep],
) -> Result<(), Error> {
    let [runs_file, summary_file] = SWEEP_FILES;
    files.table(runs_file, &sweep(), &sweep_rows(runs))?;
    files.table(summary_file, &sweep_summary(), formats)
}

/// The files [`stage_sweep`] writes.
pub const SWEEP_FILES: [&str; 2] = ["sweep.csv", "sweep_summary.csv"];

/// The files [`stage_orders`] writes.
pub const ORDERS_FILES: [&str; 3] = ["orders.csv", "orders_summary.csv", "orders_ops.csv"];

/// The order study as `--output` asks for it.
pub fn render_orders(
    output: Output,
    count: u64,
    outcomes: &[OrderOutcome],
    formats: &[FormatOrders],
    ops: &[OpOrders],
) -> String {
    match output {
        Output::Table => orders_text(count, formats, ops),
        Output::Csv => orders_summary().csv_text(formats),
        Output::Json => json_text(&json!({
            "orders": orders().json(outcomes),
            "formats": orders_summary().json(formats),
            "ops": orders_ops().json(ops),
        })),
    }
}

/// Stages `orders.csv`, `orders_summary.csv` and `orders_ops.csv`; the caller commits them, all
/// or none.
pub fn stage_orders(
    files: &mut CsvDir,
    outcomes: &[OrderOutcome],
    formats: &[FormatOrders],
    ops: &[OpOrders],
) -> Result<(), Error> {
    let [outcomes_file, summary_file, ops_file] = ORDERS_FILES;
    files.table(outcomes_file, &orders(), outcomes)?;
    files.table(summary_file, &orders_summary(), formats)?;
    files.table(ops_file, &orders_ops(), ops)
}
