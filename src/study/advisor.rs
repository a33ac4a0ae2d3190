//! The epsilon advisor: what a format does to each constant that guards the loss — every
//! named constant found (by walking the expression graph) in a denominator or under a log,
//! such as the relative loss's `eps` in `|y| + eps` — and to Adam's `adam_eps`, and which
//! values of them a modeller can use there.
//!
//! # Hard limits
//!
//! With `max` the largest finite value and `min_normal` the smallest normal value of the
//! format, and `R = max(1, max |y|)` the plausible size of a prediction (of order 1 at
//! initialisation, of the order of the targets once fitted):
//!
//! - **Stored as a normal number**: `eps ≥ min_normal`. Below it eps is flushed to zero or
//!   kept as a subnormal with fewer significant bits.
//! - **The gradient stays finite**: `1/eps ≤ max`, i.e. `eps ≥ 1/max` (the derivative of
//!   `1/(… + eps)` and of `log(… + eps)` where the rest is 0).
//! - For a denominator, **the loss stays finite where the rest of it is 0** (`y = 0` in
//!   `|y| + eps`): there the term is `|p|/eps`, so `eps ≥ R/max`.
//! - For a denominator that holds `p` too (`|y| + |p| + eps`), **the derivative through the
//!   denominator stays finite**: it divides by the square, `|p|/eps² ≤ max`, so
//!   `eps ≥ √(R/max)`.
//!
//! The lower end of the recommended range is the largest of these, rounded up.
//!
//! # The trade-off
//!
//! Above the hard limits eps is a modelling choice, not a numerical one, and the advice
//! reports what it costs on the data:
//!
//! - **The weight of zero targets**: where `y = 0` the gradient of `|p − y|/(|y| + eps)` is
//!   `1/eps`, against `1/(m + eps)` on a typical target (`m` the median nonzero `|y|`): a zero
//!   target's row outweighs a typical one `(m + eps)/eps` times (`zero_target_weight`).
//! - **The bias on small targets**: eps changes `|y|` by `eps/|y|`; reported at `y₁₀`, the
//!   10th percentile of the nonzero `|y|` (`small_target_bias`).
//!
//! The upper end of the range is `eps ≤ y₁₀ / 100`: eps moves 90 % of the nonzero targets by
//! at most 1 %. (For a log whose argument holds `p`, e.g. binary cross-entropy's
//! `log(σ(p) + eps)`, the data does not show the argument's scale; the upper end is 1 % of a
//! probability of order 1, 0.01.) When the lower end is above the upper, no eps does both in
//! the format: the advice is the lower end, and the reason says how large the bias is there.
//!
//! **Representable to 1 %**: a normal number is stored within a relative `u` (at most 1 %
//! for every format with at least 7 significant bits); a subnormal x within `s/(2x)` of
//! itself (`s` the smallest subnormal), which is at most 1 % from `50·s` on. So the format
//! stores eps to within 1 % from `min(50·s, min_normal)` up (`accurate_from`); NaN when
//! `u > 1 %`.
//!
//! For `adam_eps` the scale it must not dominate is `√v̂`, not `y`, and the data does not show
//! it: the range is the first two hard limits (an update `m̂ / adam_eps` where `√v̂` underflows
//! to zero stays finite for gradients up to 1), up to the format's largest finite value.
//!
//! The ends are rounded to two significant decimal digits, the lower end up and the upper end
//! down, so that either end, typed as printed, satisfies the rule (`6.1e-05` would not: in f16
//! it is a subnormal, below 2⁻¹⁴ = 6.103515625e-05).

use rug::Float;

use super::stats::short;
use crate::audit::AuditConfig;
use crate::format::text::shortest;
use crate::format::{Class, Decimal, Format, FormatFn, Native, Scalar, Stored};
use crate::kernel::Tensor;
use crate::model::expr::GuardKind;
use crate::model::{Denominators, Loss};
use crate::train::{Constant, LaneSpec};

/// The relative accuracy `accurate_from` is about: 1 %.
pub const ACCURACY: f64 = 0.01;

/// The largest bias on the 10th-percentile nonzero target the upper end admits: 1 %.
pub const SMALL_TARGET_BIAS: f64 = 0.01;

