//! `precision-audit round`: what each format stores for a decimal value.

use half::{bf16, f16};
use rug::Float;

use crate::cli::args::{Output, RoundArgs};
use crate::error::Error;
use crate::format::text::{hex, parse_exact, shortest};
use crate::format::{Class, Format, Scalar, from_decimal};
use crate::report::csv_out::{number, write_rows};
use crate::report::{Table, json_out};

const HEADER: &[&str] = &[
    "value",
    "format",
    "stored",
    "hex",
    "class",
    "rel_error",
    "overflow",
    "underflow",
];

/// One value in one format.
struct Rounded {
    stored: f64,
    class: Class,
    rel_error: f64,
    overflow: bool,
    underflow: bool,
}

fn round_in<S: Scalar<Context = ()>>(text: &str, exact: &Float) -> Result<Rounded, Error> {
    let stored: S = from_decimal(text, &())?;
    let class = stored.classify();
    let finite_exact = exact.is_finite();
    let rel_error = if !finite_exact || exact.is_zero() {
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
    Ok(Rounded {
        stored: stored.to_f64(),
        class,
        rel_error,
        overflow: finite_exact && class == Class::Infinite,
        // IEEE 754's underflow: a tiny result that is inexact (flushed to zero or subnormal).
        underflow: finite_exact
            && !exact.is_zero()
            && matches!(class, Class::Zero | Class::Subnormal)
            && rel_error > 0.0,
    })
}

fn round(format: Format, text: &str, exact: &Float) -> Result<Rounded, Error> {
    match format {
        Format::F16 => round_in::<f16>(text, exact),
        Format::Bf16 => round_in::<bf16>(text, exact),
        Format::F32 => round_in::<f32>(text, exact),
        Format::F64 => round_in::<f64>(text, exact),
    }
}

fn note(r: &Rounded) -> String {
    match (r.overflow, r.underflow, r.class) {
        (true, _, _) => "overflow".into(),
        (_, true, Class::Zero) => "underflow to zero".into(),
        (_, true, _) => "underflow (subnormal)".into(),
        (_, _, _) if r.rel_error == 0.0 => "exact".into(),
        _ => String::new(),
    }
}

/// The rounding table as text or CSV.
pub fn run(args: &RoundArgs) -> Result<String, Error> {
    let mut rows = Vec::new();
    for text in &args.values {
        let exact = parse_exact(text)?;
        for &format in &args.formats {
            let r = round(format, text, &exact)?;
            rows.push((text.trim().to_string(), format, r));
        }
    }
    match args.output {
        Output::Csv | Output::Json => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|(value, format, r)| {
                    vec![
                        value.clone(),
                        format.name().to_string(),
                        number(r.stored),
                        hex(r.stored),
                        r.class.name().to_string(),
                        number(r.rel_error),
                        r.overflow.to_string(),
                        r.underflow.to_string(),
                    ]
                })
                .collect();
            if args.output == Output::Json {
                return Ok(json_out::render(&json_out::table(HEADER, &cells)));
            }
            let mut bytes = Vec::new();
            write_rows(&mut bytes, HEADER, &cells).map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            })?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
        Output::Table => {
            let mut table = Table::new([
                "value",
                "format",
                "stored",
                "hex",
                "class",
                "rel error",
                "note",
            ]);
            for (value, format, r) in &rows {
                table.row([
                    value.clone(),
                    format.name().to_string(),
                    shortest(r.stored),
                    hex(r.stored),
                    r.class.name().to_string(),
                    if r.rel_error == 0.0 || !r.rel_error.is_finite() {
                        shortest(r.rel_error)
                    } else {
                        format!("{:.3e}", r.rel_error)
                    },
                    note(r),
                ]);
            }
            Ok(table.render())
        }
    }
}
