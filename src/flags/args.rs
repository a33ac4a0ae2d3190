//! Command-line definitions: every flag, its default and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::format::scaled::{ScaleRule, Scheme};
use crate::format::{DEFAULT_REFERENCE_BITS, Overflow, Storage};
use crate::report::Output;

const ABOUT: &str = "Train one network in f16, bf16, f32 and f64 in lockstep with an MPFR \
reference, and report where precision is lost: per-op error, underflow/overflow/NaN events and \
loss drift.";

const AFTER_HELP: &str = "Examples:
  precision-audit --loss relative --eps 1e-8        audit the built-in data set
  precision-audit --loss relative --csv out/         ...and write summary/ops/steps/events CSVs
  precision-audit --loss relative --formats f16,mixed-f16 --loss-scale dynamic
                                                     pure f16 against mixed precision with GradScaler
  precision-audit --task classification --loss softmax-ce-naive
                                                     the naive softmax cross-entropy on class labels
  precision-audit round 1e-8 0.1 65520               what each format stores for these values
  precision-audit formats                            precision and range of every format
  precision-audit check --baseline out/ --loss relative   exit 3 if drift or op errors grew
  precision-audit plot out/                          draw out/ as SVG files and report.html
  precision-audit --loss relative --grid eps=1e-8,1e-6,1e-4,1e-2 --seeds 8
                                                     which eps works in which format
  precision-audit --grid eps=1e-8,1e-4 --shard 2/4 --csv s2/   one shard of that grid
  precision-audit merge s1/ s2/ s3/ s4/ --csv out/   the shards, as one machine would write them

Before it starts, a run's memory and work are estimated from its sizes: a run that needs more
memory than is available (MemAvailable, the cgroup's limit, ulimit -v) is refused with exit 2,
naming the flags that drive it; a run estimated at more than 1 GiB or 1e9 multiply-adds prints
the estimate on stderr first.

Exit codes: 0 the audit ran (findings are not failures); 1 internal error; 2 bad input or usage,
a run too large for the memory available, or an output that could not be written; 3 a
--fail-on condition was met, or check found a regression; 130, 143 interrupted by SIGINT,
SIGTERM.";

const CHECK_AFTER_HELP: &str =
    "In check, the audit's flags mean what they mean in an audit, except:
  --output   prints the comparison: table, csv (the values that grew) or json (everything)
  --fail-on  applies to the new audit, as in an audit: exit 3 when a condition is met
  --csv      writes the new audit's files; never the baseline directory or one inside it
  --seeds, --orders, --grid, --blame   refused (exit 2): check compares one audit with its baseline

The baseline must be complete: its manifest.csv verified, every compared cell a number, a row
for every format and op of the new audit. Anything else is refused with exit 2 before the run.

Exit codes: 0 no regression; 2 bad input, a damaged baseline or another configuration; 3 a
regression, or a --fail-on condition was met.";

const MERGE_AFTER_HELP: &str = "merge refuses (exit 2), naming the directory and the shard or task:
a missing shard, a shard given twice, a shard of another configuration or another split,
a task missing from its shard or present twice, and a directory whose manifest.csv does not
match its files. Shard K of N holds the tasks i with i mod N = K - 1 (grid_tasks.csv's order).

Exit codes: 0 merged; 2 bad input (the message names the directory, shard and task).";

/// The arithmetic of the reference trajectory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReferenceArg {
    /// MPFR at --reference-bits: the reference of record.
    Mpfr,
    /// Double-double (about 106 bits): many times faster for large runs; check it with
    /// --verify-reference.
    DoubleDouble,
}

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "precision-audit", version, about = ABOUT, after_help = AFTER_HELP)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one, the audit runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The audit's options.
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the precision, exponent range and limits of every format.
    Formats(FormatsArgs),
    /// Show what each format stores for decimal values.
    Round(RoundArgs),
    /// Show what a scaled format (MX, NVFP4, per-tensor FP8) stores for a run of values: the
    /// block scales, the value each element stands for, and what was clipped or flushed.
    Quantize(QuantizeArgs),
    /// Run an audit and compare it with a saved --csv directory: exit 3 when any format's loss
    /// or parameter drift, or any op's error, grew beyond --tolerance.
    #[command(after_help = CHECK_AFTER_HELP)]
    #[command(mut_arg("seeds", |a| a.hide(true)), mut_arg("orders", |a| a.hide(true)))]
    #[command(mut_arg("grid", |a| a.hide(true)), mut_arg("shard", |a| a.hide(true)))]
    #[command(mut_arg("shard_count", |a| a.hide(true)), mut_arg("blame", |a| a.hide(true)))]
    #[command(mut_arg("blame_seeds", |a| a.hide(true)), mut_arg("blame_groups", |a| a.hide(true)))]
    Check(Box<CheckArgs>),
    /// Draw a --csv directory: drift.svg, loss.svg, ops.svg, exponents.svg and report.html
    /// (every picture inline, with the summary and, given --json, the verdicts).
    Plot(PlotArgs),
    /// Merge the shard directories of a --grid run (--shard K/N, or a Slurm array or Kubernetes
    /// Indexed Job) into the files and the report one machine would have written, byte for
    /// byte, after checking that every shard and every task is there exactly once and that all
    /// come from the same configuration.
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
}

