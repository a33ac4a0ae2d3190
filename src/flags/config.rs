//! Turning parsed flags into a validated audit: every refusal names its flag.

use std::str::FromStr;

use crate::audit::{AuditConfig, Reference};
use crate::data::builtin::DEFAULT_CLASSES;
use crate::data::labels::{self, Expected, MAX_CLASSES};
use crate::data::{self, Dataset, Task};
use crate::error::Error;
use crate::flags::args::{AuditArgs, ReferenceArg};
use crate::format::scaled::ScaleRule;
use crate::format::{Decimal, Overflow, Spec};
use crate::kernel::{Accumulate, Activation, Order, Reduction};
use crate::model::{Architecture, Loss, Preset, Reduce, Targets, glorot_uniform};
use crate::report::Output;
use crate::resources::{self, Available, Estimate, Mode, Shape};
use crate::train::{
    Dynamic, LaneSpec, LossScaling, OpPattern, Optimizer, OptimizerConfig, Policy, Recipe,
    TrainConfig, UpdateRounding,
};

fn invalid(flag: &str, message: impl Into<String>) -> Error {
    Error::InvalidFlag {
        flag: flag.to_string(),
        message: message.into(),
    }
}

/// A decimal flag value, finite and within `[low, high)` (or `[low, high]` when `inclusive`).
fn decimal(flag: &str, text: &str, bounds: Bounds) -> Result<Decimal, Error> {
    let value =
        Decimal::from_str(text).map_err(|_| invalid(flag, format!("`{text}` is not a number")))?;
    // The exact value decides, not its f64 rounding: 1e-310 is > 0 and 0.99999999999999999999
    // is below 1.
    let x = value.exact();
    let in_range = x.is_finite()
        && match bounds {
            Bounds::Finite => true,
            Bounds::NonNegative => *x >= 0,
            Bounds::Positive => *x > 0,
            Bounds::Probability => *x >= 0 && *x < 1,
        };
    if in_range {
        Ok(value)
    } else {
        Err(invalid(
            flag,
            format!("must be {}, got {text}", bounds.what()),
        ))
    }
}

/// Where a decimal flag's exact value must lie.
#[derive(Clone, Copy)]
enum Bounds {
    Finite,
    NonNegative,
    Positive,
    /// [0, 1).
    Probability,
}

impl Bounds {
    fn what(self) -> &'static str {
        match self {
            Bounds::Finite => "a finite number",
            Bounds::NonNegative => "a finite number ≥ 0",
            Bounds::Positive => "a finite number > 0",
            Bounds::Probability => "in [0, 1)",
        }
    }
}

fn parse<T: FromStr<Err = Error>>(text: &str) -> Result<T, Error> {
    text.parse()
}

/// The hidden widths without --layers or a parameter file.
const DEFAULT_HIDDEN: [usize; 1] = [10];

/// Hidden widths from `10` or `64,64`.
pub fn hidden_widths(text: &str) -> Result<Vec<usize>, Error> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| match part.trim().parse::<usize>() {
            Ok(width) if width > 0 && width <= 1 << 16 => Ok(width),
            _ => Err(invalid(
                "--layers",
                format!("`{part}` is not a width from 1 to 65536"),
            )),
        })
        .collect()
}

/// The most elements any one tensor may hold (the data, a weight matrix, a batch's
/// activations): 2^28, 2 GiB of f64 per lane before the reference's MPFR copies. Larger sizes
/// cannot train in any reasonable time against an MPFR reference, and their products could
/// overflow the counts derived from them.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// `rows × columns` when it is at most [`MAX_ELEMENTS`]; otherwise a refusal naming `flag`.
fn elements(flag: &str, what: &str, rows: usize, columns: usize) -> Result<usize, Error> {
    match rows.checked_mul(columns) {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => Err(invalid(
            flag,
            format!(
                "{what} of {rows} × {columns} is more than {MAX_ELEMENTS} elements (2^28), too large to audit"
            ),
        )),
    }
}

/// The steps of the run, `epochs × ⌈samples / batch size⌉`, when they can be counted.
fn total_steps(epochs: usize, samples: usize, batch_size: usize) -> Result<u64, Error> {
    let batches = samples.div_ceil(batch_size);
    epochs
        .checked_mul(batches)
        .and_then(|steps| u64::try_from(steps).ok())
        .ok_or_else(|| {
            invalid(
                "--epochs",
                format!(
                    "{epochs} epochs of {batches} batches are more steps than can be counted (2^64)"
                ),
            )
        })
}