/// What a constant does in the run, which decides the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// It guards a denominator or a log of the loss; `with_prediction`: the guarded value
    /// holds `p` too; `target_only`: it holds only `y` and constants.
    Guard {
        /// A denominator or a log's argument.
        kind: GuardKind,
        /// The guarded value holds `p`.
        with_prediction: bool,
        /// The guarded value holds only `y` and constants.
        target_only: bool,
        /// The constant is added to the rest (`|y| + eps`), not a divisor on its own
        /// (`(p − y) / delta`): only then is there a trade-off to report.
        additive: bool,
    },
    /// Adam's eps in `m̂ / (√v̂ + eps)`.
    Adam,
}

impl Role {
    /// The relative loss's eps in `|y| + eps`.
    pub const RELATIVE_EPS: Role = Role::Guard {
        kind: GuardKind::Denominator,
        with_prediction: false,
        target_only: true,
        additive: true,
    };

    /// As advice.csv writes it: `denominator`, `denominator with p`, `log`, `log with p`,
    /// `divisor` (a constant that divides alone), `adam`.
    pub fn name(self) -> String {
        match self {
            Role::Guard {
                additive: false, ..
            } => "divisor".into(),
            Role::Guard {
                kind,
                with_prediction,
                ..
            } => format!(
                "{}{}",
                kind.name(),
                if with_prediction { " with p" } else { "" }
            ),
            Role::Adam => "adam".into(),
        }
    }
}

/// What one format does to one epsilon, and which epsilons would do their job there.
#[derive(Clone, Debug, PartialEq)]
pub struct EpsAdvice {
    /// The lane (a mixed lane keeps its constants in f32).
    pub lane: LaneSpec,
    /// The loss's constant or Adam's eps.
    pub constant: Constant,
    /// What the constant does: which rule applies.
    pub role: Role,
    /// The constant as the user wrote it.
    pub given: String,
    /// The constant correctly rounded to the format, held exactly in an f64.
    pub stored: f64,
    /// The class of the stored value.
    pub class: Class,
    /// `|stored − exact| / |exact|` (1 when a nonzero eps is flushed to 0).
    pub rel_error: f64,
    /// The smallest positive value the format can store, its smallest subnormal `s`. A positive
    /// eps is kept (not flushed to 0) exactly when `eps > s / 2`: `s / 2` itself is a tie
    /// between 0 and `s` and rounds to the even one, 0; anything above rounds up to at least
    /// `s`.
    pub smallest_unflushed: f64,
    /// The smallest eps the format stores within [`ACCURACY`] of the decimal (every larger
    /// finite one is, too); NaN when no value is (`u` > 1 %).
    pub accurate_from: f64,
    /// The share of the targets for which the guarded value with eps equals it without
    /// (`|y| + eps == |y|` in the format): eps changes nothing there. For `adam_eps` it is
    /// `|y| + adam_eps == |y|`, which the reason ignores. NaN when there are no targets or the
    /// guarded value holds `p` (`None`).
    pub absorbed_share: Option<f64>,
    /// The targets for which the guarded value is 0 in the format (`|y| + eps == 0`): the loss
    /// divides by zero or takes log(0) there. `None` when the guarded value holds `p`.
    pub zero_denominators: Option<usize>,
    /// How many times a zero target's row outweighs a typical one's (`(m + eps)/eps`, `m` the
    /// median nonzero |y|) with eps as stored; NaN where it does not apply (written empty).
    pub zero_target_weight: f64,
    /// `eps / y₁₀` with eps as stored, `y₁₀` the 10th percentile of the nonzero |y|; NaN where
    /// it does not apply (written empty).
    pub small_target_bias: f64,
    /// The recommended range `[low, high]` (see the module documentation); `(low, low)` when the
    /// rule's range is empty.
    pub recommended: (f64, f64),
    /// The advice in plain sentences.
    pub reason: String,
}

