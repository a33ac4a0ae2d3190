//! Origins of non-finite values: the chain of ops from the earliest one whose output left the
//! format's safe range to the first op of a lane that stored inf or NaN.
//!
//! A chain is tracked forward, as the lane runs, so that nothing is kept beyond two steps:
//! each op's output is remembered with the chain that reached it, and an op inherits the chain
//! of its inputs. Links are added where something happens:
//!
//! - `underflow` (nonzero exact result stored as zero) and `constant` (an addition whose other
//!   operand vanished, so the output *is* a zero or subnormal constant: `opt.adam.denominator =
//!   adam_eps`) start a *pending* chain: a zero is harmless until something divides by it. A
//!   pending chain passes only through elementwise ops that keep the zero (an element zero in
//!   the input is zero, subnormal or the constant in the output), and becomes *confirmed* when
//!   a division's divisor (or a logarithm's argument) holds such an element.
//! - `divides_by_constant` (a zero or subnormal constant as a divisor), `overflow`,
//!   `div_by_zero`, `nan` and `inf` are confirmed links.
//! - A confirmed chain crosses into the next step only through `opt.update`, and only when the
//!   update moved a weight by more than the largest weight before it (`update`, with the largest
//!   |Δ|): an update that size is what makes weights explode; smaller ones end the chain. A
//!   weight that exploded keeps its chain through the ordinary updates after it. Pending chains
//!   cross in the optimizer's state (a second moment that stays zero).
//!
//! When several inputs carry chains, a confirmed one wins over a pending one, then the one
//! whose head came first. Recording stops at the first op whose output holds inf or NaN: that
//! op's chain is the lane's.
//!
//! **How an input finds its producer.** The observer sees tensors, not a graph. Each output is
//! remembered by a hash of its values (as f64 bits) and shape, and by the address of its data.
//! An input is matched to the remembered output with the same hash and shape, the one at the
//! same address first (the math hands an op's output on by reference or by move, which keeps
//! the buffer: `m`, `v` and the weights reach the next step that way), else the latest. The
//! hash makes the address safe (a freed buffer reused for other values matches nothing) and
//! finds producers the address cannot: a clone, and a cast whose f64 source holds a master
//! weight's values. A dependency map from op names would have to be kept in step with every
//! optimizer, policy and loss expression; the values need no such list. Two producers of the
//! same values are told apart by address, else the latest wins (they carry the same values, so
//! either explains the input).

use std::sync::Arc;

use super::stats::EventKind;
use crate::format::{Class, Scalar};
use crate::kernel::{Binary, OpKind, OpRecord, Role, Tensor, Unary};

crate::named_enum! {
    /// What happened at one link of a chain; the name is the `event` column of `chains.csv`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum LinkEvent {
        /// A finite exact result stored as inf (or what a NaN or saturating format stores).
        Overflow = "overflow",
        /// A nonzero exact result stored as zero.
        Underflow = "underflow",
        /// The output holds a zero or subnormal constant where the other operand vanished.
        Constant = "constant",
        /// A zero or subnormal constant as a divisor.
        DividesByConstant = "divides_by_constant",
        /// An update that moved a weight by more than the largest weight before it.
        Update = "update",
        /// A division by zero.
        DivByZero = "div_by_zero",
        /// NaN out of inputs without NaN.
        Nan = "nan",
        /// ±inf out of finite inputs, not by overflow or a division by zero (ln 0).
        Inf = "inf",
    }
}

/// One link of a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// 1-based step.
    pub step: u64,
    /// The op.
    pub op: String,
    /// What happened there.
    pub event: LinkEvent,
    /// overflow, underflow, nan, inf: the exact result of the first such element;
    /// div_by_zero: its dividend; constant, divides_by_constant: the constant as stored;
    /// update: the largest |Δ|.
    pub value: f64,
    /// The constant's name (constant and divides_by_constant links).
    pub constant: Option<String>,
}

