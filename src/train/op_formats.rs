//! Per-op precision policies: which format each op of a training step runs and stores its
//! result in, by op-name patterns (`loss.*` → f32), over a lane's own format. What `--blame`
//! promotes, and what mixed precision is a special case of (a test shows the `mixed` preset
//! gives the same bits as its rules).
//!
//! Values that are not the output of an op are made in the format of a name of their own, so
//! that the same patterns place them:
//!
//! | value | made in the format of |
//! |---|---|
//! | the data set's features | `data.features` |
//! | the targets | `loss.targets` |
//! | the loss's constants (`eps`, …) | `loss.constants` |
//! | the optimizer's constants (learning rate, betas, Adam eps) and state | `opt.constants` |
//! | the initial weights | `opt.update` (the op that writes them afterwards) |
//! | dropout multipliers | `fwd.dropout` |

use std::fmt;

use crate::format::{Format, Held};
use crate::kernel::OpPrecision;

/// The name the features are made under.
pub const FEATURES: &str = "data.features";
/// The name the targets are made under.
pub const TARGETS: &str = "loss.targets";
/// The name the loss's constants are made under.
pub const LOSS_CONSTANTS: &str = "loss.constants";
/// The name the optimizer's constants and state are made under.
pub const OPT_CONSTANTS: &str = "opt.constants";
/// The name dropout multipliers are made under.
pub const DROPOUT: &str = "fwd.dropout";

/// A pattern over op names: `*` stands for any run of characters (`loss.*`, `*.matmul`,
/// `fwd.dense1.*`); anything else must match exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpPattern(String);

impl OpPattern {
    /// The pattern as written.
    pub fn new(text: &str) -> OpPattern {
        OpPattern(text.to_string())
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

/// A lane's format with rules that place some ops in other formats: the first rule whose
/// pattern matches an op's name gives its format; ops no rule matches run in `base`.
#[derive(Clone, Debug, PartialEq)]
pub struct OpFormats {
    /// The lane's own format.
    pub base: Format,
    /// (pattern, format), first match wins.
    pub rules: Vec<(OpPattern, Format)>,
}

impl OpFormats {
    /// Every op in `base`.
    pub fn pure(base: Format) -> OpFormats {
        OpFormats {
            base,
            rules: Vec::new(),
        }
    }

    /// The rules of mixed precision as Keras and PyTorch autocast run it (without loss
    /// scaling): the loss, its gradient and the optimizer (with the weights it writes) in f32.
    pub fn mixed(base: Format) -> OpFormats {
        OpFormats::pure(base).with(&["loss.*", "bwd.loss.*", "opt.*"], Format::F32)
    }

    /// These rules added after the existing ones: `patterns` in `format`.
    pub fn with(mut self, patterns: &[&str], format: Format) -> OpFormats {
        self.rules
            .extend(patterns.iter().map(|p| (OpPattern::new(p), format)));
        self
    }

    /// The format of the op (or made value) `name`.
    pub fn format_of(&self, name: &str) -> Format {
        self.rules
            .iter()
            .find(|(pattern, _)| pattern.matches(name))
            .map_or(self.base, |&(_, format)| format)
    }
}

impl OpPrecision<Held> for OpFormats {
    fn context(&self, name: &str) -> Format {
        self.format_of(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names() {
        let p = |text: &str, name: &str| OpPattern::new(text).matches(name);
        assert!(p("loss.*", "loss.square"));
        assert!(!p("loss.*", "bwd.loss.mean"));
        assert!(p("*.matmul", "fwd.dense2.matmul"));
        assert!(p("fwd.dense1.*", "fwd.dense1.bias"));
        assert!(!p("fwd.dense1.*", "fwd.dense10.bias"));
        assert!(p("opt.update", "opt.update"));
        assert!(!p("opt.update", "opt.update2"));
        assert!(p("*", "anything"));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let formats = OpFormats::pure(Format::F16)
            .with(&["opt.update"], Format::F64)
            .with(&["opt.*"], Format::F32);
        assert_eq!(formats.format_of("opt.update"), Format::F64);
        assert_eq!(formats.format_of("opt.adam.v"), Format::F32);
        assert_eq!(formats.format_of("fwd.dense1.matmul"), Format::F16);
        assert_eq!(
            OpFormats::mixed(Format::Bf16).format_of(TARGETS),
            Format::F32
        );
        assert_eq!(
            OpFormats::mixed(Format::Bf16).format_of(FEATURES),
            Format::Bf16
        );
    }
}
