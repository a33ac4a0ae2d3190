//! An expression as a list of ops in evaluation order, and its derivative with respect to the
//! prediction `p`, derived symbolically once when the loss is built (never by finite
//! differences) and held as a second list of ops. Both lists run through a [`Engine`], so every
//! node is an audited op with a stable name: `loss.n3.div` forward, `bwd.loss.n3.div` backward.
//!
//! Conventions where the derivative is not defined: d|x|/dx at 0 is 0 (TensorFlow, PyTorch);
//! `max` and `min` pass the gradient to the first argument on ties (and when either is NaN);
//! d√x/dx at 0 is 1/0 = inf, as IEEE 754 says.

use std::collections::HashMap;

use super::parse::{Ast, Function, Operator};
use crate::format::{Decimal, Scalar};
use crate::kernel::{Activation, Binary, Engine, Extremum, OpKind, Tensor, Unary};

/// A constant leaf of the expression: a named constant or a literal, held exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The constant's name (`eps`, `delta`); `None` for a literal.
    pub name: Option<String>,
    /// Its exact value.
    pub value: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Target,
    Prediction,
    Constant(usize),
    Unary(Unary, usize),
    Binary(Binary, usize, usize),
    /// x^n evaluated as x^(n−1) × x, where `lower` is the node of x^(n−1) (x itself for n = 2).
    Power {
        base: usize,
        lower: usize,
        n: u32,
    },
}

/// Where a backward op finds an input.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Operand {
    Forward(usize),
    Backward(usize),
    /// A small integer, exact in every format it is used in (0, 1, 2, an exponent).
    Integer(u32),
}

/// The derivative of a node with respect to `p`, simplified where it is 0 or 1 so that no op
/// multiplies by one or adds zero.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Derivative {
    Zero,
    One,
    Of(Operand),
}

#[derive(Clone, Debug, PartialEq)]
struct BackwardOp {
    name: String,
    kind: OpKind,
    inputs: Vec<Operand>,
}

/// An expression in `y` and `p` with its derivative.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    nodes: Vec<Node>,
    names: Vec<String>,
    slots: Vec<Slot>,
    backward: Vec<BackwardOp>,
    gradient: Derivative,
}

/// Where a named constant guards the expression: inside a denominator or under a log, where
/// its value decides whether the loss and its gradient stay finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Guard {
    /// The constant's name.
    pub constant: String,
    /// A denominator or the argument of a log.
    pub kind: GuardKind,
    /// The node of the denominator or the log's argument (the first one the constant is in).
    pub node: usize,
    /// That node's op name (`loss.denominator`, `loss.n6.add`); empty when it is the constant
    /// itself.
    pub op: String,
    /// Whether the prediction `p` appears in some guarded node of this constant (then the
    /// derivative holds a quotient by its square, e.g. |p − y| / (|y| + |p| + eps)²).
    pub with_prediction: bool,
    /// Whether the first guarded node depends on `y` and constants only, so that it can be
    /// evaluated on the targets before training.
    pub target_only: bool,
    /// Whether the constant is added to the rest of the guarded value (`|y| + eps`,
    /// `max(|y|, eps)`, `1 − σ(p) + eps`: reached through `+`, `−` and `max` only), rather than
    /// dividing by itself alone (`(p − y) / delta`).
    pub additive: bool,
}

crate::named_enum! {
    /// How a constant guards an expression.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum GuardKind {
        /// In the denominator of a division.
        Denominator = "denominator",
        /// In the argument of `log` or `log1p`.
        Logarithm = "log",
    }
}

/// The values of every node of one forward evaluation.
#[derive(Clone, Debug)]
pub struct Values<S>(Vec<Tensor<S>>);

impl<S> Values<S> {
    /// The value of the whole expression (the last node).
    pub fn root(&self) -> &Tensor<S> {
        self.0.last().expect("an expression has a node")
    }

    /// The value of node `index`.
    pub fn node(&self, index: usize) -> &Tensor<S> {
        &self.0[index]
    }
}

