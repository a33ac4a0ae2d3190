//! Correctly rounded exp, ln, ln(1 + x), tanh and sigmoid for every format, computed with MPFR so that no
//! result depends on the platform's libm.
//!
//! Each function returns the round-to-odd value of f(x) at a given precision; a format narrows
//! that once more to its own precision with ties to even, which is then correctly rounded.

use std::cmp::Ordering;

use rug::Float;
use rug::float::Round;

use super::round::{round_to_odd, round_to_odd_value};

/// The elementary functions the network needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// e^x.
    Exp,
    /// ln x.
    Ln,
    /// ln(1 + x), without the rounding of 1 + x.
    Ln1p,
    /// tanh x.
    Tanh,
    /// 1 / (1 + e^−x).
    Sigmoid,
}

/// The round-to-odd value at `prec` bits of f(x), exact before that one rounding.
pub fn odd(function: Function, x: &Float, prec: u32) -> Float {
    match function {
        // MPFR rounds these correctly in any direction and reports the ternary value.
        Function::Exp => round_to_odd(prec, |p| Float::with_val_round(p, x.exp_ref(), Round::Zero)),
        Function::Ln => round_to_odd(prec, |p| Float::with_val_round(p, x.ln_ref(), Round::Zero)),
        Function::Ln1p => round_to_odd(prec, |p| {
            Float::with_val_round(p, x.ln_1p_ref(), Round::Zero)
        }),
        Function::Tanh => round_to_odd(prec, |p| {
            Float::with_val_round(p, x.tanh_ref(), Round::Zero)
        }),
        Function::Sigmoid => sigmoid_odd(x, prec),
    }
}

/// Working precisions beyond this are not tried: sigmoid(x) for a float x ≠ 0 is transcendental,
/// so only a value within 2^-4096 of a rounding boundary would need more.
const MAX_WORKING_PRECISION: u32 = 4096;

/// Ziv's strategy with rigorous bounds: evaluate a lower and an upper bound of sigmoid(x) with
/// directed rounding; when both round to the same odd value, so does the exact result (rounding
/// is monotone). Otherwise double the working precision.
fn sigmoid_odd(x: &Float, prec: u32) -> Float {
    if x.is_nan() {
        return Float::with_val(prec, x);
    }
    let mut working = prec + 32;
    loop {
        let lower = round_to_odd_value(&sigmoid_bound(x, working, Round::Down), prec);
        let upper = round_to_odd_value(&sigmoid_bound(x, working, Round::Up), prec);
        if lower == upper || working >= MAX_WORKING_PRECISION {
            return lower;
        }
        working *= 2;
    }
}

/// A bound of 1 / (1 + e^−x) at `working` bits: below it when `direction` is `Down`, above it
/// when `Up`. The result decreases as e^−x grows, so e^−x and 1 + e^−x round the other way.
fn sigmoid_bound(x: &Float, working: u32, direction: Round) -> Float {
    let inner = match direction {
        Round::Down => Round::Up,
        _ => Round::Down,
    };
    let minus_x = Float::with_val(x.prec(), -x);
    let (exp_minus_x, _) = Float::with_val_round(working, minus_x.exp_ref(), inner);
    let (denominator, _) = Float::with_val_round(working, &exp_minus_x + 1u32, inner);
    let (bound, _): (Float, Ordering) =
        Float::with_val_round(working, 1u32 / &denominator, direction);
    bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_of_zero_is_exactly_one_half() {
        let half = odd(Function::Sigmoid, &Float::with_val(53, 0), 55);
        assert_eq!(half.to_f64(), 0.5);
    }

    #[test]
    fn sigmoid_agrees_with_a_wide_evaluation() {
        let x = Float::with_val(53, -3.25);
        let odd55 = odd(Function::Sigmoid, &x, 55).to_f64();
        let wide = Float::with_val(400, 1u32) / (Float::with_val(400, 3.25f64).exp() + 1u32);
        assert_eq!(odd55, wide.to_f64());
    }

    #[test]
    fn ln1p_keeps_what_one_plus_x_would_round_away() {
        let tiny = Float::with_val(53, 1e-20);
        assert_eq!(odd(Function::Ln1p, &tiny, 55).to_f64(), 1e-20);
        let minus_one = Float::with_val(53, -1);
        assert_eq!(
            odd(Function::Ln1p, &minus_one, 55).to_f64(),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn saturated_sigmoid_is_zero_or_one() {
        let far = Float::with_val(53, f64::INFINITY);
        assert_eq!(odd(Function::Sigmoid, &far, 55).to_f64(), 1.0);
        assert_eq!(odd(Function::Sigmoid, &(-far), 55).to_f64(), 0.0);
    }
}
