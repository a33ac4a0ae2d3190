//! MLP parameter files: one CSV row per scalar of a [`ParamSet`], read with precise errors and
//! written so that every value reads back to the same f64 bits.
//!
//! The layout is
//!
//! ```text
//! layer,tensor,row,column,value
//! 1,weight,1,1,0.5
//! 1,weight,1,2,-0.25
//! 1,bias,1,1,0
//! …
//! ```
//!
//! - `layer`: the dense layer, numbered from 1 in forward order.
//! - `tensor`: `weight`, of shape inputs × outputs (so a layer computes `x · W + b` on a row
//!   vector `x`), or `bias`, of shape 1 × outputs.
//! - `row`, `column`: the entry's position, both numbered from 1 (a bias's row is always 1).
//! - `value`: a finite decimal; written as the shortest decimal that reads back as the same
//!   f64 ([`shortest`]), e.g. `0.1`, `-3e-08`.
//!
//! Every entry of every tensor appears exactly once, in any order. Layers run 1, 2, …, L with
//! no gap, each has both tensors, and layer `i`'s outputs are layer `i + 1`'s inputs.
//! [`write_params`] writes layers in order, each weight row by row and then its bias.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use ndarray::Array2;

use super::csv_file::{Rows, header_names, parse_cell};
use super::write_atomically;
use crate::Error;
use crate::format::text::shortest;
use crate::model::params::Flaw;
use crate::model::{LayerParams, LayerTensor, ParamSet};
use crate::names::one_of;

/// The header of a parameter file, column by column.
pub const HEADER: [&str; 5] = ["layer", "tensor", "row", "column", "value"];

/// Writes `params` to `path` in the layout of the module documentation, atomically.
///
/// # Errors
///
/// [`Error::InvalidData`] if `params` fail [`ParamSet::validate`] (a file with a NaN or with
/// inconsistent shapes could not be read back); [`Error::Io`] if the file cannot be written.
pub fn write_params(path: &Path, params: &ParamSet) -> Result<(), Error> {
    params.validate()?;
    write_atomically(path, |out| write_params_to(out, params))
}

/// Writes `params` in the layout of the module documentation, without validating them: a
/// diverged run's NaN and inf are written as `nan`, `inf`, `-inf`.
pub fn write_params_to(out: &mut dyn Write, params: &ParamSet) -> std::io::Result<()> {
    writeln!(out, "{}", HEADER.join(","))?;
    for (index, layer) in params.layers.iter().enumerate() {
        for (tensor, values) in layer.tensors() {
            for ((row, column), value) in values.indexed_iter() {
                writeln!(
                    out,
                    "{},{},{},{},{}",
                    index + 1,
                    tensor.name(),
                    row + 1,
                    column + 1,
                    shortest(*value)
                )?;
            }
        }
    }
    Ok(())
}

/// One scalar as read, with the line it came from.
#[derive(Debug, Clone, Copy)]
struct Entry {
    row: u64,
    column: u64,
    value: f64,
    line: u64,
}

