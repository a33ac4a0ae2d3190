//! The epsilon advisor: what a format does to `eps` (the relative loss's `|y| + eps`) and to
//! Adam's `adam_eps`, and which values of them do their job in that format.
//!
//! # The recommended range
//!
//! For the loss's `eps`, with `u` the unit roundoff, `max` the largest finite value and
//! `min_normal` the smallest normal value of the format:
//!
//! - (a) **Stored as a normal number**: `eps ≥ min_normal`. Below it eps is flushed to zero or
//!   kept as a subnormal with fewer than `t` significant bits.
//! - (b) **The loss stays finite where `y = 0`**: there the ratio is `|p| / eps`, and its
//!   gradient `1 / eps`. With `R = max(1, max |y|)` as the plausible size of `|p|` (at
//!   initialisation predictions are of order 1; once fitted, of the order of the targets),
//!   `eps ≥ R / max` keeps both below `max`. This is per element: the batch mean accumulates in
//!   at least f32 by default; with `--accumulate same` a batch of `b` such ratios needs `b` times
//!   more.
//! - (c) **Typical targets are left alone**: `eps ≤ u · median(|y| : y ≠ 0)`. Then eps changes
//!   the denominator `|y| + eps` of a typical target by at most a relative `u`, no more than one
//!   rounding of the format does, and matters only near `y = 0`, which is what it is for.
//!
//! The range is `[max(a, b), c]`. When it is empty (the lower end is above the upper), no eps
//! does both jobs in the format: the advice is the lower end, because a loss that is finite
//! and a constant that is stored beat a constant that leaves typical targets alone, and the
//! reason says below which `|y|` eps will dominate.
//!
//! For `adam_eps` the scale it must not dominate is `√v̂`, not `y`, and the data does not show
//! it; the range is (a) and (b) with `R = 1` (an update `m̂ / adam_eps` where `√v̂` underflows to
//! zero, for gradients up to 1), and the upper end is the format's largest finite value.
//!
//! The ends are rounded to two significant decimal digits, the lower end up and the upper end
//! down, so that either end, typed as printed, satisfies the rule (`6.1e-05` would not: in f16
//! it is a subnormal, below 2⁻¹⁴ = 6.103515625e-05).

use rug::Float;

use super::stats::short;
use crate::audit::AuditConfig;
use crate::format::text::shortest;
use crate::format::{Class, Decimal, Format, FormatFn, Native, Scalar, Stored};
use crate::model::Denominators;
use crate::train::{Constant, LaneSpec};

/// What one format does to one epsilon, and which epsilons would do their job there.
#[derive(Clone, Debug, PartialEq)]
pub struct EpsAdvice {
    /// The lane (a mixed lane keeps its constants in f32).
    pub lane: LaneSpec,
    /// The relative loss's eps or Adam's.
    pub constant: Constant,
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
    /// The share of the targets `y` for which `|y| + eps == |y|` in the format (`y` and eps each
    /// rounded to the format, the sum rounded once): eps changes nothing there. It describes
    /// the relative loss's denominator; for `adam_eps` it is computed the same way but the
    /// reason ignores it. NaN when there are no targets.
    pub absorbed_share: f64,
    /// The targets for which `|y| + eps == 0` in the format: the relative loss divides by zero.
    pub zero_denominators: usize,
    /// The recommended range `[low, high]` (see the module documentation); `(low, low)` when the
    /// rule's range is empty.
    pub recommended: (f64, f64),
    /// The advice in one or two plain sentences.
    pub reason: String,
}

/// Advises on `constant` with value `eps` in `format`,
/// for a dataset with `targets` (non-finite targets are ignored for the scales).
///
/// ```
/// use precision_audit::format::{Class, Decimal, Format};
/// use precision_audit::study::advise;
/// use precision_audit::train::Constant;
///
/// let eps: Decimal = "1e-8".parse().unwrap();
/// let advice = advise(Format::F16, Constant::Eps, &eps, &[0.0, 0.5, 1.0]);
/// assert_eq!((advice.stored, advice.class), (0.0, Class::Zero));
/// assert_eq!(advice.zero_denominators, 1);
/// assert!(advice.reason.starts_with("f16: eps = 1e-8 is flushed to 0"), "{}", advice.reason);
/// ```
pub fn advise(
    lane: impl Into<LaneSpec>,
    constant: Constant,
    eps: &Decimal,
    targets: &[f64],
) -> EpsAdvice {
    let lane = lane.into();
    lane.master().dispatch(Advise {
        lane,
        constant,
        eps,
        targets,
    })
}

