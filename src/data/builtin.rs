//! The built-in dataset: seeded, tiny, and built so that its targets span every f16 regime.
//!
//! `builtin(samples, features, seed)` is defined exactly as follows, so that anyone can rebuild
//! it bit for bit (in Python with `numpy.random` replaced by a ChaCha20 stream, for example):
//!
//! 1. `rng = ChaCha20Rng::seed_from_u64(seed)` (rand_chacha 0.10), stream 0
//!    ([`Stream::Data`]). Each uniform number in [0, 1) is [`uniform`]:
//!    `u = (rng.next_u64() >> 11) as f64 * 2^-53`, the top 53 bits of one 64-bit output, so every
//!    `u` is an exact multiple of 2⁻⁵³. How to rebuild the ChaCha20 key and keystream outside
//!    Rust is in [`crate::seed`].
//! 2. The features `x[i][j]` are drawn in row-major order: row `i = 0, 1, …, samples − 1`,
//!    and within a row, feature `j = 0, 1, …, features − 1`. Nothing else consumes the stream.
//! 3. For each row `i`, the magnitude is `k_i = floor(9 · x[i][0])`, an integer in 0..=8
//!    (`9 · u` is computed in f64; it is below 9 because `u ≤ 1 − 2⁻⁵³`).
//! 4. `mean_i = (x[i][0] + x[i][1] + … + x[i][d−1]) / d`, summed left to right in f64 and then
//!    divided by `d` once (correctly rounded).
//! 5. `y_i = mean_i / 10^k_i`, computed in f64 as `mean_i / 10f64.powi(k_i)`: `10^k` is exact
//!    in f64 for `k ≤ 8`, so this is one correctly rounded division.
//! 6. Except: `y_i = 0` exactly for every row with `i % 8 == 0` (rows 0, 8, 16, …); those rows
//!    still draw their features.
//!
//! Features are named `x1 … xd` and the target `y`; the source is `"built-in"`.
//!
//! **The classification variant** (`--task classification`, [`builtin_classes`]) draws the
//! same features (steps 1 and 2) and computes `mean_i` as in step 4; its one target, named
//! `class`, is the label `c_i = min(floor(K · mean_i), K − 1)` for `K` classes (`K · mean_i`
//! computed in f64; the `min` only guards a mean that rounds up to 1). There are no zero
//! rows. With two features the classes are unbalanced the way a sum of two uniforms is:
//! for K = 3, about 2/9, 5/9 and 2/9 of the rows. The classes are bands of `mean_i`, so they
//! are separable by a hyperplane, and training keeps sharpening the logits: what makes the
//! naive softmax overflow in f16.
//!
//! Why this shape: the targets run from order 1 (rows with `k = 0`; up to about 0.55 with two
//! features) down to about 10⁻⁹ (rows with `k = 8`, about one in nine), below f16's smallest
//! subnormal 2⁻²⁴ ≈ 5.96 × 10⁻⁸. So in f16 some targets round to zero, and a relative loss
//! `|ŷ − y| / (|y| + ε)` meets exact-zero targets, where only ε keeps the denominator away
//! from zero. With 100 rows there are 13 exact zeros. All features and targets are
//! non-negative.

use ndarray::Array2;

use super::Dataset;
use crate::seed::{self, Stream, uniform};

/// The number of samples of the built-in dataset when the user does not say.
pub const DEFAULT_SAMPLES: usize = 100;
/// The number of features of the built-in dataset when the user does not say.
pub const DEFAULT_FEATURES: usize = 2;
/// What [`Dataset::source`] says for the built-in dataset.
pub const BUILTIN_SOURCE: &str = "built-in";
/// The number of classes of the built-in classification data when the user does not say.
pub const DEFAULT_CLASSES: usize = 3;

crate::named_enum! {
    /// Which built-in data set: regression targets or class labels.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Task: parsed from "--task" as "task" {
        /// Targets spanning many magnitudes, some zero ([`builtin`]).
        Regression = "regression",
        /// Class labels 0..K−1 ([`builtin_classes`]).
        Classification = "classification",
    }
}

