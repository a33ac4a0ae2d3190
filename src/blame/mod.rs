//! Blame by promotion (`--blame`): which op groups make a lane drift, measured by rerunning the
//! lane with one group computed and stored in a wider format, and the smallest set of groups
//! whose promotion brings the lane within the seed noise.
//!
//! A promoted run is the lane trained under an [`OpFormats`] policy: the groups' ops, and the
//! values made under their names (the data, constants and initial weights, see
//! [`op_formats`](crate::train::op_formats)), in the wider format; every other op in the lane's
//! own. With no rule, such a run gives the lane's own bits (a test in `tests/training` shows it).
//!
//! The search, after Verrou's `verrou_dd` in spirit: promote every group, then try to put each
//! back (the groups that helped least alone first) and keep it back when the drift stays
//! within the noise. Every group left is needed given the others; under monotone effects the set
//! is 1-minimal. Each run is deterministic, so the result does not depend on the thread count.

mod groups;

pub use groups::{Grouping, op_groups};

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use crate::audit::{AuditConfig, Pair, pairs, param_rel_drift, relative_difference};
use crate::format::{Format, Held, ReferenceFn, Scalar};
use crate::study::summarize;
use crate::study::sweep::{in_parallel, reseeded};
use crate::train::{LaneSpec, OpFormats, OpPattern, Policy, Trainer, promoted_to};

/// Where a run ended, against the reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The whole-data loss after training.
    pub loss: f64,
    /// |loss − the reference's| / |the reference's|.
    pub loss_drift: f64,
    /// ‖params − the reference's‖₂ / ‖the reference's‖₂.
    pub param_drift: f64,
    /// The first step whose batch loss was inf or NaN.
    pub first_nonfinite_step: Option<u64>,
}

impl Outcome {
    /// Whether the run stayed finite and its loss within `noise` (relative) of the reference's.
    pub fn within(&self, noise: f64) -> bool {
        self.first_nonfinite_step.is_none() && self.loss_drift <= noise
    }
}

/// One group promoted alone.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupBlame {
    /// The ops (and made values) promoted.
    pub group: OpPattern,
    /// The run with the group promoted.
    pub outcome: Outcome,
    /// The share of the lane's loss drift the promotion removes: 1 when the drift vanishes,
    /// 0 when it does not move, negative when it grows; for a lane whose loss is not finite, 1
    /// when the promotion makes it finite and 0 otherwise.
    pub loss_share: f64,
    /// The same for the parameter drift.
    pub param_share: f64,
    /// Whether the group is in the remedy.
    pub in_remedy: bool,
}

/// What blame found for one lane.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneBlame {
    /// The lane.
    pub lane: LaneSpec,
    /// The format the groups were promoted to.
    pub promoted_to: Format,
    /// The lane as it runs.
    pub base: Outcome,
    /// Every group promoted.
    pub all: Outcome,
    /// Each group alone: those of the remedy first, then by the share of the loss drift their
    /// promotion removes, largest first.
    pub groups: Vec<GroupBlame>,
    /// The groups whose promotion brings the lane within the noise, and that run; `None` when
    /// the lane already is within it, or when promoting everything is not enough.
    pub remedy: Option<(Vec<OpPattern>, Outcome)>,
    /// How many promoted runs the lane took.
    pub runs: usize,
}

/// Lanes blame cannot promote, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The lane.
    pub lane: LaneSpec,
    /// Why.
    pub reason: String,
}

/// The whole study.
#[derive(Clone, Debug, PartialEq)]
pub struct Blame {
    /// The reference's loss after training.
    pub reference_loss: f64,
    /// The seed noise: the sample standard deviation of the reference's final loss over
    /// `seeds` seeds of the shuffles and dropout masks (the initial weights kept), relative to
    /// their mean. A drift below it is smaller than what training again does.
    pub noise: f64,
    /// The seeds the noise was measured over.
    pub seeds: usize,
    /// How ops were grouped.
    pub grouping: Grouping,
    /// The lanes blamed, in the audit's order.
    pub lanes: Vec<LaneBlame>,
    /// The lanes not blamed.
    pub skipped: Vec<Skipped>,
}

