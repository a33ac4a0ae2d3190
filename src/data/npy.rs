//! NumPy's `.npy` format (versions 1 to 3), read without numpy: the magic string, the header (a
//! Python dict literal of `descr`, `fortran_order` and `shape`), then the data, whose length is
//! checked against the shape before anything is allocated. Column-major (`fortran_order`)
//! arrays, which `np.save` writes for a transposed array, come back in row-major order.

use std::path::Path;

use super::tensors::{Dtype, Endian, NamedArray, bad, byte_length, read_bounded};
use crate::Error;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a lone `.npy` file (its array has an empty key).
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::BadTensorFile`] as [`parse`] says.
pub fn read_npy(path: &Path) -> Result<NamedArray, Error> {
    parse(path, "", &read_bounded(path)?)
}

/// Parses the `.npy` bytes of array `key` of `path`.
///
/// # Errors
///
/// [`Error::BadTensorFile`] naming `path` and `key`, for: a missing magic string, an unknown
/// version, a header that runs past the data or is not the dict numpy writes, a dtype that is
/// not a float or integer type, a shape beyond [`MAX_ELEMENTS`](super::tensors::MAX_ELEMENTS)
/// elements, data shorter or longer than the shape needs, and a non-finite value.
pub(crate) fn parse(path: &Path, key: &str, bytes: &[u8]) -> Result<NamedArray, Error> {
    let refuse = |message: String| bad(path, key, message);
    if !bytes.starts_with(MAGIC) {
        return Err(refuse(
            "not a .npy array: it does not start with numpy's magic string \\x93NUMPY".into(),
        ));
    }
    let major = bytes.get(6).copied();
    let (length_bytes, header_start) = match major {
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        _ => {
            return Err(refuse(format!(
                ".npy version {} is not one numpy writes (1, 2 or 3)",
                major.map_or_else(|| "missing".into(), |m| m.to_string())
            )));
        }
    };
    let header_length = bytes
        .get(8..8 + length_bytes)
        .map(|field| {
            field
                .iter()
                .rev()
                .fold(0usize, |n, &byte| (n << 8) | usize::from(byte))
        })
        .ok_or_else(|| refuse("the file ends inside the .npy preamble".into()))?;
    let header_end = header_start + header_length;
    let header = bytes.get(header_start..header_end).ok_or_else(|| {
        refuse(format!(
            "the header length says {header_length} bytes, but only {} follow the preamble (truncated file?)",
            bytes.len().saturating_sub(header_start)
        ))
    })?;
    let header = std::str::from_utf8(header)
        .map_err(|_| refuse("the .npy header is not text".into()))
        .and_then(|text| {
            Header::parse(text)
                .map_err(|why| refuse(format!("bad .npy header `{}`: {why}", text.trim_end())))
        })?;
    let (dtype, endian) = dtype(&header.descr).map_err(refuse)?;
    let data = &bytes[header_end..];
    let needed = byte_length(path, key, dtype, &header.shape)?;
    if data.len() != needed {
        return Err(refuse(format!(
            "{dtype} {:?} needs {needed} bytes of data, the file has {} (truncated or padded file?)",
            header.shape,
            data.len()
        )));
    }
    if header.fortran_order {
        let data = row_major(data, &header.shape, dtype.size());
        NamedArray::decode(path, key, dtype, header.shape, &data, endian)
    } else {
        NamedArray::decode(path, key, dtype, header.shape, data, endian)
    }
}

/// The elements of a column-major array of `shape` (each `size` bytes), in row-major order.
fn row_major(data: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    let mut out = vec![0; data.len()];
    for (index, element) in data.chunks_exact(size).enumerate() {
        // Column-major, the first index varies fastest: `index`'s digits from the fastest are
        // the position from the first dimension on, which row-major order weighs the most.
        let (mut rest, mut target) = (index, 0);
        for &extent in shape {
            target = target * extent + rest % extent;
            rest /= extent;
        }
        out[target * size..(target + 1) * size].copy_from_slice(element);
    }
    out
}

/// The element type of a numpy `descr` such as `<f4`, `>i8` or `|u1`.
fn dtype(descr: &str) -> Result<(Dtype, Endian), String> {
    let refuse = || {
        let hint = if descr.contains('V') {
            " (ml_dtypes' bfloat16 is saved as raw `V2` bytes: cast it to float32 first)"
        } else {
            ""
        };
        format!(
            "dtype `{descr}` is not one precision-audit reads: float16, float32, float64 or an integer type{hint}"
        )
    };
    let mut chars = descr.chars();
    let endian = match chars.next() {
        Some('<' | '|') => Endian::Little,
        Some('>') => Endian::Big,
        _ => return Err(refuse()),
    };
    let dtype = match chars.as_str() {
        "f2" => Dtype::F16,
        "f4" => Dtype::F32,
        "f8" => Dtype::F64,
        "i1" => Dtype::I8,
        "i2" => Dtype::I16,
        "i4" => Dtype::I32,
        "i8" => Dtype::I64,
        "u1" => Dtype::U8,
        "u2" => Dtype::U16,
        "u4" => Dtype::U32,
        "u8" => Dtype::U64,
        _ => return Err(refuse()),
    };
    Ok((dtype, endian))
}

/// What the header of a `.npy` file says.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Parses the dict literal numpy writes, e.g.
    /// `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }`: exactly these three keys,
    /// in any order, with single or double quotes and an optional trailing comma.
    fn parse(text: &str) -> Result<Header, String> {
        let mut cursor = Cursor { text, at: 0 };
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        cursor.expect('{')?;
        while !cursor.eat('}') {
            let key = cursor.string()?;
            cursor.expect(':')?;
            match key {
                "descr" => descr = Some(cursor.string()?.to_string()),
                "fortran_order" => fortran_order = Some(cursor.boolean()?),
                "shape" => shape = Some(cursor.tuple()?),
                other => return Err(format!("unexpected key `{other}`")),
            }
            if !cursor.eat(',') {
                cursor.expect('}')?;
                break;
            }
        }
        if !cursor.rest().trim().is_empty() {
            return Err(format!("`{}` after the dict", cursor.rest().trim()));
        }
        match (descr, fortran_order, shape) {
            (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header {
                descr,
                fortran_order,
                shape,
            }),
            _ => Err("it needs the keys descr, fortran_order and shape".into()),
        }
    }
}

/// A position in a header's text.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Consumes `c` (after any space) if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` at byte {}", self.at))
        }
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Result<&'a str, String> {
        self.skip_space();
        let rest = self.rest();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| format!("expected a quoted string at byte {}", self.at))?;
        let end = rest[1..]
            .find(quote)
            .ok_or_else(|| format!("unterminated string at byte {}", self.at))?;
        self.at += end + 2;
        Ok(&rest[1..=end])
    }

    fn boolean(&mut self) -> Result<bool, String> {
        self.skip_space();
        for (word, value) in [("True", true), ("False", false)] {
            if self.rest().starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        Err(format!("expected True or False at byte {}", self.at))
    }

    /// A tuple of whole numbers: `()`, `(5,)`, `(3, 2)`.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            self.skip_space();
            let rest = self.rest();
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let item = rest[..digits]
                .parse::<usize>()
                .map_err(|_| format!("expected a dimension at byte {}", self.at))?;
            self.at += digits;
            items.push(item);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 `.npy` file of `header` and `data`, padded as numpy pads it.
    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut text = header.to_string();
        while !(10 + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = MAGIC.to_vec();
        bytes.extend([1, 0]);
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        bytes.extend(data);
        bytes
    }

    fn f64_bytes(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn error(bytes: &[u8]) -> String {
        parse(Path::new("a.npz"), "x", bytes)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_row_major_and_column_major_alike() {
        let c = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            &f64_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        );
        let array = parse(Path::new("a.npy"), "", &c).unwrap();
        assert_eq!(array.shape, [2, 3]);
        assert_eq!(array.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // The same matrix stored column by column.
        let f = npy(
            "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
            &f64_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
        );
        assert_eq!(parse(Path::new("a.npy"), "", &f).unwrap(), array);
    }

    #[test]
    fn column_major_in_three_dimensions() {
        // a[i, j, k] = 100 i + 10 j + k for shape (2, 3, 2), stored with i fastest.
        let mut data = Vec::new();
        for k in 0..2 {
            for j in 0..3 {
                for i in 0..2 {
                    data.push(f64::from(100 * i + 10 * j + k));
                }
            }
        }
        let array = parse(
            Path::new("a.npy"),
            "",
            &npy(
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }",
                &f64_bytes(&data),
            ),
        )
        .unwrap();
        let expected: Vec<f64> = (0..2)
            .flat_map(|i| {
                (0..3).flat_map(move |j| (0..2).map(move |k| f64::from(100 * i + 10 * j + k)))
            })
            .collect();
        assert_eq!(array.values, expected);
    }

    #[test]
    fn headers_in_other_spellings() {
        let data = [0u8, 0x3C, 0, 0xC0];
        let array = parse(
            Path::new("a.npy"),
            "",
            &npy(
                "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f2\"}",
                &data,
            ),
        )
        .unwrap();
        assert_eq!(array.dtype, Dtype::F16);
        assert_eq!(array.values, [1.0, -2.0]);
        let scalar = parse(
            Path::new("a.npy"),
            "",
            &npy(
                "{'descr': '>i4', 'fortran_order': False, 'shape': ()}",
                &[0, 0, 1, 0],
            ),
        )
        .unwrap();
        assert_eq!((scalar.shape.len(), scalar.values[0]), (0, 256.0));
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let good = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            &f64_bytes(&[1.0, 2.0]),
        );
        assert!(error(b"PK\x03\x04").contains("magic string"));
        assert!(error(&good[..9]).contains("preamble"));
        assert!(error(&good[..40]).contains("header length says 118 bytes, but only 30 follow"));
        assert!(error(&good[..good.len() - 1]).ends_with(
            "F64 [2] needs 16 bytes of data, the file has 15 (truncated or padded file?)"
        ));
        let mut version = good.clone();
        version[6] = 9;
        assert!(error(&version).contains("version 9"));
        let huge = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }",
            &[],
        );
        assert!(
            error(&huge).contains("1099511627776 elements"),
            "{}",
            error(&huge)
        );
        let overflow = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
            &[],
        );
        assert!(error(&overflow).contains("expected a dimension"));
        let void = npy(
            "{'descr': '|V2', 'fortran_order': False, 'shape': (1,), }",
            &[0, 0],
        );
        assert!(error(&void).contains("cast it to float32"));
        let text = npy(
            "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }",
            &[0; 12],
        );
        assert!(error(&text).contains("dtype `<U3`"));
        for header in [
            "{'descr': '<f8', 'shape': (2,), }",
            "{'descr': '<f8', 'fortran_order': false, 'shape': (2,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,) ",
            "{'descr': '<f8 , 'fortran_order': False, 'shape': (2,)}",
            "[1, 2]",
        ] {
            let message = error(&npy(header, &f64_bytes(&[1.0, 2.0])));
            assert!(message.contains("bad .npy header"), "{header}: {message}");
        }
        let nan = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            &f64_bytes(&[1.0, f64::NAN]),
        );
        assert_eq!(
            error(&nan),
            "a.npz, key `x`: F64 [2]: the element at [1] is NaN; values must be finite"
        );
    }
}
