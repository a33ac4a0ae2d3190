//! The one place a run-time [`Format`] becomes a compile-time scalar type: every generic
//! function that runs "in the format the user named" goes through [`Format::dispatch`].

use half::{bf16, f16};

use super::minifloat::{E2m1, E2m3, E3m2, E4m3, E5m2, Tf32};
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

measured_in_f64!(f16, bf16, f32, Tf32, E5m2, E4m3, E3m2, E2m3, E2m1);

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

impl Format {
    /// Runs `f` in this format's scalar type.
    pub fn dispatch<F: FormatFn>(self, f: F) -> F::Output {
        match self {
            Format::F16 => f.call::<f16>(self),
            Format::Bf16 => f.call::<bf16>(self),
            Format::F32 => f.call::<f32>(self),
            Format::F64 => f.call::<f64>(self),
            Format::Tf32 => f.call::<Tf32>(self),
            Format::E5m2 => f.call::<E5m2>(self),
            Format::E4m3 => f.call::<E4m3>(self),
            Format::E3m2 => f.call::<E3m2>(self),
            Format::E2m3 => f.call::<E2m3>(self),
            Format::E2m1 => f.call::<E2m1>(self),
        }
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
