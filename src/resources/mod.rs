//! What a run will need, estimated from its sizes before any work starts: memory by part and
//! multiply-adds, against the memory the machine and the process allow ([`available`]).
//!
//! The estimate counts values (one value of a format costs its size; an MPFR value its
//! struct and its limbs on the heap), so it follows what the code holds: each lane and the
//! reference keep the data, the weights, their gradients and the optimizer's state in their
//! own format; a step holds its activations and, for the reference, every op's output as a
//! pair of f64s that the lanes compare with; the end of a run evaluates the whole data set.
//! It is an estimate: the tests keep it within a factor of two of the measured peak.

pub mod available;

pub use available::{Available, available};

use crate::error::Error;
use crate::format::{DoubleDouble, Format, FormatFn, Native, Reference};

/// How a study runs its audits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One observed audit (also `check`): the lanes compare every op with the reference.
    Audit,
    /// `--seeds`: plain training of the reference and then each lane, one at a time.
    Sweep,
    /// `--orders`: observed audits.
    Orders,
}

/// The sizes a run is made of, as the flags give them.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// Rows of the data set.
    pub samples: u64,
    /// Feature columns.
    pub features: u64,
    /// Layer widths, inputs first, one output last.
    pub widths: Vec<u64>,
    /// Rows per step (the batch size, at most the samples).
    pub batch: u64,
    /// Training steps.
    pub steps: u64,
    /// Per lane: bytes of one value in its compute format and in its master format.
    pub lanes: Vec<(u64, u64)>,
    /// Bytes of one reference value.
    pub reference: u64,
    /// Bytes of one value of the reference's own check (`--verify-reference`).
    pub check: Option<u64>,
    /// Parameter-sized tensors the optimizer and the update rounding keep per parameter
    /// (Adam: m and v; SGD with momentum: the velocity; Kahan: the compensation).
    pub state_copies: u64,
    /// Bytes kept per step and lane after the run (`--output json`, `--plot`), else 0.
    pub kept_per_step: u64,
    /// Observed audit or study.
    pub mode: Mode,
    /// Audits run (seeds, orders; 1 for an audit).
    pub runs: u64,
    /// Audits run at the same time (`--threads`).
    pub concurrent: u64,
}

/// One part of the memory estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// What it is.
    pub what: &'static str,
    /// The flags that make it grow.
    pub flags: &'static str,
    /// Bytes.
    pub bytes: f64,
    /// When it is held.
    pub phase: Phase,
}

/// When a part of the memory is held: the steps' memory is freed before the end's is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// From the start to the end of the run.
    Throughout,
    /// While the steps run.
    Steps,
    /// After the last step.
    End,
}

/// The estimate of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Memory by part, for every audit running at the same time together.
    pub parts: Vec<Part>,
    /// Multiply-adds of every matrix product of the run (forward, backward, each lane's exact
    /// re-evaluation of its products, the whole-data evaluation at the end), all audits.
    pub multiply_adds: f64,
    /// Training steps of one audit.
    pub steps: u64,
}

/// Bytes of one value of a pair of f64s, as the reference's recorded step holds it.
const PAIR_BYTES: f64 = 16.0;
/// Bytes of one f64.
const F64_BYTES: f64 = 8.0;

/// Values a step holds per row and unit of a layer's width (the matmul, the bias, the
/// activation, the dropout mask and output, and their gradients).
const STEP_VALUES_PER_UNIT: f64 = 8.0;
/// Values a step or an evaluation holds per row for the loss (its terms, denominators and
/// gradients).
const LOSS_VALUES_PER_ROW: f64 = 10.0;
/// Parameter-sized tensors an update holds while it runs (the gradient, Adam's squared
/// gradient, m̂, v̂, the root, the denominator, the ratio, the step and the new weight).
const UPDATE_VALUES_PER_PARAMETER: f64 = 9.0;
/// Ops per unit and row a recorded reference step holds as pairs (the step's ops).
const RECORDED_PER_UNIT: f64 = 6.0;

