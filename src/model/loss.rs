//! The loss: an elementwise expression in the target `y` and the prediction `p` (see
//! [`expr`](super::expr)), reduced over the batch by a mean or a sum. The built-in losses (mse,
//! mae, relative, huber, log-cosh, msle, smape, mape) are presets of the same machinery; mse,
//! mae and relative keep the op names they always had.

use super::expr::{self, Graph, Values};
use crate::Error;
use crate::format::{Decimal, Scalar};
use crate::kernel::{Binary, Engine, OpKind, Tensor};

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
    /// The preset as an expression of the loss language.
    pub fn expression(self) -> String {
        match self {
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

impl Denominators {
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
    graph: Graph,
    reduce: Reduce,
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
    values: Values<S>,
}

impl<S> LossCache<S> {
    /// Each element's loss term, before the reduction (the batch × 1 tensor the mean or sum
    /// reduces).
    pub fn terms(&self) -> &Tensor<S> {
        self.values.root()
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
        let graph = build(
            "--loss",
            &preset.expression(),
            &with_defaults,
            preset.renames(),
        )?;
        Ok(Loss {
            name: preset.name().into(),
            preset: Some(preset),
            graph,
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
            graph: build("--loss-expr", text, constant, &[])?,
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

    /// The expression's ops and derivative.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The named constants the loss uses, in the order they appear, with their values.
    pub fn constants(&self) -> impl Iterator<Item = (&str, &Decimal)> {
        self.graph
            .slots()
            .iter()
            .filter_map(|slot| Some((slot.name.as_deref()?, &slot.value)))
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
        self.graph
            .slots()
            .iter()
            .map(|slot| Tensor::from_elem((1, 1), slot.value.round::<S>(ctx)))
            .collect()
    }

    /// The named constant `name` among `rounded` (from [`round_constants`](Self::round_constants)).
    pub fn constant_in<'a, S>(&self, rounded: &'a [Tensor<S>], name: &str) -> Option<&'a S> {
        let index = self
            .graph
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
        let values = self.graph.forward(engine, prediction, target, constants);
        let loss = match self.reduce {
            Reduce::Mean => engine.op("loss.mean", OpKind::Mean, &[values.root()]),
            Reduce::Sum => engine.op("loss.sum", OpKind::SumRows, &[values.root()]),
        };
        (loss, LossCache { values })
    }

    /// ∂loss/∂prediction, shaped like the prediction.
    pub fn backward<S: Scalar>(
        &self,
        engine: &mut Engine<'_, S>,
        cache: &LossCache<S>,
    ) -> Tensor<S> {
        let ctx = engine.ctx_for(LOSS_GRAD);
        let shape = cache.values.root().dim();
        let scalar = |x: f64| Tensor::from_elem((1, 1), S::from_f64(x, &ctx));
        let pointwise = self
            .graph
            .backward(engine, &cache.values)
            .unwrap_or_else(|| scalar(1.0));
        let grad = match self.reduce {
            Reduce::Mean => {
                let count = scalar(cache.values.root().len() as f64);
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
