//! What a format stores for an exact value: the stored value, its class, its relative error,
//! and whether storing it overflowed or underflowed. One rule for `round`, the constants and
//! the epsilon advisor.

use rug::Float;

use super::text::parse_exact;
use super::{Class, Decimal, Format, FormatFn, Native, Scalar, from_decimal};
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
        let rel_error = if !exact.is_finite() || exact.is_zero() {
            if stored.to_big(64) == *exact || (exact.is_nan() && stored.is_nan()) {
                0.0
            } else {
                f64::INFINITY
            }
        } else if !stored.is_finite() {
            f64::INFINITY
        } else {
            let difference = Float::with_val(exact.prec(), stored.to_big(exact.prec()) - exact);
            Float::with_val(64, difference / exact).abs().to_f64()
        };
        let finite = exact.is_finite();
        Stored {
            value: stored.to_f64(),
            class,
            rel_error,
            overflow: finite && class == Class::Infinite,
            underflow: finite
                && !exact.is_zero()
                && matches!(class, Class::Zero | Class::Subnormal)
                && rel_error > 0.0,
        }
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
