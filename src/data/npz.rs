//! NumPy's `.npz` archives (`np.savez`, `np.savez_compressed`): a zip file of `.npy` members,
//! each member's key its name without `.npy`. The uncompressed sizes are bounded before a byte
//! is inflated, so a small archive cannot expand into unbounded memory.

use std::io::{Cursor, Read};
use std::path::Path;

use super::npy;
use super::tensors::{MAX_FILE_BYTES, NamedArray, bad, read_bounded};
use crate::Error;

/// Every array of the archive `path`, in the archive's order.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::BadTensorFile`] naming the file (and
/// the member, where one is at fault) for: a file that is not a zip archive, a member that is
/// not a `.npy` array or cannot be inflated, members that together exceed
/// [`MAX_FILE_BYTES`] uncompressed, two members with one key, and anything [`npy::parse`]
/// refuses in a member.
pub fn read_npz(path: &Path) -> Result<Vec<NamedArray>, Error> {
    let bytes = read_bounded(path)?;
    let zip_error = |key: &str, err: zip::result::ZipError| {
        bad(
            path,
            key,
            format!("not a readable .npz (zip) archive: {err}"),
        )
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(&bytes[..])).map_err(|e| zip_error("", e))?;
    let mut budget = MAX_FILE_BYTES;
    let mut arrays: Vec<NamedArray> = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let mut member = archive.by_index(index).map_err(|e| zip_error("", e))?;
        let name = member.name().map_err(|e| zip_error("", e))?.into_owned();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(bad(
                path,
                &name,
                "this member is not a .npy array (np.savez names its members KEY.npy)".into(),
            ));
        };
        let declared = member.size();
        if declared > budget {
            return Err(bad(
                path,
                key,
                format!(
                    "the member says it inflates to {declared} bytes; precision-audit reads archives of at most {MAX_FILE_BYTES} bytes uncompressed"
                ),
            ));
        }
        budget -= declared;
        // Read one byte past the declared size, so a member that inflates to more than it
        // says is caught rather than trusted.
        let mut data = Vec::new();
        (&mut member)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(path, key, format!("cannot inflate the member: {e}")))?;
        if data.len() as u64 != declared {
            return Err(bad(
                path,
                key,
                format!(
                    "the member says it holds {declared} bytes but inflates to {}",
                    data.len()
                ),
            ));
        }
        if arrays.iter().any(|array| array.key == key) {
            return Err(bad(
                path,
                key,
                "the archive has two members with this key".into(),
            ));
        }
        arrays.push(npy::parse(path, key, &data)?);
    }
    Ok(arrays)
}
