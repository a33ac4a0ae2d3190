//! Class labels: checking that a classification loss's targets are integers in range, and
//! pointing at the file, line and column of the first one that is not.

use super::Dataset;
use crate::Error;

/// What the targets must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// 0 or 1 in every target column (binary cross-entropy).
    Binary,
    /// One target column of integers 0..classes−1; `None`: any integer ≥ 0, K taken from
    /// the data.
    Classes(Option<usize>),
}

/// The most classes a softmax may have: the widest output layer a flag accepts.
pub const MAX_CLASSES: usize = 1 << 16;

/// Checks the labels of `data` and returns the number of classes: 2 for binary labels, K for
/// class labels (the given K, or the largest label + 1, at least 2).
///
/// # Errors
///
/// [`Error::BadFile`] naming the line and column of a label that is not an integer in range
/// when the data came from a CSV file; otherwise [`Error::InvalidData`] naming the sample.
pub fn check(data: &Dataset, expected: Expected) -> Result<usize, Error> {
    if let Expected::Classes(_) = expected
        && data.target_count() != 1
    {
        return Err(Error::InvalidData {
            what: format!("dataset from {}", data.source),
            message: format!(
                "softmax cross-entropy takes one target column of class labels, found {} ({})",
                data.target_count(),
                data.target_names.join(", ")
            ),
        });
    }
    let limit = match expected {
        Expected::Binary => 2,
        Expected::Classes(Some(k)) => k,
        Expected::Classes(None) => MAX_CLASSES,
    };
    let mut largest = 0usize;
    for ((row, column), &label) in data.targets.indexed_iter() {
        let integer = label.fract() == 0.0 && label >= 0.0;
        if !integer || label >= limit as f64 {
            let why = match expected {
                Expected::Binary => "binary cross-entropy takes labels 0 or 1".to_string(),
                _ if !integer => "a class label is an integer 0, 1, 2, …".to_string(),
                Expected::Classes(Some(k)) => {
                    format!("with {k} classes a label is 0 to {}", k - 1)
                }
                Expected::Classes(None) => format!("a label is below {MAX_CLASSES}"),
            };
            return Err(refuse(data, row, column, label, &why));
        }
        largest = largest.max(label as usize);
    }
    Ok(match expected {
        Expected::Binary => 2,
        Expected::Classes(Some(k)) => k,
        Expected::Classes(None) => (largest + 1).max(2),
    })
}

fn refuse(data: &Dataset, row: usize, column: usize, label: f64, why: &str) -> Error {
    let message = format!(
        "`{}` is not a class label: {why}",
        crate::format::text::shortest(label)
    );
    match (
        data.positions.lines.get(row),
        data.positions.target_columns.get(column),
    ) {
        (Some(&line), Some(&number)) => Error::BadFile {
            path: data.source.clone().into(),
            line,
            column: Some(format!("{number} ({})", data.target_names[column])),
            message,
        },
        _ => Error::InvalidData {
            what: format!("dataset from {}", data.source),
            message: format!(
                "target `{}` of sample {}: {message}",
                data.target_names[column],
                row + 1
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn data(targets: ndarray::Array2<f64>) -> Dataset {
        let n = targets.nrows();
        let names = (1..=targets.ncols()).map(|k| format!("y{k}")).collect();
        Dataset::new(
            ndarray::Array2::zeros((n, 1)),
            targets,
            vec!["x".into()],
            names,
            "t.csv".into(),
        )
        .unwrap()
    }

    #[test]
    fn classes_come_from_the_data_or_the_flag() {
        let labels = data(array![[0.0], [2.0], [1.0]]);
        assert_eq!(check(&labels, Expected::Classes(None)).unwrap(), 3);
        assert_eq!(check(&labels, Expected::Classes(Some(5))).unwrap(), 5);
        assert_eq!(
            check(&data(array![[0.0], [0.0]]), Expected::Classes(None)).unwrap(),
            2
        );
        assert_eq!(
            check(&data(array![[0.0, 1.0]]), Expected::Binary).unwrap(),
            2
        );
    }

    #[test]
    fn a_bad_label_is_pointed_at() {
        let mut labels = data(array![[0.0], [1.5], [1.0]]);
        let message = check(&labels, Expected::Classes(None))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("sample 2") && message.contains("`1.5`"),
            "{message}"
        );
        labels.positions.lines = vec![2, 3, 5];
        labels.positions.target_columns = vec![4];
        let message = check(&labels, Expected::Classes(None))
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "t.csv, line 3, column 4 (y1): `1.5` is not a class label: a class label is an \
             integer 0, 1, 2, …"
        );
        let message = check(&labels, Expected::Binary).unwrap_err().to_string();
        assert!(message.contains("labels 0 or 1"), "{message}");
        let out_of_range = data(array![[0.0], [3.0]]);
        let message = check(&out_of_range, Expected::Classes(Some(3)))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("with 3 classes a label is 0 to 2"),
            "{message}"
        );
        let negative = data(array![[-1.0]]);
        assert!(check(&negative, Expected::Classes(None)).is_err());
        let two = data(array![[0.0, 1.0]]);
        assert!(
            check(&two, Expected::Classes(None))
                .unwrap_err()
                .to_string()
                .contains("one target column")
        );
    }
}
