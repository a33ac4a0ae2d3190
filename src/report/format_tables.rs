//! The tables of `precision-audit formats` (the facts of every format) and `round` (what each
//! format stores for a decimal), each defined once.

use crate::format::scaled::Quantized;
use crate::format::text::{hex, shortest};
use crate::format::{Class, Spec, Specials, Stored};
use crate::report::schema::{Cell, Column, Schema, Style};

/// `2^e` with its value where an f64 holds it: `6.103515625e-05 (2^-14)`.
fn power(x: Option<f64>, exponent: i32) -> String {
    match x {
        Some(x) => format!("{} (2^{exponent})", shortest(x)),
        None => format!("2^{exponent}"),
    }
}

/// The formats table: one row per format and the reference.
pub fn formats<'s>() -> Schema<'s, Spec> {
    Schema::new(fact_columns())
}

/// The narrow formats' table: the facts of [`formats`] and how the format encodes its specials.
pub fn narrow<'s>() -> Schema<'s, Spec> {
    let mut columns = fact_columns();
    columns.extend([
        Column::new("bias", "bias", "", Style::Plain, |s: &Spec| s.bias()),
        Column::new("layout", "bits", "", Style::Plain, |s: &Spec| {
            format!("1+{}+{}", s.exp_bits(), s.precision - 1)
        }),
        Column::new(
            "specials",
            "inf and NaN",
            "",
            Style::Plain,
            |s: &Spec| match s.specials {
                Specials::Ieee => "IEEE".to_string(),
                Specials::NanAllOnes => format!(
                    "no inf; NaN S.{}.{}",
                    "1".repeat(s.exp_bits() as usize),
                    "1".repeat(s.precision as usize - 1)
                ),
                Specials::FiniteOnly => "none".to_string(),
            },
        ),
        Column::new("overflow", "overflow", "", Style::Plain, |s: &Spec| {
            s.overflow.name()
        }),
    ]);
    Schema::new(columns)
}

/// The columns every format has.
fn fact_columns<'s>() -> Vec<Column<'s, Spec>> {
    vec![
        Column::new("format", "format", "", Style::Plain, |s: &Spec| s.name),
        Column::new(
            "precision_bits",
            "t (bits)",
            "bits",
            Style::Plain,
            |s: &Spec| s.precision,
        ),
        Column::new("emin", "emin", "", Style::Plain, |s: &Spec| s.emin),
        Column::new("emax", "emax", "", Style::Plain, |s: &Spec| s.emax),
        Column::new(
            "unit_roundoff",
            "unit roundoff u",
            "relative",
            Style::Plain,
            |s: &Spec| s.unit_roundoff(),
        )
        .files_only(),
        Column::new("u", "unit roundoff u", "", Style::Plain, |s: &Spec| {
            power(Some(s.unit_roundoff()), -(s.precision as i32))
        })
        .terminal_only(),
        Column::new(
            "min_normal",
            "smallest normal",
            "",
            Style::Plain,
            |s: &Spec| s.min_normal(),
        )
        .files_only(),
        Column::new(
            "smallest_normal",
            "smallest normal",
            "",
            Style::Plain,
            |s: &Spec| power(s.min_normal(), s.emin),
        )
        .terminal_only(),
        Column::new(
            "min_subnormal",
            "smallest subnormal",
            "",
            Style::Plain,
            |s: &Spec| s.min_subnormal(),
        )
        .files_only(),
        Column::new(
            "smallest_subnormal",
            "smallest subnormal",
            "",
            Style::Plain,
            |s: &Spec| {
                if s.has_subnormals {
                    power(s.min_subnormal(), s.emin - s.precision as i32 + 1)
                } else {
                    "none".into()
                }
            },
        )
        .terminal_only(),
        Column::new(
            "max_finite",
            "largest finite",
            "",
            Style::Plain,
            |s: &Spec| s.max_finite(),
        )
        .files_only(),
        Column::new(
            "largest_finite",
            "largest finite",
            "",
            Style::Plain,
            |s: &Spec| {
                s.max_finite()
                    .map(shortest)
                    .unwrap_or_else(|| format!("(2 - 2^{}) * 2^{}", 1 - s.precision as i32, s.emax))
            },
        )
        .terminal_only(),
    ]
}

/// The note under the terminal's formats table.
pub const FORMATS_NOTE: &str = "\nu = 2^-t is the largest relative error of one correctly \
rounded operation. The reference is MPFR: no subnormals,\nand an exponent range so wide that \
nothing a network computes reaches its limits.\n";

