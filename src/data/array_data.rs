//! Datasets from NumPy files. An `.npz` holds the features as an array named one of
//! [`FEATURE_KEYS`] (`[samples, features]`, or `[samples]` for one feature) and the target as
//! one of [`TARGET_KEYS`] (`[samples]` or `[samples, 1]`); other arrays are ignored. A `.npy`
//! holds one 2-D array whose last column is the target, as in a CSV file (`--target` picks
//! another column by its 1-based index). Float and integer arrays are read exactly.

use std::path::Path;

use ndarray::Array2;

use super::Dataset;
use super::npy::read_npy;
use super::npz::read_npz;
use super::tensors::{NamedArray, bad};
use crate::Error;

/// The names an `.npz` may give its features array, in order of preference.
pub const FEATURE_KEYS: [&str; 3] = ["x", "X", "features"];

/// The names an `.npz` may give its target array, in order of preference.
pub const TARGET_KEYS: [&str; 4] = ["y", "Y", "target", "targets"];

/// Reads the dataset of the `.npz` file `path`; `target` names the target array instead of
/// [`TARGET_KEYS`].
///
/// # Errors
///
/// What [`read_npz`] refuses; [`Error::BadTensorFile`] when no array has a features or target
/// name (the message lists the arrays there are), two arrays have features names, the
/// features are not 1-D or 2-D, the target is not `[samples]` or `[samples, 1]`, or the two
/// disagree on the number of samples.
pub fn load_npz(path: &Path, target: Option<&str>) -> Result<Dataset, Error> {
    let arrays = read_npz(path)?;
    let find = |names: &[&str], what: &str| -> Result<&NamedArray, Error> {
        let mut found = arrays.iter().filter(|a| names.contains(&a.key.as_str()));
        match (found.next(), found.next()) {
            (Some(one), None) => Ok(one),
            (Some(one), Some(other)) => Err(bad(
                path,
                &other.key,
                format!(
                    "both `{}` and this array could be the {what}; keep one",
                    one.key
                ),
            )),
            (None, _) => Err(bad(
                path,
                "",
                format!(
                    "no {what} array: name it {} (the arrays are {})",
                    names.join(" or "),
                    arrays
                        .iter()
                        .map(|a| format!("`{}` {}", a.key, a.describe()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    };
    let features = find(&FEATURE_KEYS, "features")?;
    let targets = match target {
        Some(name) => find(&[name], "target")?,
        None => find(&TARGET_KEYS, "target")?,
    };
    let samples = *features.shape.first().unwrap_or(&0);
    let width = match features.shape.as_slice() {
        [_] => 1,
        [_, width] => *width,
        _ => {
            return Err(bad(
                path,
                &features.key,
                format!(
                    "{}: the features are [samples, features] (or [samples] for one feature)",
                    features.describe()
                ),
            ));
        }
    };
    if !matches!(targets.shape.as_slice(), [n] | [n, 1] if *n == samples) {
        return Err(bad(
            path,
            &targets.key,
            format!(
                "{}: the target is [{samples}] or [{samples}, 1], one value per sample of `{}` {}",
                targets.describe(),
                features.key,
                features.describe()
            ),
        ));
    }
    let features_array = Array2::from_shape_vec((samples, width), features.values.clone())
        .expect("samples × features values");
    let targets_array = Array2::from_shape_vec((samples, 1), targets.values.clone())
        .expect("one target per sample");
    Dataset::new(
        features_array,
        targets_array,
        (1..=width)
            .map(|j| format!("{}{j}", features.key))
            .collect(),
        vec![targets.key.clone()],
        path.display().to_string(),
    )
}

/// Reads the dataset of the `.npy` file `path`: a 2-D array, the target its last column or
/// the 1-based column `target`; the features are named `x1`, `x2`, … and the target `y`.
///
/// # Errors
///
/// What [`read_npy`] refuses; [`Error::BadTensorFile`] for an array that is not 2-D with at
/// least two columns, and a `target` that is not a column number.
pub fn load_npy(path: &Path, target: Option<&str>) -> Result<Dataset, Error> {
    let array = read_npy(path)?;
    let &[samples, columns] = array.shape.as_slice() else {
        return Err(bad(
            path,
            "",
            format!(
                "{}: the data are one 2-D array [samples, columns], the target in the last column",
                array.describe()
            ),
        ));
    };
    if columns < 2 {
        return Err(bad(
            path,
            "",
            format!(
                "{}: need at least one feature column and a target column",
                array.describe()
            ),
        ));
    }
    let target_column = match target {
        None => columns - 1,
        Some(text) => match text.trim().parse::<usize>() {
            Ok(number) if (1..=columns).contains(&number) => number - 1,
            _ => {
                return Err(bad(
                    path,
                    "",
                    format!(
                        "no target column `{text}`: a .npy array's columns are numbered 1 to {columns}"
                    ),
                ));
            }
        },
    };
    let table =
        Array2::from_shape_vec((samples, columns), array.values).expect("samples × columns values");
    let feature_columns: Vec<usize> = (0..columns).filter(|&c| c != target_column).collect();
    let features = table.select(ndarray::Axis(1), &feature_columns);
    let targets = table.select(ndarray::Axis(1), &[target_column]);
    Dataset::new(
        features,
        targets,
        (1..columns).map(|j| format!("x{j}")).collect(),
        vec!["y".into()],
        path.display().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{load_csv, scratch};

    fn models(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/models")
            .join(name)
    }

    #[test]
    fn numpy_files_hold_the_same_data_as_the_csv() {
        let csv = load_csv(&scratch::fixture("tiny.csv"), None).unwrap();
        for name in ["tiny.npz", "tiny.npy"] {
            let data = crate::data::load_data(&models(name), None).unwrap();
            assert_eq!(data.features, csv.features, "{name}");
            assert_eq!(data.targets, csv.targets, "{name}");
            assert_eq!(data.feature_names, ["x1", "x2"], "{name}");
            assert_eq!(data.target_names, ["y"], "{name}");
        }
        let by_column = load_npy(&models("tiny.npy"), Some("1")).unwrap();
        assert_eq!(by_column.targets[[1, 0]], 0.25);
        assert_eq!(by_column.features[[1, 1]], 0.0001875);
    }

    #[test]
    fn the_target_array_can_be_named() {
        // x is 4 × 2, not a target: the refusal names it and says why.
        let err = load_npz(&models("tiny.npz"), Some("x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "key `x`: F64 [4, 2]: the target is [4] or [4, 1], one value per sample of `x` F64 [4, 2]"
            ),
            "{err}"
        );
        let err = load_npz(&models("tiny.npz"), Some("z"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "no target array: name it z (the arrays are `x` F64 [4, 2], `y` F64 [4])"
            ),
            "{err}"
        );
    }

    #[test]
    fn parameters_are_not_data() {
        let err = load_npz(&models("keras-2-3-1-f32.npz"), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("no features array: name it x or X or features (the arrays are `arr_0` F32 [2, 3], `arr_1` F32 [3], `arr_2` F32 [3, 1], `arr_3` F32 [1])"),
            "{err}"
        );
        let err = load_npy(&models("tiny.npy"), Some("4"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("no target column `4`: a .npy array's columns are numbered 1 to 3"),
            "{err}"
        );
    }

    #[test]
    fn broken_archives_are_refused() {
        let bytes = std::fs::read(models("tiny.npz")).unwrap();
        let dir = scratch::dir("npz-broken");
        for (name, content) in [
            ("truncated.npz", &bytes[..bytes.len() / 2]),
            ("text.npz", &b"x,y\n1,2\n"[..]),
            ("empty.npz", &[][..]),
        ] {
            let path = scratch::file(&dir, name, content);
            let err = load_npz(&path, None).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "{}: not a readable .npz (zip) archive",
                    path.display()
                )),
                "{err}"
            );
        }
    }
}