/// The seeded features of the built-in data sets (steps 1 and 2), and each row's mean
/// (step 4).
fn features_and_means(samples: usize, features: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    assert!(
        samples >= 1 && features >= 1,
        "the built-in dataset needs at least one sample and one feature, got {samples} × {features}"
    );
    let mut rng = seed::generator(seed, Stream::Data);
    let mut x = Array2::<f64>::zeros((samples, features));
    for value in x.iter_mut() {
        // `iter_mut` of a fresh standard-layout array walks row-major: row by row, feature
        // by feature, the order the definition fixes.
        *value = uniform(&mut rng);
    }
    let means = x
        .rows()
        .into_iter()
        .map(|row| {
            let mut sum = 0.0;
            for &value in row {
                sum += value;
            }
            sum / features as f64
        })
        .collect();
    (x, means)
}

/// The built-in classification data set with `classes` classes, as defined in the module
/// documentation.
///
/// ```
/// use precision_audit::data::builtin::builtin_classes;
///
/// let data = builtin_classes(100, 2, 0, 3);
/// assert_eq!(data.target_names, ["class"]);
/// assert!(data.targets.iter().all(|c| [0.0, 1.0, 2.0].contains(c)));
/// ```
///
/// # Panics
///
/// If `samples`, `features` or `classes` is 0.
pub fn builtin_classes(samples: usize, features: usize, seed: u64, classes: usize) -> Dataset {
    assert!(classes >= 1, "the built-in classes need at least one class");
    let (x, means) = features_and_means(samples, features, seed);
    let k = classes as f64;
    let labels = means.iter().map(|mean| (k * mean).floor().min(k - 1.0));
    let y = Array2::from_shape_vec((samples, 1), labels.collect()).expect("one label per row");
    Dataset::new(
        x,
        y,
        (1..=features).map(|j| format!("x{j}")).collect(),
        vec!["class".into()],
        BUILTIN_SOURCE.into(),
    )
    .expect("the built-in dataset is finite and consistently shaped")
}