impl Link {
    /// The link as a chain's text writes it.
    fn text(&self) -> String {
        let name = self.constant.as_deref().unwrap_or("?");
        match self.event {
            LinkEvent::Constant => format!("{} = {name} = {}", self.op, significant(self.value)),
            LinkEvent::DividesByConstant => {
                format!(
                    "{} divides by {name} = {}",
                    self.op,
                    significant(self.value)
                )
            }
            LinkEvent::Update => format!("{} |Δ| = {}", self.op, significant(self.value)),
            LinkEvent::DivByZero => format!("{} divides by zero", self.op),
            event => format!("{} {event}", self.op),
        }
    }
}

/// Three significant digits, as a sentence writes a magnitude.
fn significant(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        crate::format::text::shortest(x)
    } else if (1e-3..1e6).contains(&x.abs()) {
        let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.2e}")
    }
}

/// The chain of one lane: links from the origin (head) to the first op that stored inf or NaN.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// Head first.
    pub links: Vec<Link>,
}

impl Chain {
    /// The origin.
    pub fn head(&self) -> &Link {
        &self.links[0]
    }

    /// Whether it ends at an update that made weights explode (the lane stored no inf or NaN).
    pub fn ends_in_explosion(&self) -> bool {
        self.links
            .last()
            .is_some_and(|l| l.event == LinkEvent::Update)
    }

    /// `opt.adam.v underflow (step 1) → … → fwd.dense2.matmul overflow (step 2)`: the step is
    /// written at the head, wherever it changes, and at the end.
    pub fn text(&self) -> String {
        let last = self.links.len() - 1;
        let mut previous = None;
        let parts: Vec<String> = self
            .links
            .iter()
            .enumerate()
            .map(|(i, link)| {
                let shown = i == 0 || i == last || previous != Some(link.step);
                previous = Some(link.step);
                if shown {
                    format!("{} (step {})", link.text(), link.step)
                } else {
                    link.text()
                }
            })
            .collect();
        parts.join(" → ")
    }
}

/// What the comparator saw in one op's output: the first element of each kind of event a chain
/// links on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sightings {
    /// The exact value of the first overflowed element.
    pub overflow: Option<f64>,
    /// The exact value of the first element that underflowed to zero.
    pub underflow: Option<f64>,
    /// The dividend of the first division by zero.
    pub div_by_zero: Option<f64>,
    /// The exact value of the first NaN made from inputs without NaN.
    pub nan: Option<f64>,
    /// The exact value of the first inf made from finite inputs.
    pub inf: Option<f64>,
}

impl Sightings {
    /// Notes the events of one element: `exact` its exact value, `dividend` its division's
    /// dividend (asked for a division by zero only).
    pub fn note(
        &mut self,
        kinds: impl Iterator<Item = EventKind>,
        exact: f64,
        dividend: impl Fn() -> f64,
    ) {
        for kind in kinds {
            let slot = match kind {
                EventKind::Overflow => &mut self.overflow,
                EventKind::Underflow => &mut self.underflow,
                EventKind::DivByZero => {
                    self.div_by_zero.get_or_insert_with(&dividend);
                    continue;
                }
                EventKind::Nan => &mut self.nan,
                EventKind::Inf => &mut self.inf,
                _ => continue,
            };
            slot.get_or_insert(exact);
        }
    }

    /// The confirmed link the op makes by itself, most telling event first (a division by zero
    /// also overflows where the divisor is tiny but not zero; the zero says more).
    fn terminal(&self) -> Option<(LinkEvent, f64)> {
        [
            (LinkEvent::DivByZero, self.div_by_zero),
            (LinkEvent::Overflow, self.overflow),
            (LinkEvent::Nan, self.nan),
            (LinkEvent::Inf, self.inf),
        ]
        .into_iter()
        .find_map(|(event, value)| value.map(|v| (event, v)))
    }
}

/// A constant of the run as a lane stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedConstant {
    /// Its name (`eps`, `adam_eps`).
    pub name: String,
    /// The phase of the ops that use it (`loss`, `opt`).
    pub phase: &'static str,
    /// As stored.
    pub value: f64,
}