/// The bytes of one MPFR value of `bits` bits: the struct, and its limbs on the heap, where
/// MPFR allocates one limb more than the precision needs and malloc rounds a block up to 16
/// bytes after an 8-byte header (32 bytes at least).
pub fn mpfr_value_bytes(bits: u32) -> u64 {
    let limbs = u64::from(bits).div_ceil(64) + 1;
    let block = (limbs * 8 + 8).next_multiple_of(16).max(32);
    std::mem::size_of::<rug::Float>() as u64 + block
}

/// Bytes of one value of `format` as a lane holds it.
pub fn value_bytes(format: Format) -> u64 {
    struct Size;
    impl FormatFn for Size {
        type Output = u64;
        fn call<S: Native>(self, _: Format) -> u64 {
            std::mem::size_of::<S>() as u64
        }
    }
    format.dispatch(Size)
}

/// Bytes of one value of the reference.
pub fn reference_value_bytes(reference: Reference) -> u64 {
    match reference {
        Reference::Mpfr(bits) => mpfr_value_bytes(bits),
        Reference::DoubleDouble => std::mem::size_of::<DoubleDouble>() as u64,
    }
}

/// Bytes kept per step and lane after the run: the step's row, and for `--output json` the
/// row's JSON object (about twenty named numbers), for `--plot` its cells as text.
pub fn kept_per_step(json: bool, plot: bool) -> u64 {
    const ROW: u64 = 256;
    const JSON_OBJECT: u64 = 2048;
    const TEXT_CELLS: u64 = 1024;
    if !(json || plot) {
        return 0;
    }
    ROW + if json { JSON_OBJECT } else { 0 } + if plot { TEXT_CELLS } else { 0 }
}

/// Refuses a run whose estimate is beyond the memory available, naming the flags of its
/// largest part, with the estimate by part and where the available memory comes from.
///
/// # Errors
///
/// [`Error::InvalidFlag`] naming the flags that drive the largest part.
pub fn refuse_beyond(
    estimate: &Estimate,
    available: Option<Available>,
    reference: Reference,
) -> Result<(), Error> {
    let Some(available) = available else {
        return Ok(());
    };
    if estimate.bytes() <= available.bytes as f64 {
        return Ok(());
    }
    let hint = match reference {
        Reference::Mpfr(bits) => format!(
            "; an MPFR value of {bits} bits takes {} bytes, a double-double 16 (--reference double-double)",
            mpfr_value_bytes(bits)
        ),
        Reference::DoubleDouble => String::new(),
    };
    Err(Error::InvalidFlag {
        flag: estimate.largest().flags.to_string(),
        message: format!(
            "the run needs {} but {available} is available; by part:\n{}make the largest part smaller{hint}",
            estimate.summary(),
            estimate.breakdown(),
        ),
    })
}

impl Shape {
    /// Parameters of the network.
    fn parameters(&self) -> f64 {
        self.widths
            .windows(2)
            .map(|w| (w[0] as f64) * (w[1] as f64) + (w[1] as f64))
            .sum()
    }

    /// Multiply-adds of one pass of one row through the network.
    fn products_per_row(&self) -> f64 {
        self.widths
            .windows(2)
            .map(|w| (w[0] as f64) * (w[1] as f64))
            .sum()
    }

    /// The largest parameter tensor.
    fn largest_tensor(&self) -> f64 {
        self.widths
            .windows(2)
            .map(|w| (w[0] as f64) * (w[1] as f64))
            .fold(0.0, f64::max)
    }

    /// Units past the inputs (hidden widths and the output).
    fn units(&self) -> f64 {
        self.widths.iter().skip(1).map(|&w| w as f64).sum()
    }

    /// Values a step holds transiently in one trainer.
    fn step_values(&self) -> f64 {
        let batch = self.batch as f64;
        batch * ((self.features as f64) + STEP_VALUES_PER_UNIT * self.units())
            + batch * LOSS_VALUES_PER_ROW
            + 2.0 * self.parameters()
            + UPDATE_VALUES_PER_PARAMETER * self.largest_tensor()
    }

