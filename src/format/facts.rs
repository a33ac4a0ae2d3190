//! Format facts: precision, exponent range and the derived limits of every number format.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The low-precision formats the audit can train in (the reference is separate: see [`Spec::reference`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// IEEE 754 binary16.
    F16,
    /// bfloat16: binary32's exponent range with an 8-bit significand.
    Bf16,
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
    /// TensorFloat-32 (e8m10), see [`NARROW`].
    Tf32,
    /// OCP FP8 E5M2.
    E5m2,
    /// OCP FP8 E4M3FN.
    E4m3,
    /// OCP FP6 E3M2.
    E3m2,
    /// OCP FP6 E2M3.
    E2m3,
    /// OCP FP4 E2M1.
    E2m1,
    /// A format named at run time, in its slot (see [`custom`](super::custom)): a user's
    /// `eXmY` lane, or a named narrow format with another overflow rule.
    Custom(u8),
}

impl Format {
    /// Every format: the IEEE ones, then the narrow ones of [`NARROW`].
    pub const ALL: [Format; 10] = [
        Format::F16,
        Format::Bf16,
        Format::F32,
        Format::F64,
        Format::Tf32,
        Format::E5m2,
        Format::E4m3,
        Format::E3m2,
        Format::E2m3,
        Format::E2m1,
    ];

    /// The name used on the command line and in every report.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The facts of this format.
    pub fn spec(self) -> Spec {
        match self {
            Format::Custom(slot) => super::custom::spec(slot),
            named => named.named_spec().expect("a named format"),
        }
    }

    /// The facts of a named format, known at compile time; `None` for a run-time one.
    pub const fn named_spec(self) -> Option<Spec> {
        Some(match self {
            Format::F16 => Spec::ieee("f16", 11, 15),
            Format::Bf16 => Spec::ieee("bf16", 8, 127),
            Format::F32 => Spec::ieee("f32", 24, 127),
            Format::F64 => Spec::ieee("f64", 53, 1023),
            Format::Tf32 => NARROW[0],
            Format::E5m2 => NARROW[1],
            Format::E4m3 => NARROW[2],
            Format::E3m2 => NARROW[3],
            Format::E2m3 => NARROW[4],
            Format::E2m1 => NARROW[5],
            Format::Custom(_) => return None,
        })
    }

    /// Whether the format is one of [`NARROW`] or named at run time (its values and overflow
    /// rule given as data).
    pub fn is_narrow(self) -> bool {
        matches!(self, Format::Custom(_)) || NARROW.contains(&self.spec())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Format::ALL
            .into_iter()
            .find(|fmt| fmt.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFormat {
                name: s.to_string(),
            })
    }
}

/// What a binary floating-point format can represent.
///
/// Exponents follow IEEE 754: normal values are `1.f × 2^e` with `emin <= e <= emax`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Name as printed (`f16`, `bf16`, `f32`, `f64`, `mpfr113`).
    pub name: &'static str,
    /// Precision t in bits, hidden bit included.
    pub precision: u32,
    /// Smallest normal exponent.
    pub emin: i32,
    /// Largest exponent.
    pub emax: i32,
    /// Whether values below 2^emin are represented with reduced precision (IEEE) or not at all.
    pub has_subnormals: bool,
    /// Which encodings are infinities and NaN.
    pub specials: Specials,
    /// What rounding does to values beyond the largest finite one, unless told otherwise.
    pub overflow: Overflow,
}

crate::named_enum! {
    /// Which encodings of a binary format are infinities and NaN.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Specials {
        /// IEEE 754: the largest exponent field holds ±inf (fraction 0) and NaN (fraction ≠ 0).
        Ieee = "ieee",
        /// OCP "FN" (E4M3FN): no infinities; only S.1…1.1…1 is NaN, the rest of the largest
        /// exponent field holds finite values.
        NanAllOnes = "nan-all-ones",
        /// OCP FP6/FP4: every encoding is a finite number.
        FiniteOnly = "finite-only",
    }
}