/// Advises on `constant` with value `eps` in `format` as the relative loss's eps (in
/// `|y| + eps`) or as Adam's, for a dataset with `targets` (non-finite targets are ignored for
/// the scales).
///
/// ```
/// use precision_audit::format::{Class, Decimal, Format};
/// use precision_audit::study::advise;
/// use precision_audit::train::Constant;
///
/// let eps: Decimal = "1e-8".parse().unwrap();
/// let advice = advise(Format::F16, Constant::Eps, &eps, &[0.0, 0.5, 1.0]);
/// assert_eq!((advice.stored, advice.class), (0.0, Class::Zero));
/// assert_eq!(advice.zero_denominators, Some(1));
/// assert!(advice.reason.starts_with("f16: eps = 1e-8 is flushed to 0"), "{}", advice.reason);
/// ```
pub fn advise(
    lane: impl Into<LaneSpec>,
    constant: Constant,
    eps: &Decimal,
    targets: &[f64],
) -> EpsAdvice {
    let role = if constant == Constant::AdamEps {
        Role::Adam
    } else {
        Role::RELATIVE_EPS
    };
    advise_as(lane.into(), constant, role, eps, targets, None)
}

fn advise_as(
    lane: LaneSpec,
    constant: Constant,
    role: Role,
    eps: &Decimal,
    targets: &[f64],
    loss: Option<&Loss>,
) -> EpsAdvice {
    lane.master().dispatch(Advise {
        lane,
        constant,
        role,
        eps,
        targets,
        loss,
    })
}

/// The advice for every format of an audit and every constant that guards its loss (named
/// constants in a denominator or under a log: `eps`, or any `--const`), and Adam's eps.
/// Constants that guard nothing, such as huber's `delta`, are not advised on.
pub fn advice(config: &AuditConfig) -> Vec<EpsAdvice> {
    let targets: Vec<f64> = config.data.targets.iter().copied().collect();
    let loss = &config.train.loss;
    let guards = loss.guards();
    let roles: Vec<(Constant, Role, &Decimal)> = config
        .train
        .constants()
        .into_iter()
        .filter_map(|(constant, value)| {
            let role = match &constant {
                Constant::AdamEps => Role::Adam,
                loss_constant => {
                    let guard = guards.iter().find(|g| g.constant == loss_constant.name())?;
                    Role::Guard {
                        kind: guard.kind,
                        with_prediction: guard.with_prediction,
                        target_only: guard.target_only,
                        additive: guard.additive,
                    }
                }
            };
            Some((constant, role, value))
        })
        .collect();
    config
        .formats
        .iter()
        .flat_map(|&format| {
            let (targets, roles) = (&targets, &roles);
            roles.iter().map(move |(constant, role, value)| {
                advise_as(format, constant.clone(), *role, value, targets, Some(loss))
            })
        })
        .collect()
}

struct Advise<'a> {
    lane: LaneSpec,
    constant: Constant,
    role: Role,
    eps: &'a Decimal,
    targets: &'a [f64],
    loss: Option<&'a Loss>,
}

impl FormatFn for Advise<'_> {
    type Output = EpsAdvice;
    fn call<S: Native>(self, _: Format) -> EpsAdvice {
        advise_in::<S>(self)
    }
}

/// The scales of the data the rule needs.
struct Scales {
    /// `max(1, max |y|)`: the plausible size of a prediction.
    prediction: f64,
    /// The median of the nonzero `|y|`, if any.
    typical: Option<f64>,
    /// The 10th percentile of the nonzero `|y|` (the value at index ⌊(n − 1)/10⌋ of the
    /// sorted magnitudes), if any.
    small: Option<f64>,
}

fn scales(targets: &[f64]) -> Scales {
    let mut nonzero: Vec<f64> = targets
        .iter()
        .map(|y| y.abs())
        .filter(|m| m.is_finite() && *m > 0.0)
        .collect();
    nonzero.sort_by(f64::total_cmp);
    let largest = nonzero.last().copied().unwrap_or(0.0);
    let typical = match nonzero.len() {
        0 => None,
        n if n % 2 == 1 => Some(nonzero[n / 2]),
        // The two middle values' mean, halved first so that it cannot overflow.
        n => Some(nonzero[n / 2 - 1] / 2.0 + nonzero[n / 2] / 2.0),
    };
    let small = (!nonzero.is_empty()).then(|| nonzero[(nonzero.len() - 1) / 10]);
    Scales {
        prediction: largest.max(1.0),
        typical,
        small,
    }
}

