//! The one place a run-time [`Format`] becomes a compile-time scalar type: every generic
//! function that runs "in the format the user named" goes through [`Format::dispatch`] (or,
//! value by value, the `in_type!` match it is made of).

use half::{bf16, f16};

use super::minifloat::{Custom, E2m1, E2m3, E3m2, E4m3, E5m2, Tf32};
use super::{DoubleDouble, Format, Scalar};

/// A format a lane can train in: fixed (no run-time context), with the yardstick its local
/// error is measured against.
pub trait Native: Scalar<Context = ()> {
    /// A format whose own rounding error is negligible next to this one's.
    type Yardstick: Scalar<Context = ()>;
}

/// f64 carries 29 or more bits beyond these formats: its own error is negligible.
macro_rules! measured_in_f64 {
    ($($ty:ty),*) => {$(
        impl Native for $ty {
            type Yardstick = f64;
        }
    )*};
}

measured_in_f64!(
    f16,
    bf16,
    f32,
    Tf32,
    E5m2,
    E4m3,
    E3m2,
    E2m3,
    E2m1,
    Custom<0>,
    Custom<1>,
    Custom<2>,
    Custom<3>
);

/// f64 is measured against double-double, whose errors are about 2^-50 times f64's.
impl Native for f64 {
    type Yardstick = DoubleDouble;
}

/// A computation generic over the format, called with the type a [`Format`] names (as candle's
/// `Map1`): closures cannot be generic, so callers write a small struct.
pub trait FormatFn {
    /// What the computation returns.
    type Output;
    /// Runs it in `S`, the type of `format`.
    fn call<S: Native>(self, format: Format) -> Self::Output;
}

/// Evaluates `$body` with `$t` the scalar type of the format `$format`: the one match from
/// format to type, for [`Format::dispatch`] and for code that cannot name a [`FormatFn`]
/// (per-value dispatch in [`Held`](super::Held)).
macro_rules! in_type {
    ($format:expr, $t:ident => $body:expr) => {{
        #[allow(unused_imports)]
        use half::{bf16, f16};
        use $crate::format::Format;
        #[allow(unused_imports)]
        use $crate::format::minifloat::{Custom, E2m1, E2m3, E3m2, E4m3, E5m2, Tf32};
        match $format {
            Format::F16 => {
                type $t = f16;
                $body
            }
            Format::Bf16 => {
                type $t = bf16;
                $body
            }
            Format::F32 => {
                type $t = f32;
                $body
            }
            Format::F64 => {
                type $t = f64;
                $body
            }
            Format::Tf32 => {
                type $t = Tf32;
                $body
            }
            Format::E5m2 => {
                type $t = E5m2;
                $body
            }
            Format::E4m3 => {
                type $t = E4m3;
                $body
            }
            Format::E3m2 => {
                type $t = E3m2;
                $body
            }
            Format::E2m3 => {
                type $t = E2m3;
                $body
            }
            Format::E2m1 => {
                type $t = E2m1;
                $body
            }
            // One arm per slot of `custom::SLOTS`.
            Format::Custom(0) => {
                type $t = Custom<0>;
                $body
            }
            Format::Custom(1) => {
                type $t = Custom<1>;
                $body
            }
            Format::Custom(2) => {
                type $t = Custom<2>;
                $body
            }
            Format::Custom(_) => {
                type $t = Custom<3>;
                $body
            }
        }
    }};
}
pub(crate) use in_type;

impl Format {
    /// Runs `f` in this format's scalar type.
    pub fn dispatch<F: FormatFn>(self, f: F) -> F::Output {
        in_type!(self, T => f.call::<T>(self))
    }
}

/// The arithmetic of the reference trajectory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// MPFR at this many bits: the reference of record.
    Mpfr(u32),
    /// Double-double (about 106 bits): far faster, for large runs.
    DoubleDouble,
}

/// A computation generic over the reference's type, called with its context.
pub trait ReferenceFn {
    /// What the computation returns.
    type Output;
    /// Runs it in `R`, with the context (precision) the reference asks for.
    fn call<R: Scalar>(self, ctx: R::Context) -> Self::Output;
}

impl Reference {
    /// Its precision in bits.
    pub fn bits(self) -> u32 {
        match self {
            Reference::Mpfr(bits) => bits,
            Reference::DoubleDouble => super::DOUBLE_DOUBLE_BITS,
        }
    }

    /// Its name in reports: `mpfr113`, `double-double`.
    pub fn name(self) -> String {
        match self {
            Reference::Mpfr(bits) => format!("mpfr{bits}"),
            Reference::DoubleDouble => "double-double".into(),
        }
    }

    /// Runs `f` in the reference's scalar type.
    pub fn dispatch<F: ReferenceFn>(self, f: F) -> F::Output {
        match self {
            Reference::Mpfr(bits) => f.call::<super::Mpfr>(bits),
            Reference::DoubleDouble => f.call::<DoubleDouble>(()),
        }
    }
}