/// The wider format a lane's groups are promoted to (see [`promoted_to`]); mixed, promoted and
/// recipe lanes are not blamed.
fn promotion(lane: LaneSpec) -> Result<Format, String> {
    if let Some(recipe) = lane.recipe {
        return Err(format!(
            "blame promotes ops of pure lanes; {recipe} computes in f32 and quantizes only the \
             matmul operands (their quant.* ops show the error they add)"
        ));
    }
    if lane.policy != Policy::Pure {
        return Err(
            "blame promotes ops of pure lanes; a mixed lane already keeps its loss and \
                    optimizer in f32 (compare it with its pure lane)"
                .into(),
        );
    }
    promoted_to(lane.format).ok_or_else(|| "no format wider than f64 to promote to".into())
}

/// The reference's final loss and parameters.
struct ReferenceEnd<'a>(&'a AuditConfig);

impl ReferenceFn for ReferenceEnd<'_> {
    type Output = (f64, Vec<Pair>);
    fn call<R: Scalar>(self, ctx: R::Context) -> Self::Output {
        let config = self.0;
        let mut trainer = Trainer::<R>::new(&config.train, &config.data, &config.init, ctx);
        for plan in config.schedule() {
            trainer.step(&plan, None);
        }
        let mut params = Vec::new();
        pairs(trainer.mlp(), &mut params);
        (trainer.full_loss().to_f64(), params)
    }
}

/// One promoted run of a lane.
#[derive(Clone, Debug)]
struct Job {
    lane: usize,
    formats: OpFormats,
}

/// What every rerun of a study shares: the configuration, the reference's end, and the
/// progress to tell.
struct Reruns<'a> {
    config: &'a AuditConfig,
    reference: (f64, Vec<Pair>),
    tick: &'a (dyn Fn() + Sync),
}

impl Reruns<'_> {
    /// Trains the lane under `formats` to the end.
    fn run(&self, formats: &OpFormats) -> Outcome {
        let config = self.config;
        let mut trainer = Trainer::<Held>::with_precision(
            &config.train,
            &config.data,
            &config.init,
            Arc::new(formats.clone()),
        );
        let mut first_nonfinite_step = None;
        for plan in config.schedule() {
            let loss = trainer.step(&plan, None);
            if !loss.is_finite() && first_nonfinite_step.is_none() {
                first_nonfinite_step = Some(plan.step);
            }
        }
        let loss = trainer.full_loss().to_f64();
        (self.tick)();
        Outcome {
            loss,
            loss_drift: relative_difference(loss, self.reference.0),
            param_drift: param_rel_drift(trainer.mlp(), &self.reference.1),
            first_nonfinite_step,
        }
    }

    /// From every group promoted (`all`, within the noise), puts groups back one at a time,
    /// the least helpful alone first, keeping each one back when the lane stays within the
    /// noise. Returns the groups left (in `groups`' order), their run, and how many runs it
    /// took.
    fn search(
        &self,
        (base, wider): (Format, Format),
        groups: &[GroupBlame],
        all: &Outcome,
        noise: f64,
    ) -> (Vec<OpPattern>, Outcome, usize) {
        let mut kept: Vec<OpPattern> = groups.iter().map(|g| g.group.clone()).collect();
        let mut outcome = all.clone();
        let mut runs = 0;
        for candidate in groups.iter().rev() {
            let trial: Vec<&str> = kept
                .iter()
                .filter(|g| **g != candidate.group)
                .map(OpPattern::as_str)
                .collect();
            let result = self.run(&OpFormats::pure(base).with(&trial, wider));
            runs += 1;
            if result.within(noise) {
                kept.retain(|g| *g != candidate.group);
                outcome = result;
            }
        }
        (kept, outcome, runs)
    }
}

/// The share of `base`'s drift that `promoted` removes (see [`GroupBlame::loss_share`]).
fn share(base: f64, promoted: f64, base_finite: bool, promoted_finite: bool) -> f64 {
    if !base_finite || !base.is_finite() {
        return if promoted_finite && promoted.is_finite() {
            1.0
        } else {
            0.0
        };
    }
    if !promoted_finite || !promoted.is_finite() {
        return f64::NEG_INFINITY;
    }
    if base == 0.0 {
        return 0.0;
    }
    (base - promoted) / base
}