/// Refuses a network or a batch too large to hold: every weight matrix and a batch's widest
/// activations must fit [`MAX_ELEMENTS`].
fn check_sizes(widths: &[usize], batch_rows: usize) -> Result<(), Error> {
    for pair in widths.windows(2) {
        elements("--layers", "a weight matrix", pair[0], pair[1])?;
    }
    let widest = widths.iter().copied().max().unwrap_or(1);
    elements("--batch-size", "a batch's activations", batch_rows, widest)?;
    Ok(())
}

/// The dropout probability, held as the f64 nearest the decimal: below 1 exactly and after
/// that rounding (a probability that rounds to 1 would keep no unit).
fn dropout(text: &str) -> Result<f64, Error> {
    let p = decimal("--dropout", text, Bounds::Probability)?.to_f64();
    if p < 1.0 {
        Ok(p)
    } else {
        Err(invalid(
            "--dropout",
            format!("{text} is below 1 but rounds to 1 as an f64, where the probability is held"),
        ))
    }
}

fn positive(flag: &str, value: usize) -> Result<usize, Error> {
    if value == 0 {
        Err(invalid(flag, "must be at least 1"))
    } else {
        Ok(value)
    }
}

/// A lane of `--formats` with `--overflow`'s rule when it names a narrow format (of the named
/// ones, or an eXmY) without a rule of its own: `e4m3` → `e4m3-saturate`.
fn with_overflow(text: &str, overflow: Option<Overflow>) -> String {
    let text = text.trim();
    let format = text
        .strip_prefix("mixed-")
        .or_else(|| text.strip_prefix("promoted-"))
        .unwrap_or(text);
    // The named narrow formats and every eXmY; not f16, bf16, f32, f64, nor a lane that
    // names its rule already.
    match overflow {
        Some(rule) if Spec::parse_narrow(format).is_some() => format!("{text}-{rule}"),
        _ => text.to_string(),
    }
}

/// `--mx-scale`: floor unless given; given, it needs an MX recipe lane.
fn mx_scale(args: &AuditArgs, formats: &[LaneSpec]) -> Result<ScaleRule, Error> {
    let mx = formats.iter().any(|l| l.recipe.is_some_and(Recipe::is_mx));
    match args.mx_scale {
        Some(_) if !mx => Err(invalid(
            "--mx-scale",
            "no lane is an MX recipe: add mxfp8-e4m3, mxfp8-e5m2, mxfp6-e3m2, mxfp6-e2m3, mxfp4 \
             or mxint8 to --formats",
        )),
        rule => Ok(rule.unwrap_or(ScaleRule::Floor)),
    }
}