crate::named_enum! {
    /// What rounding to nearest does with a value beyond the largest finite one (after
    /// rounding with an unbounded exponent).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Overflow: parsed from "--overflow" as "overflow rule" {
        /// IEEE 754: ±inf. Needs a format with infinities.
        Ieee = "ieee",
        /// ±the largest finite value (CUDA's SATFINITE).
        Saturate = "saturate",
        /// NaN. Needs a format with a NaN.
        Nan = "nan",
    }
}

impl Overflow {
    /// Whether `spec` can represent what this rule stores on overflow.
    pub fn fits(self, spec: &Spec) -> bool {
        match self {
            Overflow::Ieee => spec.specials == Specials::Ieee,
            Overflow::Saturate => true,
            Overflow::Nan => spec.specials != Specials::FiniteOnly,
        }
    }
}

/// The narrow formats known by name, narrowest last: each one line of data.
pub const NARROW: [Spec; 6] = [
    Spec::narrow("tf32", 8, 10, Specials::Ieee, Overflow::Ieee),
    Spec::narrow("e5m2", 5, 2, Specials::Ieee, Overflow::Ieee),
    Spec::narrow("e4m3", 4, 3, Specials::NanAllOnes, Overflow::Nan),
    Spec::narrow("e3m2", 3, 2, Specials::FiniteOnly, Overflow::Saturate),
    Spec::narrow("e2m3", 2, 3, Specials::FiniteOnly, Overflow::Saturate),
    Spec::narrow("e2m1", 2, 1, Specials::FiniteOnly, Overflow::Saturate),
];

/// The exponent and significand field widths a user-typed `eXmY` may have: every value, its
/// subnormals and its rounding boundaries are then f64 normals far from f64's limits.
pub const NARROW_EXP_BITS: std::ops::RangeInclusive<u32> = 2..=10;
/// See [`NARROW_EXP_BITS`]; 50 keeps t + 2 ≤ 53 for rounding through a round-to-odd f64.
pub const NARROW_MAN_BITS: std::ops::RangeInclusive<u32> = 1..=50;

impl Spec {
    const fn ieee(name: &'static str, precision: u32, emax: i32) -> Spec {
        Spec {
            name,
            precision,
            emin: 1 - emax,
            emax,
            has_subnormals: true,
            specials: Specials::Ieee,
            overflow: Overflow::Ieee,
        }
    }

    /// A binary format of `exp_bits` exponent and `man_bits` fraction bits (plus a sign bit),
    /// bias 2^(exp_bits−1) − 1, subnormals, and `specials` taking what they take of the largest
    /// exponent field.
    pub const fn narrow(
        name: &'static str,
        exp_bits: u32,
        man_bits: u32,
        specials: Specials,
        overflow: Overflow,
    ) -> Spec {
        let bias = (1 << (exp_bits - 1)) - 1;
        let top = (1 << exp_bits) - 1 - bias;
        Spec {
            name,
            precision: man_bits + 1,
            emin: 1 - bias,
            emax: match specials {
                Specials::Ieee => top - 1,
                Specials::NanAllOnes | Specials::FiniteOnly => top,
            },
            has_subnormals: true,
            specials,
            overflow,
        }
    }

    /// A narrow format by name: one of [`NARROW`], or any IEEE-like `eXmY` (X exponent bits in
    /// [`NARROW_EXP_BITS`], Y fraction bits in [`NARROW_MAN_BITS`]), e.g. `e5m7`.
    pub fn parse_narrow(text: &str) -> Option<Spec> {
        let name = text.trim().to_ascii_lowercase();
        if let Some(spec) = NARROW.into_iter().find(|s| s.name == name) {
            return Some(spec);
        }
        let (exp, man) = name.strip_prefix('e')?.split_once('m')?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
        if !digits(exp) || !digits(man) {
            return None;
        }
        let (exp, man) = (exp.parse().ok()?, man.parse().ok()?);
        (NARROW_EXP_BITS.contains(&exp) && NARROW_MAN_BITS.contains(&man))
            .then(|| Spec::narrow(leak_name(name), exp, man, Specials::Ieee, Overflow::Ieee))
    }

