//! Reports of the studies: seed sweeps, reduction-order noise and the epsilon advisor, as
//! terminal tables and CSV rows.

use std::fmt::Write;

use crate::report::Table;
use crate::report::csv_out::number;
use crate::study::EpsAdvice;
use crate::study::orders::{FormatOrders, OpOrders};
use crate::study::sweep::{FormatSweep, SeedRun};

fn sci(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3e}")
    } else {
        number(x)
    }
}

fn interval((low, high): (f64, f64)) -> String {
    format!("[{}, {}]", sci(low), sci(high))
}

/// Columns of `sweep.csv`.
pub const SWEEP_HEADER: &[&str] = &[
    "seed",
    "format",
    "final_loss",
    "reference_loss",
    "drift",
    "rel_drift",
    "first_nonfinite_step",
];

/// Rows of `sweep.csv`: one per seed × format.
pub fn sweep_rows(runs: &[SeedRun]) -> Vec<Vec<String>> {
    runs.iter()
        .flat_map(|run| {
            run.formats.iter().map(move |f| {
                let drift = f.final_loss - run.reference_loss;
                vec![
                    run.seed.to_string(),
                    f.format.name().to_string(),
                    number(f.final_loss),
                    number(run.reference_loss),
                    number(drift),
                    number(if drift == 0.0 {
                        0.0
                    } else {
                        drift.abs() / run.reference_loss.abs()
                    }),
                    f.first_nonfinite_step
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ]
            })
        })
        .collect()
}

/// Columns of `sweep_summary.csv`.
pub const SWEEP_SUMMARY_HEADER: &[&str] = &[
    "format",
    "seeds",
    "nonfinite_seeds",
    "loss_mean",
    "loss_std",
    "loss_ci_low",
    "loss_ci_high",
    "reference_mean",
    "reference_std",
    "drift_mean",
    "drift_ci_low",
    "drift_ci_high",
    "t",
    "p_value",
    "noise_floor",
    "ratio_to_noise",
    "significance",
    "verdict",
];

/// Rows of `sweep_summary.csv`: one per format.
pub fn sweep_summary_rows(formats: &[FormatSweep]) -> Vec<Vec<String>> {
    formats
        .iter()
        .map(|f| {
            vec![
                f.format.name().to_string(),
                f.loss.n.to_string(),
                f.nonfinite_seeds.to_string(),
                number(f.loss.mean),
                number(f.loss.std_dev),
                number(f.loss.ci95.0),
                number(f.loss.ci95.1),
                number(f.reference.mean),
                number(f.reference.std_dev),
                number(f.drift.mean),
                number(f.drift.ci95.0),
                number(f.drift.ci95.1),
                number(f.drift.t),
                number(f.drift.p_value),
                number(f.drift.noise_floor),
                number(f.drift.ratio_to_noise),
                f.significance.name().to_string(),
                f.verdict.clone(),
            ]
        })
        .collect()
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
    let mut table = Table::new([
        "format",
        "mean loss",
        "std",
        "95% CI",
        "mean drift",
        "drift 95% CI",
        "p",
        "noise floor",
        "drift/noise",
        "finding",
    ]);
    for f in formats {
        table.row([
            f.format.name().to_string(),
            sci(f.loss.mean),
            sci(f.loss.std_dev),
            interval(f.loss.ci95),
            sci(f.drift.mean),
            interval(f.drift.ci95),
            sci(f.drift.p_value),
            sci(f.drift.noise_floor),
            sci(f.drift.ratio_to_noise),
            f.significance.name().to_string(),
        ]);
    }
    out.push_str(&table.render());
    let _ = writeln!(out, "\nVerdict:");
    for f in formats {
        let _ = writeln!(out, "  {}.", f.verdict.trim_end_matches('.'));
    }
    out
}

/// Columns of `orders.csv`.
pub const ORDERS_HEADER: &[&str] = &["order_seed", "format", "final_loss", "reference_loss"];

/// Columns of `orders_summary.csv`.
pub const ORDERS_SUMMARY_HEADER: &[&str] = &[
    "format",
    "orders",
    "loss_mean",
    "loss_std",
    "loss_min",
    "loss_max",
    "reference_mean",
    "drift_mean",
    "drift_to_order_spread",
    "verdict",
];

/// Columns of `orders_ops.csv`.
pub const ORDERS_OPS_HEADER: &[&str] = &[
    "format",
    "op",
    "orders",
    "acc_mean_rel_mean",
    "acc_mean_rel_std",
    "local_mean_bits_mean",
    "local_mean_bits_std",
];

