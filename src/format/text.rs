//! Numbers as text: exact decimal parsing, shortest round-trip decimals and hex floats.

use rug::Float;
use rug::float::Round;

use super::round::round_to_odd;
use crate::Error;

/// Parses a decimal number (or `inf`, `-inf`, `nan`) and returns its round-to-odd value at
/// `prec` bits, ready to be rounded once more to any format with at most `prec − 2` bits.
pub fn parse_round_to_odd(text: &str, prec: u32) -> Result<Float, Error> {
    let trimmed = text.trim();
    let parsed = Float::parse(trimmed).map_err(|_| Error::NotANumber {
        text: text.to_string(),
    })?;
    Ok(round_to_odd(prec, |p| {
        Float::with_val_round(p, parsed, Round::Zero)
    }))
}

/// Parses a decimal number exactly enough to measure errors against: 256 bits.
pub fn parse_exact(text: &str) -> Result<Float, Error> {
    let parsed = Float::parse(text.trim()).map_err(|_| Error::NotANumber {
        text: text.to_string(),
    })?;
    Ok(Float::with_val(256, parsed))
}

/// The shortest decimal that reads back as exactly `x`, written the way a spreadsheet and
/// Python both parse it: positional between 1e-4 and 1e16, otherwise `1.5e-08` style.
pub fn shortest(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: d.ddddde±x.
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    if (-5..16).contains(&exponent) {
        format!("{x}")
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

/// The exact value of `x` as a C99 hex float (`0x1.99ap-4`), subnormal f64s as `0x0.…p-1022`.
pub fn hex(x: f64) -> String {
    if !x.is_finite() {
        return shortest(x);
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    if biased == 0 && fraction == 0 {
        return format!("{sign}0x0p+0");
    }
    let (lead, exponent) = if biased == 0 {
        (0, -1022)
    } else {
        (1, biased - 1023)
    };
    let mut digits = format!("{fraction:013x}");
    while digits.ends_with('0') {
        digits.pop();
    }
    let point = if digits.is_empty() { "" } else { "." };
    format!("{sign}0x{lead}{point}{digits}p{exponent:+}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_matches_python_repr() {
        assert_eq!(shortest(1.0011717677116394e-08), "1.0011717677116394e-08");
        assert_eq!(shortest(0.0999755859375), "0.0999755859375");
        assert_eq!(shortest(65536.0), "65536");
        assert_eq!(shortest(1e16), "1e+16");
        assert_eq!(shortest(0.0001), "0.0001");
        assert_eq!(shortest(-0.0), "-0");
    }

    #[test]
    fn hex_is_exact() {
        assert_eq!(hex(0.0999755859375), "0x1.998p-4");
        assert_eq!(hex(1.0), "0x1p+0");
        assert_eq!(hex(-2.0f64.powi(-24)), "-0x1p-24");
        assert_eq!(hex(f64::from_bits(1)), "0x0.0000000000001p-1022");
    }

    #[test]
    fn garbage_is_not_a_number() {
        assert!(parse_round_to_odd("1e-8x", 53).is_err());
        assert!(parse_round_to_odd("", 53).is_err());
    }
}

/// A constant as the user wrote it, held exactly enough (256 bits) that rounding it once to any
/// format gives the same value as rounding the decimal itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Decimal {
    text: String,
    exact: Float,
}

impl Decimal {
    /// The constant's text, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The constant at 256 bits.
    pub fn exact(&self) -> &Float {
        &self.exact
    }

    /// The constant correctly rounded to f64.
    pub fn to_f64(&self) -> f64 {
        self.exact.to_f64()
    }

    /// The constant correctly rounded to the format `S`.
    pub fn round<S: super::Scalar>(&self, ctx: &S::Context) -> S {
        S::from_big(&self.exact, ctx)
    }
}

impl std::str::FromStr for Decimal {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        Ok(Decimal {
            text: text.trim().to_string(),
            exact: parse_exact(text)?,
        })
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
