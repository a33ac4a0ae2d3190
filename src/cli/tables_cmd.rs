//! `precision-audit formats`, `round` and `quantize`: a table of format facts, what each format
//! stores for decimal values, and what a scaled format makes of a run of them.

use crate::error::Error;
use crate::flags::{FormatsArgs, QuantizeArgs, RoundArgs};
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

/// The quantize table: every value with its block's scale and what it stands for.
pub fn quantize(args: &QuantizeArgs) -> Result<String, Error> {
    let values = args
        .values
        .iter()
        .map(|text| crate::format::from_decimal::<f64>(text, &()))
        .collect::<Result<Vec<f64>, Error>>()?;
    let blocks = crate::format::scaled::quantize(&values, args.scheme, args.mx_scale);
    let mut rows = Vec::new();
    let mut texts = args.values.iter().zip(&values);
    for (block, quantized) in blocks.iter().enumerate() {
        for (&stored, &clipped) in quantized.values.iter().zip(&quantized.element_clipped) {
            let (text, &value) = texts.next().expect("a value per element");
            rows.push(tables::QuantizeRow {
                text: text.trim(),
                value,
                block,
                quantized,
                stored,
                clipped,
            });
        }
    }
    let schema = tables::quantize();
    Ok(match args.output {
        Output::Table => schema.table(&rows).render(),
        Output::Csv => schema.csv_text(&rows),
        Output::Json => json_text(&schema.json(&rows)),
    })
}
