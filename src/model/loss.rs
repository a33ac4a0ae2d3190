//! The loss: an elementwise expression in the target `y` and the prediction `p` (see
//! [`expr`](super::expr)), reduced over the batch by a mean or a sum. The built-in losses (mse,
//! mae, relative, huber, log-cosh, msle, smape, mape) are presets of the same machinery; mse,
//! mae and relative keep the op names they always had. Classification adds binary
//! cross-entropy (`bce`, an expression preset on a sigmoid of the output) and softmax
//! cross-entropy over K logits ([`softmax`](super::softmax), stable and naive), whose targets
//! are class labels.

use ndarray::Array2;

use super::expr::{self, Graph, Values};
use super::softmax::{self, Form};
use crate::Error;
use crate::format::{Decimal, Scalar};
use crate::kernel::{Binary, Engine, OpKind, Reduction, Tensor};

crate::named_enum! {
    /// A built-in loss: a preset expression.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Preset: parsed from "--loss" as "loss" {
        /// mean((p − y)²).
        Mse = "mse",
        /// mean(|p − y|).
        Mae = "mae",
        /// mean(|y − p| / (|y| + eps)): eps is stored in the format and can flush to zero.
        Relative = "relative",
        /// Huber with `delta` (default 1): ½d² where |d| < delta, else delta·(|d| − ½delta).
        Huber = "huber",
        /// log(cosh(p − y)), written |d| + log1p(e^−2|d|) − ln 2 so that it cannot overflow.
        LogCosh = "log-cosh",
        /// (log1p(p) − log1p(y))².
        Msle = "msle",
        /// 2|p − y| / (|y| + |p| + eps).
        Smape = "smape",
        /// 100 |p − y| / max(|y|, eps), as Keras writes it.
        Mape = "mape",
        /// Binary cross-entropy on a sigmoid of the output, labels 0 or 1:
        /// −(y·log(σ(p) + eps) + (1 − y)·log(1 − σ(p) + eps)).
        Bce = "bce",
        /// Softmax cross-entropy over K logits, integer labels 0..K−1, stable (log-sum-exp).
        SoftmaxCe = "softmax-ce",
        /// Softmax cross-entropy written naively, −log(exp(p_y) / Σ exp(p_j)).
        SoftmaxCeNaive = "softmax-ce-naive",
    }
}

crate::named_enum! {
    /// How the elementwise loss is reduced over the batch.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Reduce: parsed from "--loss-reduce" as "reduction" {
        /// The mean over the batch (`loss.mean`).
        Mean = "mean",
        /// The sum over the batch (`loss.sum`).
        Sum = "sum",
    }
}

/// `--eps` when none is given: the loss's eps.
pub const DEFAULT_EPS: &str = "1e-8";

/// ln 2 to 40 digits, for log-cosh.
const LN_2: &str = "0.6931471805599453094172321214581765680755";

impl Preset {
    /// The preset as an expression of the loss language; `None` for the softmax
    /// cross-entropies, which are not elementwise.
    pub fn expression(self) -> Option<String> {
        Some(match self {
            Preset::Mse => "(p - y)^2".into(),
            Preset::Mae => "abs(p - y)".into(),
            Preset::Relative => "abs(p - y) / (abs(y) + eps)".into(),
            Preset::Huber => {
                "0.5 * min(abs(p - y), delta)^2 + delta * (abs(p - y) - min(abs(p - y), delta))"
                    .into()
            }
            Preset::LogCosh => format!("abs(p - y) + log1p(exp(-2 * abs(p - y))) - {LN_2}"),
            Preset::Msle => "(log1p(p) - log1p(y))^2".into(),
            Preset::Smape => "2 * abs(p - y) / (abs(y) + abs(p) + eps)".into(),
            Preset::Mape => "100 * abs(p - y) / max(abs(y), eps)".into(),
            Preset::Bce => {
                "-(y * log(sigmoid(p) + eps) + (1 - y) * log(1 - sigmoid(p) + eps))".into()
            }
            Preset::SoftmaxCe | Preset::SoftmaxCeNaive => return None,
        })
    }

