//! The diagnosis benchmark: seeded scenarios, each with one known numerical cause built into
//! its data or its loss, and the assertions that the verdict names that cause first and that
//! `--blame` ranks the op group that holds it first.
//!
//! Each scenario writes a small CSV data set (seeded, generated here), runs the binary with
//! `--output json`, and reads back the lane's causes (in the verdict's order), its verdict and
//! its chain to the first inf or NaN.

/// Helpers shared by the test suites (`tests/support/mod.rs`).
#[path = "../support/mod.rs"]
mod support;

use serde_json::Value;
use support::{Scratch, run};

/// SplitMix64: a small seeded generator, so that the data sets need no file and no crate.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }
}

/// A data set of 100 rows: two features drawn by `features`, the target by `target` from the
/// row's index, its features and the generator.
struct DataSet {
    dir: Scratch,
}

impl DataSet {
    fn new(
        tag: &str,
        seed: u64,
        features: (f64, f64),
        target: impl Fn(usize, [f64; 2], &mut SplitMix) -> f64,
    ) -> DataSet {
        let mut rng = SplitMix(seed);
        let mut text = String::from("x1,x2,y\n");
        for row in 0..100 {
            let x = [
                rng.uniform(features.0, features.1),
                rng.uniform(features.0, features.1),
            ];
            let y = target(row, x, &mut rng);
            text.push_str(&format!("{:?},{:?},{:?}\n", x[0], x[1], y));
        }
        let dir = Scratch::dir(tag);
        std::fs::write(dir.join("data.csv"), text).expect("the data set is written");
        DataSet { dir }
    }

    fn path(&self) -> String {
        self.dir.join("data.csv").to_string_lossy().into_owned()
    }
}

/// `--blame` of one lane: its op groups as the report ranks them (the remedy's first, then by
/// the share of the drift each removes alone), as (group, loss share, in the remedy).
fn blamed(data: &DataSet, lane: &str, args: &[&str]) -> Vec<(String, f64, bool)> {
    let path = data.path();
    let mut full = vec![
        "--data",
        &path,
        "--formats",
        lane,
        "--blame",
        "--output",
        "csv",
    ];
    full.extend_from_slice(args);
    let out = run(&full);
    assert_eq!(out.code, Some(0), "{full:?}: {}", out.stderr);
    let table = support::Table::parse("blame.csv", &out.stdout);
    table
        .rows_where("kind", "group")
        .map(|r| {
            (
                r.get("group").to_string(),
                r.f64("loss_share"),
                r.get("in_remedy") == "true",
            )
        })
        .collect()
}

/// What the audit said about one lane.
struct Diagnosis {
    command: String,
    verdict: String,
    /// (kind, op, text), in the verdict's order.
    causes: Vec<(String, String, String)>,
    /// (step, op, event, constant), head first.
    chain: Vec<(u64, String, String, String)>,
}