/// Blames every lane of `config`: `seeds` reference runs measure the noise; each lane runs as
/// it is, with every group promoted, with each group alone, then the search. `progress` hears
/// (runs done, runs planned) as they finish.
/// The noise seeds change the shuffles and dropout masks, not the initial weights: the noise is
/// that of training the same network again, which a drift must exceed to matter.
pub fn blame(
    config: &AuditConfig,
    seeds: usize,
    grouping: Grouping,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Blame {
    let threads = config.threads;
    let reference = config.reference.dispatch(ReferenceEnd(config));
    let noise_configs: Vec<AuditConfig> = (1..seeds as u64)
        .map(|i| reseeded(config, config.train.seed.wrapping_add(i), false))
        .collect();
    let mut losses = vec![reference.0];
    losses.extend(in_parallel(&noise_configs, threads, |c| {
        c.reference.dispatch(ReferenceEnd(c)).0
    }));
    let spread = summarize(&losses);
    let noise = (spread.std_dev / spread.mean.abs()).abs();

    let mut blamed = Vec::new();
    let mut skipped = Vec::new();
    for &lane in &config.formats {
        match promotion(lane) {
            Ok(wider) => blamed.push((lane, wider, op_groups(config, lane.format, grouping))),
            Err(reason) => skipped.push(Skipped { lane, reason }),
        }
    }
    let mut jobs = Vec::new();
    for (index, (lane, wider, groups)) in blamed.iter().enumerate() {
        let pure = OpFormats::pure(lane.format);
        let patterns: Vec<&str> = groups.iter().map(OpPattern::as_str).collect();
        jobs.push(Job {
            lane: index,
            formats: pure.clone(),
        });
        jobs.push(Job {
            lane: index,
            formats: pure.clone().with(&patterns, *wider),
        });
        jobs.extend(groups.iter().map(|group| Job {
            lane: index,
            formats: pure.clone().with(&[group.as_str()], *wider),
        }));
    }
    // The search runs at most one more run per group.
    let planned = (jobs.len() + blamed.iter().map(|(_, _, g)| g.len()).sum::<usize>()) as u64;
    let done = Mutex::new((0u64, progress));
    let tick = || {
        let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
        done.0 += 1;
        let count = done.0;
        (done.1)(count, planned);
    };
    let reference_loss = reference.0;
    let reruns = Reruns {
        config,
        reference,
        tick: &tick,
    };
    let outcomes = in_parallel(&jobs, threads, |job| (job.lane, reruns.run(&job.formats)));

    // Each lane's outcomes, in job order: base, all, then one per group.
    let mut by_lane: Vec<Vec<Outcome>> = vec![Vec::new(); blamed.len()];
    for (lane, outcome) in outcomes {
        by_lane[lane].push(outcome);
    }
    let searches: Vec<(usize, Vec<Outcome>)> = by_lane.into_iter().enumerate().collect();
    let lanes = in_parallel(&searches, threads, |(index, outcomes)| {
        let (lane, wider, groups) = &blamed[*index];
        let (base, all) = (outcomes[0].clone(), outcomes[1].clone());
        let mut groups: Vec<GroupBlame> = groups
            .iter()
            .zip(&outcomes[2..])
            .map(|(group, outcome)| GroupBlame {
                group: group.clone(),
                loss_share: share(
                    base.loss_drift,
                    outcome.loss_drift,
                    base.first_nonfinite_step.is_none(),
                    outcome.first_nonfinite_step.is_none(),
                ),
                param_share: share(
                    base.param_drift,
                    outcome.param_drift,
                    base.first_nonfinite_step.is_none(),
                    outcome.first_nonfinite_step.is_none(),
                ),
                outcome: outcome.clone(),
                in_remedy: false,
            })
            .collect();
        groups.sort_by(|a, b| impact(b).partial_cmp(&impact(a)).unwrap_or(Ordering::Equal));
        let mut runs = outcomes.len();
        let remedy = if base.within(noise) || !all.within(noise) {
            None
        } else {
            let (kept, outcome, tried) = reruns.search((lane.format, *wider), &groups, &all, noise);
            runs += tried;
            for group in &mut groups {
                group.in_remedy = kept.contains(&group.group);
            }
            Some((kept, outcome))
        };
        // The groups of the remedy first: together they are the cause.
        groups.sort_by_key(|g| !g.in_remedy);
        LaneBlame {
            lane: *lane,
            promoted_to: *wider,
            base,
            all,
            groups,
            remedy,
            runs,
        }
    });
    Blame {
        reference_loss,
        noise,
        seeds,
        grouping,
        lanes,
        skipped,
    }
}

/// How much a group's promotion alone helps, to order groups by (largest first; ties keep run
/// order, the sorts being stable): the share of the loss drift removed, then of the parameter
/// drift, then how much later the first inf or NaN comes (a run that stays finite counts as
/// never).
fn impact(group: &GroupBlame) -> (f64, f64, u64) {
    let finite_until = group.outcome.first_nonfinite_step.unwrap_or(u64::MAX);
    (group.loss_share, group.param_share, finite_until)
}