    /// Bits of the exponent field.
    pub fn exp_bits(&self) -> u32 {
        let codes = self.emax - self.emin + 2 + i32::from(self.specials == Specials::Ieee);
        codes.ilog2()
    }

    /// The exponent bias.
    pub fn bias(&self) -> i32 {
        1 - self.emin
    }

    /// The MPFR reference at `precision` bits, with MPFR's default exponent range and no
    /// subnormals. `name` is leaked once per distinct precision so reports can borrow it.
    pub fn reference(precision: u32) -> Spec {
        Spec {
            name: reference_name(precision),
            precision,
            // MPFR's default range, converted from its 0.5 <= m < 1 convention to IEEE's.
            emin: -(1 << 30) + 1,
            emax: (1 << 30) - 2,
            has_subnormals: false,
            specials: Specials::Ieee,
            overflow: Overflow::Ieee,
        }
    }

    /// Double-double: f64's exponent range, about 106 bits, no subnormal significands.
    pub fn double_double() -> Spec {
        Spec {
            name: "double-double",
            precision: 106,
            emin: -1022,
            emax: 1023,
            has_subnormals: false,
            specials: Specials::Ieee,
            overflow: Overflow::Ieee,
        }
    }

    /// Unit roundoff u = 2^-t: the largest relative error of one correctly rounded operation.
    pub fn unit_roundoff(&self) -> f64 {
        pow2(-(self.precision as i32))
    }

    /// 2^emin, or `None` where it is outside f64's range (the reference).
    pub fn min_normal(&self) -> Option<f64> {
        in_f64_range(self.emin).then(|| pow2(self.emin))
    }

    /// 2^(emin − t + 1), the smallest positive value; `None` for the reference (no subnormals,
    /// and outside f64's range).
    pub fn min_subnormal(&self) -> Option<f64> {
        let e = self.emin - self.precision as i32 + 1;
        (self.has_subnormals && e >= -1074).then(|| pow2(e))
    }

    /// (2 − 2^(1−t)) × 2^emax, one step less where the all-ones encoding is NaN (448 for
    /// e4m3), or `None` where it is outside f64's range.
    pub fn max_finite(&self) -> Option<f64> {
        let ulps = if self.specials == Specials::NanAllOnes {
            2.0
        } else {
            1.0
        };
        in_f64_range(self.emax)
            .then(|| (2.0 - ulps * pow2(1 - self.precision as i32)) * pow2(self.emax))
    }

    /// The class of `x`, a value of this format held exactly in an f64.
    pub fn classify_f64(&self, x: f64) -> Class {
        if x.is_nan() {
            Class::Nan
        } else if x.is_infinite() {
            Class::Infinite
        } else if x == 0.0 {
            Class::Zero
        } else if self.min_normal().is_some_and(|m| x.abs() < m) {
            Class::Subnormal
        } else {
            Class::Normal
        }
    }
}

fn in_f64_range(e: i32) -> bool {
    (-1022..=1023).contains(&e)
}

fn reference_name(precision: u32) -> &'static str {
    leak_name(format!("mpfr{precision}"))
}

/// `name` as a `&'static str`, leaked once per distinct name so reports can borrow it.
pub(crate) fn leak_name(name: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// 2^e as an f64, exactly, for -1074 <= e <= 1023 (subnormal powers included).
pub(crate) fn pow2(e: i32) -> f64 {
    debug_assert!((-1074..=1023).contains(&e), "2^{e} is not an f64");
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

crate::named_enum! {
    /// The IEEE 754 class of a value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Class {
        /// +0 or −0.
        Zero = "zero",
        /// Nonzero and below the smallest normal magnitude.
        Subnormal = "subnormal",
        /// Finite and at least the smallest normal magnitude.
        Normal = "normal",
        /// +inf or −inf.
        Infinite = "infinite",
        /// Not a number.
        Nan = "nan",
    }
}