/// The counts of guarded values with and without eps over the targets, in `S`.
fn guarded_counts<S: Native>(job: &Advise<'_>, stored: &S) -> Option<Denominators> {
    let targets_stored: Vec<S> = job.targets.iter().map(|&y| S::from_f64(y, &())).collect();
    match (job.role, job.loss) {
        (
            Role::Guard {
                target_only: false, ..
            }
            | Role::Guard {
                additive: false, ..
            },
            _,
        ) => None,
        (Role::Guard { .. }, Some(loss)) => {
            let shape = (targets_stored.len(), 1);
            // The guarded values are elementwise: one column of every target will do.
            let targets = Tensor::from_shape_vec(shape, targets_stored).ok()?;
            let constants = loss.round_constants::<S>(&());
            Denominators::of_guard(loss, job.constant.name(), &targets, &constants, &())
        }
        _ => Some(Denominators::of(&targets_stored, stored)),
    }
}

fn advise_in<S: Native>(job: Advise<'_>) -> EpsAdvice {
    let spec = S::spec(&());
    let facts = "f16, bf16, f32 and f64 have subnormals and a range inside f64's";
    let min_subnormal = spec.min_subnormal().expect(facts);
    let min_normal = spec.min_normal().expect(facts);
    let max_finite = spec.max_finite().expect(facts);
    let u = spec.unit_roundoff();
    let (lane, eps, targets) = (job.lane, job.eps, job.targets);

    let stored_value: S = eps.round(&());
    let Stored {
        value: stored,
        class,
        rel_error,
        ..
    } = Stored::new(&stored_value, eps.exact());
    let counts = guarded_counts(&job, &stored_value);
    let absorbed_share = counts.map(|c| c.absorbed as f64 / targets.len() as f64);
    let zero_denominators = counts.map(|c| c.zero as usize);
    let accurate_from = if u <= ACCURACY {
        round_decimal(
            (min_subnormal / (2.0 * ACCURACY)).min(min_normal),
            Toward::Up,
        )
    } else {
        f64::NAN
    };

    let name = job.constant.name();
    let format = lane.master();
    let scales = scales(targets);
    let (kind, with_prediction, target_only, additive) = match job.role {
        Role::Guard {
            kind,
            with_prediction,
            target_only,
            additive,
        } => (Some(kind), with_prediction, target_only, additive),
        Role::Adam => (None, false, false, false),
    };
    let denominator = kind == Some(GuardKind::Denominator);
    // The hard limits, each with what it keeps finite.
    let mut limits = vec![(min_normal, "a normal number".to_string())];
    limits.push((1.0 / max_finite, format!("1/{name} finite")));
    if denominator {
        limits.push((
            scales.prediction / max_finite,
            format!(
                "|p|/{name} finite for |p| up to {}",
                short(scales.prediction)
            ),
        ));
    }
    if with_prediction && denominator {
        limits.push((
            (scales.prediction / max_finite).sqrt(),
            format!("|p|/{name}² finite (p is in the denominator)"),
        ));
    }
    let binding = limits
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("a limit")
        .clone();
    let lower = round_decimal(binding.0, Toward::Up);
    let bias_applies = additive && (denominator || target_only);
    let upper = match (kind, scales.small) {
        (None, _) => round_decimal(max_finite, Toward::Down),
        (Some(_), _) if !additive => round_decimal(max_finite, Toward::Down),
        (Some(_), Some(small)) if bias_applies => {
            round_decimal(small * SMALL_TARGET_BIAS, Toward::Down)
        }
        (Some(_), None) if bias_applies => round_decimal(max_finite, Toward::Down),
        (Some(_), _) => SMALL_TARGET_BIAS,
    };
    let empty = lower > upper;
    let recommended = if empty {
        (lower, lower)
    } else {
        (lower, upper)
    };
    let weight = |eps: f64| match scales.typical {
        Some(m) if denominator && additive && eps > 0.0 => (m + eps) / eps,
        Some(_) if denominator && additive => f64::INFINITY,
        _ => f64::NAN,
    };
    let bias = |eps: f64| match scales.small {
        Some(small) if bias_applies => eps / small,
        _ => f64::NAN,
    };
    let (zero_target_weight, small_target_bias) = (weight(stored), bias(stored));

    let mut sentences = vec![format!(
        "{lane}: {name} = {} {}",
        eps.text(),
        storage(stored, class, rel_error)
    )];
    if let (Some(kind), Some(counts), Some(share)) = (kind, counts, absorbed_share)
        && !targets.is_empty()
    {
        sentences.push(effects(name, kind, counts, share, targets.len()));
    }
    let hard = format!(
        "{name} ≥ {} ({})",
        shortest(lower),
        limits
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let range = match kind {
        None => format!(
            "use {name} ≥ {} (a normal number, and m̂ / {name} finite where √v̂ underflows to 0); \
             how large it may be depends on √v̂, which the data does not show, so only the \
             largest finite value {} bounds it",
            shortest(lower),
            short(upper)
        ),
        Some(_) if !additive => format!(
            "hard limits: {hard}; {name} divides on its own, so it is a scale of the loss, not \
             a guard added to a value, and only the largest finite value {} bounds it",
            short(upper)
        ),
        Some(_) if !bias_applies => format!(
            "hard limits: {hard}; the log's argument holds p, whose scale the data does not \
             show: {name} ≤ {} leaves an argument of order 1 within 1 %, so use {name} in [{}, {}]",
            shortest(upper),
            shortest(lower),
            shortest(upper)
        ),
        Some(_) => {
            let trade = trade_off(
                name,
                &scales,
                denominator,
                (stored, weight(stored), bias(stored)),
            );
            let choice = if empty {
                format!(
                    "no {name} keeps the bias on the 10th-percentile target below 1 % in \
                     {format}: use {}, and expect it to bias that target by {}{}",
                    shortest(lower),
                    short(bias(lower)),
                    at_weight(weight(lower))
                )
            } else {
                format!(
                    "use {name} in [{}, {}]; the upper end weighs zero targets least while \
                     biasing the 10th-percentile target by 1 %{}, and a smaller {name} weighs \
                     them more",
                    shortest(lower),
                    shortest(upper),
                    at_weight(weight(upper))
                )
            };
            format!("hard limits: {hard}; {trade}; {choice}")
        }
    };
    let representable = if accurate_from.is_nan() {
        format!(
            "{format} stores no {name} within 1 % (its unit roundoff is {})",
            short(u)
        )
    } else {
        format!(
            "{format} stores {name} within 1 % of the decimal from {} up",
            shortest(accurate_from)
        )
    };
    sentences.push(range + &placement(stored, recommended));
    if kind.is_some() {
        sentences.push(representable);
    }
    EpsAdvice {
        lane,
        constant: job.constant,
        role: job.role,
        given: eps.text().to_string(),
        stored,
        class,
        rel_error,
        smallest_unflushed: min_subnormal,
        accurate_from,
        absorbed_share,
        zero_denominators,
        zero_target_weight,
        small_target_bias,
        recommended,
        reason: sentences.join("; ") + ".",
    }
}

/// What eps as stored costs on the data: the weight of zero targets and the bias on small ones.
fn trade_off(
    name: &str,
    scales: &Scales,
    denominator: bool,
    (stored, weight, bias): (f64, f64, f64),
) -> String {
    let mut parts = Vec::new();
    if denominator && let Some(m) = scales.typical {
        parts.push(format!(
            "as stored ({}), a row with y = 0 weighs {}× a typical row (median nonzero |y| {})",
            shortest(stored),
            short(weight),
            short(m)
        ));
    }
    if let Some(small) = scales.small {
        parts.push(format!(
            "{name} biases the 10th-percentile nonzero target (|y| = {}) by {}",
            short(small),
            short(bias)
        ));
    }
    if parts.is_empty() {
        "the targets are all zero, so nothing bounds it from above but the format".into()
    } else {
        parts.join(", and ")
    }
}

fn at_weight(weight: f64) -> String {
    if weight.is_nan() {
        String::new()
    } else {
        format!(
            " (a zero target then weighs {}× a typical one)",
            short(weight)
        )
    }
}

/// How the constant is stored, as the end of a sentence starting "eps = 1e-8 ".
fn storage(stored: f64, class: Class, rel_error: f64) -> String {
    match class {
        Class::Nan => "is not a number".into(),
        _ if stored.is_sign_negative() && stored != 0.0 => "is negative".into(),
        Class::Zero => "is flushed to 0".into(),
        Class::Subnormal => format!(
            "is stored as the subnormal {} (relative error {}: subnormals keep fewer bits)",
            shortest(stored),
            short(rel_error)
        ),
        Class::Normal => format!(
            "is stored as {} (relative error {})",
            shortest(stored),
            short(rel_error)
        ),
        Class::Infinite => "overflows to inf".into(),
    }
}

/// What the stored eps does to the guarded values over the targets.
fn effects(
    name: &str,
    kind: GuardKind,
    counts: Denominators,
    absorbed_share: f64,
    targets: usize,
) -> String {
    let (what, broken) = match kind {
        GuardKind::Denominator => ("denominator", "division by zero"),
        GuardKind::Logarithm => ("log argument", "log(0) = −inf"),
    };
    let zeros = if counts.zero == 0 {
        format!("no {what} is 0")
    } else {
        format!(
            "the {what} is 0 for {} of {targets} targets ({broken})",
            counts.zero
        )
    };
    format!(
        "{zeros}, and {name} is absorbed (adding it changes nothing) for {} of the targets",
        percent(absorbed_share)
    )
}

/// Where the stored value sits against the recommendation.
fn placement(stored: f64, (low, high): (f64, f64)) -> String {
    if stored.is_nan() || stored <= 0.0 || stored.is_infinite() {
        String::new()
    } else if stored < low {
        format!(" ({} is below it)", shortest(stored))
    } else if stored <= high {
        format!(" ({} is inside it)", shortest(stored))
    } else {
        format!(" ({} is above it)", shortest(stored))
    }
}

/// A share as a percentage: `38 %`, `4.2 %`, `0.13 %`, `0 %`.
fn percent(share: f64) -> String {
    let value = share * 100.0;
    let decimals = match value {
        v if v == 0.0 || v >= 10.0 || !v.is_finite() => 0,
        v if v >= 1.0 => 1,
        _ => 2,
    };
    format!("{value:.decimals$} %")
}

#[derive(Clone, Copy, PartialEq)]
enum Toward {
    Up,
    Down,
}

/// `x > 0` rounded to two significant decimal digits in the direction given, as the nearest
/// f64 to that decimal (whose shortest form prints the two digits).
fn round_decimal(x: f64, toward: Toward) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return x;
    }
    let text = format!("{x:.1e}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return x;
    };
    let (Ok(mantissa), Ok(mut exponent)) = (mantissa.parse::<f64>(), exponent.parse::<i32>())
    else {
        return x;
    };
    // The two digits as an integer: 6.1 → 61, standing for 61 × 10^(exponent − 1).
    let mut digits = (mantissa * 10.0).round() as i64;
    let exact_x = Float::with_val(64, x);
    let decimal = |digits: i64, exponent: i32| {
        let text = format!("{digits}e{}", exponent - 1);
        Float::with_val(
            256,
            Float::parse(&text).expect("digits and an exponent parse"),
        )
    };
    let candidate = decimal(digits, exponent);
    match toward {
        Toward::Up if candidate < exact_x => {
            digits += 1;
            if digits == 100 {
                digits = 10;
                exponent += 1;
            }
        }
        Toward::Down if candidate > exact_x => {
            digits -= 1;
            if digits == 9 {
                digits = 99;
                exponent -= 1;
            }
        }
        _ => {}
    }
    format!("{digits}e{}", exponent - 1).parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::builtin;

    fn decimal(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    fn builtin_targets() -> Vec<f64> {
        builtin(100, 2, 0).targets.iter().copied().collect()
    }

    #[test]
    fn f16_flushes_1e_8_and_bf16_keeps_it() {
        let f16 = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &[0.0, 1.0]);
        assert_eq!(
            (f16.stored, f16.class, f16.rel_error),
            (0.0, Class::Zero, 1.0)
        );
        assert!(
            f16.reason.starts_with("f16: eps = 1e-8 is flushed to 0;"),
            "{}",
            f16.reason
        );
        let bf16 = advise(Format::Bf16, Constant::Eps, &decimal("1e-8"), &[0.0, 1.0]);
        // 1e-8 = 1.34217728 × 2^-27; 8 bits keep 1.3437500 × 2^-27 = 172 × 2^-34.
        assert_eq!(bf16.stored, 1.0011717677116394e-08);
        assert_eq!(bf16.class, Class::Normal);
        // |1.0011717677116394e-08 − 1e-8| / 1e-8 = 0.0011717677116394…
        assert!((bf16.rel_error - 0.0011717677116394).abs() < 1e-15);
    }

    #[test]
    fn the_smallest_unflushed_eps_is_the_smallest_subnormal() {
        let f16 = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &[]);
        assert_eq!(f16.smallest_unflushed, 5.960464477539063e-08); // 2^-24
        // Just above half of it survives as 2^-24; exactly half (a tie) rounds to even, 0.
        let above = advise(
            Format::F16,
            Constant::Eps,
            &decimal("2.9802322387695313e-08"),
            &[],
        );
        assert_eq!(
            (above.stored, above.class),
            (5.960464477539063e-08, Class::Subnormal)
        );
        let half = advise(
            Format::F16,
            Constant::Eps,
            &decimal("2.98023223876953125e-08"),
            &[],
        );
        assert_eq!(half.stored, 0.0);
        let f64_advice = advise(Format::F64, Constant::Eps, &decimal("1e-8"), &[]);
        assert_eq!(f64_advice.smallest_unflushed, f64::from_bits(1));
    }

    #[test]
    fn absorption_and_zero_denominators_in_f16() {
        // eps = 2^-10 in f16, by hand (|y| rounded to f16, the sum rounded once):
        //   0    → 2^-10 ≠ 0                        not absorbed
        //   1    → 1 + 2^-10 exact (ulp(1) = 2^-10)  not absorbed
        //   −1   → same as 1                         not absorbed
        //   2    → halfway between 2 and 2 + 2^-9; 2 is even        absorbed
        //   3    → halfway between 3 and 3 + 2^-9; 3 = 0x4200 even  absorbed
        //   4    → a quarter ulp                     absorbed
        //   1e-9 → rounds to 0 in f16 (below 2^-25), then 2^-10    not absorbed
        //   0.5  → 0.5 + 2^-10 exact (ulp(0.5) = 2^-11)            not absorbed
        // 3 of 8 absorbed; no denominator is 0.
        let targets = [0.0, 1.0, -1.0, 2.0, 3.0, 4.0, 1e-9, 0.5];
        let advice = advise(
            Format::F16,
            Constant::Eps,
            &decimal("0.0009765625"),
            &targets,
        );
        assert_eq!(advice.absorbed_share, Some(3.0 / 8.0));
        assert_eq!(advice.zero_denominators, Some(0));
        // With eps flushed, every sum is |y| (all absorbed), and it is 0 for 0 and 1e-9.
        let flushed = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &targets);
        assert_eq!(
            (flushed.absorbed_share, flushed.zero_denominators),
            (Some(1.0), Some(2))
        );
        assert!(
            flushed
                .reason
                .contains("the denominator is 0 for 2 of 8 targets"),
            "{}",
            flushed.reason
        );
    }

    #[test]
    fn the_range_is_nonempty_in_f32_and_f64_on_the_builtin_data() {
        let targets = builtin_targets();
        for format in [Format::F32, Format::F64] {
            let advice = advise(format, Constant::Eps, &decimal("1e-8"), &targets);
            let (low, high) = advice.recommended;
            assert!(low < high, "{format}: {low} ≥ {high}");
            assert!(low >= format.spec().min_normal().unwrap());
            assert!(advice.reason.contains("use eps in ["), "{}", advice.reason);
        }
    }

    #[test]
    fn the_range_is_empty_in_f16_on_the_builtin_data() {
        // Lower end: 2^-14 = 6.103515625e-05 (above 1/65504 = 1.5e-05), rounded up to 6.2e-05.
        // Upper end: 1 % of the 10th-percentile nonzero |y| (5.2e-8): far below. The advice is
        // the lower end.
        let targets = builtin_targets();
        let advice = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &targets);
        assert_eq!(advice.recommended, (6.2e-05, 6.2e-05));
        // eps is flushed, so |y| + eps is 0 wherever y rounds to 0 in f16: |y| ≤ 2^-25.
        let below_half_subnormal = targets.iter().filter(|y| y.abs() <= 2f64.powi(-25)).count();
        assert_eq!(below_half_subnormal, 20); // 13 exact zeros and 7 targets of order 1e-9
        assert_eq!(advice.zero_denominators, Some(below_half_subnormal));
        assert!(
            advice
                .reason
                .contains("no eps keeps the bias on the 10th-percentile target below 1 % in f16"),
            "{}",
            advice.reason
        );
        let stored = advise(Format::F16, Constant::Eps, &decimal("6.2e-05"), &[]);
        assert_eq!(stored.class, Class::Normal);
    }

    #[test]
    fn adam_eps_is_bounded_by_storage_and_finiteness_only() {
        let advice = advise(
            Format::F16,
            Constant::AdamEps,
            &decimal("1e-8"),
            &builtin_targets(),
        );
        assert_eq!(advice.class, Class::Zero);
        // (a) 2^-14 = 6.1035e-05 rounded up; the top is 65504 rounded down to two digits.
        assert_eq!(advice.recommended, (6.2e-05, 65000.0));
        assert!(
            advice.reason.contains("which the data does not show"),
            "{}",
            advice.reason
        );
    }

    #[test]
    fn the_trade_off_is_reported_at_the_stored_eps() {
        // Nonzero |y|: 1e-6, 1e-4 (twice), 1e-2 and 1; median 1e-4, 10th percentile 1e-6.
        let targets = [0.0, 1e-6, 1e-4, 1e-4, 1e-2, 1.0];
        let advice = advise(Format::F64, Constant::Eps, &decimal("1e-8"), &targets);
        // A y = 0 row: gradient 1/eps; a typical one 1/(1e-4 + eps): (1e-4 + 1e-8)/1e-8.
        assert!((advice.zero_target_weight - 10001.0).abs() < 1e-6);
        assert!((advice.small_target_bias - 1e-2).abs() < 1e-15);
        // The upper end biases the 10th percentile by 1 %: 1e-8, rounded down to two digits.
        assert_eq!(advice.recommended.1, 1e-8);
        // f64 stores anything from 50 × 2^-1074 up within 1 % (rounded up: 2.5e-322).
        assert_eq!(advice.accurate_from, 2.5e-322);
        assert!(
            advice.reason.contains("a row with y = 0 weighs 1e+04×"),
            "{}",
            advice.reason
        );
        // bf16: 50 × 2^-133 = 4.59e-39, below its smallest normal 2^-126, rounded up.
        let bf16 = advise(Format::Bf16, Constant::Eps, &decimal("1e-8"), &targets);
        assert_eq!(bf16.accurate_from, 4.6e-39);
    }

    #[test]
    fn a_denominator_with_p_needs_the_square_root_limit() {
        let loss = Loss::with_eps(crate::model::Preset::Smape, &decimal("1e-8"));
        let guard = loss.guards().remove(0);
        assert!(guard.with_prediction && !guard.target_only);
        let advice = advise_as(
            LaneSpec::from(Format::F16),
            Constant::Eps,
            Role::Guard {
                kind: guard.kind,
                with_prediction: true,
                target_only: false,
                additive: true,
            },
            &decimal("1e-8"),
            &[0.0, 0.5],
            Some(&loss),
        );
        // √(1/65504) = 0.0039072…, rounded up.
        assert_eq!(advice.recommended.0, 0.004);
        assert_eq!(advice.zero_denominators, None);
        assert!(
            advice.reason.contains("|p|/eps² finite"),
            "{}",
            advice.reason
        );
    }

    #[test]
    fn a_constant_that_divides_alone_is_a_scale_not_a_guard() {
        let constant = |name: &str| (name == "delta").then(|| decimal("0.5"));
        let loss = Loss::expression(
            "abs(p - y) / delta + log(abs(y) + eps2)",
            &|name| constant(name).or_else(|| (name == "eps2").then(|| decimal("1e-3"))),
            crate::model::Reduce::Mean,
        )
        .unwrap();
        let guards = loss.guards();
        let names: Vec<(&str, bool, bool)> = guards
            .iter()
            .map(|g| (g.constant.as_str(), g.additive, g.target_only))
            .collect();
        assert_eq!(names, [("delta", false, true), ("eps2", true, true)]);
        assert_eq!(guards[1].kind, GuardKind::Logarithm);
        assert_eq!(guards[1].op, "loss.n9.add");
    }

    #[test]
    fn decimal_ends_round_outward_to_two_digits() {
        assert_eq!(round_decimal(6.103515625e-05, Toward::Up), 6.2e-05);
        assert_eq!(round_decimal(6.103515625e-05, Toward::Down), 6.1e-05);
        assert_eq!(round_decimal(0.5, Toward::Up), 0.5);
        assert_eq!(round_decimal(9.96, Toward::Up), 10.0);
        assert_eq!(round_decimal(1.04, Toward::Down), 1.0);
        assert_eq!(round_decimal(f64::MAX, Toward::Down), 1.7e308);
    }
}