/// The advice for every format of an audit and every eps its run uses (the loss's and Adam's;
/// a loss's other named constants, such as huber's `delta`, are no guard against a zero
/// denominator, so there is nothing to advise on).
pub fn advice(config: &AuditConfig) -> Vec<EpsAdvice> {
    let targets: Vec<f64> = config.data.targets.iter().copied().collect();
    config
        .formats
        .iter()
        .flat_map(|&format| {
            let targets = &targets;
            config
                .train
                .constants()
                .into_iter()
                .filter(|(constant, _)| !matches!(constant, Constant::Loss(_)))
                .map(move |(constant, eps)| advise(format, constant, eps, targets))
        })
        .collect()
}

struct Advise<'a> {
    lane: LaneSpec,
    constant: Constant,
    eps: &'a Decimal,
    targets: &'a [f64],
}

impl FormatFn for Advise<'_> {
    type Output = EpsAdvice;
    fn call<S: Native>(self, _: Format) -> EpsAdvice {
        advise_in::<S>(self.lane, self.constant, self.eps, self.targets)
    }
}

/// The scales of the data the rule needs.
struct Scales {
    /// `max(1, max |y|)`: the plausible size of a prediction error.
    error: f64,
    /// The median of the nonzero `|y|`, if any.
    typical: Option<f64>,
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
    Scales {
        error: largest.max(1.0),
        typical,
    }
}