impl Diagnosis {
    fn of(data: &DataSet, lane: &str, args: &[&str]) -> Diagnosis {
        let path = data.path();
        let mut full = vec!["--data", &path, "--formats", lane, "--output", "json"];
        full.extend_from_slice(args);
        let command =
            support::command_line(&full.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        let out = run(&full);
        assert_eq!(out.code, Some(0), "{command}: {}", out.stderr);
        let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let causes = json["causes"][lane]
            .as_array()
            .unwrap_or_else(|| panic!("{command}: no causes for {lane}"))
            .iter()
            .map(|c| (text(&c["kind"]), text(&c["op"]), text(&c["text"])))
            .collect();
        let chain = json["chains"]
            .as_array()
            .expect("chains")
            .iter()
            .filter(|l| l["format"] == lane)
            .map(|l| {
                (
                    l["step"].as_u64().expect("step"),
                    text(&l["op"]),
                    text(&l["event"]),
                    text(&l["constant"]),
                )
            })
            .collect();
        Diagnosis {
            verdict: text(&json["verdicts"][lane]),
            command,
            causes,
            chain,
        }
    }

    /// Asserts that the first cause is of `kind` at `op`, and that the verdict names it before
    /// any other cause.
    fn names_first(&self, kind: &str, op: &str) {
        let (first_kind, first_op, first_text) = self
            .causes
            .first()
            .unwrap_or_else(|| panic!("{}: no cause named: {}", self.command, self.verdict));
        assert_eq!(
            (first_kind.as_str(), first_op.as_str()),
            (kind, op),
            "{}: the first cause; verdict: {}",
            self.command,
            self.verdict
        );
        let at = |text: &str| {
            self.verdict.find(text).unwrap_or_else(|| {
                panic!(
                    "{}: `{text}` is in the verdict {}",
                    self.command, self.verdict
                )
            })
        };
        for (_, _, other) in &self.causes[1..] {
            assert!(
                at(first_text) < at(other),
                "{}: the verdict names the first cause first: {}",
                self.command,
                self.verdict
            );
        }
    }

    /// The chain's links as `op event` (with `=constant` for a constant link).
    fn links(&self) -> Vec<String> {
        self.chain
            .iter()
            .map(|(_, op, event, constant)| match constant.as_str() {
                "" => format!("{op} {event}"),
                name => format!("{op} {event}={name}"),
            })
            .collect()
    }
}

/// f16 stores eps = 1e-8 as 0; with zero targets the relative loss divides |y − p| by
/// |y| + 0 = 0 at step 1. The origin is the denominator that *is* the flushed eps.
/// The scenarios' data sets, each with its cause built in (see the test of the same name).
fn eps_zero() -> DataSet {
    DataSet::new("eps-zero", 1, (-1.0, 1.0), |row, _, rng| {
        if row % 5 == 0 {
            0.0
        } else {
            rng.uniform(-2.0, 2.0)
        }
    })
}

fn square() -> DataSet {
    DataSet::new("square", 3, (-1.0, 1.0), |_, x, _| {
        1e3 * (1.0 + 0.5 * x[0] + 0.3 * x[1])
    })
}

fn absorb() -> DataSet {
    DataSet::new("absorb", 4, (-1.0, 1.0), |_, _, rng| rng.uniform(0.0, 1.0))
}

fn adam_v() -> DataSet {
    DataSet::new("adam-v", 4, (0.0, 1.0), |_, _, rng| {
        1e-4 * rng.uniform(0.5, 1.5)
    })
}

fn exp_overflow() -> DataSet {
    DataSet::new("exp", 5, (-1.0, 1.0), |_, _, rng| rng.uniform(-20.0, -12.0))
}

fn cancel() -> DataSet {
    DataSet::new("cancel", 6, (-1.0, 1.0), |_, _, rng| rng.uniform(0.0, 1.0))
}

#[test]
fn eps_flushed_to_zero_with_zero_targets() {
    let data = eps_zero();
    let d = Diagnosis::of(&data, "f16", &["--loss", "relative", "--eps", "1e-8"]);
    d.names_first("nonfinite_chain", "loss.denominator");
    assert_eq!(
        d.links(),
        ["loss.denominator constant=eps", "loss.div div_by_zero"],
        "{}",
        d.command
    );
    assert!(
        d.chain.iter().all(|l| l.0 == 1),
        "all at step 1: {:?}",
        d.chain
    );
    assert!(
        d.verdict
            .contains("eps = 1e-8 is stored as 0 (it underflows)"),
        "{}",
        d.verdict
    );
}

/// The same eps flushed to zero, but no target is zero: the fact is stated as one that played
/// no part, after the run's causes (SGD, so that no Adam eps flushes anything either).
#[test]
fn eps_flushed_to_zero_without_zero_targets_played_no_part() {
    let data = DataSet::new("eps-no-zero", 2, (-1.0, 1.0), |_, _, rng| {
        rng.uniform(1.0, 2.0)
    });
    let d = Diagnosis::of(
        &data,
        "f16",
        &[
            "--loss",
            "relative",
            "--eps",
            "1e-8",
            "--epochs",
            "5",
            "--optimizer",
            "sgd",
        ],
    );
    assert!(d.chain.is_empty(), "{}: {:?}", d.command, d.chain);
    assert!(
        d.verdict.contains(
            "eps = 1e-8 is stored as 0 (it underflows), which played no part in this run (none of the loss denominators |y| + eps is zero)"
        ),
        "{}",
        d.verdict
    );
}

/// Targets of order 1e3 under MSE: (p − y)² ≈ 1e6 overflows f16 (largest 65504) at step 1;
/// the Adam eps (a subnormal in f16) played no part and comes last.
#[test]
fn a_square_that_overflows() {
    let data = square();
    let d = Diagnosis::of(&data, "f16", &["--loss", "mse"]);
    d.names_first("nonfinite_chain", "loss.square");
    assert_eq!(d.links(), ["loss.square overflow"], "{}", d.command);
    let adam_eps = d
        .verdict
        .find("the Adam eps")
        .expect("the Adam eps is mentioned");
    assert!(
        d.verdict[adam_eps..].contains("which played no part in this run"),
        "{}",
        d.verdict
    );
    assert!(
        d.verdict.find("loss.square").expect("named") < adam_eps,
        "{}",
        d.verdict
    );
}

/// A linear model, y uniform in (0, 1), MSE, lr 1e-4 in bf16: Adam's steps (about 1e-4) are
/// below half an ulp of weights of order 0.5 (2^−9), so most updates vanish in `opt.update`;
/// per-op local error cannot see that.
#[test]
fn updates_lost_to_absorption_in_bf16() {
    let data = absorb();
    let d = Diagnosis::of(
        &data,
        "bf16",
        &["--layers", "", "--loss", "mse", "--lr", "0.0001"],
    );
    d.names_first("lost_updates", "opt.update");
    assert!(d.chain.is_empty(), "{:?}", d.chain);
    assert!(
        d.verdict.contains("updates lost to absorption"),
        "{}",
        d.verdict
    );
}

/// Targets of order 1e-4 under MSE in f16: the squared gradient is tiny, Adam's second moment
/// (0.001·g²) underflows to zero, the update divides m̂ by the subnormal Adam eps alone, the
/// weights jump by hundreds and the next forward pass overflows.
#[test]
fn adam_second_moment_underflows() {
    let data = adam_v();
    let d = Diagnosis::of(&data, "f16", &["--loss", "mse"]);
    d.names_first("nonfinite_chain", "opt.adam.v");
    let links = d.links();
    assert_eq!(links[0], "opt.adam.v underflow", "{}: {links:?}", d.command);
    assert!(
        links.contains(&"opt.adam.denominator constant=adam_eps".to_string()),
        "{links:?}"
    );
    assert!(
        links.contains(&"opt.update update".to_string()),
        "{links:?}"
    );
    let (first, last) = (&d.chain[0], d.chain.last().expect("a link"));
    assert_eq!(
        (first.0, last.0),
        (1, 2),
        "from step 1 to step 2: {:?}",
        d.chain
    );
    assert_eq!(last.2, "overflow", "{:?}", d.chain);
    assert!(
        d.verdict.contains("the loss is inf at step 2"),
        "{}",
        d.verdict
    );
}

/// A naive softplus, log(1 + exp(p − y)), with targets near −16: exp(16) ≈ 8.9e6 overflows
/// f16 at step 1.
#[test]
fn exp_overflows_in_a_naive_softplus() {
    let data = exp_overflow();
    let d = Diagnosis::of(&data, "f16", &["--loss-expr", "log(1 + exp(p - y))"]);
    d.names_first("nonfinite_chain", "loss.n4.exp");
    assert_eq!(d.links(), ["loss.n4.exp overflow"], "{}", d.command);
}

/// ((p + c) − (y + c))² with c = 100 in bf16: p + c and y + c round to multiples of 0.5, their
/// difference cancels every leading bit and keeps only that rounding.
#[test]
fn catastrophic_cancellation_in_a_difference_of_nearly_equal_terms() {
    let data = cancel();
    let d = Diagnosis::of(
        &data,
        "bf16",
        &[
            "--loss-expr",
            "((p + c) - (y + c))^2",
            "--const",
            "c=100",
            "--epochs",
            "20",
        ],
    );
    d.names_first("cancellation", "loss.n6.sub");
    assert!(
        d.verdict
            .contains("catastrophic cancellation in loss.n6.sub"),
        "{}",
        d.verdict
    );
}

/// Blame by promotion on the same scenarios: the group `--blame` ranks first (the remedy's
/// groups come first, the largest share alone first among them) is the cause the scenario built
/// in. For the cancellation it is the rounding of one of the nearly equal terms (p + c): the
/// subtraction itself is exact (Sterbenz) and only shows what that rounding lost, which is why
/// the verdict names the subtraction and blame the term.
#[test]
fn blame_ranks_the_built_in_cause_first() {
    let first = |data: &DataSet, lane: &str, args: &[&str]| {
        let groups = blamed(data, lane, args);
        assert!(groups[0].2, "the first group is in the remedy: {groups:?}");
        groups[0].0.clone()
    };
    let data = eps_zero();
    let relative = ["--loss", "relative", "--eps", "1e-8"];
    assert_eq!(first(&data, "f16", &relative), "loss.constants");
    let data = square();
    assert_eq!(first(&data, "f16", &["--loss", "mse"]), "loss.square");
    let data = absorb();
    let linear = ["--layers", "", "--loss", "mse", "--lr", "0.0001"];
    let groups = blamed(&data, "bf16", &linear);
    assert_eq!(groups[0].0, "opt.update");
    assert!(groups[0].1 > 0.8, "{groups:?}");
    let data = adam_v();
    assert_eq!(first(&data, "f16", &["--loss", "mse"]), "opt.adam.v");
    let data = exp_overflow();
    let softplus = ["--loss-expr", "log(1 + exp(p - y))"];
    assert_eq!(first(&data, "f16", &softplus), "loss.n4.exp");
    let data = cancel();
    let cancel = [
        "--loss-expr",
        "((p + c) - (y + c))^2",
        "--const",
        "c=100",
        "--epochs",
        "20",
    ];
    let term = first(&data, "bf16", &cancel);
    assert!(
        ["loss.n2.add", "loss.n5.add"].contains(&term.as_str()),
        "{term}"
    );
}