    /// The softmax form of a softmax cross-entropy preset.
    pub fn softmax_form(self) -> Option<Form> {
        match self {
            Preset::SoftmaxCe => Some(Form::Stable),
            Preset::SoftmaxCeNaive => Some(Form::Naive),
            _ => None,
        }
    }

    /// What the preset takes as targets.
    pub fn targets(self) -> Targets {
        match self {
            Preset::Bce => Targets::Binary,
            Preset::SoftmaxCe | Preset::SoftmaxCeNaive => Targets::Classes,
            _ => Targets::Values,
        }
    }

    /// The constants the preset takes besides `eps` (which `--eps` gives), with defaults.
    pub fn defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Preset::Huber => &[("delta", "1")],
            _ => &[],
        }
    }

    /// The op names the first presets had before losses were expressions, kept so that their
    /// outputs stay byte for byte what they were.
    fn renames(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Preset::Mse => &[
                ("loss.n2.sub", "loss.sub"),
                ("loss.n3.pow", "loss.square"),
                ("bwd.loss.n3.scale", "bwd.loss.scale"),
            ],
            Preset::Mae => &[
                ("loss.n2.sub", "loss.sub"),
                ("loss.n3.abs", "loss.abs"),
                ("bwd.loss.n3.sign", "bwd.loss.sign"),
            ],
            Preset::Relative => &[
                ("loss.n2.sub", "loss.sub"),
                ("loss.n3.abs", "loss.abs"),
                ("loss.n5.abs", "loss.target_abs"),
                ("loss.n7.add", LOSS_DENOMINATOR),
                ("loss.n8.div", "loss.div"),
                ("bwd.loss.n3.sign", "bwd.loss.sign"),
                ("bwd.loss.n8.div", "bwd.loss.div"),
            ],
            _ => &[],
        }
    }
}

/// What a loss takes as targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Any finite numbers, one or more columns (regression).
    Values,
    /// Labels 0 or 1, one or more columns (binary cross-entropy).
    Binary,
    /// One column of integer class labels 0..K−1 (softmax cross-entropy).
    Classes,
}

/// The relative loss's op `|y| + eps`: where eps is absorbed or flushed to zero.
pub const LOSS_DENOMINATOR: &str = "loss.denominator";

/// The op whose output is the gradient of a mean loss with respect to the prediction.
pub const LOSS_GRAD: &str = "bwd.loss.mean";

/// The op whose output is the gradient of a summed loss with respect to the prediction.
pub const LOSS_GRAD_SUM: &str = "bwd.loss.sum";

/// What a stored eps does to the relative loss's denominators `|y| + eps`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Denominators {
    /// Targets whose `|y| + eps` equals `|y|`: eps changes nothing there.
    pub absorbed: u64,
    /// Targets whose `|y| + eps` is zero: the loss divides by zero there.
    pub zero: u64,
}

/// What a guarded node is, for a sentence: "loss denominators |y| + eps" for the relative
/// loss, "values of loss.n7.max (denominators guarded by eps)" otherwise.
pub fn guarded_phrase(guard: &expr::Guard) -> String {
    let what = match guard.kind {
        expr::GuardKind::Denominator => "denominators",
        expr::GuardKind::Logarithm => "log arguments",
    };
    match guard.op.as_str() {
        LOSS_DENOMINATOR => "loss denominators |y| + eps".into(),
        "" => format!("{what} {}", guard.constant),
        op => format!("values of {op} ({what} guarded by {})", guard.constant),
    }
}

impl Denominators {
    /// What the constant `name` does to the node it guards, over `targets` (stored in `S`):
    /// the node evaluated with the constants as stored and again with `name` set to 0. `None`
    /// when the loss has no such guard that depends on the targets and constants only, with
    /// the constant added to the rest (not a divisor on its own).
    pub fn of_guard<S: Scalar>(
        loss: &Loss,
        name: &str,
        targets: &Tensor<S>,
        constants: &[Tensor<S>],
        ctx: &S::Context,
    ) -> Option<Denominators> {
        let graph = loss.graph()?;
        let guard = graph
            .guards()
            .into_iter()
            .find(|g| g.constant == name && g.target_only && g.additive)?;
        let slot = loss
            .slots()
            .iter()
            .position(|s| s.name.as_deref() == Some(name))?;
        let mut without = constants.to_vec();
        without[slot] = Tensor::from_elem((1, 1), S::zero(ctx));
        // The guarded node does not depend on p: any prediction of the right shape will do.
        let mut engine = Engine::new(ctx.clone(), Reduction::EXACT);
        let with_constant = graph.forward(&mut engine, targets, targets, constants);
        let without_constant = graph.forward(&mut engine, targets, targets, &without);
        let (guarded, bare) = (
            with_constant.node(guard.node),
            without_constant.node(guard.node),
        );
        let mut counts = Denominators::default();
        for (value, bare) in guarded.iter().zip(bare.iter()) {
            counts.absorbed += u64::from(value == bare);
            counts.zero += u64::from(value.is_zero());
        }
        Some(counts)
    }

