//! Data in and out: the built-in dataset, datasets from CSV and NumPy files, MLP parameter
//! files (CSV, safetensors, `.npz`), and the write-then-rename helper every output file uses.
//! Bad input is an [`Error`], never a panic.

pub mod array_data;
pub mod atomic;
pub mod builtin;
pub mod csv_file;
pub mod digest;
pub mod labels;
pub mod lines;
pub mod model_file;
pub mod npy;
pub mod npz;
pub mod params;
pub mod safetensors;
pub mod staging;
pub mod tensors;

use std::path::Path;

use ndarray::Array2;

use crate::Error;

pub use array_data::{load_npy, load_npz};
pub use atomic::{StagedFile, commit_all, replaceable, write_atomically};
pub use builtin::{Task, builtin, builtin_classes};
pub use csv_file::load_csv;
pub use model_file::{ModelFile, read_model_file, write_model_safetensors};
pub use params::{read_params, write_params};
pub use staging::StagingDir;

/// Reads the dataset in `path`, choosing the format by its extension: `.npz` and `.npy`
/// ([`array_data`]), and otherwise CSV ([`load_csv`]). `target` picks the target: a CSV
/// column's name or 1-based index, an `.npz` array's name, a `.npy` column's 1-based index.
///
/// # Errors
///
/// What the chosen reader refuses.
pub fn load_data(path: &Path, target: Option<&str>) -> Result<Dataset, Error> {
    match tensors::extension(path).as_str() {
        "npz" => load_npz(path, target),
        "npy" => load_npy(path, target),
        _ => load_csv(path, target),
    }
}

/// A dataset: `n` samples of `d` features and `k ≥ 1` targets (regression values or class
/// labels), all finite f64.
///
/// Invariants (checked by [`Dataset::new`]): `n ≥ 1`, `d ≥ 1`, `features` is `n × d`,
/// `targets` is `n × k` with `k` target names, there are `d` feature names, and every value is
/// finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The inputs, one row per sample (`n × d`).
    pub features: Array2<f64>,
    /// The targets, one row per sample (`n × k`).
    pub targets: Array2<f64>,
    /// One name per feature column, in column order.
    pub feature_names: Vec<String>,
    /// One name per target column, in column order.
    pub target_names: Vec<String>,
    /// Where the data came from: `"built-in"` or the CSV file's path.
    pub source: String,
    /// For a CSV file, the 1-based line of each sample and the 1-based column of each target,
    /// so that a refused label can be pointed at; empty otherwise.
    pub positions: Positions,
}

/// Where a dataset's samples and targets sit in the file they came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    /// The 1-based line of each sample.
    pub lines: Vec<u64>,
    /// The 1-based column of each target.
    pub target_columns: Vec<usize>,
}

impl Dataset {
    /// Builds a dataset after checking its invariants.
    ///
    /// ```
    /// use ndarray::array;
    /// use precision_audit::data::Dataset;
    ///
    /// let data = Dataset::new(
    ///     array![[1.0, 2.0], [3.0, 4.0]],
    ///     array![[0.5], [0.25]],
    ///     vec!["a".into(), "b".into()],
    ///     vec!["y".into()],
    ///     "example".into(),
    /// )
    /// .unwrap();
    /// assert_eq!((data.samples(), data.feature_count()), (2, 2));
    ///
    /// let ragged = Dataset::new(array![[1.0]], array![[0.5], [0.25]], vec!["a".into()], vec!["y".into()], "example".into());
    /// assert!(ragged.unwrap_err().to_string().contains("1 rows of features but 2 targets"));
    /// ```
    pub fn new(
        features: Array2<f64>,
        targets: Array2<f64>,
        feature_names: Vec<String>,
        target_names: Vec<String>,
        source: String,
    ) -> Result<Dataset, Error> {
        let refuse = |message: String| Error::InvalidData {
            what: format!("dataset from {source}"),
            message,
        };
        let (n, d) = features.dim();
        if n == 0 {
            return Err(refuse("no samples".into()));
        }
        if d == 0 {
            return Err(refuse("no feature columns".into()));
        }
        if targets.nrows() != n {
            return Err(refuse(format!(
                "{n} rows of features but {} targets",
                targets.nrows()
            )));
        }
        if targets.ncols() == 0 || targets.ncols() != target_names.len() {
            return Err(refuse(format!(
                "{} target columns but {} target names",
                targets.ncols(),
                target_names.len()
            )));
        }
        if feature_names.len() != d {
            return Err(refuse(format!(
                "{d} feature columns but {} feature names",
                feature_names.len()
            )));
        }
        if let Some(((row, column), value)) = features
            .indexed_iter()
            .find(|(_, value)| !value.is_finite())
        {
            return Err(refuse(format!(
                "feature {} of sample {} is {value}, not a finite number",
                feature_names[column],
                row + 1
            )));
        }
        if let Some(((row, _), value)) =
            targets.indexed_iter().find(|(_, value)| !value.is_finite())
        {
            return Err(refuse(format!(
                "target of sample {} is {value}, not a finite number",
                row + 1
            )));
        }
        Ok(Dataset {
            features,
            targets,
            feature_names,
            target_names,
            source,
            positions: Positions::default(),
        })
    }

