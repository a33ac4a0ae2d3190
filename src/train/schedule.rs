//! The batch schedule: a seeded shuffle per epoch and seeded dropout masks, computed once per
//! step and shared by every format, so that formats differ only in arithmetic.

use ndarray::Array2;
use rand_chacha::ChaCha20Rng;

use crate::seed::{self, Stream, uniform};

/// What one training step uses.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPlan {
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based step, counted across epochs.
    pub step: u64,
    /// The dataset rows of this batch, in order.
    pub rows: Vec<usize>,
    /// Per hidden layer, which units are kept (batch × width); empty without dropout.
    pub keep: Vec<Array2<bool>>,
}

/// Yields the plan of every step: epochs × ⌈samples / batch size⌉ steps, the last batch of an
/// epoch possibly smaller.
#[derive(Clone, Debug)]
pub struct Schedule {
    samples: usize,
    batch_size: usize,
    epochs: usize,
    hidden: Vec<usize>,
    dropout: f64,
    shuffle: ChaCha20Rng,
    masks: ChaCha20Rng,
    order: Vec<usize>,
    epoch: usize,
    position: usize,
    step: u64,
}

impl Schedule {
    /// A schedule for `samples` rows; `hidden` are the widths that get dropout masks.
    pub fn new(
        samples: usize,
        batch_size: usize,
        epochs: usize,
        hidden: &[usize],
        dropout: f64,
        seed: u64,
    ) -> Self {
        Schedule {
            samples,
            batch_size,
            epochs,
            hidden: hidden.to_vec(),
            dropout,
            shuffle: seed::generator(seed, Stream::Shuffle),
            masks: seed::generator(seed, Stream::Dropout),
            order: Vec::new(),
            epoch: 0,
            position: samples,
            step: 0,
        }
    }

    /// The number of steps the schedule yields (saturating at `u64::MAX`, which no schedule
    /// the command line accepts comes near).
    pub fn total_steps(&self) -> u64 {
        let batches = self.samples.div_ceil(self.batch_size) as u64;
        (self.epochs as u64).saturating_mul(batches)
    }
}

impl Iterator for Schedule {
    type Item = StepPlan;

    fn next(&mut self) -> Option<StepPlan> {
        if self.position >= self.samples {
            if self.epoch == self.epochs || self.samples == 0 {
                return None;
            }
            self.epoch += 1;
            self.position = 0;
            self.order = seed::permutation(&mut self.shuffle, self.samples);
        }
        let end = (self.position + self.batch_size).min(self.samples);
        let rows = self.order[self.position..end].to_vec();
        self.position = end;
        self.step += 1;
        let keep = if self.dropout > 0.0 {
            self.hidden
                .iter()
                .map(|&width| {
                    Array2::from_shape_simple_fn((rows.len(), width), || {
                        uniform(&mut self.masks) >= self.dropout
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(StepPlan {
            epoch: self.epoch,
            step: self.step,
            rows,
            keep,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_once_per_epoch() {
        let plans: Vec<StepPlan> = Schedule::new(10, 4, 2, &[3], 0.5, 7).collect();
        assert_eq!(plans.len(), 6);
        assert_eq!(
            plans.iter().map(|p| p.rows.len()).collect::<Vec<_>>(),
            [4, 4, 2, 4, 4, 2]
        );
        for epoch in [1, 2] {
            let mut rows: Vec<usize> = plans
                .iter()
                .filter(|p| p.epoch == epoch)
                .flat_map(|p| p.rows.clone())
                .collect();
            rows.sort();
            assert_eq!(rows, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(plans[0].rows, plans[3].rows, "each epoch reshuffles");
        assert_eq!(plans[5].step, 6);
        assert_eq!(plans[0].keep[0].dim(), (4, 3));
    }

    #[test]
    fn same_seed_same_plan() {
        let a: Vec<StepPlan> = Schedule::new(50, 8, 3, &[5], 0.2, 42).collect();
        let b: Vec<StepPlan> = Schedule::new(50, 8, 3, &[5], 0.2, 42).collect();
        let c: Vec<StepPlan> = Schedule::new(50, 8, 3, &[5], 0.2, 43).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