    /// Counts them over `targets`, each already stored in the format of `eps`.
    pub fn of<'a, S: Scalar>(targets: impl IntoIterator<Item = &'a S>, eps: &S) -> Denominators {
        let mut counts = Denominators::default();
        for y in targets {
            let magnitude = y.abs();
            let denominator = magnitude.add(eps);
            counts.absorbed += u64::from(denominator == magnitude);
            counts.zero += u64::from(denominator.is_zero());
        }
        counts
    }
}

/// A loss: an expression, its derivative, and a reduction over the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    name: String,
    preset: Option<Preset>,
    body: Body,
    reduce: Reduce,
}

/// How each row's terms are computed.
#[derive(Clone, Debug, PartialEq)]
enum Body {
    /// An elementwise expression in y and p.
    Elementwise(Graph),
    /// Softmax cross-entropy over `classes` logits.
    Softmax { form: Form, classes: usize },
}

impl From<Preset> for Loss {
    /// The preset averaged over the batch, with eps = [`DEFAULT_EPS`] and its defaults.
    fn from(preset: Preset) -> Loss {
        let eps = DEFAULT_EPS.parse().expect("the default eps is a number");
        Loss::with_eps(preset, &eps)
    }
}

/// What the loss's backward pass needs from its forward pass: every node's value.
#[derive(Clone, Debug)]
pub struct LossCache<S> {
    terms: Terms<S>,
    /// The prediction's shape, which the gradient takes.
    shape: (usize, usize),
}

#[derive(Clone, Debug)]
enum Terms<S> {
    Elementwise(Values<S>),
    Softmax(Box<softmax::Cache<S>>),
}

impl<S> LossCache<S> {
    /// Each element's loss term, before the reduction (the tensor the mean or sum reduces):
    /// batch × outputs for an elementwise loss, batch × 1 for softmax cross-entropy.
    pub fn terms(&self) -> &Tensor<S> {
        match &self.terms {
            Terms::Elementwise(values) => values.root(),
            Terms::Softmax(cache) => cache.terms(),
        }
    }
}

impl<S: Scalar> LossCache<S> {
    /// Each row's term as f64 (exact for the formats, rounded for the reference): with several
    /// outputs, the mean of the row's terms, taken in f64 for the report (not an audited op).
    pub fn row_terms(&self) -> Vec<f64> {
        let terms = self.terms();
        terms
            .rows()
            .into_iter()
            .map(|row| {
                let values: Vec<f64> = row.iter().map(S::to_f64).collect();
                match values.as_slice() {
                    [only] => *only,
                    _ => values.iter().sum::<f64>() / values.len() as f64,
                }
            })
            .collect()
    }
}

impl Loss {
    /// A built-in loss; `constant` gives named constants (`eps`, `delta`) that are not the
    /// preset's defaults.
    pub fn preset(
        preset: Preset,
        constant: &dyn Fn(&str) -> Option<Decimal>,
        reduce: Reduce,
    ) -> Result<Loss, Error> {
        let with_defaults = |name: &str| {
            constant(name).or_else(|| {
                let (_, text) = preset.defaults().iter().find(|(n, _)| *n == name)?;
                text.parse().ok()
            })
        };
        let body = match (preset.expression(), preset.softmax_form()) {
            (Some(text), _) => {
                Body::Elementwise(build("--loss", &text, &with_defaults, preset.renames())?)
            }
            (None, Some(form)) => Body::Softmax { form, classes: 0 },
            (None, None) => unreachable!("a preset is an expression or a softmax"),
        };
        Ok(Loss {
            name: preset.name().into(),
            preset: Some(preset),
            body,
            reduce,
        })
    }

