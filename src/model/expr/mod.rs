//! Losses as expressions in the target `y` and the prediction `p`: the language
//! ([`parse`]), and its lowering to named ops with a symbolically derived gradient ([`graph`]).

pub mod graph;
pub mod parse;

pub use graph::{Graph, Guard, GuardKind, Slot, Values};
pub use parse::{Ast, Function, MAX_EXPONENT, ParseError, parse};
