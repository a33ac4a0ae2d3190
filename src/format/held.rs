//! A value of a format chosen at run time, held exactly in an f64: what a per-op precision
//! policy computes with, where one op runs in f16 and the next in f32 (see
//! [`OpPrecision`](crate::kernel::OpPrecision)).
//!
//! Every operation converts its operands to the native scalar type of the left operand's format
//! (exactly: the values are that format's), runs that type's operation and holds the result.
//! A `Held` run in one format therefore gives the bits of that format's own run, by
//! construction; the tests check it.

use std::cmp::Ordering;

use rug::Float;

use super::dispatch::in_type;
use super::{Class, Format, Scalar, Spec};

/// A value of `format`, held exactly.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    value: f64,
    format: Format,
}

impl Held {
    /// The format the value belongs to.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Holds a value of `format` (rounded to it when it is not one of its values).
    pub fn new(x: f64, format: Format) -> Held {
        in_type!(format, T => Held { value: out(into::<T>(x)), format })
    }
}

/// `x` in the scalar type `T` (exact when `x` is one of its values).
fn into<T: Scalar<Context = ()>>(x: f64) -> T {
    T::from_f64(x, &())
}

/// A value of `T`, exactly.
fn out<T: Scalar>(x: T) -> f64 {
    x.to_f64()
}

/// `self.$method(operands…)` in the native type of `self`'s format. Operands of another format
/// are rounded into it first (only a caller that mixes formats by hand has them; a per-op
/// policy converts an op's inputs before the op).
macro_rules! native {
    ($self:ident . $method:ident ( $($operand:expr),* )) => {
        in_type!($self.format, T => Held {
            value: out(<T as Scalar>::$method(&into::<T>($self.value) $(, &into::<T>($operand.value))*)),
            format: $self.format,
        })
    };
}

impl PartialEq for Held {
    fn eq(&self, other: &Held) -> bool {
        self.value == other.value
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Held) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl Scalar for Held {
    /// The format a new value is made in.
    type Context = Format;

    fn spec(format: &Format) -> Spec {
        format.spec()
    }
    fn from_f64(x: f64, format: &Format) -> Held {
        Held::new(x, *format)
    }
    fn from_big(x: &Float, format: &Format) -> Held {
        let format = *format;
        in_type!(format, T => Held { value: out(<T as Scalar>::from_big(x, &())), format })
    }
    fn to_f64(&self) -> f64 {
        self.value
    }
    fn to_big(&self, prec: u32) -> Float {
        Float::with_val(prec, self.value)
    }
    fn precision(&self) -> u32 {
        self.format.spec().precision
    }
    fn add(&self, rhs: &Held) -> Held {
        native!(self.add(rhs))
    }
    fn sub(&self, rhs: &Held) -> Held {
        native!(self.sub(rhs))
    }
    fn sub_stochastic(&self, rhs: &Held, u: f64) -> Held {
        in_type!(self.format, T => Held {
            value: out(<T as Scalar>::sub_stochastic(&into::<T>(self.value), &into::<T>(rhs.value), u)),
            format: self.format,
        })
    }
    fn mul(&self, rhs: &Held) -> Held {
        native!(self.mul(rhs))
    }
    fn div(&self, rhs: &Held) -> Held {
        native!(self.div(rhs))
    }
    fn mul_add(&self, a: &Held, b: &Held) -> Held {
        native!(self.mul_add(a, b))
    }
    fn sqrt(&self) -> Held {
        native!(self.sqrt())
    }
    fn neg(&self) -> Held {
        native!(self.neg())
    }
    fn abs(&self) -> Held {
        native!(self.abs())
    }
    fn exp(&self) -> Held {
        native!(self.exp())
    }
    fn ln(&self) -> Held {
        native!(self.ln())
    }
    fn ln_1p(&self) -> Held {
        native!(self.ln_1p())
    }
    fn tanh(&self) -> Held {
        native!(self.tanh())
    }
    fn sigmoid(&self) -> Held {
        native!(self.sigmoid())
    }
    fn classify(&self) -> Class {
        self.format.spec().classify_f64(self.value)
    }
    fn is_sign_negative(&self) -> bool {
        self.value.is_sign_negative()
    }
    fn ordinal(&self) -> Option<i64> {
        in_type!(self.format, T => <T as Scalar>::ordinal(&into::<T>(self.value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatFn;
    use crate::format::Native;

    /// Every operation of a `Held` gives the bits of its format's own operation, on values
    /// that exercise rounding, ties, subnormals, overflow and NaN.
    #[test]
    fn held_values_compute_as_their_format_does() {
        struct Check;
        impl FormatFn for Check {
            type Output = ();
            fn call<S: Native>(self, format: Format) {
                let values = [
                    0.0,
                    -0.0,
                    1.0,
                    -1.5,
                    0.1,
                    3.0,
                    1e-3,
                    6.0e-8,
                    1e-40,
                    65504.0,
                    448.0,
                    7.0,
                    1e30,
                    -2.5e-5,
                    f64::INFINITY,
                    f64::NAN,
                ];
                let same = |native: S, held: Held, what: &str| {
                    let (n, h) = (native.to_f64(), held.to_f64());
                    assert!(
                        n.to_bits() == h.to_bits() || (n.is_nan() && h.is_nan()),
                        "{format} {what}: native {n:e}, held {h:e}"
                    );
                    assert_eq!(held.format(), format);
                };
                for &x in &values {
                    let (a, ha) = (S::from_f64(x, &()), Held::new(x, format));
                    same(a.clone(), ha, "from_f64");
                    same(a.sqrt(), ha.sqrt(), "sqrt");
                    same(a.exp(), ha.exp(), "exp");
                    same(a.ln(), ha.ln(), "ln");
                    same(a.ln_1p(), ha.ln_1p(), "ln_1p");
                    same(a.tanh(), ha.tanh(), "tanh");
                    same(a.sigmoid(), ha.sigmoid(), "sigmoid");
                    same(a.neg(), ha.neg(), "neg");
                    assert_eq!(a.classify(), ha.classify(), "{format} classify {x:e}");
                    assert_eq!(a.ordinal(), ha.ordinal(), "{format} ordinal {x:e}");
                    for &y in &values {
                        let (b, hb) = (S::from_f64(y, &()), Held::new(y, format));
                        same(a.add(&b), ha.add(&hb), "add");
                        same(a.sub(&b), ha.sub(&hb), "sub");
                        same(a.mul(&b), ha.mul(&hb), "mul");
                        same(a.div(&b), ha.div(&hb), "div");
                        same(a.mul_add(&b, &a), ha.mul_add(&hb, &ha), "mul_add");
                        same(
                            a.sub_stochastic(&b, 0.3),
                            ha.sub_stochastic(&hb, 0.3),
                            "sub_st",
                        );
                    }
                }
            }
        }
        for format in Format::ALL {
            format.dispatch(Check);
        }
    }

    #[test]
    fn held_values_round_into_their_format() {
        assert_eq!(Held::new(1e-8, Format::F16).to_f64(), 0.0);
        assert_eq!(Held::new(0.1, Format::F32).to_f64(), f64::from(0.1f32));
        let x = Held::new(0.1, Format::F32);
        // A value of f32 moved into bf16 rounds once.
        assert_eq!(
            Held::from_f64(x.to_f64(), &Format::Bf16).to_f64(),
            0.10009765625
        );
    }
}
