//! `precision-audit formats` and `round`: a table of format facts, and what each format stores
//! for decimal values.

use crate::error::Error;
use crate::flags::{FormatsArgs, RoundArgs};
use crate::format::{Format, Spec, store};
use crate::report::Output;
use crate::report::format_tables::{self as tables, FORMATS_NOTE};
use crate::report::schema::json_text;

/// The formats table.
pub fn formats(args: &FormatsArgs) -> String {
    let specs: Vec<Spec> = Format::ALL
        .iter()
        .map(|f| f.spec())
        .chain([Spec::reference(args.reference_bits)])
        .collect();
    let schema = tables::formats();
    match args.output {
        Output::Table => schema.table(&specs).render() + FORMATS_NOTE,
        Output::Csv => schema.csv_text(&specs),
        Output::Json => json_text(&schema.json(&specs)),
    }
}

/// The rounding table: every value in every format asked for.
pub fn round(args: &RoundArgs) -> Result<String, Error> {
    let mut rows = Vec::new();
    for text in &args.values {
        for &format in &args.formats {
            rows.push((text.trim().to_string(), format, store(format, text)?));
        }
    }
    let schema = tables::round();
    Ok(match args.output {
        Output::Table => schema.table(&rows).render(),
        Output::Csv => schema.csv_text(&rows),
        Output::Json => json_text(&schema.json(&rows)),
    })
}
