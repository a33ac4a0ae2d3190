//! The library's one error type: what went wrong, and where.

use std::path::PathBuf;

/// Everything precision-audit reports as bad input or a failed write.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A format name that is not one of f16, bf16, f32, f64 and the named narrow formats.
    #[error(
        "unknown format `{name}`: expected one of f16, bf16, f32, f64, tf32, e5m2, e4m3, e3m2, e2m3, e2m1"
    )]
    UnknownFormat {
        /// What the user wrote.
        name: String,
    },
    /// A format name that `round` and `formats` do not know.
    #[error(
        "unknown format `{name}`: expected one of f16, bf16, f32, f64, tf32, e5m2, e4m3, e3m2, \
         e2m3, e2m1, or eXmY with X in 2..=10 exponent bits and Y in 1..=50 fraction bits"
    )]
    UnknownStorage {
        /// What the user wrote.
        name: String,
    },
    /// Text that does not parse as a number.
    #[error("`{text}` is not a number")]
    NotANumber {
        /// What the user wrote.
        text: String,
    },
    /// A flag whose value makes no sense.
    #[error("{flag}: {message}")]
    InvalidFlag {
        /// The flag, e.g. `--eps`.
        flag: String,
        /// Why the value is refused.
        message: String,
    },
    /// A data or parameter file with bad content.
    #[error("{}, line {line}{}: {message}", path.display(), column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column name or number, where one cell is at fault.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A binary file of named arrays (safetensors, `.npz`, `.npy`) with bad content. Such a file
    /// has no lines: the array's key says where, the message says what (dtype, shapes found and
    /// needed).
    #[error("{}{}: {message}", path.display(), key.as_ref().map(|k| format!(", key `{k}`")).unwrap_or_default())]
    BadTensorFile {
        /// The file.
        path: PathBuf,
        /// The tensor or array at fault (`0.weight`, `dense/kernel`, `arr_2`, `x`), if one is.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Data or parameters that are inconsistent in themselves or with what they must fit,
    /// where no file line is to blame (e.g. parameters against the network's widths).
    #[error("{what}: {message}")]
    InvalidData {
        /// The thing refused, e.g. `parameters for widths [2, 8, 1]`.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