/// `merge` options.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard directories (each written by `--grid … --shard K/N --csv DIR`), in any order.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Write grid.csv, grid_runs.csv, grid_tasks.csv, grid_config.csv and manifest.csv here:
    /// the same bytes as the grid run on one machine (not one of the shard directories).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
    /// What to print: the grid's table, grid.csv, or everything as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

/// `plot` options.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A directory written by `precision-audit --csv DIR`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Write the pictures here instead of into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The same audit's `--output json`, for the verdicts in report.html.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `check` options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A directory written by an earlier `precision-audit --csv DIR` with the same flags.
    #[arg(long, value_name = "DIR")]
    pub baseline: PathBuf,
    /// Relative growth allowed before a value counts as a regression (0.05 = 5%).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.05)]
    pub tolerance: f64,
    /// The audit to run, with the same flags as the baseline's.
    #[command(flatten)]
    pub audit: AuditArgs,
}

/// `formats` options.
#[derive(Debug, Args)]
pub struct FormatsArgs {
    /// What to print.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
    /// Precision of the MPFR reference row, in bits.
    #[arg(long, allow_negative_numbers = true, default_value_t = DEFAULT_REFERENCE_BITS, value_parser = clap::value_parser!(u32).range(64..=65536))]
    pub reference_bits: u32,
    /// Only these formats, comma-separated (any that `round --formats` takes, e.g. e5m7).
    #[arg(long, value_delimiter = ',')]
    pub formats: Vec<Storage>,
}

/// `round` options.
#[derive(Debug, Args)]
pub struct RoundArgs {
    /// Decimal values (e.g. 1e-8 0.1 65520; also inf, -inf, nan). Negative values: put `--`
    /// before them.
    #[arg(required = true, allow_negative_numbers = true)]
    pub values: Vec<String>,
    /// Formats to round to, comma-separated: f16, bf16, f32, f64, the narrow tf32, e5m2, e4m3,
    /// e3m2, e2m3, e2m1, or any IEEE-like eXmY (X = 2..10 exponent bits, Y = 1..50 fraction bits).
    #[arg(long, value_delimiter = ',', default_value = "f16,bf16,f32,f64")]
    pub formats: Vec<Storage>,
    /// What a value beyond the largest finite one becomes: ieee (±inf), saturate (±largest
    /// finite), nan. Default: each format's own (see `precision-audit formats`).
    #[arg(long)]
    pub overflow: Option<Overflow>,
    /// What to print.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

/// `quantize`'s options.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// Decimal values, in order along the reduction dimension (blocks are consecutive runs of
    /// 32 for MX, 16 for NVFP4); also inf, -inf, nan.
    #[arg(required = true, allow_negative_numbers = true)]
    pub values: Vec<String>,
    /// The scaled format: mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2, mxfp6-e2m3, mxfp4, mxint8,
    /// nvfp4, fp8-e4m3 or fp8-e5m2 (one f32 scale for all values, from their amax).
    #[arg(long, default_value = "mxfp8-e4m3")]
    pub scheme: Scheme,
    /// How an MX block's E8M0 scale is chosen: floor (OCP MX v1.0, torchao; can clip the
    /// block's largest value) or rceil (Transformer Engine, cuBLAS; never clips).
    #[arg(long, default_value = "floor")]
    pub mx_scale: ScaleRule,
    /// What to print.
    #[arg(long, value_enum, default_value = "table")]
    pub output: Output,
}

