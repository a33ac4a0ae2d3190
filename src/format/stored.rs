//! What a format stores for an exact value: the stored value, its class, its relative error,
//! and whether storing it overflowed or underflowed. One rule for `round`, the constants and
//! the epsilon advisor.

use rug::Float;

use std::str::FromStr;

use super::round::{odd_to_f64_for_narrowing, overflowed, round_f64_with};
use super::text::{parse_exact, parse_round_to_odd};
use super::{Class, Decimal, Format, FormatFn, Native, Overflow, Scalar, Spec, from_decimal};
use crate::error::Error;

/// An exact value as one format stores it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stored {
    /// The stored value, exactly (every audited format fits in an f64).
    pub value: f64,
    /// Its class.
    pub class: Class,
    /// |stored − exact| / |exact|; where exact is 0 or not finite, 0 when the stored value is
    /// the same (NaN for NaN) and inf otherwise.
    pub rel_error: f64,
    /// A finite exact value stored as an infinity.
    pub overflow: bool,
    /// IEEE 754's underflow: a nonzero, finite exact value stored inexactly as 0 or a subnormal.
    pub underflow: bool,
}

impl Stored {
    /// `stored`, the format's value for `exact`.
    pub fn new<S: Scalar>(stored: &S, exact: &Float) -> Stored {
        let class = stored.classify();
        let finite = exact.is_finite();
        Stored::measured(
            stored.to_f64(),
            class,
            &stored.to_big(exact.prec()),
            exact,
            finite && class == Class::Infinite,
        )
    }

    /// `value` (held exactly in `big` too) of class `class`, stored for `exact`; `overflow` when
    /// the format's overflow rule decided it.
    fn measured(value: f64, class: Class, big: &Float, exact: &Float, overflow: bool) -> Stored {
        let rel_error = if !exact.is_finite() || exact.is_zero() {
            if *big == *exact || (exact.is_nan() && big.is_nan()) {
                0.0
            } else {
                f64::INFINITY
            }
        } else if !big.is_finite() {
            f64::INFINITY
        } else {
            let difference = Float::with_val(exact.prec(), big - exact);
            Float::with_val(64, difference / exact).abs().to_f64()
        };
        Stored {
            value,
            class,
            rel_error,
            overflow,
            underflow: exact.is_finite()
                && !exact.is_zero()
                && matches!(class, Class::Zero | Class::Subnormal)
                && rel_error > 0.0,
        }
    }

    /// `value`, a value of `spec`, stored for `exact`.
    fn of_value(value: f64, spec: &Spec, exact: &Float, overflow: bool) -> Stored {
        let big = Float::with_val(exact.prec(), value);
        Stored::measured(value, spec.classify_f64(value), &big, exact, overflow)
    }

    /// `decimal` rounded once to `S` and measured against its exact value.
    pub fn of<S: Scalar<Context = ()>>(decimal: &Decimal) -> Stored {
        Stored::new(&decimal.round::<S>(&()), decimal.exact())
    }
}

/// `text` (a decimal, `inf` or `nan`) as `format` stores it: rounded once, correctly.
pub fn store(format: Format, text: &str) -> Result<Stored, Error> {
    let exact = parse_exact(text)?;
    let stored = format.dispatch(Store {
        text,
        exact: &exact,
    })?;
    Ok(beyond_mpfr(text, &exact).map_or(stored, |beyond| Stored {
        rel_error: beyond.rel_error,
        overflow: beyond.overflow,
        underflow: !beyond.overflow,
        ..stored
    }))
}

/// A decimal whose exponent is beyond even MPFR's range (`1e1000000000`, `1e-1000000000`)
/// parses to an infinity or a zero that it is not: its storage is an overflow (relative error
/// inf) or an underflow to zero (relative error 1), not an exact value.
struct Beyond {
    overflow: bool,
    rel_error: f64,
}

fn beyond_mpfr(text: &str, exact: &Float) -> Option<Beyond> {
    let unsigned = text
        .trim()
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase();
    let mantissa = unsigned.split(['e', '@']).next().unwrap_or("");
    let written_zero = !mantissa.chars().any(|c| ('1'..='9').contains(&c));
    if exact.is_infinite() && !unsigned.starts_with("inf") && !unsigned.contains("@inf@") {
        Some(Beyond {
            overflow: true,
            rel_error: f64::INFINITY,
        })
    } else if exact.is_zero() && !written_zero {
        Some(Beyond {
            overflow: false,
            rel_error: 1.0,
        })
    } else {
        None
    }
}