impl Graph {
    /// Lowers `ast` to ops; named constants take their values from `constant`. `renames` maps
    /// generated op names (`loss.n3.sub`) to the names a preset keeps (`loss.sub`).
    pub(crate) fn new(
        ast: &Ast,
        constant: &dyn Fn(&str) -> Option<Decimal>,
        renames: &[(&str, &str)],
    ) -> Graph {
        let mut graph = Graph {
            nodes: Vec::new(),
            names: Vec::new(),
            slots: Vec::new(),
            backward: Vec::new(),
            gradient: Derivative::Zero,
        };
        let root = graph.lower(ast, constant);
        let mut memo = HashMap::new();
        graph.gradient = graph.derive(root, &mut memo);
        let renames: HashMap<&str, &str> = renames.iter().copied().collect();
        let rename = |name: &mut String| {
            if let Some(kept) = renames.get(name.as_str()) {
                *name = (*kept).to_string();
            }
        };
        graph.names.iter_mut().for_each(rename);
        graph
            .backward
            .iter_mut()
            .for_each(|op| rename(&mut op.name));
        graph
    }

    /// Whether `y` appears.
    pub fn has_target(&self) -> bool {
        self.nodes.contains(&Node::Target)
    }

    /// Whether `p` appears.
    pub fn has_prediction(&self) -> bool {
        self.nodes.contains(&Node::Prediction)
    }

    /// The constant leaves, in the order they were written.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The named constants that guard a denominator or a log, found by walking the graph: one
    /// entry per constant, in the order the constants were written, a denominator before a log.
    pub fn guards(&self) -> Vec<Guard> {
        let mut guards: Vec<Guard> = Vec::new();
        for node in &self.nodes {
            let (kind, guarded) = match *node {
                Node::Binary(Binary::Div, _, b) => (GuardKind::Denominator, b),
                Node::Unary(Unary::Ln | Unary::Ln1p, x) => (GuardKind::Logarithm, x),
                _ => continue,
            };
            let leaves = self.leaves(guarded);
            let with_prediction = leaves.contains(&Node::Prediction);
            for leaf in &leaves {
                let Node::Constant(slot) = leaf else { continue };
                let Some(name) = self.slots[*slot].name.clone() else {
                    continue;
                };
                match guards.iter_mut().find(|g| g.constant == name) {
                    Some(guard) => {
                        guard.with_prediction |= with_prediction && kind == guard.kind;
                    }
                    None => guards.push(Guard {
                        constant: name,
                        kind,
                        node: guarded,
                        op: self.names[guarded].clone(),
                        with_prediction,
                        target_only: !with_prediction,
                        additive: self.added(guarded, *slot),
                    }),
                }
            }
        }
        let order = |g: &Guard| {
            self.slots
                .iter()
                .position(|s| s.name.as_ref() == Some(&g.constant))
        };
        guards.sort_by_key(|g| (order(g), g.kind == GuardKind::Logarithm));
        guards
    }

    /// Whether the constant `slot` is a term of a sum, difference or maximum at `node` (through
    /// nested ones), next to something else.
    fn added(&self, node: usize, slot: usize) -> bool {
        match &self.nodes[node] {
            Node::Binary(Binary::Add | Binary::Sub | Binary::Max, a, b) => [*a, *b]
                .iter()
                .any(|&child| self.nodes[child] == Node::Constant(slot) || self.added(child, slot)),
            _ => false,
        }
    }

    /// The leaves (y, p, constants) of the subexpression at `node`.
    fn leaves(&self, node: usize) -> Vec<Node> {
        match &self.nodes[node] {
            leaf @ (Node::Target | Node::Prediction | Node::Constant(_)) => vec![leaf.clone()],
            Node::Unary(_, x) => self.leaves(*x),
            Node::Binary(_, a, b) => {
                let mut leaves = self.leaves(*a);
                leaves.extend(self.leaves(*b));
                leaves
            }
            Node::Power { base, .. } => self.leaves(*base),
        }
    }

    /// The names of the forward ops, in evaluation order.
    pub fn forward_names(&self) -> impl Iterator<Item = &str> {
        self.names
            .iter()
            .filter(|n| !n.is_empty())
            .map(String::as_str)
    }

    /// The names of the backward ops, in evaluation order.
    pub fn backward_names(&self) -> impl Iterator<Item = &str> {
        self.backward.iter().map(|op| op.name.as_str())
    }

    fn push(&mut self, node: Node, what: &str) -> usize {
        let index = self.nodes.len();
        self.names.push(if what.is_empty() {
            String::new()
        } else {
            format!("loss.n{index}.{what}")
        });
        self.nodes.push(node);
        index
    }