/// The audit's options.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Lanes to audit, comma-separated: f16, bf16, f32, f64 and the narrow tf32, e5m2, e4m3,
    /// e3m2, e2m3, e2m1 train purely in that format; mixed-f16 and mixed-bf16 compute in it
    /// with f32 master weights, optimizer state and loss (see --policy); promoted-<format>
    /// trains in the format with the op groups of --promote in a wider one. Any eXmY (2-9
    /// exponent bits, 1-23 fraction bits: e5m7, e6m9) is a lane too, and a format may carry an
    /// overflow rule (e4m3-saturate, see --overflow); at most 4 such formats a run. The scaled
    /// recipes fp8-tensor (Transformer Engine DelayedScaling: e4m3 forward, e5m2 gradients, an
    /// f32 scale per tensor), mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2, mxfp6-e2m3, mxfp4, mxint8
    /// (OCP MX: blocks of 32 along the reduction, an E8M0 scale) and nvfp4 train in f32 with
    /// every matmul operand quantized first (ops quant.<matmul>.lhs / .rhs).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "f16,bf16,f32,f64",
        help_heading = "Formats"
    )]
    pub formats: Vec<String>,
    /// What the narrow lanes (tf32, e5m2, e4m3, e3m2, e2m3, e2m1, eXmY) store for a result
    /// beyond their largest finite value: ieee (±inf; formats with infinities), saturate (±the
    /// largest finite, CUDA's SATFINITE) or nan; default: each format's own (e4m3 nan, as
    /// ml_dtypes; e5m2 and eXmY ieee; FP6 and FP4 saturate). A lane may name its own:
    /// e4m3-saturate.
    #[arg(long, value_name = "RULE", help_heading = "Formats")]
    pub overflow: Option<Overflow>,
    /// How the MX recipe lanes (mxfp8-e4m3, …, mxint8) choose a block's E8M0 scale: floor
    /// (OCP MX v1.0 and torchao; the default; can clip the block's largest value) or rceil
    /// (Transformer Engine and cuBLAS; never clips).
    #[arg(long, value_name = "RULE", help_heading = "Formats")]
    pub mx_scale: Option<ScaleRule>,
    /// Policy of the bare lanes: pure (everything in the format), mixed (f16 and bf16 lanes, as
    /// Keras mixed_float16 and PyTorch autocast: f32 master weights, optimizer state, loss and
    /// loss gradient; matmuls and activations in the format; every cast an audited op) or
    /// promoted (lanes narrower than f64: the ops of --promote in the next wider format).
    #[arg(long, default_value = "pure", help_heading = "Formats")]
    pub policy: String,
    /// The op groups promoted lanes (promoted-<format> in --formats, or --policy promoted)
    /// compute and store in the next wider format (f32 for f16, bf16 and narrower; f64 for f32
    /// and tf32): comma-separated op names or patterns with `*` (opt.update,loss.*), as
    /// --blame prints them. Data, constants and initial weights are placed by the names
    /// data.features, loss.targets, loss.constants, opt.constants, opt.update (see README).
    #[arg(long, value_name = "LIST", help_heading = "Formats")]
    pub promote: Option<String>,
    /// Loss scaling of the mixed lanes: none, static:S, dynamic (PyTorch GradScaler: initial
    /// 65536, ×2 after 2000 finite steps, ×0.5 and the step skipped on inf/NaN gradients) or
    /// keras (LossScaleOptimizer: initial 32768, otherwise the same).
    #[arg(long, default_value = "none", help_heading = "Formats")]
    pub loss_scale: String,
    /// Dynamic loss scaling: the initial scale (overrides the preset's).
    #[arg(long, value_name = "S", help_heading = "Formats")]
    pub scale_init: Option<f32>,
    /// Dynamic loss scaling: consecutive finite steps before the scale grows.
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Formats")]
    pub scale_growth_interval: Option<u32>,
    /// Dynamic loss scaling: the factor the scale grows by (> 1).
    #[arg(long, value_name = "F", help_heading = "Formats")]
    pub scale_growth_factor: Option<f32>,
    /// Dynamic loss scaling: the factor the scale backs off by after inf/NaN gradients (in
    /// (0, 1)).
    #[arg(long, value_name = "F", help_heading = "Formats")]
    pub scale_backoff: Option<f32>,
    /// Arithmetic of the reference: mpfr (the reference of record) or double-double (fast).
    #[arg(long, value_enum, default_value = "mpfr", help_heading = "Formats")]
    pub reference: ReferenceArg,
    /// Precision of the MPFR reference in bits (64 to 65536).
    #[arg(long, allow_negative_numbers = true, default_value_t = DEFAULT_REFERENCE_BITS, value_parser = clap::value_parser!(u32).range(64..=65536), help_heading = "Formats")]
    pub reference_bits: u32,
    /// Also run an MPFR reference at twice the reference's bits and report how closely the two
    /// agree.
    #[arg(long, help_heading = "Formats")]
    pub verify_reference: bool,
    /// Accumulator of matmuls and sums: same, f32 or f64. Never narrower than the format:
    /// the default f32 means f32 for f16 and bf16, the format itself for f32 and f64.
    #[arg(long, default_value = "f32", help_heading = "Formats")]
    pub accumulate: String,
    /// Summation order of every reduction: sequential, pairwise or kahan.
    #[arg(long, default_value = "sequential", help_heading = "Formats")]
    pub order: String,

    /// Loss: mse, mae, relative (mean of |y − p| / (|y| + eps)), huber, log-cosh, msle, smape,
    /// mape; for class labels bce (binary cross-entropy on sigmoid(p) with log(… + eps)),
    /// softmax-ce (stable log-sum-exp over K logits) or softmax-ce-naive (-log(softmax(p)[y])).
    #[arg(long, default_value = "mse", help_heading = "Model")]
    pub loss: String,
    /// A loss of your own, elementwise in y (target) and p (prediction), e.g.
    /// "abs(y - p) / (abs(y) + eps)": + - * / ^INTEGER, abs sqrt exp log log1p tanh sigmoid
    /// min max, numbers and --const names. Replaces --loss.
    #[arg(
        long,
        value_name = "EXPR",
        conflicts_with = "loss",
        help_heading = "Model"
    )]
    pub loss_expr: Option<String>,
    /// How the loss's terms are reduced over the batch: mean or sum.
    #[arg(long, default_value = "mean", help_heading = "Model")]
    pub loss_reduce: String,
    /// A named constant of the loss, NAME=DECIMAL (repeatable), stored in each format as its
    /// rounded value; `--const eps=…` overrides --eps.
    #[arg(
        long = "const",
        value_name = "NAME=DECIMAL",
        allow_negative_numbers = true,
        help_heading = "Model"
    )]
    pub consts: Vec<String>,
    /// The relative loss's epsilon, stored in each format as its rounded value.
    #[arg(
        long,
        default_value = "1e-8",
        allow_negative_numbers = true,
        help_heading = "Model"
    )]
    pub eps: String,
    /// Hidden layer widths, comma-separated (e.g. 10 or 64,64; an empty value for none).
    /// Default: the widths of the --init-params file when one is given, else 10.
    #[arg(long, value_name = "WIDTHS", help_heading = "Model")]
    pub layers: Option<String>,
    /// Hidden activation: relu, tanh, sigmoid or identity. Default: the `activation` in the
    /// --init-params safetensors file's metadata when it has one, else relu.
    #[arg(long, value_name = "NAME", help_heading = "Model")]
    pub activation: Option<String>,
    /// Dropout probability after each hidden layer, in [0, 1).
    #[arg(
        long,
        default_value = "0",
        allow_negative_numbers = true,
        help_heading = "Model"
    )]
    pub dropout: String,
    /// Start from these parameters instead of Glorot: a .safetensors or .npz file of a PyTorch
    /// nn.Sequential (0.weight, 0.bias, 2.weight, …) or of Keras Dense layers (dense/kernel,
    /// dense/bias, … or get_weights() as arr_0, arr_1, …), or a CSV file
    /// (layer,tensor,row,column,value). The file's widths are used unless --layers is given.
    #[arg(long, value_name = "FILE", help_heading = "Model")]
    pub init_params: Option<PathBuf>,

    /// Optimizer: sgd or adam.
    #[arg(long, default_value = "adam", help_heading = "Training")]
    pub optimizer: String,
    /// Learning rate.
    #[arg(
        long,
        default_value = "0.01",
        allow_negative_numbers = true,
        help_heading = "Training"
    )]
    pub lr: String,
    /// SGD momentum (0 = plain SGD).
    #[arg(
        long,
        default_value = "0",
        allow_negative_numbers = true,
        help_heading = "Training"
    )]
    pub momentum: String,
    /// Adam β1.
    #[arg(
        long,
        default_value = "0.9",
        allow_negative_numbers = true,
        help_heading = "Training"
    )]
    pub beta1: String,
    /// Adam β2.
    #[arg(
        long,
        default_value = "0.999",
        allow_negative_numbers = true,
        help_heading = "Training"
    )]
    pub beta2: String,
    /// Adam epsilon (Keras's 1e-7; PyTorch's 1e-8 is zero in f16).
    #[arg(
        long,
        default_value = "1e-7",
        allow_negative_numbers = true,
        help_heading = "Training"
    )]
    pub adam_eps: String,
    /// How the update w − Δ is rounded to the weight's format: nearest; stochastic (up or down
    /// with probabilities that make it unbiased, drawn from --seed), so updates below half an
    /// ulp of the weight still count on average; or kahan (a compensation buffer per parameter
    /// that carries what rounding lost into the next step). The reference rounds to nearest.
    #[arg(long, default_value = "nearest", help_heading = "Training")]
    pub update_rounding: String,
    /// Passes over the data.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 100,
        help_heading = "Training"
    )]
    pub epochs: usize,
    /// Rows per batch.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 32,
        help_heading = "Training"
    )]
    pub batch_size: usize,
    /// Seed of the initial weights, the shuffles, the dropout masks and stochastic rounding.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 42,
        help_heading = "Training"
    )]
    pub seed: u64,

    /// A data set instead of the built-in one: CSV (header row, numeric columns), .npz (arrays
    /// x or features, and y or target) or .npy (one 2-D array, the target in the last column).
    #[arg(long, value_name = "FILE", help_heading = "Data")]
    pub data: Option<PathBuf>,
    /// The target of --data: a CSV header name or 1-based column index, or a comma-separated
    /// list of them (several outputs; the loss is averaged over all), an .npz array's name, a
    /// .npy 1-based column index (default: the last column; y or target in an .npz).
    #[arg(
        long,
        value_name = "COLUMN[,COLUMN…]",
        requires = "data",
        help_heading = "Data"
    )]
    pub target: Option<String>,
    /// The built-in data set: regression (targets of many magnitudes) or classification
    /// (labels 0..K−1 by bands of the row mean; K from --classes).
    #[arg(
        long,
        default_value = "regression",
        conflicts_with = "data",
        help_heading = "Data"
    )]
    pub task: String,
    /// Classes K of softmax cross-entropy (the output layer's width) and of the built-in
    /// classification data (default: the largest label + 1 of --data; 3 built in, 2 with bce).
    #[arg(long, value_name = "K", help_heading = "Data")]
    pub classes: Option<usize>,
    /// Rows of the built-in data set.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 100,
        conflicts_with = "data",
        help_heading = "Data"
    )]
    pub samples: usize,
    /// Features of the built-in data set.
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 2,
        conflicts_with = "data",
        help_heading = "Data"
    )]
    pub features: usize,
    /// Seed of the built-in data set (kept apart from --seed so the data stay fixed).
    #[arg(
        long,
        allow_negative_numbers = true,
        default_value_t = 0,
        conflicts_with = "data",
        help_heading = "Data"
    )]
    pub data_seed: u64,

    /// Seed sweep: run N seeds (from --seed on; each changes initial weights, shuffles and
    /// dropout masks, the data stay fixed) and report whether each format's drift is larger than
    /// the seed-to-seed noise. Writes sweep.csv and sweep_summary.csv with --csv.
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10000), conflicts_with_all = ["orders", "fail_on", "verify_reference", "blame"], help_heading = "Studies")]
    pub seeds: Option<u32>,
    /// Order study: repeat the audit with K seeded summation orders of every reduction and
    /// report how much results spread. Writes orders.csv, orders_summary.csv and
    /// orders_ops.csv with --csv.
    #[arg(long, allow_negative_numbers = true, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=10000), conflicts_with_all = ["order", "fail_on", "verify_reference"], help_heading = "Studies")]
    pub orders: Option<u32>,
    /// Blame by promotion: rerun each pure lane with one op group at a time computed and stored
    /// in a wider format (f32 for f16, bf16 and the 8-bit-or-narrower formats; f64 for f32 and
    /// tf32), report the share of the loss and parameter drift each promotion removes, then
    /// search for a small set of groups whose promotion brings the lane within the seed noise.
    /// Writes blame.csv with --csv.
    #[arg(long, conflicts_with_all = ["seeds", "orders", "grid", "fail_on", "verify_reference"], help_heading = "Studies")]
    pub blame: bool,
    /// With --blame: the seeds (the run's and the next ones) over which the reference's final
    /// loss is measured; its relative standard deviation is the noise a remedy must reach.
    #[arg(long, allow_negative_numbers = true, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=1000), requires = "blame", help_heading = "Studies")]
    pub blame_seeds: u32,
    /// With --blame: promote each op (op), each layer × phase (layer: fwd.dense1.*, loss.*,
    /// opt.*, ...), or each op when a step has at most 40 and each layer otherwise (auto).
    #[arg(
        long,
        value_name = "GROUPING",
        default_value = "auto",
        requires = "blame",
        help_heading = "Studies"
    )]
    pub blame_groups: String,
    /// Grid: run the audit for every value of KEY (repeatable: every combination of the keys'
    /// values), e.g. eps=1e-8,1e-6,1e-4. KEY is any audit flag that takes a value, without the
    /// dashes (eps, adam-eps, lr, batch-size, layers, accumulate, order, policy, formats,
    /// loss-scale, …); values are taken literally and checked as the flag checks them. A value
    /// list holding a `;` is split at `;` instead (layers=10;64,64). With --seeds N each point
    /// runs N seeds. Writes grid.csv, grid_runs.csv, grid_tasks.csv and grid_config.csv with
    /// --csv.
    #[arg(long, value_name = "KEY=V1,V2,…", conflicts_with_all = ["orders", "fail_on", "verify_reference"], help_heading = "Studies")]
    pub grid: Vec<String>,
    /// Run only shard K of N of the grid's (point, seed) tasks: task i (in grid_tasks.csv's
    /// order) goes to shard (i mod N) + 1. Needs --csv: the shard writes its directory for
    /// `precision-audit merge`. Without it, SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_MIN and
    /// SLURM_ARRAY_TASK_COUNT) or JOB_COMPLETION_INDEX (with --shard-count) selects the shard.
    #[arg(long, value_name = "K/N", requires = "grid", help_heading = "Studies")]
    pub shard: Option<String>,
    /// The number of shards N when JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, 0-based)
    /// selects the shard: set it to the Job's completions.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=1_000_000), requires = "grid", help_heading = "Studies")]
    pub shard_count: Option<u32>,

    /// What to print: a table report, the summary as CSV, or everything as JSON.
    #[arg(long, value_enum, default_value = "table", help_heading = "Output")]
    pub output: Output,
    /// Also write summary.csv, ops.csv, steps.csv, events.csv, chains.csv (the chain from the
    /// origin to each lane's first inf or NaN), constants.csv, parameter files and
    /// manifest.csv into this directory (created if missing), replacing the result set
    /// there whole.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub csv: Option<PathBuf>,
    /// With --csv: also draw drift.svg, loss.svg, ops.svg, exponents.svg and report.html into
    /// the directory, committed with the CSV files (`precision-audit plot DIR` draws a saved
    /// one).
    #[arg(long, requires = "csv", conflicts_with_all = ["seeds", "orders", "grid", "blame"], help_heading = "Output")]
    pub plot: bool,
    /// Exit with code 3 when a finding occurs: comma-separated nan, inf, overflow, underflow,
    /// div_by_zero, drift=X (final relative loss drift above X).
    #[arg(long, value_name = "LIST", help_heading = "Output")]
    pub fail_on: Option<String>,
    /// Worker threads: the lanes side by side, the reference one step ahead of them
    /// (results are bit-identical for any value).
    #[arg(long, allow_negative_numbers = true, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256), help_heading = "Output")]
    pub threads: u32,
}
