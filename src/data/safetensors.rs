//! safetensors files: every tensor of a file read through the `safetensors` crate (which checks
//! the header, the dtypes and that the offsets tile the data exactly), with refusals that name
//! the key, the dtype and the shape; and f64 tensors written with their `__metadata__`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use ::safetensors::SafeTensorError;
use ::safetensors::tensor::SafeTensors;

use super::tensors::{Dtype, Endian, NamedArray, bad, byte_length, read_bounded};
use crate::Error;

/// The bytes before the header: its length, a little-endian u64.
const LENGTH_BYTES: usize = 8;

/// A safetensors file's tensors (sorted by key) and its `__metadata__` strings.
#[derive(Clone, Debug, PartialEq)]
pub struct SafetensorsFile {
    /// Every tensor, converted exactly to f64.
    pub tensors: Vec<NamedArray>,
    /// The header's `__metadata__` (empty when there is none).
    pub metadata: BTreeMap<String, String>,
}

/// Reads every tensor of `path`.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::BadTensorFile`] naming the file, and
/// the key where one tensor is at fault, for: a file shorter than its header length or header,
/// a header that is not JSON or not a safetensors header (an unknown dtype, a missing field),
/// offsets that leave gaps, overlap or run past the data, a shape whose size differs from its
/// offsets or overflows, a dtype other than a float or integer type, and a non-finite value.
pub fn read_safetensors(path: &Path) -> Result<SafetensorsFile, Error> {
    let bytes = read_bounded(path)?;
    let (header_length, metadata) =
        SafeTensors::read_metadata(&bytes).map_err(|err| refusal(path, &bytes, err))?;
    let data = &bytes[LENGTH_BYTES + header_length..];
    let mut infos: Vec<_> = metadata.tensors().into_iter().collect();
    infos.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tensors = Vec::with_capacity(infos.len());
    for (key, info) in infos {
        let dtype = dtype(info.dtype).ok_or_else(|| {
            bad(
                path,
                &key,
                format!(
                    "{:?} {:?}: precision-audit reads tensors of F16, BF16, F32, F64 or an integer type",
                    info.dtype, info.shape
                ),
            )
        })?;
        byte_length(path, &key, dtype, &info.shape)?;
        // The crate has checked that the offsets tile the data and match the shape.
        let (start, end) = info.data_offsets;
        let values = data
            .get(start..end)
            .ok_or_else(|| bad(path, &key, "data_offsets run past the data".into()))?;
        tensors.push(NamedArray::decode(
            path,
            &key,
            dtype,
            info.shape.clone(),
            values,
            Endian::Little,
        )?);
    }
    Ok(SafetensorsFile {
        tensors,
        metadata: metadata
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Writes f64 tensors `(key, shape, values in row-major order)` as a safetensors file, in the
/// order given, with `metadata` as `__metadata__`.
///
/// Written here rather than by `safetensors::serialize`, which takes the metadata as a
/// `HashMap` and so writes its keys in an order that changes from run to run; precision-audit's
/// output must be the same bytes every time. The layout is the crate's: the header padded
/// with spaces to a multiple of 8 bytes, then the tensors back to back.
pub fn write_safetensors(
    out: &mut dyn Write,
    tensors: &[(String, Vec<usize>, Vec<f64>)],
    metadata: &[(&str, String)],
) -> io::Result<()> {
    use serde_json::{Map, Value, json};

    let mut header = Map::new();
    header.insert(
        "__metadata__".into(),
        Value::Object(
            metadata
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                .collect(),
        ),
    );
    let mut offset = 0;
    for (key, shape, values) in tensors {
        let end = offset + 8 * values.len();
        header.insert(
            key.clone(),
            json!({ "dtype": "F64", "shape": shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut text = serde_json::to_string(&header).map_err(io::Error::other)?;
    while !text.len().is_multiple_of(LENGTH_BYTES) {
        text.push(' ');
    }
    out.write_all(&(text.len() as u64).to_le_bytes())?;
    out.write_all(text.as_bytes())?;
    for (_, _, values) in tensors {
        for value in values {
            out.write_all(&value.to_le_bytes())?;
        }
    }
    Ok(())
}

/// The element types precision-audit reads.
fn dtype(dtype: ::safetensors::Dtype) -> Option<Dtype> {
    use ::safetensors::Dtype as S;
    Some(match dtype {
        S::F16 => Dtype::F16,
        S::BF16 => Dtype::BF16,
        S::F32 => Dtype::F32,
        S::F64 => Dtype::F64,
        S::I8 => Dtype::I8,
        S::I16 => Dtype::I16,
        S::I32 => Dtype::I32,
        S::I64 => Dtype::I64,
        S::U8 => Dtype::U8,
        S::U16 => Dtype::U16,
        S::U32 => Dtype::U32,
        S::U64 => Dtype::U64,
        _ => return None,
    })
}

/// The crate's refusal of `bytes`, said with what the file holds.
fn refusal(path: &Path, bytes: &[u8], err: SafeTensorError) -> Error {
    let declared = bytes
        .get(..LENGTH_BYTES)
        .map(|field| u64::from_le_bytes(field.try_into().expect("8 bytes")));
    let after_length = bytes.len().saturating_sub(LENGTH_BYTES);
    let header = declared
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| bytes.get(LENGTH_BYTES..LENGTH_BYTES.checked_add(n)?))
        .map(String::from_utf8_lossy);
    let message = match &err {
        SafeTensorError::HeaderTooSmall => format!(
            "the file has {} bytes, too few for a safetensors file (8 bytes of header length, then the header)",
            bytes.len()
        ),
        SafeTensorError::HeaderTooLarge => format!(
            "the header length says {} bytes, more than safetensors allows (100000000)",
            declared.unwrap_or_default()
        ),
        SafeTensorError::InvalidHeaderLength => format!(
            "the header length says {} bytes, but only {after_length} follow it (truncated file?)",
            declared.unwrap_or_default()
        ),
        SafeTensorError::InvalidHeader(_) => "the header is not UTF-8 text".into(),
        SafeTensorError::InvalidHeaderDeserialization(why) => {
            format!("the header is not a safetensors JSON header: {why}")
        }
        SafeTensorError::InvalidOffset(key) => {
            return bad(
                path,
                key,
                "its data_offsets do not start where the previous tensor's end (the tensors must tile the data without gaps or overlaps)".into(),
            );
        }
        SafeTensorError::TensorInvalidInfo | SafeTensorError::ValidationOverflow => {
            if let Some((key, message)) = header.as_deref().and_then(misfit_tensor) {
                return bad(path, &key, message);
            }
            format!("a tensor's shape does not match its data_offsets: {err}")
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            let header_length = header.as_ref().map_or(0, |h| h.len());
            format!(
                "the tensors' data_offsets end at byte {} of the data, but the file has {} bytes of data after the header (truncated or padded file?)",
                header.as_deref().and_then(data_end).unwrap_or_default(),
                after_length.saturating_sub(header_length)
            )
        }
        other => format!("not a readable safetensors file: {other}"),
    };
    bad(path, "", message)
}

/// Where the last tensor of a (JSON) header ends, in bytes after the header.
fn data_end(header: &str) -> Option<usize> {
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_str(header).ok()?;
    header
        .values()
        .filter_map(|info| info.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .and_then(|end| usize::try_from(end).ok())
}

/// The first tensor of a (JSON) header whose shape does not fill its data_offsets exactly, and
/// what is wrong with it.
fn misfit_tensor(header: &str) -> Option<(String, String)> {
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_str(header).ok()?;
    header
        .iter()
        .filter(|(key, _)| *key != "__metadata__")
        .find_map(|(key, info)| {
            let dtype: ::safetensors::Dtype = serde_json::from_value(info["dtype"].clone()).ok()?;
            let shape: Vec<usize> = serde_json::from_value(info["shape"].clone()).ok()?;
            let (start, end): (usize, usize) =
                serde_json::from_value(info["data_offsets"].clone()).ok()?;
            let span = end.checked_sub(start)?;
            let bytes = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .and_then(|n| Some((n, n.checked_mul(dtype.bitsize())? / 8)));
            let size = match bytes {
                Some((_, bytes)) if bytes == span => return None,
                Some((elements, bytes)) => format!("{elements} elements, {bytes} bytes"),
                None => "more elements than 2^64".into(),
            };
            Some((
                key.clone(),
                format!(
                    "{dtype:?} {shape:?} ({size}) but its data_offsets [{start}, {end}] hold {span} bytes"
                ),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scratch;

    fn written(tensors: &[(String, Vec<usize>, Vec<f64>)], metadata: &[(&str, String)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_safetensors(&mut bytes, tensors, metadata).unwrap();
        bytes
    }

    fn two_tensors() -> Vec<(String, Vec<usize>, Vec<f64>)> {
        vec![
            (
                "0.weight".into(),
                vec![3, 2],
                vec![0.1, -0.2, 1.0 / 3.0, 5e-324, -0.0, 1e300],
            ),
            ("0.bias".into(), vec![3], vec![0.0, 7.0, -1e-8]),
        ]
    }

    #[test]
    fn written_files_read_back_through_the_crate_bit_for_bit() {
        let metadata = [
            ("format", "pt".to_string()),
            ("activation", "tanh".to_string()),
        ];
        let bytes = written(&two_tensors(), &metadata);
        let header_length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_length % 8, 0, "the header is padded to 8 bytes");
        assert!(
            std::str::from_utf8(&bytes[8..8 + header_length])
                .unwrap()
                .starts_with(r#"{"__metadata__":{"format":"pt","activation":"tanh"},"0.weight":{"dtype":"F64","shape":[3,2],"data_offsets":[0,48]}"#)
        );
        let dir = scratch::dir("safetensors-roundtrip");
        let path = scratch::file(&dir, "p.safetensors", &bytes);
        let file = read_safetensors(&path).unwrap();
        assert_eq!(file.metadata["activation"], "tanh");
        assert_eq!(file.metadata.len(), 2);
        let keys: Vec<&str> = file.tensors.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["0.bias", "0.weight"], "sorted by key");
        for (key, shape, values) in two_tensors() {
            let tensor = file.tensors.iter().find(|t| t.key == key).unwrap();
            assert_eq!((tensor.dtype, &tensor.shape), (Dtype::F64, &shape));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&tensor.values), bits(&values));
        }
        assert_eq!(
            written(&two_tensors(), &metadata),
            bytes,
            "the same bytes every time"
        );
    }

    /// A file of one header (padded to 8 bytes) and `data`.
    fn file_of(header: &str, data: &[u8]) -> Vec<u8> {
        let mut header = header.to_string();
        while !header.len().is_multiple_of(8) {
            header.push(' ');
        }
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.extend(data);
        bytes
    }

    fn error(name: &str, bytes: &[u8]) -> String {
        let dir = scratch::dir(&format!("safetensors-{name}"));
        let path = scratch::file(&dir, "m.safetensors", bytes);
        let message = read_safetensors(&path).unwrap_err().to_string();
        let prefix = path.display().to_string();
        assert!(message.starts_with(&prefix), "{message}");
        message[prefix.len()..].to_string()
    }

    #[test]
    fn hostile_files_are_refused_with_what_they_hold() {
        let good = written(&two_tensors(), &[]);
        assert_eq!(
            error("short", &good[..5]),
            ": the file has 5 bytes, too few for a safetensors file (8 bytes of header length, then the header)"
        );
        let header_length = u64::from_le_bytes(good[..8].try_into().unwrap());
        assert_eq!(
            error("truncated-header", &good[..40]),
            format!(
                ": the header length says {header_length} bytes, but only 32 follow it (truncated file?)"
            )
        );
        assert_eq!(
            error("truncated-data", &good[..good.len() - 8]),
            ": the tensors' data_offsets end at byte 72 of the data, but the file has 64 bytes of data after the header (truncated or padded file?)"
        );
        let mut huge_length = good.clone();
        huge_length[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(error("huge-length", &huge_length).contains("more than safetensors allows"));
        assert!(
            error("not-json", &file_of("{\"0.weight\": [1, 2", &[]))
                .starts_with(": the header is not a safetensors JSON header:")
        );
        assert!(
            error(
                "bad-dtype",
                &file_of(
                    r#"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#,
                    &[0; 4]
                )
            )
            .contains("unknown variant `F17`")
        );
        assert_eq!(
            error(
                "complex",
                &file_of(
                    r#"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#,
                    &[0; 8]
                )
            ),
            ", key `w`: C64 [1]: precision-audit reads tensors of F16, BF16, F32, F64 or an integer type"
        );
        assert_eq!(
            error(
                "overlap",
                &file_of(
                    r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    &[0; 12]
                )
            ),
            ", key `b`: its data_offsets do not start where the previous tensor's end (the tensors must tile the data without gaps or overlaps)"
        );
        assert_eq!(
            error(
                "absurd-shape",
                &file_of(
                    r#"{"0.weight":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,16]}}"#,
                    &[0; 16]
                )
            ),
            ", key `0.weight`: F32 [1048576, 1048576] (1099511627776 elements, 4398046511104 bytes) but its data_offsets [0, 16] hold 16 bytes"
        );
        assert_eq!(
            error(
                "overflowing-shape",
                &file_of(
                    r#"{"w":{"dtype":"F64","shape":[4294967296,4294967296,2],"data_offsets":[0,16]}}"#,
                    &[0; 16]
                )
            ),
            ", key `w`: F64 [4294967296, 4294967296, 2] (more elements than 2^64) but its data_offsets [0, 16] hold 16 bytes"
        );
        assert_eq!(
            error(
                "infinite",
                &file_of(
                    r#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#,
                    &[0, 0x3C, 0, 0x7C]
                )
            ),
            ", key `w`: F16 [2]: the element at [1] is inf; values must be finite"
        );
    }
}
