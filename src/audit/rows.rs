//! Which rows make the loss: each row's loss term at the end of training, in the reference and
//! in every lane, and whether a few rows carry almost all of the reference's loss.

use ndarray::Array2;

/// Each row's target as rows.csv and the verdict read it: the target itself, or with several
/// target columns the one of smallest magnitude (the one a relative loss is most sensitive
/// to; the first of equal magnitudes).
pub fn row_targets(targets: &Array2<f64>) -> Vec<f64> {
    targets
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .copied()
                .reduce(|a, b| if b.abs() < a.abs() { b } else { a })
                .expect("a row has a target")
        })
        .collect()
}

/// A few rows that carry almost all of the reference's loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dominance {
    /// How many rows.
    pub rows: usize,
    /// Out of how many.
    pub of: usize,
    /// The share of the reference's loss they carry.
    pub share: f64,
    /// Of those rows, the ones whose target is 0; `None` when the targets are class labels.
    pub zero_targets: Option<usize>,
    /// Of those rows, the ones whose nonzero target is below 10·eps (when the loss has an eps).
    pub small_targets: Option<usize>,
}

/// The share of the loss that makes a set of rows dominant, and the largest share of all rows
/// such a set may be.
const CARRIED: f64 = 0.99;
const AT_MOST: f64 = 0.2;

/// The share of the loss near-zero targets must carry to be named.
const NEAR_ZERO_CARRIED: f64 = 0.9;

/// With a loss eps: the rows whose target is 0 or below 10·eps, when they are at most half
/// of the rows and carry at least 90% of the loss (a relative loss's classic trap). Otherwise
/// the fewest rows that carry 99% of the reference's loss, when they are at most a fifth of
/// the rows. `None` when neither holds, or when a term is negative or not finite (the shares
/// would mean nothing). `targets` is `None` when they are class labels (no target is "zero").
pub fn dominance(terms: &[f64], targets: Option<&[f64]>, eps: Option<f64>) -> Option<Dominance> {
    if terms.iter().any(|t| !t.is_finite() || *t < 0.0) {
        return None;
    }
    let total: f64 = terms.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let small = |eps: f64, y: f64| y != 0.0 && y.abs() < 10.0 * eps;
    if let (Some(eps), Some(targets)) = (eps, targets) {
        let near_zero: Vec<usize> = (0..terms.len())
            .filter(|&r| targets[r] == 0.0 || small(eps, targets[r]))
            .collect();
        let carried: f64 = near_zero.iter().map(|&r| terms[r]).sum();
        if carried >= NEAR_ZERO_CARRIED * total && 2 * near_zero.len() <= terms.len() {
            return Some(Dominance {
                rows: near_zero.len(),
                of: terms.len(),
                share: carried / total,
                zero_targets: Some(near_zero.iter().filter(|&&r| targets[r] == 0.0).count()),
                small_targets: Some(
                    near_zero
                        .iter()
                        .filter(|&&r| small(eps, targets[r]))
                        .count(),
                ),
            });
        }
    }
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by(|&a, &b| terms[b].total_cmp(&terms[a]).then(a.cmp(&b)));
    let mut carried = 0.0;
    let mut rows = 0;
    for &row in &order {
        carried += terms[row];
        rows += 1;
        if carried >= CARRIED * total {
            break;
        }
    }
    if rows as f64 > AT_MOST * terms.len() as f64 {
        return None;
    }
    let top = &order[..rows];
    Some(Dominance {
        rows,
        of: terms.len(),
        share: carried / total,
        zero_targets: targets.map(|y| top.iter().filter(|&&r| y[r] == 0.0).count()),
        small_targets: eps
            .zip(targets)
            .map(|(eps, y)| top.iter().filter(|&&r| small(eps, y[r])).count()),
    })
}

impl Dominance {
    /// The finding in one sentence.
    pub fn sentence(&self) -> String {
        let mut kinds: Vec<String> = self
            .zero_targets
            .map(|zero| format!("{zero} with y = 0"))
            .into_iter()
            .collect();
        if let Some(small) = self.small_targets {
            kinds.push(format!("{small} with 0 < |y| < 10·eps"));
        }
        let kinds = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        format!(
            "{} of {} rows carry {:.2}% of the reference's loss at the end{kinds}: the loss is \
             about these rows",
            self.rows,
            self.of,
            self.share * 100.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_zero_target_rows_that_carry_the_loss_are_found() {
        let mut terms = vec![1.0; 100];
        let mut targets = vec![0.5; 100];
        for row in [3, 50, 97] {
            terms[row] = 1e6;
            targets[row] = 0.0;
        }
        let found = dominance(&terms, Some(&targets), Some(1e-8)).expect("three rows dominate");
        assert_eq!(
            (found.rows, found.of, found.zero_targets),
            (3, 100, Some(3))
        );
        assert_eq!(found.small_targets, Some(0));
        assert!(found.share > 0.99);
    }

    #[test]
    fn near_zero_targets_that_carry_most_of_a_relative_loss_are_named_together() {
        // 30 rows: a third near zero, each carrying 1e4 times a normal row's term.
        let targets: Vec<f64> = (0..30)
            .map(|r| match r % 3 {
                0 => 0.0,
                1 if r < 12 => 5e-9,
                _ => 0.5,
            })
            .collect();
        let terms: Vec<f64> = targets
            .iter()
            .map(|&y| if y < 1e-7 { 1e4 } else { 1.0 })
            .collect();
        let found = dominance(&terms, Some(&targets), Some(1e-8)).expect("near-zero rows dominate");
        assert_eq!(
            (found.rows, found.zero_targets, found.small_targets),
            (14, Some(10), Some(4))
        );
        assert!(found.share > 0.99);
    }

    #[test]
    fn an_even_loss_has_no_dominant_rows() {
        assert_eq!(dominance(&[1.0; 100], Some(&[0.5; 100]), None), None);
        assert_eq!(dominance(&[1.0, f64::NAN], Some(&[0.5, 0.5]), None), None);
        assert_eq!(dominance(&[0.0; 4], Some(&[0.5; 4]), None), None);
    }

    #[test]
    fn class_labels_name_no_zero_targets() {
        let mut terms = vec![0.01; 50];
        terms[7] = 1000.0;
        let found = dominance(&terms, None, None).expect("one row dominates");
        assert_eq!((found.rows, found.zero_targets), (1, None));
        assert_eq!(
            found.sentence(),
            "1 of 50 rows carry 99.95% of the reference's loss at the end: the loss is about \
             these rows"
        );
    }

    #[test]
    fn several_targets_are_read_by_their_smallest_magnitude() {
        let targets = ndarray::array![[0.5, -1e-9], [0.0, 2.0], [3.0, -3.0]];
        assert_eq!(row_targets(&targets), [-1e-9, 0.0, 3.0]);
    }
}