/// The note under the terminal's narrow formats table.
pub const NARROW_NOTE: &str = "\nNarrow formats are rounded by `round --formats`; --overflow \
overrides the overflow rule: ieee (±inf),\nsaturate (±largest finite) or nan. tf32, e5m2 and any \
eXmY are IEEE-like; e4m3 is OCP E4M3FN, e3m2, e2m3 and\ne2m1 are OCP FP6/FP4 (no inf, no NaN).\n";

/// A row of the rounding table: one value in one format.
pub type RoundRow = (String, Spec, Stored);

/// What the terminal says of a stored value.
fn note(s: &Stored) -> &'static str {
    match (s.overflow, s.underflow, s.class) {
        (true, _, _) => "overflow",
        (_, true, Class::Zero) => "underflow to zero",
        (_, true, _) => "underflow (subnormal)",
        _ if s.rel_error == 0.0 => "exact",
        _ => "",
    }
}

/// The rounding table.
pub fn round<'s>() -> Schema<'s, RoundRow> {
    Schema::new(vec![
        Column::new(
            "value",
            "value",
            "",
            Style::Plain,
            |(v, _, _): &RoundRow| Cell::Decimal(v.clone()),
        ),
        Column::new(
            "format",
            "format",
            "",
            Style::Plain,
            |(_, f, _): &RoundRow| f.name,
        ),
        Column::new(
            "stored",
            "stored",
            "",
            Style::Plain,
            |(_, _, s): &RoundRow| s.value,
        ),
        Column::new("hex", "hex", "", Style::Plain, |(_, _, s): &RoundRow| {
            hex(s.value)
        }),
        Column::new(
            "class",
            "class",
            "",
            Style::Plain,
            |(_, _, s): &RoundRow| s.class.name(),
        ),
        Column::new(
            "rel_error",
            "rel error",
            "relative",
            Style::SciNonzero,
            |(_, _, s): &RoundRow| s.rel_error,
        ),
        Column::new(
            "overflow",
            "overflow",
            "",
            Style::Plain,
            |(_, _, s): &RoundRow| s.overflow,
        )
        .files_only(),
        Column::new(
            "underflow",
            "underflow",
            "",
            Style::Plain,
            |(_, _, s): &RoundRow| s.underflow,
        )
        .files_only(),
        Column::new("note", "note", "", Style::Plain, |(_, _, s): &RoundRow| {
            note(s)
        })
        .terminal_only(),
    ])
}

/// A row of `quantize`'s table: one value, with its block.
pub struct QuantizeRow<'a> {
    /// The value as given.
    pub text: &'a str,
    /// The value, rounded to f64.
    pub value: f64,
    /// Its block, 0-based.
    pub block: usize,
    /// The block it belongs to.
    pub quantized: &'a Quantized,
    /// What the element stands for.
    pub stored: f64,
    /// Whether it was clipped to the element's largest value.
    pub clipped: bool,
}

/// `quantize`: each value, its block's scale and what it is stored as.
pub fn quantize<'s>() -> Schema<'s, QuantizeRow<'s>> {
    Schema::new(vec![
        Column::new("value", "value", "", Style::Plain, |r: &QuantizeRow| {
            Cell::Decimal(r.text.to_string())
        }),
        Column::new("block", "block", "", Style::Plain, |r: &QuantizeRow| {
            r.block
        }),
        Column::new("scale", "scale", "", Style::Plain, |r: &QuantizeRow| {
            r.quantized.scale
        }),
        Column::new("stored", "stored", "", Style::Plain, |r: &QuantizeRow| {
            r.stored
        }),
        Column::new(
            "rel_error",
            "rel error",
            "relative",
            Style::SciNonzero,
            |r: &QuantizeRow| crate::audit::relative_difference(r.stored, r.value),
        ),
        Column::new("clipped", "clipped", "", Style::Plain, |r: &QuantizeRow| {
            r.clipped
        }),
        Column::new("flushed", "flushed", "", Style::Plain, |r: &QuantizeRow| {
            r.stored == 0.0 && r.value != 0.0
        }),
        Column::new(
            "scale_saturated",
            "scale saturated",
            "",
            Style::Plain,
            |r: &QuantizeRow| r.quantized.scale_saturated,
        ),
    ])
}