fn advise_in<S: Native>(
    lane: LaneSpec,
    constant: Constant,
    eps: &Decimal,
    targets: &[f64],
) -> EpsAdvice {
    let spec = S::spec(&());
    let facts = "f16, bf16, f32 and f64 have subnormals and a range inside f64's";
    let min_subnormal = spec.min_subnormal().expect(facts);
    let min_normal = spec.min_normal().expect(facts);
    let max_finite = spec.max_finite().expect(facts);
    let u = spec.unit_roundoff();

    let stored_value: S = eps.round(&());
    let Stored {
        value: stored,
        class,
        rel_error,
        ..
    } = Stored::new(&stored_value, eps.exact());
    let targets_stored: Vec<S> = targets.iter().map(|&y| S::from_f64(y, &())).collect();
    let denominators = Denominators::of(&targets_stored, &stored_value);
    let absorbed_share = denominators.absorbed as f64 / targets.len() as f64;
    let zero_denominators = denominators.zero as usize;

    let name = constant.name();
    let format = lane.master();
    let adam = constant == Constant::AdamEps;
    let scales = scales(targets);
    let error_scale = if adam { 1.0 } else { scales.error };
    let lower = round_decimal(min_normal.max(error_scale / max_finite), Toward::Up);
    let upper = match (adam, scales.typical) {
        (false, Some(typical)) => round_decimal(u * typical, Toward::Down),
        _ => round_decimal(max_finite, Toward::Down),
    };
    let empty = lower > upper;
    let recommended = if empty {
        (lower, lower)
    } else {
        (lower, upper)
    };

    let mut sentences = vec![format!(
        "{lane}: {name} = {} {}",
        eps.text(),
        storage(stored, class, rel_error)
    )];
    if !adam && !targets.is_empty() {
        sentences.push(effects(zero_denominators, absorbed_share, targets.len()));
    }
    let range = if adam {
        format!(
            "use {name} ≥ {} (a normal number, and m̂ / {name} finite where √v̂ underflows to 0); \
             how large it may be depends on √v̂, which the data does not show, so only the \
             largest finite value {} bounds it",
            shortest(lower),
            short(upper)
        )
    } else if empty {
        format!(
            "no {name} does both jobs in {format}: it must be at least {} (a normal number, and \
             |p| / {name} finite for |p| up to {}) but at most {} (u × the median nonzero |y| \
             {}) to leave typical targets alone; use {}, and expect it to change |y| + {name} by \
             more than one rounding for |y| below {}",
            shortest(lower),
            short(scales.error),
            shortest(upper),
            short(scales.typical.unwrap_or(f64::NAN)),
            shortest(lower),
            short(round_decimal(lower / u, Toward::Up))
        )
    } else {
        let why_upper = match scales.typical {
            Some(typical) => format!(
                "at most u × the median nonzero |y| {} so it leaves typical targets alone",
                short(typical)
            ),
            None => "the targets are all zero, so only the largest finite value bounds it".into(),
        };
        format!(
            "use {name} in [{}, {}]: at least a normal number with |p| / {name} finite for |p| \
             up to {}, {why_upper}",
            shortest(lower),
            shortest(upper),
            short(scales.error)
        )
    };
    sentences.push(range + &placement(stored, recommended, !adam, u));
    EpsAdvice {
        lane,
        constant,
        given: eps.text().to_string(),
        stored,
        class,
        rel_error,
        smallest_unflushed: min_subnormal,
        absorbed_share,
        zero_denominators,
        recommended,
        reason: sentences.join("; ") + ".",
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

/// What the stored eps does to the targets.
fn effects(zero_denominators: usize, absorbed_share: f64, targets: usize) -> String {
    let zeros = if zero_denominators == 0 {
        "no denominator |y| + eps is 0".to_string()
    } else {
        format!("|y| + eps is 0 for {zero_denominators} of {targets} targets (division by zero)")
    };
    format!(
        "{zeros}, and eps is absorbed (|y| + eps == |y|) for {} of the targets",
        percent(absorbed_share)
    )
}

/// Where the stored value sits against the recommendation; for the loss's eps, a value above
/// it also says below which `|y|` it changes `|y| + eps` by more than a relative `u`
/// (`|y| < eps / u`).
fn placement(stored: f64, (low, high): (f64, f64), loss_eps: bool, u: f64) -> String {
    if stored.is_nan() || stored <= 0.0 || stored.is_infinite() {
        String::new()
    } else if stored < low {
        format!(" ({} is below it)", shortest(stored))
    } else if stored <= high {
        format!(" ({} is inside it)", shortest(stored))
    } else if loss_eps {
        format!(
            " ({} is above it: it changes |y| + eps by more than one rounding for |y| below {})",
            shortest(stored),
            short(round_decimal(stored / u, Toward::Up))
        )
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
        assert_eq!(advice.absorbed_share, 3.0 / 8.0);
        assert_eq!(advice.zero_denominators, 0);
        // With eps flushed, every sum is |y| (all absorbed), and it is 0 for 0 and 1e-9.
        let flushed = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &targets);
        assert_eq!(
            (flushed.absorbed_share, flushed.zero_denominators),
            (1.0, 2)
        );
        assert!(
            flushed.reason.contains("|y| + eps is 0 for 2 of 8 targets"),
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
        // Upper end: 2^-11 × a median |y| of order 1e-4: far below. The advice is the lower end.
        let targets = builtin_targets();
        let advice = advise(Format::F16, Constant::Eps, &decimal("1e-8"), &targets);
        assert_eq!(advice.recommended, (6.2e-05, 6.2e-05));
        // eps is flushed, so |y| + eps is 0 wherever y rounds to 0 in f16: |y| ≤ 2^-25.
        let below_half_subnormal = targets.iter().filter(|y| y.abs() <= 2f64.powi(-25)).count();
        assert_eq!(below_half_subnormal, 20); // 13 exact zeros and 7 targets of order 1e-9
        assert_eq!(advice.zero_denominators, below_half_subnormal);
        assert!(
            advice.reason.contains("no eps does both jobs in f16"),
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
    fn decimal_ends_round_outward_to_two_digits() {
        assert_eq!(round_decimal(6.103515625e-05, Toward::Up), 6.2e-05);
        assert_eq!(round_decimal(6.103515625e-05, Toward::Down), 6.1e-05);
        assert_eq!(round_decimal(0.5, Toward::Up), 0.5);
        assert_eq!(round_decimal(9.96, Toward::Up), 10.0);
        assert_eq!(round_decimal(1.04, Toward::Down), 1.0);
        assert_eq!(round_decimal(f64::MAX, Toward::Down), 1.7e308);
    }
}