/// How often a constant took part in an addition before the lane's first inf or NaN.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConstantUse {
    /// The constant's name.
    pub name: String,
    /// Finite elements of additions it was an operand of.
    pub evaluated: u64,
    /// Of those, the ones whose result it changed (not absorbed).
    pub changed: u64,
}

/// A node of a chain as it is being built: a persistent list, so that every output that
/// inherits a chain shares it.
#[derive(Debug)]
struct Node {
    link: Link,
    /// Creation order of the head, to prefer the chain whose origin came first.
    head_order: u64,
    previous: Option<Arc<Node>>,
}

fn extend(previous: Option<Arc<Node>>, link: Link, order: u64) -> Arc<Node> {
    let head_order = previous.as_ref().map_or(order, |p| p.head_order);
    Arc::new(Node {
        link,
        head_order,
        previous,
    })
}

/// A chain reaching an output, and whether it is still pending.
#[derive(Clone, Debug)]
struct Carried {
    node: Arc<Node>,
    pending: bool,
}

/// A remembered op output.
#[derive(Clone, Debug)]
struct Entry {
    hash: u64,
    dim: (usize, usize),
    address: usize,
    order: u64,
    /// The step that produced it, and the last step that used it.
    step: u64,
    used: u64,
    chain: Option<Carried>,
    update: bool,
}

/// Follows one lane's ops until its first inf or NaN.
#[derive(Clone, Debug, Default)]
pub struct ChainRecorder {
    constants: Vec<NamedConstant>,
    uses: Vec<ConstantUse>,
    entries: Vec<Entry>,
    step: u64,
    order: u64,
    finished: bool,
    chain: Option<Chain>,
    /// The chain to the first update that made weights explode.
    exploded: Option<Chain>,
}

/// A hash of a tensor's values (as f64 bits) and shape. Four interleaved hashes, folded into
/// one at the end: each element waits for the one four places back, not for the one before.
fn fingerprint(mut values: impl Iterator<Item = f64>, dim: (usize, usize)) -> u64 {
    let mix = |hash: u64, bits: u64| (hash ^ bits).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    let seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut lanes = [
        seed ^ ((dim.0 as u64) << 32 | dim.1 as u64),
        seed.rotate_left(16),
        seed.rotate_left(32),
        seed.rotate_left(48),
    ];
    'values: loop {
        for lane in &mut lanes {
            let Some(x) = values.next() else {
                break 'values;
            };
            *lane = mix(*lane, x.to_bits());
        }
    }
    lanes.into_iter().fold(seed, mix)
}

fn tiny<S: Scalar>(x: &S) -> bool {
    matches!(x.classify(), Class::Zero | Class::Subnormal)
}

/// The element of `t` that elementwise broadcasting pairs with output element (i, j).
fn pick<S>(t: &Tensor<S>, (i, j): (usize, usize)) -> &S {
    let row = if t.nrows() == 1 { 0 } else { i };
    let col = if t.ncols() == 1 { 0 } else { j };
    &t[[row, col]]
}

impl ChainRecorder {
    /// A recorder that names the constants `constants` where ops use them.
    pub fn new(constants: Vec<NamedConstant>) -> Self {
        ChainRecorder {
            uses: constants
                .iter()
                .map(|c| ConstantUse {
                    name: c.name.clone(),
                    ..ConstantUse::default()
                })
                .collect(),
            constants,
            ..ChainRecorder::default()
        }
    }

    /// Whether it still records (no inf or NaN yet).
    pub fn active(&self) -> bool {
        !self.finished
    }

    /// The lane's chain: to its first inf or NaN; in a lane that never stored one, to the
    /// first update that made its weights explode, if one did.
    pub fn chain(&self) -> Option<&Chain> {
        self.chain.as_ref().or(self.exploded.as_ref())
    }