    /// Values the whole-data evaluation at the end holds in one trainer.
    fn evaluation_values(&self) -> f64 {
        let samples = self.samples as f64;
        samples * ((self.features as f64) + 3.0 * self.units() + LOSS_VALUES_PER_ROW)
    }

    /// The trainers of one audit: bytes of a compute and a master value each; the reference
    /// (and its check) first.
    fn trainers(&self) -> Vec<(f64, f64)> {
        let mut trainers = vec![(self.reference as f64, self.reference as f64)];
        if let Some(check) = self.check {
            trainers.push((check as f64, check as f64));
        }
        trainers.extend(self.lanes.iter().map(|&(c, m)| (c as f64, m as f64)));
        trainers
    }

    /// The estimate of the run.
    pub fn estimate(&self) -> Estimate {
        let trainers = self.trainers();
        let data_values = (self.samples as f64) * ((self.features as f64) + 1.0);
        let parameters = self.parameters();
        let state = parameters * (2.0 + self.state_copies as f64);
        // A sweep trains one trainer at a time; an observed audit holds them all.
        let (data, params, step, evaluation) = match self.mode {
            Mode::Sweep => {
                let largest = trainers.iter().map(|&(c, m)| c.max(m)).fold(0.0, f64::max);
                (
                    data_values * largest,
                    state * largest,
                    self.step_values() * largest,
                    self.evaluation_values() * largest,
                )
            }
            Mode::Audit | Mode::Orders => (
                trainers
                    .iter()
                    .map(|&(c, m)| {
                        (self.features as f64) * (self.samples as f64) * c
                            + (self.samples as f64) * m
                    })
                    .sum(),
                trainers
                    .iter()
                    .map(|&(c, m)| state * m + parameters * c)
                    .sum(),
                trainers
                    .iter()
                    .map(|&(c, m)| self.step_values() * c.max(m))
                    .sum::<f64>()
                    + self.recorded_steps(),
                // At the end, as many trainers evaluate side by side as there are threads.
                self.largest_together(trainers.iter().map(|&(c, m)| c.max(m)))
                    * self.evaluation_values(),
            ),
        };
        let concurrent = self.concurrent.clamp(1, self.runs.max(1)) as f64;
        let lanes = self.lanes.len() as f64;
        let kept = self.steps as f64 * lanes * self.kept_per_step as f64;
        let mut parts = vec![
            Part {
                what: "the data set in f64",
                flags: "--samples, --features, --data",
                bytes: data_values * F64_BYTES * concurrent,
                phase: Phase::Throughout,
            },
            Part {
                what: "the data set in each lane's format and the reference's",
                flags: "--samples, --features, --data",
                bytes: data * concurrent,
                phase: Phase::Throughout,
            },
            Part {
                what: "weights, gradients and optimizer state",
                flags: "--layers, --formats, --reference-bits",
                bytes: params * concurrent,
                phase: Phase::Throughout,
            },
            Part {
                what: "a step's activations and the reference's recorded ops",
                flags: "--batch-size, --layers",
                bytes: step * concurrent,
                phase: Phase::Steps,
            },
            Part {
                what: "the whole-data evaluation at the end",
                flags: "--samples, --layers",
                bytes: evaluation * concurrent,
                phase: Phase::End,
            },
        ];
        if kept > 0.0 {
            parts.push(Part {
                what: "every step's rows kept for --output json or --plot",
                flags: "--epochs, --batch-size",
                bytes: kept,
                phase: Phase::Throughout,
            });
        }
        let trainers_n = trainers.len() as f64;
        let observed = match self.mode {
            Mode::Sweep => 0.0,
            Mode::Audit | Mode::Orders => lanes,
        };
        let per_step = 3.0 * self.batch as f64 * self.products_per_row();
        let per_audit = self.steps as f64 * per_step * (trainers_n + observed)
            + self.samples as f64 * self.products_per_row() * trainers_n;
        Estimate {
            parts,
            multiply_adds: per_audit * self.runs.max(1) as f64,
            steps: self.steps,
        }
    }