    fn slot(&mut self, name: Option<String>, value: Decimal) -> usize {
        let index = match self
            .slots
            .iter()
            .position(|s| name.is_some() && s.name == name)
        {
            Some(index) => index,
            None => {
                self.slots.push(Slot { name, value });
                self.slots.len() - 1
            }
        };
        self.push(Node::Constant(index), "")
    }

    fn literal(&mut self, text: &str) -> usize {
        let value = text.parse().expect("a literal the tool writes is a number");
        self.slot(None, value)
    }

    fn lower(&mut self, ast: &Ast, constant: &dyn Fn(&str) -> Option<Decimal>) -> usize {
        match ast {
            Ast::Target => self.push(Node::Target, ""),
            Ast::Prediction => self.push(Node::Prediction, ""),
            Ast::Literal(value) => self.slot(None, value.clone()),
            Ast::Named(name) => {
                let value = constant(name).expect("the parser admits known constants only");
                self.slot(Some(name.clone()), value)
            }
            Ast::Neg(x) => {
                let x = self.lower(x, constant);
                self.push(Node::Unary(Unary::Neg, x), "neg")
            }
            Ast::Binary(operator, a, b) => {
                let (a, b) = (self.lower(a, constant), self.lower(b, constant));
                let (op, what) = match operator {
                    Operator::Add => (Binary::Add, "add"),
                    Operator::Sub => (Binary::Sub, "sub"),
                    Operator::Mul => (Binary::Mul, "mul"),
                    Operator::Div => (Binary::Div, "div"),
                };
                self.push(Node::Binary(op, a, b), what)
            }
            Ast::Power(x, n) => match n {
                0 => self.literal("1"),
                1 => self.lower(x, constant),
                n if *n < 0 => {
                    let one = self.literal("1");
                    let power = self.lower(&Ast::Power(x.clone(), -n), constant);
                    self.push(Node::Binary(Binary::Div, one, power), "div")
                }
                n => {
                    let base = self.lower(x, constant);
                    let mut lower = base;
                    for k in 2..=n.unsigned_abs() {
                        lower = self.push(Node::Power { base, lower, n: k }, "pow");
                    }
                    lower
                }
            },
            Ast::Call(function, args) => {
                let args: Vec<usize> = args.iter().map(|a| self.lower(a, constant)).collect();
                let unary = |op| Node::Unary(op, args[0]);
                let node = match function {
                    Function::Abs => unary(Unary::Abs),
                    Function::Sqrt => unary(Unary::Sqrt),
                    Function::Exp => unary(Unary::Exp),
                    Function::Log => unary(Unary::Ln),
                    Function::Log1p => unary(Unary::Ln1p),
                    Function::Tanh => unary(Unary::Activation(Activation::Tanh)),
                    Function::Sigmoid => unary(Unary::Activation(Activation::Sigmoid)),
                    Function::Max => Node::Binary(Binary::Max, args[0], args[1]),
                    Function::Min => Node::Binary(Binary::Min, args[0], args[1]),
                };
                self.push(node, function.name())
            }
        }
    }

    fn emit(&mut self, node: usize, part: &str, kind: OpKind, inputs: Vec<Operand>) -> Operand {
        self.backward.push(BackwardOp {
            name: format!("bwd.loss.n{node}.{part}"),
            kind,
            inputs,
        });
        Operand::Backward(self.backward.len() - 1)
    }

    /// `local` × `d`, the chain rule, without multiplying by one.
    fn chain(&mut self, node: usize, local: Operand, d: Derivative) -> Derivative {
        match d {
            Derivative::Zero => Derivative::Zero,
            Derivative::One => Derivative::Of(local),
            Derivative::Of(d) => Derivative::Of(self.emit(
                node,
                "chain",
                OpKind::Binary(Binary::Mul),
                vec![local, d],
            )),
        }
    }

