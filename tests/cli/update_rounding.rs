//! `--update-rounding` end to end. A linear model (`--layers ""`) in bf16 with Adam at
//! lr = 0.0001 on the built-in data: each step moves a weight by about lr, while half an ulp
//! of a weight near 0.5–1 is 2⁻⁹–2⁻⁸ ≈ 2e-3–4e-3, so to nearest bf16 loses most updates
//! (absorption on `opt.update`) and its weights stay behind the reference's. Stochastic
//! rounding and Kahan's compensation lose fewer and end closer; the numbers are pinned.

use crate::common::{Audit, MATRIX_DIGITS, significant_digits};
use crate::snapshot;
use crate::support::Table;

/// The model and training of every test here; the formats are added per test.
const LINEAR: [&str; 6] = ["--layers", "", "--loss", "mse", "--lr", "0.0001"];

const ROUNDINGS: [&str; 3] = ["nearest", "stochastic", "kahan"];

/// What one rounding did to bf16.
struct Outcome {
    rounding: &'static str,
    /// Elements of `opt.update` over the run, and how many of them were absorbed.
    updates: u64,
    absorbed: u64,
    param_rel_drift: f64,
    loss_rel_drift: f64,
}

fn audit(rounding: &'static str) -> Outcome {
    let mut args = LINEAR.to_vec();
    args.extend(["--formats", "bf16", "--update-rounding", rounding]);
    let audit = Audit::run(&args);
    audit.assert_ok();
    let config = audit.table("config.csv");
    assert_eq!(
        config.row_where("key", "update_rounding").get("value"),
        rounding,
        "config.csv records the rounding"
    );
    let update = audit.table("ops.csv");
    let update = update.row_matching(&[("format", "bf16"), ("op", "opt.update")]);
    let summary = audit.table("summary.csv");
    let summary = summary.row_where("format", "bf16");
    Outcome {
        rounding,
        updates: update.u64("elements"),
        absorbed: update.u64("absorption"),
        param_rel_drift: summary.f64("param_rel_drift"),
        loss_rel_drift: summary.f64("loss_rel_drift"),
    }
}

#[test]
fn stochastic_and_kahan_lose_fewer_bf16_updates_than_nearest() {
    let [nearest, stochastic, kahan] = ROUNDINGS.map(audit);
    // 400 steps of two weights and a bias; nearest absorbs every weight update.
    assert_eq!(nearest.updates, 1200);
    assert!(nearest.absorbed >= 800, "{}", nearest.absorbed);
    for better in [&stochastic, &kahan] {
        assert_eq!(better.updates, nearest.updates);
        assert!(
            better.absorbed < nearest.absorbed,
            "{} absorbs {} updates, nearest {}",
            better.rounding,
            better.absorbed,
            nearest.absorbed
        );
        assert!(
            better.param_rel_drift < nearest.param_rel_drift / 2.0,
            "{}'s parameters drift {} from the reference's, nearest's {}",
            better.rounding,
            better.param_rel_drift,
            nearest.param_rel_drift
        );
    }
    let mut text = String::from(
        "rounding,opt.update elements,opt.update absorbed,param_rel_drift,loss_rel_drift\n",
    );
    for outcome in [&nearest, &stochastic, &kahan] {
        text.push_str(&format!(
            "{},{},{},{:e},{:e}\n",
            outcome.rounding,
            outcome.updates,
            outcome.absorbed,
            outcome.param_rel_drift,
            outcome.loss_rel_drift
        ));
    }
    snapshot(
        "update_rounding__linear_bf16",
        &format!(
            "precision-audit {} --formats bf16 --update-rounding nearest|stochastic|kahan \
             (the bf16 rows of summary.csv and of opt.update in ops.csv)",
            LINEAR
                .map(|a| if a.is_empty() { "\"\"" } else { a })
                .join(" ")
        ),
        &significant_digits(&text, MATRIX_DIGITS),
    );
}

#[test]
fn stochastic_rounding_is_the_same_on_any_thread_count() {
    let files = |threads: &str| {
        let mut args = LINEAR.to_vec();
        args.extend([
            "--formats",
            "f16,bf16,f32",
            "--update-rounding",
            "stochastic",
            "--epochs",
            "20",
            "--threads",
            threads,
        ]);
        let audit = Audit::run(&args);
        audit.assert_ok();
        audit.files
    };
    let (one, three) = (files("1"), files("3"));
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        three.keys().collect::<Vec<_>>()
    );
    for (name, text) in &one {
        assert!(three[name] == *text, "{name}: --threads 1 and 3 differ");
    }
    let steps = Table::parse(
        "steps.csv",
        std::str::from_utf8(&one["steps.csv"]).expect("UTF-8"),
    );
    assert_eq!(steps.distinct("format"), ["f16", "bf16", "f32"]);
}
