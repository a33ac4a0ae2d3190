//! `precision-audit formats` and `round`: a table of format facts, and what each format stores
//! for decimal values.

use crate::error::Error;
use crate::flags::{FormatsArgs, RoundArgs};
use crate::format::{Format, NARROW, Spec, Storage, store_with};
use crate::report::Output;
use crate::report::format_tables::{self as tables, FORMATS_NOTE, NARROW_NOTE};
use crate::report::schema::json_text;

/// The formats table: the lanes' formats and the reference, then the narrow formats (in files,
/// all in one table); only those asked for with `--formats`.
pub fn formats(args: &FormatsArgs) -> String {
    let (lanes, narrow): (Vec<Spec>, Vec<Spec>) = if args.formats.is_empty() {
        let lanes = Format::ALL
            .iter()
            .filter(|f| !f.is_narrow())
            .map(|f| f.spec());
        (
            lanes
                .chain([Spec::reference(args.reference_bits)])
                .collect(),
            NARROW.to_vec(),
        )
    } else {
        let (lanes, narrow): (Vec<Storage>, Vec<Storage>) = args
            .formats
            .iter()
            .partition(|s| matches!(s, Storage::Lane(_)));
        (
            lanes.iter().map(Storage::spec).collect(),
            narrow.iter().map(Storage::spec).collect(),
        )
    };
    let schema = tables::formats();
    let all = || lanes.iter().chain(&narrow);
    match args.output {
        Output::Table => {
            let mut text = String::new();
            if !lanes.is_empty() {
                text += &(schema.table(&lanes).render() + FORMATS_NOTE);
            }
            if !narrow.is_empty() {
                if !lanes.is_empty() {
                    text += "\n";
                }
                text += &(tables::narrow().table(&narrow).render() + NARROW_NOTE);
            }
            text
        }
        Output::Csv => schema.csv_text(all()),
        Output::Json => json_text(&schema.json(all())),
    }
}

/// The rounding table: every value in every format asked for.
pub fn round(args: &RoundArgs) -> Result<String, Error> {
    let mut rows = Vec::new();
    for text in &args.values {
        for &format in &args.formats {
            let stored = store_with(format, text, args.overflow)?;
            rows.push((text.trim().to_string(), format.spec(), stored));
        }
    }
    let schema = tables::round();
    Ok(match args.output {
        Output::Table => schema.table(&rows).render(),
        Output::Csv => schema.csv_text(&rows),
        Output::Json => json_text(&schema.json(&rows)),
    })
}