    /// d(node)/dp, with the ops it needs appended (children first); each node once.
    fn derive(&mut self, node: usize, memo: &mut HashMap<usize, Derivative>) -> Derivative {
        if let Some(d) = memo.get(&node) {
            return *d;
        }
        use Derivative::{One, Zero};
        use Operand::{Forward, Integer};
        let mul = OpKind::Binary(Binary::Mul);
        let div = OpKind::Binary(Binary::Div);
        let d = match self.nodes[node].clone() {
            Node::Target | Node::Constant(_) => Zero,
            Node::Prediction => One,
            Node::Unary(op, x) => match self.derive(x, memo) {
                Zero => Zero,
                dx => match op {
                    Unary::Neg => {
                        let negated =
                            self.emit(node, "neg", OpKind::Unary(Unary::Neg), vec![operand(dx)]);
                        Derivative::Of(negated)
                    }
                    Unary::Abs => {
                        let sign =
                            self.emit(node, "sign", OpKind::Unary(Unary::Sign), vec![Forward(x)]);
                        self.chain(node, sign, dx)
                    }
                    Unary::Sqrt => {
                        let double =
                            self.emit(node, "double", mul, vec![Forward(node), Integer(2)]);
                        Derivative::Of(self.emit(node, "div", div, vec![operand(dx), double]))
                    }
                    Unary::Exp => self.chain(node, Forward(node), dx),
                    Unary::Ln => {
                        Derivative::Of(self.emit(node, "div", div, vec![operand(dx), Forward(x)]))
                    }
                    Unary::Ln1p => {
                        let add = OpKind::Binary(Binary::Add);
                        let one_plus =
                            self.emit(node, "one_plus", add, vec![Integer(1), Forward(x)]);
                        Derivative::Of(self.emit(node, "div", div, vec![operand(dx), one_plus]))
                    }
                    Unary::Activation(Activation::Tanh) => {
                        let square =
                            self.emit(node, "square", mul, vec![Forward(node), Forward(node)]);
                        let sub = OpKind::Binary(Binary::Sub);
                        let slope = self.emit(node, "one_minus", sub, vec![Integer(1), square]);
                        self.chain(node, slope, dx)
                    }
                    Unary::Activation(Activation::Sigmoid) => {
                        let sub = OpKind::Binary(Binary::Sub);
                        let one_minus =
                            self.emit(node, "one_minus", sub, vec![Integer(1), Forward(node)]);
                        let slope = self.emit(node, "slope", mul, vec![Forward(node), one_minus]);
                        self.chain(node, slope, dx)
                    }
                    Unary::Sign | Unary::Activation(_) => {
                        unreachable!("the language has no {op:?}")
                    }
                },
            },
            Node::Power { base, lower, n } => {
                let dx = self.derive(base, memo);
                if dx == Zero {
                    Zero
                } else {
                    let scale = self.emit(node, "scale", mul, vec![Forward(lower), Integer(n)]);
                    self.chain(node, scale, dx)
                }
            }
            Node::Binary(op, a, b) => {
                let (da, db) = (self.derive(a, memo), self.derive(b, memo));
                self.derive_binary(node, op, (a, da), (b, db))
            }
        };
        memo.insert(node, d);
        d
    }

    fn derive_binary(
        &mut self,
        node: usize,
        op: Binary,
        (a, da): (usize, Derivative),
        (b, db): (usize, Derivative),
    ) -> Derivative {
        use Derivative::{One, Zero};
        use Operand::Forward;
        let kind = OpKind::Binary;
        let of = Derivative::Of;
        match (op, da, db) {
            (_, Zero, Zero) => Zero,
            (Binary::Add | Binary::Sub, d, Zero) | (Binary::Add, Zero, d) => d,
            (Binary::Sub, Zero, d) => {
                of(self.emit(node, "neg", OpKind::Unary(Unary::Neg), vec![operand(d)]))
            }
            (Binary::Add | Binary::Sub, da, db) => {
                let part = if op == Binary::Add { "add" } else { "sub" };
                of(self.emit(node, part, kind(op), vec![operand(da), operand(db)]))
            }
            (Binary::Mul, da, db) => {
                let left = match da {
                    Zero => None,
                    One => Some(Forward(b)),
                    _ => Some(self.emit(
                        node,
                        "left",
                        kind(Binary::Mul),
                        vec![operand(da), Forward(b)],
                    )),
                };
                let right = match db {
                    Zero => None,
                    One => Some(Forward(a)),
                    _ => Some(self.emit(
                        node,
                        "right",
                        kind(Binary::Mul),
                        vec![Forward(a), operand(db)],
                    )),
                };
                match (left, right) {
                    (Some(l), Some(r)) => of(self.emit(node, "add", kind(Binary::Add), vec![l, r])),
                    (Some(term), None) | (None, Some(term)) => of(term),
                    (None, None) => Zero,
                }
            }
            (Binary::Div, da, Zero) => of(self.emit(
                node,
                "div",
                kind(Binary::Div),
                vec![operand(da), Forward(b)],
            )),
            (Binary::Div, da, db) => {
                // (a/b)' = (a' − q·b') / b with q = a/b, the node's own value.
                let q_db = match db {
                    One => Forward(node),
                    _ => self.emit(
                        node,
                        "quotient",
                        kind(Binary::Mul),
                        vec![Forward(node), operand(db)],
                    ),
                };
                let numerator = match da {
                    Zero => self.emit(node, "neg", OpKind::Unary(Unary::Neg), vec![q_db]),
                    _ => self.emit(node, "sub", kind(Binary::Sub), vec![operand(da), q_db]),
                };
                of(self.emit(node, "div", kind(Binary::Div), vec![numerator, Forward(b)]))
            }
            (Binary::Max | Binary::Min, da, db) => {
                let extremum = if op == Binary::Max {
                    Extremum::Max
                } else {
                    Extremum::Min
                };
                let inputs = vec![Forward(a), Forward(b), operand(da), operand(db)];
                of(self.emit(node, "select", OpKind::Select(extremum), inputs))
            }
        }
    }

