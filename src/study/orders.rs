//! Reduction-order noise: one seed, K seeded summation orders of every reduction — what
//! nondeterministic parallel hardware does — and how much each format's results spread.

use crate::audit::{self, AuditConfig, AuditResult, DiscardSteps};
use crate::format::text::shortest;
use crate::kernel::Order;
use crate::study::stats::{Summary, summarize};
use crate::study::sweep::in_parallel;
use crate::train::LaneSpec;

/// One format's spread over orders.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatOrders {
    /// The format.
    pub lane: LaneSpec,
    /// Its final whole-data loss over orders.
    pub loss: Summary,
    /// The smallest and the largest final loss over orders (NaN when any loss is NaN).
    pub loss_range: (f64, f64),
    /// The reference's final loss over the same orders.
    pub reference: Summary,
    /// mean(format − reference) over orders.
    pub drift: f64,
    /// |drift| / the format's order-to-order standard deviation; NaN with a single order,
    /// which shows no spread to compare with.
    pub drift_to_order_spread: f64,
    /// The finding in plain words.
    pub verdict: String,
}

/// One op of one format over orders.
#[derive(Clone, Debug, PartialEq)]
pub struct OpOrders {
    /// The format.
    pub lane: LaneSpec,
    /// The op.
    pub op: String,
    /// Its mean relative accumulated error over orders.
    pub acc_mean_rel: Summary,
    /// Its mean bits of local error over orders.
    pub local_mean_bits: Summary,
}

/// One format's final loss under one summation order.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderOutcome {
    /// The order's seed (1-based).
    pub order_seed: u64,
    /// The format.
    pub lane: LaneSpec,
    /// Its whole-data loss after training.
    pub final_loss: f64,
    /// The reference's, under the same order.
    pub reference_loss: f64,
}

/// Every format's outcome under every order, order by order.
pub fn outcomes(results: &[AuditResult]) -> Vec<OrderOutcome> {
    (1..)
        .zip(results)
        .flat_map(|(order_seed, result)| {
            result.formats.iter().map(move |f| OrderOutcome {
                order_seed,
                lane: f.lane,
                final_loss: f.full_loss,
                reference_loss: result.reference_full_loss,
            })
        })
        .collect()
}

/// Runs the audit of `config` once per order seed 1..=orders, in parallel across orders.
pub fn run_orders(
    config: &AuditConfig,
    orders: u64,
    threads: usize,
) -> crate::Result<Vec<AuditResult>> {
    // Each job copies the configuration (the data included) when it starts, so that only the
    // audits running at the same time hold a copy.
    let seeds: Vec<u64> = (1..=orders).collect();
    in_parallel(&seeds, threads, |&seed| {
        let mut config = config.clone();
        config.train.reduction.order = Order::Shuffled(seed);
        config.threads = 1;
        config.verify_reference = false;
        audit::run(&config, &mut DiscardSteps, &mut |_, _| {})
    })
    .into_iter()
    .collect()
}

/// The smallest and largest of `values`. `f64::min` and `f64::max` skip NaN (an all-NaN sample
/// would give inf and −inf): a NaN makes both extremes NaN, as it makes the mean NaN.
fn range(values: &[f64]) -> (f64, f64) {
    if values.iter().any(|v| v.is_nan()) {
        return (f64::NAN, f64::NAN);
    }
    (
        values.iter().copied().fold(f64::INFINITY, f64::min),
        values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Per format: the spread of the final loss over orders against the drift from the reference.
pub fn summarize_orders(results: &[AuditResult]) -> (Vec<FormatOrders>, Vec<OpOrders>) {
    let Some(first) = results.first() else {
        return (Vec::new(), Vec::new());
    };
    let reference: Vec<f64> = results.iter().map(|r| r.reference_full_loss).collect();
    let mut formats = Vec::new();
    let mut ops = Vec::new();
    for (index, report) in first.formats.iter().enumerate() {
        let losses: Vec<f64> = results.iter().map(|r| r.formats[index].full_loss).collect();
        let drifts: Vec<f64> = losses.iter().zip(&reference).map(|(l, r)| l - r).collect();
        let loss = summarize(&losses);
        let drift = summarize(&drifts).mean;
        // One order shows no spread (the standard deviation of one value is 0): nothing to
        // compare the drift with.
        let ratio = if loss.n < 2 {
            f64::NAN
        } else if loss.std_dev == 0.0 {
            if drift == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            drift.abs() / loss.std_dev
        };
        let name = report.lane.to_string();
        let verdict = if loss.nonfinite > 0 {
            format!(
                "{name}'s loss is not finite in {} of {} orders",
                loss.nonfinite, loss.n
            )
        } else if loss.n < 2 {
            format!(
                "{name}: with {} order the spread over summation orders cannot be measured; run at least 2 orders",
                loss.n
            )
        } else if loss.std_dev == 0.0 {
            format!(
                "{name}'s loss does not move with the summation order: its drift from the reference ({}) is the format's",
                shortest(drift)
            )
        } else if ratio >= 1.0 {
            format!(
                "{name}'s drift from the reference ({}) is {:.1}× its spread over summation orders ({}): the format, not the order, explains it",
                shortest(drift),
                ratio,
                shortest(loss.std_dev)
            )
        } else {
            format!(
                "{name}'s drift from the reference ({}) is within its spread over summation orders ({}): reordering sums moves it as much",
                shortest(drift),
                shortest(loss.std_dev)
            )
        };
        formats.push(FormatOrders {
            lane: report.lane,
            loss,
            loss_range: range(&losses),
            reference: summarize(&reference),
            drift,
            drift_to_order_spread: ratio,
            verdict,
        });
        for (op_index, op) in report.ops.iter().enumerate() {
            let column = |pick: &dyn Fn(&crate::audit::OpStats) -> f64| -> Vec<f64> {
                results
                    .iter()
                    .map(|r| pick(&r.formats[index].ops[op_index]))
                    .collect()
            };
            ops.push(OpOrders {
                lane: report.lane,
                op: op.op.clone(),
                acc_mean_rel: summarize(&column(&|o| o.accumulated.mean_rel())),
                local_mean_bits: summarize(&column(&|o| o.local.mean_bits())),
            });
        }
    }
    (formats, ops)
}