    /// A built-in loss averaged over the batch, with `eps` and the preset's defaults.
    pub fn with_eps(preset: Preset, eps: &Decimal) -> Loss {
        let eps = |name: &str| (name == "eps").then(|| eps.clone());
        Loss::preset(preset, &eps, Reduce::Mean).expect("every preset is a valid loss")
    }

    /// A loss written in the expression language, e.g. `abs(y - p) / (abs(y) + eps)`.
    pub fn expression(
        text: &str,
        constant: &dyn Fn(&str) -> Option<Decimal>,
        reduce: Reduce,
    ) -> Result<Loss, Error> {
        Ok(Loss {
            name: text.trim().into(),
            preset: None,
            body: Body::Elementwise(build("--loss-expr", text, constant, &[])?),
            reduce,
        })
    }

    /// The preset's name, or the expression as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The preset, if the loss is one.
    pub fn as_preset(&self) -> Option<Preset> {
        self.preset
    }

    /// How the batch is reduced.
    pub fn reduce(&self) -> Reduce {
        self.reduce
    }

    /// The expression's ops and derivative; `None` for softmax cross-entropy.
    pub fn graph(&self) -> Option<&Graph> {
        match &self.body {
            Body::Elementwise(graph) => Some(graph),
            Body::Softmax { .. } => None,
        }
    }

    /// The constant leaves of the expression (none for softmax cross-entropy).
    fn slots(&self) -> &[expr::Slot] {
        self.graph().map_or(&[], Graph::slots)
    }

    /// The named constants the loss uses, in the order they appear, with their values.
    pub fn constants(&self) -> impl Iterator<Item = (&str, &Decimal)> {
        self.slots()
            .iter()
            .filter_map(|slot| Some((slot.name.as_deref()?, &slot.value)))
    }

    /// The named constants that guard a denominator or a log (none for softmax
    /// cross-entropy).
    pub fn guards(&self) -> Vec<expr::Guard> {
        self.graph().map_or_else(Vec::new, Graph::guards)
    }

    /// What the loss takes as targets.
    pub fn targets(&self) -> Targets {
        self.preset.map_or(Targets::Values, Preset::targets)
    }

    /// The softmax cross-entropy over `classes` logits (K ≥ 2); other losses are unchanged.
    pub fn with_classes(mut self, classes: usize) -> Loss {
        if let Body::Softmax { classes: k, .. } = &mut self.body {
            *k = classes;
        }
        self
    }

    /// The number of classes of a softmax cross-entropy.
    pub fn classes(&self) -> Option<usize> {
        match self.body {
            Body::Softmax { classes, .. } => Some(classes),
            Body::Elementwise(_) => None,
        }
    }

    /// The width of the output layer for data with `target_columns` targets: K logits for a
    /// softmax cross-entropy, one output per target otherwise.
    pub fn outputs(&self, target_columns: usize) -> usize {
        self.classes().unwrap_or(target_columns)
    }

    /// The data's targets as the loss reads them: the one-hot encoding of the class labels
    /// for a softmax cross-entropy, the targets themselves otherwise.
    pub fn encode_targets(&self, targets: &Array2<f64>) -> Array2<f64> {
        match self.body {
            Body::Softmax { classes, .. } => softmax::one_hot(targets, classes),
            Body::Elementwise(_) => targets.clone(),
        }
    }

