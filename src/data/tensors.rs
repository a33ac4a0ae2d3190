//! Named arrays read from binary files (safetensors, `.npy`, `.npz`): their element type, shape
//! and values as f64, the size limits every reader applies before it allocates, and the error
//! that names the file and the key.
//!
//! Every element type here converts to f64 exactly: f16, bf16 and f32 are subsets of f64, and
//! an integer is accepted only when it is at most 2⁵³ in magnitude. So every lane rounds the
//! file's own value once into its format, and a parameter stored in f16 is stored without
//! rounding by every lane whose format holds all f16 values (f16, f32, f64).

use std::io::Read;
use std::path::Path;

use half::{bf16, f16};

use crate::Error;

/// The most elements one array may have. An audit runs every op in MPFR as well, so an array
/// of this size (512 MiB as f64) is already far beyond what can be audited; the limit lets a
/// reader refuse an absurd shape (2⁴⁰ elements) before it allocates or reads anything.
pub const MAX_ELEMENTS: usize = 1 << 26;

/// The largest file (or, in an `.npz`, the largest total of uncompressed members) a reader
/// takes: room for [`MAX_ELEMENTS`] f64 values and a header.
pub const MAX_FILE_BYTES: u64 = (MAX_ELEMENTS as u64) * 8 + (1 << 20);

crate::named_enum! {
    /// The element types the readers know, named as safetensors names them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Dtype {
        /// IEEE binary16.
        F16 = "F16",
        /// bfloat16.
        BF16 = "BF16",
        /// IEEE binary32.
        F32 = "F32",
        /// IEEE binary64.
        F64 = "F64",
        /// Signed 8-bit integer.
        I8 = "I8",
        /// Signed 16-bit integer.
        I16 = "I16",
        /// Signed 32-bit integer.
        I32 = "I32",
        /// Signed 64-bit integer.
        I64 = "I64",
        /// Unsigned 8-bit integer.
        U8 = "U8",
        /// Unsigned 16-bit integer.
        U16 = "U16",
        /// Unsigned 32-bit integer.
        U32 = "U32",
        /// Unsigned 64-bit integer.
        U64 = "U64",
    }
}

/// Byte order of the elements in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first (safetensors always; numpy's `<`).
    Little,
    /// Most significant byte first (numpy's `>`).
    Big,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
        }
    }

    /// Whether this is a floating-point type (the types parameters may have).
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
    }

    /// One element, exactly; `None` for a 64-bit integer beyond ±2⁵³, which f64 cannot hold.
    fn decode(self, bytes: &[u8], endian: Endian) -> Option<f64> {
        let mut raw = [0u8; 8];
        let raw = &mut raw[..bytes.len()];
        raw.copy_from_slice(bytes);
        if endian == Endian::Big {
            raw.reverse();
        }
        let word = raw
            .iter()
            .rev()
            .fold(0u64, |word, &byte| (word << 8) | u64::from(byte));
        let bits = 8 * bytes.len() as u32;
        // Sign-extends a `bits`-wide two's complement integer.
        let signed = ((word << (64 - bits)) as i64) >> (64 - bits);
        const EXACT: u64 = 1 << 53;
        Some(match self {
            Dtype::F16 => f16::from_bits(word as u16).to_f64(),
            Dtype::BF16 => bf16::from_bits(word as u16).to_f64(),
            Dtype::F32 => f64::from(f32::from_bits(word as u32)),
            Dtype::F64 => f64::from_bits(word),
            Dtype::I8 | Dtype::I16 | Dtype::I32 | Dtype::I64 => {
                if signed.unsigned_abs() > EXACT {
                    return None;
                }
                signed as f64
            }
            Dtype::U8 | Dtype::U16 | Dtype::U32 | Dtype::U64 => {
                if word > EXACT {
                    return None;
                }
                word as f64
            }
        })
    }
}

/// One array of a file: its key, element type, shape (as stored) and values in row-major
/// (C) order, converted exactly to f64 and all finite.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedArray {
    /// The array's name in the file (`0.weight`, `dense/kernel`, `arr_0`, `x`); empty for a
    /// lone `.npy` file.
    pub key: String,
    /// The element type in the file.
    pub dtype: Dtype,
    /// The shape as stored, outermost dimension first.
    pub shape: Vec<usize>,
    /// The elements, row-major.
    pub values: Vec<f64>,
}

impl NamedArray {
    /// Decodes `data` (exactly `shape`'s elements of `dtype`, row-major) as the array `key` of
    /// `path`. The caller has checked the length with [`byte_length`].
    ///
    /// # Errors
    ///
    /// [`Error::BadTensorFile`] for an inf or NaN, or an integer f64 cannot hold, naming its
    /// position.
    pub(crate) fn decode(
        path: &Path,
        key: &str,
        dtype: Dtype,
        shape: Vec<usize>,
        data: &[u8],
        endian: Endian,
    ) -> Result<NamedArray, Error> {
        let mut values = Vec::with_capacity(data.len() / dtype.size());
        for (index, element) in data.chunks_exact(dtype.size()).enumerate() {
            match dtype.decode(element, endian) {
                Some(value) if value.is_finite() => values.push(value),
                found => {
                    let what = match found {
                        Some(value) => format!("is {value}; values must be finite"),
                        None => "is an integer beyond ±2^53, which f64 cannot hold".into(),
                    };
                    return Err(bad(
                        path,
                        key,
                        format!(
                            "{dtype} {shape:?}: the element at {:?} {what}",
                            position(index, &shape)
                        ),
                    ));
                }
            }
        }
        Ok(NamedArray {
            key: key.to_string(),
            dtype,
            shape,
            values,
        })
    }