/// The built-in dataset with `samples` rows and `features` feature columns, as defined in the
/// module documentation.
///
/// ```
/// use precision_audit::data::builtin;
///
/// let data = builtin(100, 2, 0);
/// assert_eq!(data.features.dim(), (100, 2));
/// assert_eq!(data.targets[[0, 0]], 0.0); // row 0 is one of the exact zeros
/// assert_eq!(data.feature_names, ["x1", "x2"]);
/// ```
///
/// # Panics
///
/// If `samples` or `features` is 0: a dataset needs at least one of each. The command line
/// refuses those values before they get here.
pub fn builtin(samples: usize, features: usize, seed: u64) -> Dataset {
    let (x, means) = features_and_means(samples, features, seed);
    let mut y = Array2::<f64>::zeros((samples, 1));
    for (i, (row, mean)) in x.rows().into_iter().zip(&means).enumerate() {
        if i % 8 == 0 {
            continue;
        }
        let magnitude = (9.0 * row[0]).floor() as i32;
        y[[i, 0]] = mean / 10f64.powi(magnitude);
    }
    Dataset::new(
        x,
        y,
        (1..=features).map(|j| format!("x{j}")).collect(),
        vec!["y".into()],
        BUILTIN_SOURCE.into(),
    )
    .expect("the built-in dataset is finite and consistently shaped")
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::{Rng, SeedableRng};

    use super::*;

    /// f16's smallest positive subnormal, 2⁻²⁴.
    const F16_SMALLEST_SUBNORMAL: f64 = 5.960_464_477_539_063e-8;

    #[test]
    fn default_shape_is_100_by_2_with_names() {
        let data = builtin(DEFAULT_SAMPLES, DEFAULT_FEATURES, 0);
        assert_eq!(data.features.dim(), (100, 2));
        assert_eq!(data.targets.dim(), (100, 1));
        assert_eq!(data.feature_names, ["x1", "x2"]);
        assert_eq!(data.target_names, ["y"]);
        assert_eq!(data.source, "built-in");
    }

    #[test]
    fn exactly_the_rows_divisible_by_8_are_zero() {
        for seed in [0, 1, 42] {
            let data = builtin(100, 2, seed);
            let zeros: Vec<usize> = (0..100).filter(|&i| data.targets[[i, 0]] == 0.0).collect();
            assert_eq!(zeros.len(), 13, "seed {seed}");
            assert!(zeros.iter().all(|i| i % 8 == 0), "seed {seed}: {zeros:?}");
        }
    }

    #[test]
    fn some_nonzero_targets_are_below_f16_smallest_subnormal() {
        let data = builtin(100, 2, 0);
        let tiny = data
            .targets
            .iter()
            .filter(|y| **y != 0.0 && y.abs() < F16_SMALLEST_SUBNORMAL)
            .count();
        assert!(tiny >= 1, "no nonzero target below 2^-24");
        let largest = data.targets.iter().cloned().fold(0.0, f64::max);
        assert!(
            largest > 0.1,
            "largest target {largest} should be of order 1"
        );
    }

    #[test]
    fn same_seed_same_bits_other_seed_other_bits() {
        let bits = |seed| -> Vec<u64> {
            let data = builtin(50, 3, seed);
            data.features
                .iter()
                .chain(data.targets.iter())
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(7), bits(7));
        assert_ne!(bits(7), bits(8));
    }

    #[test]
    fn features_are_the_stream_in_row_major_order() {
        let data = builtin(3, 2, 5);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        for i in 0..3 {
            for j in 0..2 {
                let u = (rng.next_u64() >> 11) as f64 / 2f64.powi(53);
                assert_eq!(data.features[[i, j]].to_bits(), u.to_bits(), "x[{i}][{j}]");
            }
        }
    }

    #[test]
    fn targets_follow_the_definition() {
        let data = builtin(40, 3, 11);
        for i in 0..40 {
            let row = data.features.row(i);
            let expected = if i % 8 == 0 {
                0.0
            } else {
                let k = (9.0 * row[0]).floor() as usize;
                let mean = (row[0] + row[1] + row[2]) / 3.0;
                let powers = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
                mean / powers[k]
            };
            assert_eq!(
                data.targets[[i, 0]].to_bits(),
                expected.to_bits(),
                "row {i}"
            );
        }
    }

    #[test]
    fn powers_of_ten_up_to_8_are_exact() {
        let mut exact = 1u64;
        for k in 0..=8 {
            assert_eq!(10f64.powi(k), exact as f64, "10^{k}");
            exact *= 10;
        }
    }

    #[test]
    fn pinned_first_values_for_seed_0() {
        // Pinned so a change of generator, bit extraction or order cannot pass unnoticed.
        let data = builtin(2, 2, 0);
        let got: Vec<String> = data
            .features
            .iter()
            .chain(data.targets.iter())
            .map(|v| crate::format::text::shortest(*v))
            .collect();
        assert_eq!(got, PINNED_SEED_0);
    }

    const PINNED_SEED_0: [&str; 6] = [
        "0.02436630951884644",
        "0.9820176657367381",
        "0.8607698923456298",
        "0.18582534785914695",
        "0",
        "5.2329762010238845e-08",
    ];

    #[test]
    fn classes_are_bands_of_the_row_mean_with_the_regression_features() {
        let regression = builtin(60, 3, 4);
        let data = builtin_classes(60, 3, 4, 4);
        assert_eq!(data.features, regression.features);
        let mut seen = [0usize; 4];
        for (row, label) in data.features.rows().into_iter().zip(&data.targets) {
            let mean = (row[0] + row[1] + row[2]) / 3.0;
            let expected = (4.0 * mean).floor();
            assert_eq!(*label, expected, "{row:?}");
            seen[*label as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "every class occurs: {seen:?}");
    }

    #[test]
    fn pinned_classes_for_seed_0() {
        let data = builtin_classes(12, 2, 0, 3);
        let labels: Vec<f64> = data.targets.iter().copied().collect();
        assert_eq!(labels, PINNED_CLASSES_SEED_0);
    }

    const PINNED_CLASSES_SEED_0: [f64; 12] =
        [1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 1.0, 1.0, 2.0];

    #[test]
    #[should_panic(expected = "at least one sample and one feature")]
    fn zero_features_is_refused() {
        builtin(10, 0, 0);
    }
}