/// Rows of `orders_summary.csv` (with min and max over `losses` per format).
pub fn orders_summary_rows(formats: &[FormatOrders], losses: &[Vec<f64>]) -> Vec<Vec<String>> {
    formats
        .iter()
        .zip(losses)
        .map(|(f, losses)| {
            // `f64::min` and `f64::max` skip NaN: an all-NaN sample would give inf and −inf.
            // A NaN loss makes the extremes NaN, as it makes the mean NaN.
            let (min, max) = if losses.iter().any(|l| l.is_nan()) {
                (f64::NAN, f64::NAN)
            } else {
                (
                    losses.iter().copied().fold(f64::INFINITY, f64::min),
                    losses.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                )
            };
            vec![
                f.format.name().to_string(),
                f.loss.n.to_string(),
                number(f.loss.mean),
                number(f.loss.std_dev),
                number(min),
                number(max),
                number(f.reference.mean),
                number(f.drift),
                number(f.drift_to_order_spread),
                f.verdict.clone(),
            ]
        })
        .collect()
}

/// Rows of `orders_ops.csv`.
pub fn orders_ops_rows(ops: &[OpOrders]) -> Vec<Vec<String>> {
    ops.iter()
        .map(|o| {
            vec![
                o.format.name().to_string(),
                o.op.clone(),
                o.acc_mean_rel.n.to_string(),
                number(o.acc_mean_rel.mean),
                number(o.acc_mean_rel.std_dev),
                number(o.local_mean_bits.mean),
                number(o.local_mean_bits.std_dev),
            ]
        })
        .collect()
}

/// The order study as the terminal shows it.
pub fn orders_text(orders: u64, formats: &[FormatOrders], ops: &[OpOrders]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "precision-audit order study: {orders} seeded summation order{} of every reduction; the loss is over the whole data set after training\n",
        if orders == 1 { "" } else { "s" }
    );
    let mut table = Table::new([
        "format",
        "mean loss",
        "order spread (std)",
        "drift from reference",
        "drift/spread",
    ]);
    for f in formats {
        table.row([
            f.format.name().to_string(),
            sci(f.loss.mean),
            sci(f.loss.std_dev),
            sci(f.drift),
            sci(f.drift_to_order_spread),
        ]);
    }
    out.push_str(&table.render());
    let _ = writeln!(
        out,
        "\nOps whose accumulated error moves most with the order:"
    );
    let mut spread = Table::new(["format", "op", "acc mean rel (mean)", "std over orders"]);
    for format in formats {
        let mut mine: Vec<&OpOrders> = ops
            .iter()
            .filter(|o| o.format == format.format && o.acc_mean_rel.std_dev > 0.0)
            .collect();
        mine.sort_by(|a, b| b.acc_mean_rel.std_dev.total_cmp(&a.acc_mean_rel.std_dev));
        for o in mine.into_iter().take(3) {
            spread.row([
                o.format.name().to_string(),
                o.op.clone(),
                sci(o.acc_mean_rel.mean),
                sci(o.acc_mean_rel.std_dev),
            ]);
        }
    }
    if spread.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&spread.render());
    }
    let _ = writeln!(out, "\nVerdict:");
    for f in formats {
        let _ = writeln!(out, "  {}.", f.verdict);
    }
    out
}

/// Columns of `advice.csv`.
pub const ADVICE_HEADER: &[&str] = &[
    "format",
    "constant",
    "given",
    "stored",
    "class",
    "rel_error",
    "smallest_unflushed",
    "absorbed_share",
    "zero_denominators",
    "recommended_low",
    "recommended_high",
    "reason",
];

/// Rows of `advice.csv`.
pub fn advice_rows(advice: &[EpsAdvice]) -> Vec<Vec<String>> {
    advice
        .iter()
        .map(|a| {
            vec![
                a.format.name().to_string(),
                a.name.clone(),
                a.given.clone(),
                number(a.stored),
                a.class.name().to_string(),
                number(a.rel_error),
                number(a.smallest_unflushed),
                number(a.absorbed_share),
                a.zero_denominators.to_string(),
                number(a.recommended.0),
                number(a.recommended.1),
                a.reason.clone(),
            ]
        })
        .collect()
}

/// The advisor's section of the audit report.
pub fn advice_text(advice: &[EpsAdvice]) -> String {
    let mut out = String::from("\nEpsilon advice:\n");
    if advice.is_empty() {
        out.push_str("  none: this run uses no epsilon (neither the relative loss nor Adam)\n");
        return out;
    }
    let mut table = Table::new([
        "format",
        "constant",
        "stored",
        "class",
        "absorbed",
        "zero denominators",
        "recommended",
    ]);
    for a in advice {
        table.row([
            a.format.name().to_string(),
            a.name.clone(),
            number(a.stored),
            a.class.name().to_string(),
            format!("{:.0}%", a.absorbed_share * 100.0),
            a.zero_denominators.to_string(),
            format!("[{}, {}]", number(a.recommended.0), number(a.recommended.1)),
        ]);
    }
    out.push_str(&table.render());
    for a in advice {
        let _ = writeln!(out, "  {}", a.reason);
    }
    out
}