/// Reads and checks a parameter file.
///
/// ```
/// use std::path::Path;
/// use precision_audit::data::read_params;
///
/// let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data/params-2-3-1.csv");
/// let params = read_params(&path).unwrap();
/// assert_eq!(params.widths(), [2, 3, 1]);
/// ```
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read. [`Error::BadFile`] naming the file, the line
/// and (for a bad cell) the column, for: an empty file or a wrong header; a row without five
/// fields; a layer, row or column that is not a whole number from 1; a tensor other than
/// `weight` or `bias`; a bias row other than 1; a value that is not a finite number; an entry
/// given twice (with the line of the first); no entries; a missing layer or tensor; a tensor
/// with a missing entry (named by row and column); a bias whose width differs from its
/// weight's outputs; and a layer whose inputs differ from the previous layer's outputs.
pub fn read_params(path: &Path) -> Result<ParamSet, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let bad = |line: u64, column: Option<&str>, message: String| Error::BadFile {
        path: path.to_path_buf(),
        line,
        column: column.map(str::to_string),
        message,
    };

    let mut rows = Rows::new(path, bytes);
    let mut record = csv::ByteRecord::new();
    let expected_header = HEADER.join(",");
    let Some(header_line) = rows.next(&mut record)? else {
        return Err(bad(
            1,
            None,
            format!("the file is empty; expected the header `{expected_header}`"),
        ));
    };
    let names = header_names(path, header_line, &record)?;
    if names != HEADER {
        return Err(bad(
            header_line,
            None,
            format!(
                "expected the header `{expected_header}`, found `{}`",
                names.join(",")
            ),
        ));
    }

    // Layer number → tensor → entries in file order.
    let mut layers: BTreeMap<u64, HashMap<LayerTensor, Vec<Entry>>> = BTreeMap::new();
    let mut seen: HashMap<(u64, LayerTensor, u64, u64), u64> = HashMap::new();
    while let Some(line) = rows.next(&mut record)? {
        if record.len() != HEADER.len() {
            return Err(bad(
                line,
                None,
                format!(
                    "expected {} fields (as in the header), found {}",
                    HEADER.len(),
                    record.len()
                ),
            ));
        }
        let position = |column: &str, cell: &[u8]| -> Result<u64, Error> {
            let text = String::from_utf8_lossy(cell);
            match text.trim().parse::<u64>() {
                Ok(0) => Err(bad(
                    line,
                    Some(column),
                    format!("`0`: {column}s are numbered from 1"),
                )),
                Ok(number) => Ok(number),
                Err(_) => Err(bad(
                    line,
                    Some(column),
                    format!(
                        "`{}` is not a {column} number (a whole number from 1)",
                        text.escape_debug()
                    ),
                )),
            }
        };
        let layer = position("layer", &record[0])?;
        let tensor_cell = String::from_utf8_lossy(&record[1]);
        let Some(tensor) = LayerTensor::from_name(tensor_cell.trim()) else {
            return Err(bad(
                line,
                Some("tensor"),
                format!(
                    "`{}` is not a tensor: expected {}",
                    tensor_cell.trim().escape_debug(),
                    one_of(&LayerTensor::ALL.map(LayerTensor::name))
                ),
            ));
        };
        let row = position("row", &record[2])?;
        let column = position("column", &record[3])?;
        if tensor == LayerTensor::Bias && row != 1 {
            return Err(bad(
                line,
                Some("row"),
                format!("a bias has a single row, so its row is 1, not {row}"),
            ));
        }
        let value = parse_cell(path, line, "value", &record[4])?;
        if let Some(first) = seen.insert((layer, tensor, row, column), line) {
            return Err(bad(
                line,
                None,
                format!(
                    "layer {layer} {} row {row} column {column} is given twice (first on line {first})",
                    tensor.name()
                ),
            ));
        }
        layers
            .entry(layer)
            .or_default()
            .entry(tensor)
            .or_default()
            .push(Entry {
                row,
                column,
                value,
                line,
            });
    }
    drop(seen);

    if layers.is_empty() {
        return Err(bad(
            header_line + 1,
            None,
            "the header is not followed by any parameters".into(),
        ));
    }

    let mut result: Vec<LayerParams> = Vec::with_capacity(layers.len());
    let mut previous_weight_line = header_line;
    for (expected, (number, mut tensors)) in (1u64..).zip(layers) {
        let first_line = tensors
            .values()
            .map(|entries| first_line_of(entries))
            .min()
            .expect("a layer exists only with an entry");
        if number != expected {
            return Err(bad(
                first_line,
                Some("layer"),
                format!(
                    "layer {number} is given but layer {expected} is not; layers are numbered 1, 2, … without gaps"
                ),
            ));
        }
        let (weight, bias) = match (
            tensors.remove(&LayerTensor::Weight),
            tensors.remove(&LayerTensor::Bias),
        ) {
            (Some(weight), Some(bias)) => (weight, bias),
            (has, _) => {
                let (has, lacks) = if has.is_some() {
                    ("a weight", "bias")
                } else {
                    ("a bias", "weight")
                };
                return Err(bad(
                    first_line,
                    None,
                    format!("layer {number} has {has} but no {lacks}"),
                ));
            }
        };
        let (weight_line, bias_line) = (first_line_of(&weight), first_line_of(&bias));
        let layer = LayerParams {
            weight: assemble(path, number, LayerTensor::Weight, weight)?,
            bias: assemble(path, number, LayerTensor::Bias, bias)?,
        };
        // The network's own check, told where each tensor starts in the file. Cells are finite
        // and tensors complete by now, so only a bias width or a chain of widths can be wrong.
        if let Some(flaw) = layer.flaw(result.len() + 1, result.last()) {
            return Err(match flaw {
                Flaw::BiasShape { bias, weight, .. } => bad(
                    bias_line,
                    Some("column"),
                    format!(
                        "layer {number} bias has {} columns but its weight has {} (the layer's outputs)",
                        bias.1, weight.1
                    ),
                ),
                Flaw::Unchained {
                    inputs,
                    previous_outputs,
                    ..
                } => bad(
                    weight_line,
                    Some("row"),
                    format!(
                        "layer {number} weight has {inputs} rows (inputs) but layer {} has {previous_outputs} outputs (its weight from line {previous_weight_line})",
                        number - 1
                    ),
                ),
                other => bad(first_line, None, other.to_string()),
            });
        }
        previous_weight_line = weight_line;
        result.push(layer);
    }
    Ok(ParamSet { layers: result })
}