    /// How the constants took part in additions before the first inf or NaN.
    pub fn uses(&self) -> &[ConstantUse] {
        &self.uses
    }

    /// Forgets what no chain can reach any more: outputs neither made nor used in this step or
    /// the previous one; and confirmed chains of the previous step's outputs other than large
    /// updates.
    fn begin_step(&mut self, step: u64) {
        if step == self.step {
            return;
        }
        let keep_from = step.saturating_sub(1);
        self.entries
            .retain(|e| e.step >= keep_from || e.used >= keep_from);
        for entry in &mut self.entries {
            if entry.chain.as_ref().is_some_and(|c| !c.pending) && !entry.update {
                entry.chain = None;
            }
        }
        self.step = step;
    }

    /// The remembered output that `values` (of shape `dim`, at `address`) is, if any.
    fn producer(&mut self, hash: u64, dim: (usize, usize), address: usize) -> Option<usize> {
        let step = self.step;
        let found = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.hash == hash && e.dim == dim)
            .max_by_key(|(_, e)| (e.address == address, e.order))
            .map(|(i, _)| i);
        if let Some(i) = found {
            self.entries[i].used = step;
        }
        found
    }

    /// The named constant a 1 × 1 operand of an op of phase `phase` is, if it is one.
    fn constant_of<S: Scalar>(&self, op: &str, t: &Tensor<S>) -> Option<usize> {
        if t.dim() != (1, 1) {
            return None;
        }
        let value = t[[0, 0]].to_f64();
        let phase = op.split('.').next().unwrap_or("");
        self.constants
            .iter()
            .position(|c| c.phase == phase && c.value.to_bits() == value.to_bits())
    }

    /// Observes one op of step `step`, with what the comparator saw in its output.
    pub fn observe<S: Scalar>(&mut self, step: u64, record: &OpRecord<'_, S>, seen: &Sightings) {
        if self.finished {
            return;
        }
        self.begin_step(step);
        self.order += 1;
        let order = self.order;
        let dim = record.output.dim();
        let elementwise = !record.kind.is_reduction();

        // The chains the inputs bring.
        let mut producers: Vec<Option<usize>> = Vec::with_capacity(record.inputs.len());
        match record.source {
            Some(source) => {
                let hash = fingerprint(source.iter().copied(), source.dim());
                producers.push(self.producer(hash, source.dim(), source.as_ptr() as usize));
            }
            None => {
                for input in record.inputs {
                    let hash = fingerprint(input.iter().map(S::to_f64), input.dim());
                    producers.push(self.producer(hash, input.dim(), input.as_ptr() as usize));
                }
            }
        }
        // A leaf 1 × 1 operand that is a named constant, per input.
        let constants: Vec<Option<usize>> = record
            .inputs
            .iter()
            .zip(&producers)
            .map(|(t, p)| match p {
                None => self.constant_of(record.name, t),
                Some(_) => None,
            })
            .collect();
        let constant_values: Vec<f64> = constants
            .iter()
            .flatten()
            .map(|&c| self.constants[c].value)
            .collect();
        let vanished_constant = self.count_constant_uses(record, &constants);
        let keeps_zero = |i: usize| match record.source {
            // A cast keeps a zero where its source is zero.
            Some(source) => record
                .output
                .indexed_iter()
                .any(|(at, x)| source[at] == 0.0 && tiny(x)),
            None => {
                elementwise
                    && record.inputs.get(i).is_some_and(|input| {
                        record.output.indexed_iter().any(|(at, x)| {
                            pick(input, at).is_zero()
                                && (tiny(x) || constant_values.contains(&x.to_f64()))
                        })
                    })
            }
        };
        let divides_by_tiny = |i: usize| match record.kind {
            OpKind::Binary(Binary::Div) => i == 1 && record.inputs[1].iter().any(tiny),
            OpKind::Unary(Unary::Ln) => record.inputs[0].iter().any(S::is_zero),
            _ => false,
        };
        let mut inherited: Vec<(Carried, bool)> = Vec::new();
        for (i, producer) in producers.iter().enumerate() {
            let Some(carried) = producer.and_then(|p| self.entries[p].chain.clone()) else {
                continue;
            };
            if !carried.pending {
                inherited.push((carried, false));
            } else if divides_by_tiny(i) {
                inherited.push((
                    Carried {
                        pending: false,
                        ..carried
                    },
                    true,
                ));
            } else if keeps_zero(i) {
                inherited.push((carried, false));
            }
        }
        let best = |candidates: &mut dyn Iterator<Item = &(Carried, bool)>| {
            candidates
                .min_by_key(|(c, _)| (c.pending, c.node.head_order))
                .map(|(c, _)| c.clone())
        };
        let link = |event: LinkEvent, value: f64, constant: Option<usize>| Link {
            step,
            op: record.name.to_string(),
            event,
            value,
            constant: constant.map(|c| self.constants[c].name.clone()),
        };

        // What the op did by itself.
        let divisor_constant = match record.kind {
            OpKind::Binary(Binary::Div) => constants
                .get(1)
                .copied()
                .flatten()
                .filter(|_| tiny(&record.inputs[1][[0, 0]])),
            _ => None,
        };
        let chain = if let Some((event, value)) = seen.terminal() {
            let from = best(&mut inherited.iter().filter(|(c, _)| !c.pending));
            let from = match divisor_constant {
                Some(c) => Some(extend(
                    from.map(|f| f.node),
                    link(
                        LinkEvent::DividesByConstant,
                        self.constants[c].value,
                        Some(c),
                    ),
                    order,
                )),
                None => from.map(|f| f.node),
            };
            Some(Carried {
                node: extend(from, link(event, value, None), order),
                pending: false,
            })
        } else if record.role == Role::Update {
            // A weight that exploded before keeps its chain through later, ordinary updates.
            let weight = producers
                .first()
                .copied()
                .flatten()
                .and_then(|p| self.entries[p].chain.clone())
                .filter(|c| !c.pending);
            match update_growth(record) {
                Some(growth) => best(&mut inherited.iter().filter(|(c, _)| !c.pending))
                    .map(|from| Carried {
                        node: extend(
                            Some(from.node),
                            link(LinkEvent::Update, growth, None),
                            order,
                        ),
                        pending: false,
                    })
                    .or(weight),
                None => weight,
            }
        } else if let Some(c) = divisor_constant {
            let from = best(&mut inherited.iter());
            Some(Carried {
                node: extend(
                    from.map(|f| f.node),
                    link(
                        LinkEvent::DividesByConstant,
                        self.constants[c].value,
                        Some(c),
                    ),
                    order,
                ),
                pending: false,
            })
        } else {
            let pending_link = match (vanished_constant, seen.underflow) {
                (Some(c), _) => Some(link(LinkEvent::Constant, self.constants[c].value, Some(c))),
                (None, Some(exact)) => Some(link(LinkEvent::Underflow, exact, None)),
                (None, None) => None,
            };
            match (best(&mut inherited.iter()), pending_link) {
                (Some(from), _) if !from.pending => Some(from),
                // An inherited zero that underflows again adds nothing to the story.
                (Some(from), Some(new)) if new.event == LinkEvent::Underflow => Some(from),
                (from, Some(new)) => Some(Carried {
                    node: extend(from.map(|f| f.node), new, order),
                    pending: true,
                }),
                (from, None) => from,
            }
        };

        let exploded = chain
            .as_ref()
            .is_some_and(|c| c.node.link.event == LinkEvent::Update && c.node.link.step == step);
        if exploded && self.exploded.is_none() {
            self.exploded = chain.as_ref().map(|c| unroll(&c.node));
        }
        if record.output.iter().any(|x| !x.is_finite()) {
            self.chain = chain.map(|c| unroll(&c.node));
            self.finished = true;
            self.entries.clear();
            return;
        }
        let hash = fingerprint(record.output.iter().map(S::to_f64), dim);
        self.entries.push(Entry {
            hash,
            dim,
            address: record.output.as_ptr() as usize,
            order,
            step,
            used: step,
            chain,
            update: record.role == Role::Update,
        });
    }

    /// Counts, for an addition with a named constant as one operand, the elements it changed;
    /// returns the constant when it is zero or subnormal and the other operand vanished
    /// somewhere (the output there *is* the constant).
    fn count_constant_uses<S: Scalar>(
        &mut self,
        record: &OpRecord<'_, S>,
        constants: &[Option<usize>],
    ) -> Option<usize> {
        if !matches!(record.kind, OpKind::Binary(Binary::Add | Binary::Sub)) {
            return None;
        }
        let (c, at) = match constants {
            [Some(c), _] => (*c, 0),
            [_, Some(c)] => (*c, 1),
            _ => return None,
        };
        let other = record.inputs[1 - at];
        let small = tiny(&record.inputs[at][[0, 0]]);
        let mut vanished = false;
        let uses = &mut self.uses[c];
        for (position, x) in record.output.indexed_iter() {
            let y = pick(other, position);
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            uses.evaluated += 1;
            let absorbed = x.to_f64().abs() == y.to_f64().abs();
            uses.changed += u64::from(!absorbed);
            vanished |= y.is_zero();
        }
        (vanished && small).then_some(c)
    }
}