    /// The op whose output is ∂loss/∂prediction.
    pub fn grad_op(&self) -> &'static str {
        match self.reduce {
            Reduce::Mean => LOSS_GRAD,
            Reduce::Sum => LOSS_GRAD_SUM,
        }
    }

    /// Every constant of the expression (named and literal) rounded once into `S`, 1 × 1 each:
    /// what [`forward`](Self::forward) takes.
    pub fn round_constants<S: Scalar>(&self, ctx: &S::Context) -> Vec<Tensor<S>> {
        self.slots()
            .iter()
            .map(|slot| Tensor::from_elem((1, 1), slot.value.round::<S>(ctx)))
            .collect()
    }

    /// The named constant `name` among `rounded` (from [`round_constants`](Self::round_constants)).
    pub fn constant_in<'a, S>(&self, rounded: &'a [Tensor<S>], name: &str) -> Option<&'a S> {
        let index = self
            .slots()
            .iter()
            .position(|slot| slot.name.as_deref() == Some(name))?;
        Some(&rounded[index][[0, 0]])
    }

    /// The loss of `prediction` against `target` as a 1 × 1 tensor; `constants` from
    /// [`round_constants`](Self::round_constants).
    pub fn forward<S: Scalar>(
        &self,
        engine: &mut Engine<'_, S>,
        prediction: &Tensor<S>,
        target: &Tensor<S>,
        constants: &[Tensor<S>],
    ) -> (Tensor<S>, LossCache<S>) {
        let terms = match &self.body {
            Body::Elementwise(graph) => {
                Terms::Elementwise(graph.forward(engine, prediction, target, constants))
            }
            Body::Softmax { form, .. } => Terms::Softmax(Box::new(softmax::forward(
                *form, engine, prediction, target,
            ))),
        };
        let cache = LossCache {
            terms,
            shape: prediction.dim(),
        };
        let terms = cache.terms();
        let loss = match self.reduce {
            Reduce::Mean => engine.op("loss.mean", OpKind::Mean, &[terms]),
            Reduce::Sum => {
                let sums = engine.op("loss.sum", OpKind::SumRows, &[terms]);
                if sums.len() == 1 {
                    sums
                } else {
                    // Several outputs: their column sums, added across in the same order.
                    engine.op("loss.sum_outputs", OpKind::SumColumns, &[&sums])
                }
            }
        };
        (loss, cache)
    }

    /// ∂loss/∂prediction, shaped like the prediction.
    pub fn backward<S: Scalar>(
        &self,
        engine: &mut Engine<'_, S>,
        cache: &LossCache<S>,
    ) -> Tensor<S> {
        let ctx = engine.ctx_for(LOSS_GRAD);
        let shape = cache.shape;
        let scalar = |x: f64| Tensor::from_elem((1, 1), S::from_f64(x, &ctx));
        let pointwise = match (&self.body, &cache.terms) {
            (Body::Elementwise(graph), Terms::Elementwise(values)) => graph
                .backward(engine, values)
                .unwrap_or_else(|| scalar(1.0)),
            (Body::Softmax { .. }, Terms::Softmax(softmax)) => softmax::backward(engine, softmax),
            _ => unreachable!("a cache comes from the same loss's forward pass"),
        };
        let grad = match self.reduce {
            Reduce::Mean => {
                let count = scalar(cache.terms().len() as f64);
                engine.binary(LOSS_GRAD, Binary::Div, &pointwise, &count)
            }
            // One times each term's gradient: exact, and the gradient has an op of its own.
            Reduce::Sum => engine.binary(LOSS_GRAD_SUM, Binary::Mul, &pointwise, &scalar(1.0)),
        };
        if grad.dim() == shape {
            grad
        } else {
            // A gradient of constants only: the same value for every element.
            grad.broadcast(shape)
                .expect("a 1 × 1 tensor broadcasts")
                .to_owned()
        }
    }
}

/// Parses and lowers `text`, refusing what is not a loss: errors name `flag` and the column.
fn build(
    flag: &str,
    text: &str,
    constant: &dyn Fn(&str) -> Option<Decimal>,
    renames: &[(&str, &str)],
) -> Result<Graph, Error> {
    let refuse = |error: expr::ParseError| Error::InvalidFlag {
        flag: flag.into(),
        message: format!("{} at column {}", error.message, error.column),
    };
    let ast = expr::parse(text, &|name| constant(name).is_some()).map_err(refuse)?;
    let graph = Graph::new(&ast, constant, renames);
    // A loss must compare the prediction with the target: without p nothing trains, and
    // without y the data plays no part (a penalty on the output is not a loss).
    for (present, variable, role) in [
        (graph.has_prediction(), "p", "the prediction"),
        (graph.has_target(), "y", "the target"),
    ] {
        if !present {
            return Err(refuse(expr::ParseError {
                column: 1,
                message: format!("`{variable}` ({role}) does not appear: a loss compares p with y"),
            }));
        }
    }
    Ok(graph)
}