/// The first line (in the file) of a tensor's entries.
fn first_line_of(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .map(|entry| entry.line)
        .min()
        .expect("a tensor exists only with an entry")
}

/// Turns one tensor's entries into a dense array, naming the first missing entry if any.
fn assemble(
    path: &Path,
    layer: u64,
    tensor: LayerTensor,
    mut entries: Vec<Entry>,
) -> Result<Array2<f64>, Error> {
    let first_line = first_line_of(&entries);
    // The first line (in the file) that reaches the largest row, and the largest column.
    let widest_row = *entries
        .iter()
        .max_by_key(|entry| (entry.row, std::cmp::Reverse(entry.line)))
        .expect("a tensor exists only with an entry");
    let widest_column = *entries
        .iter()
        .max_by_key(|entry| (entry.column, std::cmp::Reverse(entry.line)))
        .expect("a tensor exists only with an entry");
    let (rows, columns) = (widest_row.row, widest_column.column);
    entries.sort_by_key(|entry| (entry.row, entry.column));
    // Entries are distinct and within 1..=rows × 1..=columns, so the tensor is complete
    // exactly when there are rows × columns of them; this check also keeps a typo such as
    // row 1000000000 from allocating a huge array.
    let complete = rows
        .checked_mul(columns)
        .is_some_and(|cells| cells == entries.len() as u64);
    if !complete {
        let mut next = (1, 1);
        for entry in &entries {
            if (entry.row, entry.column) != next {
                break;
            }
            next = if next.1 == columns {
                (next.0 + 1, 1)
            } else {
                (next.0, next.1 + 1)
            };
        }
        return Err(Error::BadFile {
            path: path.to_path_buf(),
            line: first_line,
            column: None,
            message: format!(
                "layer {layer} {} has no entry for row {} column {}; its entries (from line {first_line}) reach row {rows} (line {}) and column {columns} (line {}), so all {rows}×{columns} must be given",
                tensor.name(),
                next.0,
                next.1,
                widest_row.line,
                widest_column.line
            ),
        });
    }
    let shape = (
        usize::try_from(rows).expect("rows × columns entries fit in memory"),
        usize::try_from(columns).expect("rows × columns entries fit in memory"),
    );
    let values = entries.iter().map(|entry| entry.value).collect();
    Ok(Array2::from_shape_vec(shape, values).expect("rows × columns values in row-major order"))
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use crate::data::scratch;
    use crate::model::params::awkward;

    fn layer(weight: Array2<f64>, bias: Array2<f64>) -> LayerParams {
        LayerParams { weight, bias }
    }

    fn error_of(name: &str, text: &str) -> String {
        let dir = scratch::dir(&format!("params-{name}"));
        let path = scratch::file(&dir, "p.csv", text.as_bytes());
        let message = read_params(&path)
            .expect_err("the file should be refused")
            .to_string();
        let prefix = format!("{}, line ", path.display());
        assert!(message.starts_with(&prefix), "{message:?}");
        message[prefix.len()..].to_string()
    }

    #[test]
    fn write_then_read_gives_the_same_bits() {
        let dir = scratch::dir("params-roundtrip");
        let path = dir.join("params.csv");
        let params = awkward();
        write_params(&path, &params).unwrap();
        let back = read_params(&path).unwrap();
        assert_eq!(back.widths(), [2, 3, 1]);
        for (a, b) in params.layers.iter().zip(&back.layers) {
            for (x, y) in a
                .weight
                .iter()
                .chain(a.bias.iter())
                .zip(b.weight.iter().chain(b.bias.iter()))
            {
                assert_eq!(x.to_bits(), y.to_bits(), "{x:e} came back as {y:e}");
            }
        }
    }

    #[test]
    fn written_layout_is_row_major_weight_then_bias() {
        let dir = scratch::dir("params-layout");
        let path = dir.join("params.csv");
        let params = ParamSet {
            layers: vec![layer(array![[0.5, -0.25]], array![[0.1, 3e-8]])],
        };
        write_params(&path, &params).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "layer,tensor,row,column,value\n\
             1,weight,1,1,0.5\n\
             1,weight,1,2,-0.25\n\
             1,bias,1,1,0.1\n\
             1,bias,1,2,3e-08\n"
        );
    }

    #[test]
    fn the_fixture_reads_in_any_order() {
        let params = read_params(&scratch::fixture("params-2-3-1.csv")).unwrap();
        assert_eq!(params.widths(), [2, 3, 1]);
        assert_eq!(
            params.layers[0].weight,
            array![[0.5, -0.25, 1.0], [0.125, 2.0, -1.5]]
        );
        assert_eq!(params.layers[0].bias, array![[0.0, 0.1, -0.1]]);
        assert_eq!(params.layers[1].weight, array![[1.0], [-1.0], [0.5]]);
        assert_eq!(params.layers[1].bias, array![[0.01]]);
        assert!(crate::model::check_shapes(&params, &[2, 3, 1]).is_ok());
    }

    #[test]
    fn write_refuses_what_could_not_be_read_back() {
        let dir = scratch::dir("params-refuse");
        let path = dir.join("params.csv");
        let mut params = awkward();
        params.layers[1].weight[[2, 0]] = f64::NAN;
        let err = write_params(&path, &params).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameters: layer 2 weight row 3 column 1 is NaN; parameters must be finite"
        );
        assert!(!path.exists());
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = read_params(Path::new("/nonexistent/precision-audit/p.csv")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
    }

    const H: &str = "layer,tensor,row,column,value\n";

    #[test]
    fn empty_file_and_wrong_header() {
        assert_eq!(
            error_of("empty", ""),
            "1: the file is empty; expected the header `layer,tensor,row,column,value`"
        );
        assert_eq!(
            error_of("header", "layer,tensor,row,col,value\n1,bias,1,1,0\n"),
            "1: expected the header `layer,tensor,row,column,value`, found `layer,tensor,row,col,value`"
        );
        assert_eq!(
            error_of("header-only", H),
            "2: the header is not followed by any parameters"
        );
    }

    #[test]
    fn bad_cells_name_line_and_column() {
        let cases = [
            (
                "1,weight,1,1\n",
                "2: expected 5 fields (as in the header), found 4",
            ),
            (
                "x,weight,1,1,0\n",
                "2, column layer: `x` is not a layer number (a whole number from 1)",
            ),
            (
                "0,weight,1,1,0\n",
                "2, column layer: `0`: layers are numbered from 1",
            ),
            (
                "1,weights,1,1,0\n",
                "2, column tensor: `weights` is not a tensor: expected weight or bias",
            ),
            (
                "1,weight,-1,1,0\n",
                "2, column row: `-1` is not a row number (a whole number from 1)",
            ),
            (
                "1,weight,1,0,0\n",
                "2, column column: `0`: columns are numbered from 1",
            ),
            (
                "1,bias,2,1,0\n",
                "2, column row: a bias has a single row, so its row is 1, not 2",
            ),
            (
                "1,weight,1,1,abc\n",
                "2, column value: `abc` is not a number",
            ),
            (
                "1,weight,1,1,inf\n",
                "2, column value: `inf` is not a finite number",
            ),
        ];
        for (index, (row, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                error_of(&format!("cell-{index}"), &format!("{H}{row}")),
                expected
            );
        }
    }

    #[test]
    fn duplicates_point_at_both_lines() {
        assert_eq!(
            error_of(
                "duplicate",
                &format!("{H}1,weight,1,1,0\n1,bias,1,1,0\n 1 ,weight, 1,1, 5\n")
            ),
            "4: layer 1 weight row 1 column 1 is given twice (first on line 2)"
        );
    }

    #[test]
    fn structural_errors_name_the_layer_and_a_line() {
        assert_eq!(
            error_of(
                "gap",
                &format!("{H}1,weight,1,1,1\n1,bias,1,1,0\n3,weight,1,1,1\n3,bias,1,1,0\n")
            ),
            "4, column layer: layer 3 is given but layer 2 is not; layers are numbered 1, 2, … without gaps"
        );
        assert_eq!(
            error_of("no-layer-1", &format!("{H}2,weight,1,1,1\n2,bias,1,1,0\n")),
            "2, column layer: layer 2 is given but layer 1 is not; layers are numbered 1, 2, … without gaps"
        );
        assert_eq!(
            error_of("no-bias", &format!("{H}1,weight,1,1,1\n")),
            "2: layer 1 has a weight but no bias"
        );
        assert_eq!(
            error_of("no-weight", &format!("{H}1,bias,1,1,1\n")),
            "2: layer 1 has a bias but no weight"
        );
        assert_eq!(
            error_of(
                "hole",
                &format!(
                    "{H}1,weight,1,1,1\n1,weight,1,2,1\n1,weight,2,2,1\n1,bias,1,1,0\n1,bias,1,2,0\n"
                )
            ),
            "2: layer 1 weight has no entry for row 2 column 1; its entries (from line 2) reach \
             row 2 (line 4) and column 2 (line 3), so all 2×2 must be given"
        );
        assert_eq!(
            error_of(
                "typo",
                &format!("{H}1,weight,1,1,1\n1,weight,1000000000000,1,1\n1,bias,1,1,0\n")
            ),
            "2: layer 1 weight has no entry for row 2 column 1; its entries (from line 2) reach \
             row 1000000000000 (line 3) and column 1 (line 2), so all 1000000000000×1 must be given"
        );
        assert_eq!(
            error_of(
                "bias-width",
                &format!("{H}1,weight,1,1,1\n1,weight,1,2,1\n1,bias,1,1,0\n")
            ),
            "4, column column: layer 1 bias has 1 columns but its weight has 2 (the layer's outputs)"
        );
        assert_eq!(
            error_of(
                "chain",
                &format!(
                    "{H}1,weight,1,1,1\n1,weight,1,2,1\n1,bias,1,1,0\n1,bias,1,2,0\n\
                     2,bias,1,1,0\n2,weight,1,1,1\n2,weight,2,1,1\n2,weight,3,1,1\n"
                )
            ),
            "7, column row: layer 2 weight has 3 rows (inputs) but layer 1 has 2 outputs (its weight from line 2)"
        );
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let inputs = [
            "\u{feff}layer,tensor,row,column,value\n\"1\",weight,1,1,\"1e-3\"\n1,bias,1,1,0\n",
            "layer,tensor,row,column,value\n18446744073709551615,weight,18446744073709551615,18446744073709551615,1\n",
            "layer,tensor,row,column,value\n1,weight,18446744073709551616,1,1\n",
            "\"",
            "layer,tensor,row,column,value,\n",
            "layer,tensor,row,column,value\n1,bias,1,3,0\n1,weight,1,3,0\n",
        ];
        for (index, text) in inputs.iter().enumerate() {
            let dir = scratch::dir(&format!("params-hostile-{index}"));
            let path = scratch::file(&dir, "p.csv", text.as_bytes());
            if let Err(err) = read_params(&path) {
                assert!(err.to_string().starts_with(&path.display().to_string()));
            }
        }
        // The BOM-prefixed, quoted file is fine.
        let dir = scratch::dir("params-bom");
        let path = scratch::file(&dir, "p.csv", inputs[0].as_bytes());
        assert_eq!(read_params(&path).unwrap().layers[0].weight[[0, 0]], 1e-3);
    }
}