/// The chain that ends at `last`, head first.
fn unroll(last: &Arc<Node>) -> Chain {
    let mut links = Vec::new();
    let mut node = Some(last);
    while let Some(n) = node {
        links.push(n.link.clone());
        node = n.previous.as_ref();
    }
    links.reverse();
    Chain { links }
}

/// For an update w′ = w − Δ: the largest |w′ − w| when it exceeds the largest |w| before it
/// (the weights explode), else `None`.
fn update_growth<S: Scalar>(record: &OpRecord<'_, S>) -> Option<f64> {
    let before = record.inputs.first()?;
    let largest_weight = before
        .iter()
        .map(|w| w.to_f64().abs())
        .filter(|w| w.is_finite())
        .fold(0.0f64, f64::max);
    let largest_move = before
        .iter()
        .zip(record.output.iter())
        .map(|(w, after)| (after.to_f64() - w.to_f64()).abs())
        .filter(|d| d.is_finite())
        .fold(0.0f64, f64::max);
    (largest_move > largest_weight).then_some(largest_move)
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;

    fn t(values: &[f64]) -> Tensor<f16> {
        Tensor::from_shape_vec(
            (1, values.len()),
            values.iter().map(|&x| f16::from_f64(x)).collect(),
        )
        .expect("a row")
    }

    const ADAM_EPS: f64 = 1.1920928955078125e-07;

    fn recorder() -> ChainRecorder {
        ChainRecorder::new(vec![NamedConstant {
            name: "adam_eps".into(),
            phase: "opt",
            value: f16::from_f64(1e-7).to_f64(),
        }])
    }

    /// Reports one op to `chains`.
    fn op(
        chains: &mut ChainRecorder,
        step: u64,
        (name, kind, role): (&str, OpKind, Role),
        inputs: &[&Tensor<f16>],
        output: &Tensor<f16>,
        seen: Sightings,
    ) {
        let record = OpRecord {
            name,
            kind,
            inputs,
            output,
            scale: 1.0,
            role,
            carries: None,
            source: None,
            quantization: None,
        };
        chains.observe(step, &record, &seen);
    }

    fn events(chain: &Chain) -> Vec<(u64, &str, LinkEvent)> {
        chain
            .links
            .iter()
            .map(|l| (l.step, l.op.as_str(), l.event))
            .collect()
    }

    const DIV: OpKind = OpKind::Binary(Binary::Div);
    const ADD: OpKind = OpKind::Binary(Binary::Add);
    const MUL: OpKind = OpKind::Binary(Binary::Mul);
    const SUB: OpKind = OpKind::Binary(Binary::Sub);
    const MATMUL: OpKind = OpKind::MatMul {
        lhs_transposed: false,
        rhs_transposed: false,
    };

    /// Step 1 of Adam on a tiny gradient: v underflows, the denominator is the subnormal eps
    /// alone, the update jumps; step 2's matmul overflows. The weight reaches step 2 as a clone
    /// (another buffer): its values still find the update that wrote it.
    #[test]
    fn the_adam_chain_runs_from_the_second_moment_to_the_overflow() {
        let mut chains = recorder();
        let value = Role::Value;
        let square = t(&[1e-6]);
        op(
            &mut chains,
            1,
            ("opt.adam.grad_square", MUL, value),
            &[&t(&[1e-3]), &t(&[1e-3])],
            &square,
            Sightings::default(),
        );
        let v = t(&[0.0]);
        let underflow = Sightings {
            underflow: Some(1e-9),
            ..Sightings::default()
        };
        op(
            &mut chains,
            1,
            ("opt.adam.v", OpKind::Axpby, value),
            &[&t(&[0.999]), &t(&[0.0]), &t(&[0.001]), &square],
            &v,
            underflow,
        );
        let v_hat = t(&[0.0]);
        op(
            &mut chains,
            1,
            ("opt.adam.v_hat", DIV, value),
            &[&v, &t(&[0.001])],
            &v_hat,
            Sightings::default(),
        );
        let root = t(&[0.0]);
        op(
            &mut chains,
            1,
            ("opt.adam.sqrt", OpKind::Unary(Unary::Sqrt), value),
            &[&v_hat],
            &root,
            Sightings::default(),
        );
        let denominator = t(&[ADAM_EPS]);
        op(
            &mut chains,
            1,
            ("opt.adam.denominator", ADD, value),
            &[&root, &t(&[ADAM_EPS])],
            &denominator,
            Sightings::default(),
        );
        let ratio = t(&[8390.0]);
        op(
            &mut chains,
            1,
            ("opt.adam.ratio", DIV, value),
            &[&t(&[1e-3]), &denominator],
            &ratio,
            Sightings::default(),
        );
        let step = t(&[83.9]);
        op(
            &mut chains,
            1,
            ("opt.adam.step", MUL, value),
            &[&t(&[0.01]), &ratio],
            &step,
            Sightings::default(),
        );
        let weight = t(&[-83.4]);
        op(
            &mut chains,
            1,
            ("opt.update", SUB, Role::Update),
            &[&t(&[0.5]), &step],
            &weight,
            Sightings::default(),
        );
        assert!(chains.active());
        let output = t(&[f64::INFINITY]);
        let overflow = Sightings {
            overflow: Some(-8.34e4),
            inf: Some(-8.34e4),
            ..Sightings::default()
        };
        op(
            &mut chains,
            2,
            ("fwd.dense2.matmul", MATMUL, value),
            &[&t(&[1000.0]), &weight.clone()],
            &output,
            overflow,
        );
        assert!(!chains.active());
        let chain = chains.chain().expect("a chain");
        assert_eq!(
            events(chain),
            [
                (1, "opt.adam.v", LinkEvent::Underflow),
                (1, "opt.adam.denominator", LinkEvent::Constant),
                (1, "opt.update", LinkEvent::Update),
                (2, "fwd.dense2.matmul", LinkEvent::Overflow),
            ]
        );
        assert_eq!(chain.links[1].constant.as_deref(), Some("adam_eps"));
        assert_eq!(chain.links[2].value, f16::from_f64(83.9).to_f64());
        assert_eq!(
            chain.text(),
            "opt.adam.v underflow (step 1) → opt.adam.denominator = adam_eps = 1.19e-7 → opt.update |Δ| = 83.9 → fwd.dense2.matmul overflow (step 2)"
        );
        // The eps changed the one sum it entered (0 + eps ≠ 0).
        assert_eq!(chains.uses()[0].evaluated, 1);
        assert_eq!(chains.uses()[0].changed, 1);
    }

    /// An underflow whose zero is added away never becomes an origin: the overflow after it
    /// stands alone.
    #[test]
    fn an_underflow_nothing_divides_by_is_no_origin() {
        let mut chains = recorder();
        let value = Role::Value;
        let flushed = t(&[0.0, 1.0]);
        let underflow = Sightings {
            underflow: Some(1e-9),
            ..Sightings::default()
        };
        op(
            &mut chains,
            1,
            ("fwd.dense1.matmul", MATMUL, value),
            &[&t(&[1e-5]), &t(&[1e-4, 1.0])],
            &flushed,
            underflow,
        );
        let shifted = t(&[1.0, 2.0]);
        op(
            &mut chains,
            1,
            ("fwd.dense1.bias", ADD, value),
            &[&flushed, &t(&[1.0, 1.0])],
            &shifted,
            Sightings::default(),
        );
        let output = t(&[f64::INFINITY, 1.0]);
        let overflow = Sightings {
            overflow: Some(7e4),
            ..Sightings::default()
        };
        op(
            &mut chains,
            1,
            ("loss.square", MUL, value),
            &[&shifted, &t(&[7e4, 1.0])],
            &output,
            overflow,
        );
        assert_eq!(
            events(chains.chain().expect("a chain")),
            [(1, "loss.square", LinkEvent::Overflow)]
        );
    }

    /// A division by the subnormal eps whose update stays small ends its chain at the step's
    /// end: a later overflow is not blamed on it. Without an inf, a lane that never exploded
    /// has no chain.
    #[test]
    fn a_small_update_ends_a_chain() {
        let mut chains = recorder();
        let value = Role::Value;
        let ratio = t(&[0.84]);
        op(
            &mut chains,
            1,
            ("opt.adam.ratio", DIV, value),
            &[&t(&[1e-7]), &t(&[ADAM_EPS])],
            &ratio,
            Sightings::default(),
        );
        let step = t(&[0.0084]);
        op(
            &mut chains,
            1,
            ("opt.adam.step", MUL, value),
            &[&t(&[0.01]), &ratio],
            &step,
            Sightings::default(),
        );
        let weight = t(&[0.4916]);
        op(
            &mut chains,
            1,
            ("opt.update", SUB, Role::Update),
            &[&t(&[0.5]), &step],
            &weight,
            Sightings::default(),
        );
        assert!(chains.chain().is_none(), "no explosion, no inf");
        let output = t(&[f64::INFINITY]);
        let overflow = Sightings {
            overflow: Some(1e5),
            ..Sightings::default()
        };
        op(
            &mut chains,
            2,
            ("fwd.dense1.matmul", MATMUL, value),
            &[&t(&[3e5]), &weight],
            &output,
            overflow,
        );
        assert_eq!(
            events(chains.chain().expect("a chain")),
            [(2, "fwd.dense1.matmul", LinkEvent::Overflow)]
        );
    }

    /// A division by a constant that is zero is a confirmed link of its own, and the division
    /// by zero ends the chain.
    #[test]
    fn a_zero_constant_as_divisor_is_a_link() {
        let mut chains = ChainRecorder::new(vec![NamedConstant {
            name: "eps".into(),
            phase: "loss",
            value: 0.0,
        }]);
        let output = t(&[f64::INFINITY]);
        let seen = Sightings {
            div_by_zero: Some(0.5),
            inf: Some(f64::INFINITY),
            ..Sightings::default()
        };
        op(
            &mut chains,
            3,
            ("loss.div", DIV, Role::Value),
            &[&t(&[0.5]), &t(&[0.0])],
            &output,
            seen,
        );
        let chain = chains.chain().expect("a chain");
        assert_eq!(
            events(chain),
            [
                (3, "loss.div", LinkEvent::DividesByConstant),
                (3, "loss.div", LinkEvent::DivByZero)
            ]
        );
        assert_eq!(chain.links[1].value, 0.5, "the dividend");
    }
}