/// `--promote`'s op patterns; promoted lanes need some, and the patterns need a promoted lane.
fn promote(args: &AuditArgs, formats: &[LaneSpec]) -> Result<Vec<OpPattern>, Error> {
    let patterns: Vec<OpPattern> = match &args.promote {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .map(|p| {
                if p.is_empty() || p.contains(char::is_whitespace) {
                    Err(invalid(
                        "--promote",
                        format!("`{p}` is not an op pattern (e.g. opt.update, loss.*)"),
                    ))
                } else {
                    Ok(OpPattern::new(p))
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let promoted = formats.iter().any(|l| l.policy == Policy::Promoted);
    match (promoted, patterns.is_empty()) {
        (true, true) => Err(invalid(
            "--promote",
            "promoted lanes need the op groups to promote: --promote LIST (e.g. opt.update,loss.*)",
        )),
        (false, false) => Err(invalid(
            "--promote",
            "no lane is promoted: add promoted-<format> to --formats, or --policy promoted",
        )),
        _ => Ok(patterns),
    }
}

/// The validated audit, with the data loaded and the initial parameters drawn or read.
pub fn audit_config(args: &AuditArgs) -> Result<AuditConfig, Error> {
    audit_plan(args).map(|plan| plan.config)
}

/// A validated audit (or study) and what it will need.
pub struct Plan {
    /// The audit.
    pub config: AuditConfig,
    /// The memory and work of the whole command (every audit of a study).
    pub estimate: Estimate,
    /// The memory the machine and the process allow, where it can be read.
    pub available: Option<Available>,
}

/// The validated audit and its estimate. The estimate is made from the sizes before the
/// built-in data set is drawn or any lane is built, and a run that needs more memory than is
/// available is refused (a data file is read first: its values are what it costs).
pub fn audit_plan(args: &AuditArgs) -> Result<Plan, Error> {
    let policy = parse::<Policy>(&args.policy)?;
    let mut formats = Vec::new();
    for text in &args.formats {
        let lane = LaneSpec::parse(&with_overflow(text, args.overflow), policy)?;
        if !formats.contains(&lane) {
            formats.push(lane);
        }
    }
    let reduction = Reduction {
        order: parse::<Order>(&args.order)?,
        accumulate: parse::<Accumulate>(&args.accumulate)?,
    };
    let loss = loss(args)?;
    let dropout = dropout(&args.dropout)?;
    let optimizer = OptimizerConfig {
        kind: parse::<Optimizer>(&args.optimizer)?,
        lr: decimal("--lr", &args.lr, Bounds::Positive)?,
        momentum: decimal("--momentum", &args.momentum, Bounds::Probability)?,
        beta1: decimal("--beta1", &args.beta1, Bounds::Probability)?,
        beta2: decimal("--beta2", &args.beta2, Bounds::Probability)?,
        adam_eps: decimal("--adam-eps", &args.adam_eps, Bounds::NonNegative)?,
        update_rounding: parse::<UpdateRounding>(&args.update_rounding)?,
    };
    let epochs = positive("--epochs", args.epochs)?;
    let batch_size = positive("--batch-size", args.batch_size)?;
    let task = parse::<Task>(&args.task)?;
    let classes = classes(args, &loss, task)?;
    let file_data: Option<Dataset> = args
        .data
        .as_deref()
        .map(|path| data::load_data(path, args.target.as_deref()))
        .transpose()?;
    let (samples, features) = match &file_data {
        Some(data) => (data.samples(), data.feature_count()),
        None => {
            let (samples, features) = (
                positive("--samples", args.samples)?,
                positive("--features", args.features)?,
            );
            elements("--samples", "the built-in data set", samples, features)?;
            (samples, features)
        }
    };
    // The classes the built-in classification data is drawn with (its labels are below).
    let builtin_classes = (task == Task::Classification).then(|| {
        let binary = loss.targets() == Targets::Binary;
        classes.unwrap_or(if binary { 2 } else { DEFAULT_CLASSES })
    });
    // A file's labels are checked now; the built-in data's once drawn, after the estimate.
    let loss = match &file_data {
        Some(data) => labelled(loss, data, classes)?,
        None => loss,
    };
    let steps = total_steps(epochs, samples, batch_size)?;
    let model_file = args
        .init_params
        .as_deref()
        .map(data::read_model_file)
        .transpose()?;
    // What the user typed wins; then what the parameter file says; then the defaults.
    let hidden = match (&args.layers, &model_file) {
        (Some(text), _) => hidden_widths(text)?,
        (None, Some(file)) => {
            let widths = file.params.widths();
            widths[1..widths.len() - 1].to_vec()
        }
        (None, None) => DEFAULT_HIDDEN.to_vec(),
    };
    let activation = match (
        &args.activation,
        model_file.as_ref().and_then(|f| f.activation),
    ) {
        (Some(text), _) => parse::<Activation>(text)?,
        (None, Some(activation)) => activation,
        (None, None) => Activation::Relu,
    };
    let mut widths = vec![features];
    widths.extend(&hidden);
    // For the estimate, the built-in classification data's output layer at its largest.
    let targets = file_data.as_ref().map_or(1, Dataset::target_count);
    widths.push(match (&file_data, builtin_classes) {
        (None, Some(k)) if loss.targets() == Targets::Classes => k,
        _ => loss.outputs(targets),
    });
    check_sizes(&widths, batch_size.min(samples))?;
    let reference = match args.reference {
        ReferenceArg::Mpfr => Reference::Mpfr(args.reference_bits),
        ReferenceArg::DoubleDouble => Reference::DoubleDouble,
    };
    let shape = Shape {
        samples: samples as u64,
        features: features as u64,
        widths: widths.iter().map(|&w| w as u64).collect(),
        batch: batch_size.min(samples) as u64,
        steps,
        lanes: formats
            .iter()
            .map(|lane| {
                (
                    resources::value_bytes(lane.format),
                    resources::value_bytes(lane.master()),
                )
            })
            .collect(),
        reference: resources::reference_value_bytes(reference),
        check: args
            .verify_reference
            .then(|| resources::reference_value_bytes(Reference::Mpfr(reference.bits() * 2))),
        state_copies: state_copies(&optimizer),
        kept_per_step: resources::kept_per_step(args.output == Output::Json, args.plot),
        mode: match (args.seeds, args.orders) {
            (Some(_), _) => Mode::Sweep,
            (_, Some(_)) => Mode::Orders,
            _ => Mode::Audit,
        },
        runs: u64::from(args.seeds.or(args.orders).unwrap_or(1)),
        concurrent: u64::from(args.threads).max(1),
    };
    let estimate = shape.estimate();
    let available = resources::available();
    resources::refuse_beyond(&estimate, available, reference)?;
    let data = match (file_data, builtin_classes) {
        (Some(data), _) => data,
        (None, None) => data::builtin(samples, features, args.data_seed),
        (None, Some(k)) => data::builtin_classes(samples, features, args.data_seed, k),
    };
    let loss = if args.data.is_none() {
        let loss = labelled(loss, &data, classes)?;
        *widths.last_mut().expect("an output layer") = loss.outputs(data.target_count());
        loss
    } else {
        loss
    };
    let architecture = Architecture {
        widths,
        activation,
        dropout,
    };
    let init = match model_file {
        Some(file) => {
            let hint = if args.layers.is_some() {
                "set --layers to match the file, or leave it out to take the file's widths"
            } else {
                "the network takes the file's hidden widths, the data's features as inputs and one output"
            };
            file.check_widths(&architecture.widths)
                .map_err(|error| invalid("--init-params", format!("{error} ({hint})")))?;
            file.params
        }
        None => glorot_uniform(&architecture, args.seed),
    };
    let config = AuditConfig {
        train: TrainConfig {
            architecture,
            loss,
            optimizer,
            reduction,
            batch_size,
            epochs,
            seed: args.seed,
            loss_scaling: loss_scaling(args)?,
            promote: promote(args, &formats)?,
            mx_scale: mx_scale(args, &formats)?,
        },
        formats,
        reference,
        verify_reference: args.verify_reference,
        threads: args.threads as usize,
        data,
        init,
    };
    Ok(Plan {
        config,
        estimate,
        available,
    })
}

/// `--classes K`: 2 ≤ K ≤ 65536, for a softmax cross-entropy or the built-in classification
/// data only.
fn classes(args: &AuditArgs, loss: &Loss, task: Task) -> Result<Option<usize>, Error> {
    let Some(k) = args.classes else {
        return Ok(None);
    };
    let builtin_classes = args.data.is_none() && task == Task::Classification;
    if loss.targets() != Targets::Classes && !builtin_classes {
        return Err(invalid(
            "--classes",
            "only softmax cross-entropy (--loss softmax-ce) and --task classification take it",
        ));
    }
    if !(2..=MAX_CLASSES).contains(&k) {
        return Err(invalid(
            "--classes",
            format!("must be from 2 to {MAX_CLASSES}, got {k}"),
        ));
    }
    Ok(Some(k))
}

/// The loss, its labels checked against `data`: binary targets 0 or 1, class labels in range
/// (their count, unless `--classes` gives it, from the largest label).
fn labelled(loss: Loss, data: &Dataset, classes: Option<usize>) -> Result<Loss, Error> {
    Ok(match loss.targets() {
        Targets::Values => loss,
        Targets::Binary => {
            labels::check(data, Expected::Binary)?;
            loss
        }
        Targets::Classes => {
            let k = labels::check(data, Expected::Classes(classes))?;
            elements("--classes", "an output layer", k, 1)?;
            loss.with_classes(k)
        }
    })
}

/// Parameter-sized tensors the optimizer and the update rounding keep beside the weights.
fn state_copies(optimizer: &OptimizerConfig) -> u64 {
    let moments = match optimizer.kind {
        Optimizer::Adam => 2,
        Optimizer::Sgd if optimizer.momentum.exact().is_zero() => 0,
        Optimizer::Sgd => 1,
    };
    moments + u64::from(optimizer.update_rounding == UpdateRounding::Kahan)
}

/// The loss: a preset (`--loss`) or an expression (`--loss-expr`), with its constants: `eps`
/// from `--eps` unless `--const eps=…` gives it, the others from `--const`. A `--const` the
/// loss does not use is refused, so that a typo cannot go unnoticed.
fn loss(args: &AuditArgs) -> Result<Loss, Error> {
    let eps = decimal("--eps", &args.eps, Bounds::NonNegative)?;
    let mut given: Vec<(String, Decimal)> = Vec::new();
    for text in &args.consts {
        let (name, value) = named_constant(text)?;
        if given.iter().any(|(n, _)| *n == name) {
            return Err(invalid("--const", format!("`{name}` is given twice")));
        }
        given.push((name, value));
    }
    let constant = |name: &str| {
        let value = given
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        value.or_else(|| (name == "eps").then(|| eps.clone()))
    };
    let reduce = parse::<Reduce>(&args.loss_reduce)?;
    let loss = match &args.loss_expr {
        Some(text) => Loss::expression(text, &constant, reduce)?,
        None => Loss::preset(parse::<Preset>(&args.loss)?, &constant, reduce)?,
    };
    for (name, _) in &given {
        if !loss.constants().any(|(used, _)| used == name) {
            return Err(invalid(
                "--const",
                format!("the loss `{}` has no constant `{name}`", loss.name()),
            ));
        }
    }
    Ok(loss)
}

/// `NAME=DECIMAL`: a name of letters, digits and `_` (not starting with a digit; not `y` or
/// `p`), and a finite number.
fn named_constant(text: &str) -> Result<(String, Decimal), Error> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| invalid("--const", format!("`{text}` is not NAME=DECIMAL")))?;
    let name = name.trim();
    let well_formed = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !matches!(name, "y" | "p");
    if !well_formed {
        return Err(invalid(
            "--const",
            format!("`{name}` is not a constant's name (letters, digits and _; not y or p)"),
        ));
    }
    let value = decimal("--const", value, Bounds::Finite)?;
    Ok((name.to_string(), value))
}

/// `--loss-scale` with the `--scale-*` overrides, which only a dynamic scale takes.
fn loss_scaling(args: &AuditArgs) -> Result<LossScaling, Error> {
    let scaling = parse::<LossScaling>(&args.loss_scale)?;
    let overrides = [
        ("--scale-init", args.scale_init.is_some()),
        (
            "--scale-growth-interval",
            args.scale_growth_interval.is_some(),
        ),
        ("--scale-growth-factor", args.scale_growth_factor.is_some()),
        ("--scale-backoff", args.scale_backoff.is_some()),
    ];
    let LossScaling::Dynamic { preset, parameters } = scaling else {
        return match overrides.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(invalid(
                flag,
                format!(
                    "only a dynamic loss scale takes it; --loss-scale is {}",
                    args.loss_scale
                ),
            )),
            None => Ok(scaling),
        };
    };
    let check = |flag: &str, value: Option<f32>, ok: fn(f32) -> bool, what: &str| match value {
        Some(x) if !ok(x) => Err(invalid(flag, format!("must be {what}, got {x}"))),
        _ => Ok(value),
    };
    let parameters = Dynamic {
        init: check(
            "--scale-init",
            args.scale_init,
            |x| x.is_finite() && x > 0.0,
            "a finite number > 0",
        )?
        .unwrap_or(parameters.init),
        growth_factor: check(
            "--scale-growth-factor",
            args.scale_growth_factor,
            |x| x.is_finite() && x > 1.0,
            "a finite number > 1",
        )?
        .unwrap_or(parameters.growth_factor),
        backoff_factor: check(
            "--scale-backoff",
            args.scale_backoff,
            |x| x > 0.0 && x < 1.0,
            "in (0, 1)",
        )?
        .unwrap_or(parameters.backoff_factor),
        growth_interval: args
            .scale_growth_interval
            .unwrap_or(parameters.growth_interval),
    };
    Ok(LossScaling::Dynamic { preset, parameters })
}