    /// The number of samples `n`.
    pub fn samples(&self) -> usize {
        self.features.nrows()
    }

    /// The number of feature columns `d`.
    pub fn feature_count(&self) -> usize {
        self.features.ncols()
    }

    /// The number of target columns `k`.
    pub fn target_count(&self) -> usize {
        self.targets.ncols()
    }
}

#[cfg(test)]
pub(crate) mod scratch {
    //! Throwaway directories for tests that write files.

    use std::path::{Path, PathBuf};

    /// A fresh, empty directory unique to this process and `name`.
    pub(crate) fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "precision-audit-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        dir
    }

    /// Writes `bytes` to `dir/file` and returns the path.
    pub(crate) fn file(dir: &Path, file: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, bytes).expect("write scratch file");
        path
    }

    /// The path of a committed fixture under `fixtures/data/`.
    pub(crate) fn fixture(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/data")
            .join(file)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn names(d: usize) -> Vec<String> {
        (1..=d).map(|j| format!("x{j}")).collect()
    }

    #[test]
    fn a_consistent_dataset_is_accepted() {
        let data = Dataset::new(
            array![[1.0, 2.0]],
            array![[3.0]],
            names(2),
            vec!["y".into()],
            "t".into(),
        )
        .unwrap();
        assert_eq!(data.samples(), 1);
        assert_eq!(data.feature_count(), 2);
    }

    #[test]
    fn each_broken_invariant_is_named() {
        let cases = [
            (
                Dataset::new(
                    Array2::zeros((0, 2)),
                    Array2::zeros((0, 1)),
                    names(2),
                    vec!["y".into()],
                    "t".into(),
                ),
                "dataset from t: no samples",
            ),
            (
                Dataset::new(
                    Array2::zeros((2, 0)),
                    Array2::zeros((2, 1)),
                    names(0),
                    vec!["y".into()],
                    "t".into(),
                ),
                "dataset from t: no feature columns",
            ),
            (
                Dataset::new(
                    Array2::zeros((2, 1)),
                    Array2::zeros((2, 2)),
                    names(1),
                    vec!["y".into()],
                    "t".into(),
                ),
                "2 target columns but 1 target names",
            ),
            (
                Dataset::new(
                    Array2::zeros((2, 1)),
                    Array2::zeros((2, 1)),
                    names(2),
                    vec!["y".into()],
                    "t".into(),
                ),
                "1 feature columns but 2 feature names",
            ),
            (
                Dataset::new(
                    array![[1.0, 2.0], [3.0, f64::NAN]],
                    Array2::zeros((2, 1)),
                    names(2),
                    vec!["y".into()],
                    "t".into(),
                ),
                "feature x2 of sample 2 is NaN",
            ),
            (
                Dataset::new(
                    Array2::zeros((2, 1)),
                    array![[0.0], [f64::INFINITY]],
                    names(1),
                    vec!["y".into()],
                    "t".into(),
                ),
                "target of sample 2 is inf",
            ),
        ];
        for (result, expected) in cases {
            let message = result.unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }
}