    /// Evaluates every node on `prediction` and `target`; `constants` are the slots rounded
    /// into `S` (1 × 1 each), in slot order.
    pub fn forward<S: Scalar>(
        &self,
        engine: &mut Engine<'_, S>,
        prediction: &Tensor<S>,
        target: &Tensor<S>,
        constants: &[Tensor<S>],
    ) -> Values<S> {
        let mut values: Vec<Tensor<S>> = Vec::with_capacity(self.nodes.len());
        for (node, name) in self.nodes.iter().zip(&self.names) {
            let value = match *node {
                Node::Target => target.clone(),
                Node::Prediction => prediction.clone(),
                Node::Constant(slot) => constants[slot].clone(),
                Node::Unary(op, x) => engine.unary(name, op, &values[x]),
                Node::Binary(op, a, b) => engine.binary(name, op, &values[a], &values[b]),
                Node::Power { base, lower, .. } => {
                    engine.binary(name, Binary::Mul, &values[lower], &values[base])
                }
            };
            values.push(value);
        }
        Values(values)
    }

    /// d(expression)/dp elementwise, from the values of a forward evaluation; `None` where it
    /// is exactly 1 (no op computes it). A derivative that depends on constants only is 1 × 1.
    pub fn backward<S: Scalar>(
        &self,
        engine: &mut Engine<'_, S>,
        values: &Values<S>,
    ) -> Option<Tensor<S>> {
        let mut results: Vec<Tensor<S>> = Vec::with_capacity(self.backward.len());
        // Integers are made in the format of the op that takes them.
        let integer =
            |k: u32, ctx: &S::Context| Tensor::from_elem((1, 1), S::from_f64(f64::from(k), ctx));
        for op in &self.backward {
            let ctx = engine.ctx_for(&op.name);
            let integers: Vec<Option<Tensor<S>>> = op
                .inputs
                .iter()
                .map(|input| match input {
                    Operand::Integer(k) => Some(integer(*k, &ctx)),
                    _ => None,
                })
                .collect();
            let inputs: Vec<&Tensor<S>> = op
                .inputs
                .iter()
                .zip(&integers)
                .map(|(input, integer)| match input {
                    Operand::Forward(node) => &values.0[*node],
                    Operand::Backward(k) => &results[*k],
                    Operand::Integer(_) => integer.as_ref().expect("made above"),
                })
                .collect();
            let result = engine.op(&op.name, op.kind, &inputs);
            results.push(result);
        }
        let ctx = engine.ctx_for(crate::model::LOSS_GRAD);
        match self.gradient {
            Derivative::One => None,
            Derivative::Zero => Some(integer(0, &ctx)),
            Derivative::Of(Operand::Forward(node)) => Some(values.0[node].clone()),
            Derivative::Of(Operand::Backward(k)) => Some(results.swap_remove(k)),
            Derivative::Of(Operand::Integer(k)) => Some(integer(k, &ctx)),
        }
    }
}

fn operand(d: Derivative) -> Operand {
    match d {
        Derivative::Zero => Operand::Integer(0),
        Derivative::One => Operand::Integer(1),
        Derivative::Of(x) => x,
    }
}
