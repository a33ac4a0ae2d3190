//! Precision policies: where each tensor of a training step lives. A lane is a number format
//! trained under a policy.

use std::fmt;

use super::Recipe;
use crate::error::Error;
use crate::format::Format;

crate::named_enum! {
    /// Where the tensors of a step live (`--policy`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Policy: parsed from "--policy" as "policy" {
        /// Everything in the lane's format: weights, optimizer state, loss and gradients.
        Pure = "pure",
        /// As Keras `mixed_float16`/`mixed_bfloat16` and PyTorch autocast: f32 master weights,
        /// optimizer state, loss and its gradient; matmuls and activations, forward and
        /// backward, in the lane's format.
        Mixed = "mixed",
        /// Pure, except the op groups of `--promote` (and the values made under their names),
        /// computed and stored in the next wider format: f32 for formats narrower than f32, f64
        /// for f32 and tf32. What `--blame` searches for, applied.
        Promoted = "promoted",
    }
}

/// The format a promoted lane of `format` promotes to: f32 for formats narrower than f32, f64
/// for f32 and tf32; `None` for f64.
pub fn promoted_to(format: Format) -> Option<Format> {
    let precision = format.spec().precision;
    if precision < 24 && format != Format::Tf32 {
        Some(Format::F32)
    } else if precision < 53 {
        Some(Format::F64)
    } else {
        None
    }
}

/// One lane of an audit: a format trained under a policy, named `f16` (pure) or `mixed-f16`,
/// or a scaled low-precision recipe (`fp8-tensor`, `mxfp8-e4m3`): f32 with quantized matmul
/// operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaneSpec {
    /// The format the network computes in.
    pub format: Format,
    /// Where the rest lives.
    pub policy: Policy,
    /// The recipe that quantizes the matmuls' operands, for a recipe lane (whose format is
    /// [`Recipe::COMPUTE`] and policy pure).
    pub recipe: Option<Recipe>,
}

impl LaneSpec {
    /// A pure lane.
    pub fn pure(format: Format) -> LaneSpec {
        LaneSpec {
            format,
            policy: Policy::Pure,
            recipe: None,
        }
    }

    /// The lane of a scaled low-precision recipe.
    pub fn recipe(recipe: Recipe) -> LaneSpec {
        LaneSpec {
            recipe: Some(recipe),
            ..LaneSpec::pure(Recipe::COMPUTE)
        }
    }

    /// The format of master weights, optimizer state, the loss and the constants (for a
    /// promoted lane, of those `--promote` does not move).
    pub fn master(self) -> Format {
        match self.policy {
            Policy::Pure | Policy::Promoted => self.format,
            Policy::Mixed => Format::F32,
        }
    }

    /// Parses a lane as `--formats` takes it: `mixed-f16` is mixed and `promoted-f16` promoted
    /// whatever `--policy` says; a bare lane takes the policy of `--policy` where it applies
    /// (mixed: f16 and bf16; promoted: formats narrower than f64) and is pure otherwise.
    pub fn parse(text: &str, policy: Policy) -> Result<LaneSpec, Error> {
        let text = text.trim();
        if let Some(recipe) = Recipe::from_name(text) {
            return Ok(LaneSpec::recipe(recipe));
        }
        let (format, policy, explicit) =
            match (text.strip_prefix("mixed-"), text.strip_prefix("promoted-")) {
                (Some(format), _) => (format, Policy::Mixed, true),
                (_, Some(format)) => (format, Policy::Promoted, true),
                _ => (text, policy, false),
            };
        let format =
            crate::format::custom::parse_lane(format)?.ok_or_else(|| Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!(
                    "unknown lane `{text}`: expected f16, bf16, f32, f64, tf32, e5m2, e4m3, e3m2, \
                 e2m3, e2m1, any eXmY (e5m7), a format with an overflow rule (e4m3-saturate), \
                 mixed-f16, mixed-bf16, promoted-<format> or a recipe: {}",
                    crate::names::one_of(&Recipe::ALL.map(Recipe::name))
                ),
            })?;
        let applies = match policy {
            Policy::Pure => true,
            Policy::Mixed => matches!(format, Format::F16 | Format::Bf16),
            Policy::Promoted => promoted_to(format).is_some(),
        };
        match (applies, explicit) {
            (true, _) => Ok(LaneSpec {
                format,
                policy,
                recipe: None,
            }),
            (false, false) => Ok(LaneSpec::pure(format)),
            (false, true) if policy == Policy::Mixed => Err(Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!(
                    "a mixed lane computes in f16 or bf16 with f32 master weights; `{text}` \
                     would be {format} throughout (use {format})"
                ),
            }),
            (false, true) => Err(Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!("`{text}`: there is no format wider than {format} to promote to"),
            }),
        }
    }
}

impl From<Format> for LaneSpec {
    fn from(format: Format) -> LaneSpec {
        LaneSpec::pure(format)
    }
}

impl fmt::Display for LaneSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(recipe) = self.recipe {
            return write!(f, "{recipe}");
        }
        match self.policy {
            Policy::Pure => write!(f, "{}", self.format),
            Policy::Mixed => write!(f, "mixed-{}", self.format),
            Policy::Promoted => write!(f, "promoted-{}", self.format),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_parse_and_print_alike() {
        for (text, policy, name) in [
            ("f16", Policy::Pure, "f16"),
            ("mixed-bf16", Policy::Pure, "mixed-bf16"),
            ("bf16", Policy::Mixed, "mixed-bf16"),
            ("f32", Policy::Mixed, "f32"),
            ("promoted-f32", Policy::Pure, "promoted-f32"),
            ("bf16", Policy::Promoted, "promoted-bf16"),
            ("f64", Policy::Promoted, "f64"),
            ("fp8-tensor", Policy::Mixed, "fp8-tensor"),
            ("mxfp8-e4m3", Policy::Pure, "mxfp8-e4m3"),
        ] {
            let lane = LaneSpec::parse(text, policy).unwrap();
            assert_eq!(lane.to_string(), name);
        }
        assert_eq!(
            LaneSpec::parse("mixed-f16", Policy::Pure).unwrap().master(),
            Format::F32
        );
    }

    #[test]
    fn mixed_lanes_compute_in_half_precision_only() {
        let error = LaneSpec::parse("mixed-f32", Policy::Pure)
            .unwrap_err()
            .to_string();
        assert!(error.contains("f16 or bf16"), "{error}");
        let error = LaneSpec::parse("f17", Policy::Pure)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown lane `f17`"), "{error}");
        let error = LaneSpec::parse("promoted-f64", Policy::Pure)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no format wider than f64"), "{error}");
    }
}