    /// `F32 [16, 2]`: the element type and the shape, as messages show them.
    pub fn describe(&self) -> String {
        format!("{} {:?}", self.dtype, self.shape)
    }
}

/// The 0-based position of the `index`th element (row-major) in an array of `shape`.
fn position(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut position = vec![0; shape.len()];
    for (place, &extent) in position.iter_mut().zip(shape).rev() {
        if extent > 0 {
            *place = index % extent;
            index /= extent;
        }
    }
    position
}

/// The bytes of an array of `shape` and `dtype`, or an error if it has more than
/// [`MAX_ELEMENTS`] elements (the product is checked, so 2⁶⁴ cannot wrap to something small).
pub(crate) fn byte_length(
    path: &Path,
    key: &str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<usize, Error> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(elements) if elements <= MAX_ELEMENTS => Ok(elements * dtype.size()),
        elements => Err(bad(
            path,
            key,
            format!(
                "{dtype} {shape:?} has {} elements; precision-audit reads arrays of at most {MAX_ELEMENTS} (2^26)",
                elements.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
            ),
        )),
    }
}

/// The refusal of a file's content; `key` is empty when no one array is at fault.
pub(crate) fn bad(path: &Path, key: &str, message: String) -> Error {
    Error::BadTensorFile {
        path: path.to_path_buf(),
        key: (!key.is_empty()).then(|| key.to_string()),
        message,
    }
}

/// The whole of `path`, refused without reading when it is larger than [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let length = file.metadata().map_err(io_error)?.len();
    if length > MAX_FILE_BYTES {
        return Err(bad(
            path,
            "",
            format!(
                "the file has {length} bytes; precision-audit reads files of at most {MAX_FILE_BYTES}"
            ),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    Ok(bytes)
}

/// The file name's extension in lower case (`""` when there is none): how the readers choose
/// a format.
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_type_converts_exactly() {
        let decode = |dtype: Dtype, bytes: &[u8]| dtype.decode(bytes, Endian::Little).unwrap();
        // f16 0x3555 = 0.333251953125, bf16 0x3EAB = 0.333984375, both exact in f64.
        assert_eq!(decode(Dtype::F16, &[0x55, 0x35]), 0.333251953125);
        assert_eq!(decode(Dtype::BF16, &[0xAB, 0x3E]), 0.333984375);
        // The smallest f16 subnormal, 2^-24.
        assert_eq!(decode(Dtype::F16, &[0x01, 0x00]), 2f64.powi(-24));
        assert_eq!(decode(Dtype::F32, &0.1f32.to_le_bytes()), f64::from(0.1f32));
        assert_eq!(decode(Dtype::F64, &0.1f64.to_le_bytes()), 0.1);
        assert_eq!(
            Dtype::F64.decode(&0.1f64.to_be_bytes(), Endian::Big),
            Some(0.1)
        );
    }

    #[test]
    fn integers_convert_exactly_or_not_at_all() {
        let decode = |dtype: Dtype, bytes: &[u8]| dtype.decode(bytes, Endian::Little);
        assert_eq!(decode(Dtype::I8, &[0xFF]), Some(-1.0));
        assert_eq!(decode(Dtype::U8, &[0xFF]), Some(255.0));
        assert_eq!(decode(Dtype::I16, &(-300i16).to_le_bytes()), Some(-300.0));
        assert_eq!(
            decode(Dtype::I64, &(-(1i64 << 53)).to_le_bytes()),
            Some(-(2f64.powi(53)))
        );
        assert_eq!(decode(Dtype::I64, &((1i64 << 53) + 1).to_le_bytes()), None);
        assert_eq!(decode(Dtype::U64, &u64::MAX.to_le_bytes()), None);
        assert_eq!(
            decode(Dtype::U32, &u32::MAX.to_le_bytes()),
            Some(4294967295.0)
        );
    }

    #[test]
    fn a_non_finite_element_is_named_by_its_position() {
        let mut data = Vec::new();
        for value in [1.0f32, 2.0, 3.0, f32::NAN, 5.0, 6.0] {
            data.extend(value.to_le_bytes());
        }
        let err = NamedArray::decode(
            Path::new("m.safetensors"),
            "0.weight",
            Dtype::F32,
            vec![2, 3],
            &data,
            Endian::Little,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.safetensors, key `0.weight`: F32 [2, 3]: the element at [1, 0] is NaN; values must be finite"
        );
    }

    #[test]
    fn absurd_shapes_are_refused_before_allocating() {
        let path = Path::new("m.npy");
        assert_eq!(byte_length(path, "x", Dtype::F32, &[3, 2]).unwrap(), 24);
        assert_eq!(byte_length(path, "x", Dtype::F32, &[]).unwrap(), 4);
        let err = byte_length(path, "x", Dtype::F32, &[1 << 20, 1 << 20]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.npy, key `x`: F32 [1048576, 1048576] has 1099511627776 elements; precision-audit reads arrays of at most 67108864 (2^26)"
        );
        let err = byte_length(path, "", Dtype::F64, &[usize::MAX, 2]).unwrap_err();
        assert!(err.to_string().contains("more than 2^64 elements"), "{err}");
    }
}
