//! `precision-audit formats`: the facts of every format in one table.

use crate::cli::args::{FormatsArgs, Output};
use crate::error::Error;
use crate::format::text::shortest;
use crate::format::{Format, Spec};
use crate::report::csv_out::{maybe, number, write_rows};
use crate::report::{Table, json_out};

const HEADER: &[&str] = &[
    "format",
    "precision_bits",
    "emin",
    "emax",
    "unit_roundoff",
    "min_normal",
    "min_subnormal",
    "max_finite",
];

fn power(x: Option<f64>, exponent: Option<i32>) -> String {
    match (x, exponent) {
        (Some(x), Some(e)) => format!("{} (2^{e})", shortest(x)),
        (None, Some(e)) => format!("2^{e}"),
        _ => "-".into(),
    }
}

/// The formats table as text or CSV.
pub fn run(args: &FormatsArgs) -> Result<String, Error> {
    let specs: Vec<Spec> = Format::ALL
        .iter()
        .map(|f| f.spec())
        .chain([Spec::reference(args.reference_bits)])
        .collect();
    let text = match args.output {
        Output::Csv | Output::Json => {
            let rows: Vec<Vec<String>> = specs
                .iter()
                .map(|s| {
                    vec![
                        s.name.to_string(),
                        s.precision.to_string(),
                        s.emin.to_string(),
                        s.emax.to_string(),
                        number(s.unit_roundoff()),
                        maybe(s.min_normal()),
                        maybe(s.min_subnormal()),
                        maybe(s.max_finite()),
                    ]
                })
                .collect();
            if args.output == Output::Json {
                return Ok(json_out::render(&json_out::table(HEADER, &rows)));
            }
            let mut bytes = Vec::new();
            write_rows(&mut bytes, HEADER, &rows).map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            })?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Output::Table => {
            let mut table = Table::new([
                "format",
                "t (bits)",
                "emin",
                "emax",
                "unit roundoff u",
                "smallest normal",
                "smallest subnormal",
                "largest finite",
            ]);
            for s in &specs {
                let t = s.precision as i32;
                table.row([
                    s.name.to_string(),
                    s.precision.to_string(),
                    s.emin.to_string(),
                    s.emax.to_string(),
                    power(Some(s.unit_roundoff()), Some(-t)),
                    power(s.min_normal(), Some(s.emin)),
                    if s.has_subnormals {
                        power(s.min_subnormal(), Some(s.emin - t + 1))
                    } else {
                        "none".into()
                    },
                    s.max_finite()
                        .map(shortest)
                        .unwrap_or_else(|| format!("(2 - 2^{}) * 2^{}", 1 - t, s.emax)),
                ]);
            }
            let mut text = table.render();
            text.push_str(
                "\nu = 2^-t is the largest relative error of one correctly rounded operation. The \
                 reference is MPFR: no subnormals,\nand an exponent range so wide that nothing a \
                 network computes reaches its limits.\n",
            );
            text
        }
    };
    Ok(text)
}