struct Store<'a> {
    text: &'a str,
    exact: &'a Float,
}

impl FormatFn for Store<'_> {
    type Output = Result<Stored, Error>;
    fn call<S: Native>(self, _: Format) -> Self::Output {
        let stored: S = from_decimal(self.text, &())?;
        Ok(Stored::new(&stored, self.exact))
    }
}

/// A format values can be stored in: one the lanes train in, or a narrow one given as data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Storage {
    /// f16, bf16, f32, f64.
    Lane(Format),
    /// A format of [`NARROW`](super::NARROW) or a user's `eXmY`: rounded by its [`Spec`].
    Narrow(Spec),
}

impl Storage {
    /// The facts of the format.
    pub fn spec(&self) -> Spec {
        match self {
            Storage::Lane(format) => format.spec(),
            Storage::Narrow(spec) => *spec,
        }
    }
}

impl FromStr for Storage {
    type Err = Error;
    fn from_str(text: &str) -> Result<Storage, Error> {
        // Narrow formats first: their overflow rule is data, which `round` can override.
        match Spec::parse_narrow(text) {
            Some(spec) => Ok(Storage::Narrow(spec)),
            None => text
                .parse()
                .map(Storage::Lane)
                .map_err(|_| Error::UnknownStorage {
                    name: text.to_string(),
                }),
        }
    }
}

/// `text` as `storage` stores it, with the overflow rule `overflow` (the format's own when
/// `None`), which must [fit](Overflow::fits) the format.
pub fn store_with(
    storage: Storage,
    text: &str,
    overflow: Option<Overflow>,
) -> Result<Stored, Error> {
    let spec = storage.spec();
    let rule = overflow.unwrap_or(spec.overflow);
    if !rule.fits(&spec) {
        return Err(Error::InvalidFlag {
            flag: "--overflow".into(),
            message: format!(
                "{} has no {}",
                spec.name,
                if rule == Overflow::Ieee {
                    "infinities"
                } else {
                    "NaN"
                }
            ),
        });
    }
    let exact = parse_exact(text)?;
    match storage {
        Storage::Lane(format) => {
            let stored = store(format, text)?;
            Ok(if stored.overflow && rule != Overflow::Ieee {
                let value = overflowed(exact.to_f64(), &spec, rule);
                Stored::of_value(value, &spec, &exact, true)
            } else {
                stored
            })
        }
        Storage::Narrow(spec) => {
            // Round to odd at 53 bits, then once to the format: t + 2 ≤ 53 bits (see round.rs).
            let odd = parse_round_to_odd(text, 53)?;
            let rounded = round_f64_with(odd_to_f64_for_narrowing(&odd), &spec, rule);
            Ok(Stored::of_value(
                rounded.value,
                &spec,
                &exact,
                rounded.overflow,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;

    fn f16_of(text: &str) -> Stored {
        Stored::of::<f16>(&text.parse().unwrap())
    }

    #[test]
    fn flushed_to_zero_is_an_underflow_with_relative_error_one() {
        let s = f16_of("1e-8");
        assert_eq!((s.value, s.class, s.rel_error), (0.0, Class::Zero, 1.0));
        assert!(s.underflow && !s.overflow);
    }

    #[test]
    fn past_the_largest_finite_value_is_an_overflow() {
        let s = f16_of("65520");
        assert_eq!((s.class, s.rel_error), (Class::Infinite, f64::INFINITY));
        assert!(s.overflow && !s.underflow);
    }

    #[test]
    fn decimals_beyond_mpfrs_range_overflow_or_underflow() {
        let huge = store(Format::F64, "1e1000000000").unwrap();
        assert!(huge.overflow && huge.rel_error.is_infinite());
        let tiny = store(Format::F16, "-1e-1000000000").unwrap();
        assert!(tiny.underflow && tiny.rel_error == 1.0 && tiny.class == Class::Zero);
        let zero = store(Format::F16, "0.000e5").unwrap();
        assert!(!zero.underflow && zero.rel_error == 0.0);
        let inf = store(Format::F16, "-inf").unwrap();
        assert!(!inf.overflow && inf.rel_error == 0.0);
    }

    #[test]
    fn exact_values_have_no_error() {
        let s = f16_of("0.5");
        assert_eq!((s.value, s.rel_error), (0.5, 0.0));
        assert!(!s.overflow && !s.underflow);
    }
}