    /// The sum of the `concurrent` largest of `bytes` (trainers working side by side).
    fn largest_together(&self, bytes: impl Iterator<Item = f64>) -> f64 {
        let mut bytes: Vec<f64> = bytes.collect();
        bytes.sort_by(|a, b| b.total_cmp(a));
        bytes.iter().take(self.concurrent.max(1) as usize).sum()
    }

    /// The reference's recorded steps: it runs up to one step ahead of the slowest lane, so a
    /// run of more than one step holds two.
    fn recorded_steps(&self) -> f64 {
        let held = self
            .steps
            .clamp(1, crate::audit::RECORDED_STEPS_HELD as u64);
        held as f64 * self.recorded_step()
    }

    /// The reference's ops of one step as pairs of f64s, and its parameters at the start and
    /// after the update: what every lane compares with.
    fn recorded_step(&self) -> f64 {
        if self.mode == Mode::Sweep {
            return 0.0;
        }
        let ops = (self.batch as f64) * (RECORDED_PER_UNIT * self.units() + LOSS_VALUES_PER_ROW)
            + (UPDATE_VALUES_PER_PARAMETER + 3.0) * self.parameters();
        ops * PAIR_BYTES
    }
}

impl Estimate {
    /// Bytes at the peak: what is held throughout, and the larger of what the steps hold and
    /// what the end holds.
    pub fn bytes(&self) -> f64 {
        let held = |phase: Phase| -> f64 {
            self.parts
                .iter()
                .filter(|p| p.phase == phase)
                .map(|p| p.bytes)
                .sum()
        };
        held(Phase::Throughout) + held(Phase::Steps).max(held(Phase::End))
    }

    /// The part that needs the most memory.
    pub fn largest(&self) -> &Part {
        self.parts
            .iter()
            .max_by(|a, b| a.bytes.total_cmp(&b.bytes))
            .expect("an estimate has parts")
    }

    /// Whether the run is large enough to say so before it starts.
    pub fn is_large(&self) -> bool {
        self.bytes() > LARGE_BYTES || self.multiply_adds > LARGE_MULTIPLY_ADDS
    }

    /// One line: the memory and the work.
    pub fn summary(&self) -> String {
        format!(
            "about {} of memory and {} multiply-adds over {} steps",
            bytes_text(self.bytes()),
            count_text(self.multiply_adds),
            self.steps
        )
    }

    /// The parts, one per line, largest first, each with the flags that drive it.
    pub fn breakdown(&self) -> String {
        let mut parts: Vec<&Part> = self.parts.iter().filter(|p| p.bytes > 0.0).collect();
        parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
        parts
            .iter()
            .map(|p| {
                let when = match p.phase {
                    Phase::Throughout => "",
                    Phase::Steps => ", while the steps run",
                    Phase::End => ", after the steps",
                };
                format!(
                    "  {:>10}  {} ({}{when})\n",
                    bytes_text(p.bytes),
                    p.what,
                    p.flags
                )
            })
            .collect()
    }
}

/// Runs that need more memory than this print their estimate before they start: 1 GiB.
pub const LARGE_BYTES: f64 = (1u64 << 30) as f64;

/// Runs with more multiply-adds than this print their estimate before they start: 10^9,
/// about a minute (an audit of four lanes against MPFR at 113 bits was measured at about 56 ns
/// a multiply-add on a 2-core machine: `--layers 2000,2000 --epochs 1 --samples 64`, 8.2e9 in
/// 460 s).
pub const LARGE_MULTIPLY_ADDS: f64 = 1e9;

/// Runs with more steps than this get a warning: 10^8 steps take days whatever their size.
pub const ABSURD_STEPS: u64 = 100_000_000;

/// `1.5 GiB`, `320.0 MiB`, `12 bytes`.
pub fn bytes_text(bytes: f64) -> String {
    let units = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in units {
        let size = (1u64 << shift) as f64;
        if bytes >= size {
            return format!("{:.1} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// `1.2e12`, or the count itself below 10^6.
pub fn count_text(count: f64) -> String {
    if count < 1e6 {
        format!("{count}")
    } else {
        format!("{count:.1e}")
    }
}

#[cfg(test)]
mod tests;
