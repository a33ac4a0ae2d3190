//! Formats named at run time as lanes: a user's `eXmY` (`e5m7`), or a named narrow format
//! with another overflow rule (`e4m3-saturate`). A lane needs a compile-time scalar type, so a
//! process has [`SLOTS`] of them, [`Custom<0>`](super::minifloat::Custom) … each taking the
//! facts of the first format [`intern`]ed into it, for the rest of the process.

use std::sync::{Mutex, OnceLock};

use super::{Format, Overflow, Spec};
use crate::error::Error;

/// How many run-time formats one process can train in.
pub const SLOTS: usize = 4;

/// The exponent bits of a run-time lane: products and quotients of its values stay f64
/// normals.
pub const LANE_EXP_BITS: std::ops::RangeInclusive<u32> = 2..=9;

/// The fraction bits of a run-time lane: f64 then has 2t + 2 bits for innocuous double
/// rounding and exact products (t ≤ 24, f32's precision).
pub const LANE_MAN_BITS: std::ops::RangeInclusive<u32> = 1..=23;

static FACTS: [OnceLock<Spec>; SLOTS] = [const { OnceLock::new() }; SLOTS];

/// Serialises [`intern`]: a slot is chosen and filled under it.
static CHOOSING: Mutex<()> = Mutex::new(());

/// The facts of slot `slot`.
///
/// # Panics
/// When nothing was interned into it (a format of that slot cannot exist before).
pub fn spec(slot: u8) -> Spec {
    *FACTS[usize::from(slot)]
        .get()
        .expect("a run-time format is interned before it is used")
}

/// The format of `spec` as a lane: the named format when the facts are one's, else the slot
/// holding these facts (filled now if none does yet). Refused when its fields are beyond a
/// lane's limits ([`LANE_EXP_BITS`], [`LANE_MAN_BITS`]) or the process's slots are all taken.
pub fn intern(spec: Spec) -> Result<Format, Error> {
    if let Some(format) = Format::ALL.into_iter().find(|f| f.spec() == spec) {
        return Ok(format);
    }
    let refuse = |message: String| Error::InvalidFlag {
        flag: "--formats".into(),
        message,
    };
    let (exp, man) = (spec.exp_bits(), spec.precision - 1);
    if !LANE_EXP_BITS.contains(&exp) || !LANE_MAN_BITS.contains(&man) {
        return Err(refuse(format!(
            "`{}`: a lane's format has 2 to 9 exponent bits and 1 to 23 fraction bits (e{exp}m{man} \
             is for `round` and `formats` only)",
            spec.name
        )));
    }
    let _choosing = CHOOSING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (slot, facts) in FACTS.iter().enumerate() {
        let slot = u8::try_from(slot).expect("few slots");
        match facts.get() {
            Some(held) if *held == spec => return Ok(Format::Custom(slot)),
            Some(_) => continue,
            None => {
                facts.set(spec).expect("slots are filled under the lock");
                return Ok(Format::Custom(slot));
            }
        }
    }
    Err(refuse(format!(
        "`{}`: one run trains in at most {SLOTS} formats beyond the named ones",
        spec.name
    )))
}

/// The format a lane names (`e4m3`, `e5m7`, `e4m3-saturate`, `f16-nan`): a format with an
/// optional `-ieee`, `-saturate` or `-nan` overflow rule. `None` when `text` names no format;
/// refused when the rule does not fit the format (`e4m3-ieee`: e4m3 has no infinities) or the
/// format is beyond a lane's limits.
pub fn parse_lane(text: &str) -> Result<Option<Format>, Error> {
    let text = text.trim().to_ascii_lowercase();
    let (base, rule) = match text.rsplit_once('-') {
        Some((base, rule)) if Overflow::from_name(rule).is_some() => {
            (base, Overflow::from_name(rule))
        }
        _ => (text.as_str(), None),
    };
    let spec = match base.parse::<Format>() {
        Ok(format) => format.spec(),
        Err(_) => match Spec::parse_narrow(base) {
            Some(spec) => spec,
            None => return Ok(None),
        },
    };
    let spec = match rule {
        None => spec,
        Some(rule) if rule == spec.overflow => spec,
        Some(rule) if !rule.fits(&spec) => {
            return Err(Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!(
                    "`{text}`: {base} has no {}; its overflow rules are {}",
                    if rule == Overflow::Ieee {
                        "infinities"
                    } else {
                        "NaN"
                    },
                    crate::names::one_of(
                        &Overflow::ALL
                            .into_iter()
                            .filter(|r| r.fits(&spec))
                            .map(Overflow::name)
                            .collect::<Vec<_>>()
                    )
                ),
            });
        }
        Some(rule) => Spec {
            name: super::facts::leak_name(text.clone()),
            overflow: rule,
            ..spec
        },
    };
    intern(spec).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Overflow, Specials};

    #[test]
    fn a_named_formats_facts_are_the_named_format_and_equal_facts_share_a_slot() {
        assert_eq!(intern(Format::E4m3.spec()).unwrap(), Format::E4m3);
        let e5m7 = Spec::narrow("e5m7", 5, 7, Specials::Ieee, Overflow::Ieee);
        let a = intern(e5m7).unwrap();
        assert!(matches!(a, Format::Custom(_)));
        assert_eq!(intern(e5m7).unwrap(), a);
        assert_eq!(a.spec(), e5m7);
        let wide = Spec::narrow("e10m5", 10, 5, Specials::Ieee, Overflow::Ieee);
        let error = intern(wide).unwrap_err().to_string();
        assert!(error.contains("2 to 9 exponent bits"), "{error}");
    }

    #[test]
    fn lanes_name_a_format_and_an_optional_overflow_rule() {
        let lane = |text: &str| parse_lane(text).unwrap().unwrap();
        assert_eq!(lane("e4m3"), Format::E4m3);
        // e4m3's own rule is NaN: naming it changes nothing.
        assert_eq!(lane("e4m3-nan"), Format::E4m3);
        let saturating = lane("e4m3-saturate");
        assert_eq!(saturating.name(), "e4m3-saturate");
        assert_eq!(saturating.spec().overflow, Overflow::Saturate);
        assert_eq!(saturating.spec().emax, Format::E4m3.spec().emax);
        assert_eq!(parse_lane("mixed-f16").unwrap(), None);
        let error = parse_lane("e4m3-ieee").unwrap_err().to_string();
        assert!(error.contains("e4m3 has no infinities"), "{error}");
        assert!(error.contains("saturate or nan"), "{error}");
    }
}
