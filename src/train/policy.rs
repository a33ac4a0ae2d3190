//! Precision policies: where each tensor of a training step lives. A lane is a number format
//! trained under a policy.

use std::fmt;

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
    }
}

/// One lane of an audit: a format trained under a policy, named `f16` (pure) or `mixed-f16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaneSpec {
    /// The format the network computes in.
    pub format: Format,
    /// Where the rest lives.
    pub policy: Policy,
}

impl LaneSpec {
    /// A pure lane.
    pub fn pure(format: Format) -> LaneSpec {
        LaneSpec {
            format,
            policy: Policy::Pure,
        }
    }

    /// The format of master weights, optimizer state, the loss and the constants.
    pub fn master(self) -> Format {
        match self.policy {
            Policy::Pure => self.format,
            Policy::Mixed => Format::F32,
        }
    }

    /// Parses a lane as `--formats` takes it: `mixed-f16` is mixed whatever `--policy` says;
    /// a bare `f16` or `bf16` takes the policy of `--policy`; f32 and f64 are pure (their
    /// master format would be their own).
    pub fn parse(text: &str, policy: Policy) -> Result<LaneSpec, Error> {
        let text = text.trim();
        let (format, policy, explicit) = match text.strip_prefix("mixed-") {
            Some(format) => (format, Policy::Mixed, true),
            None => (text, policy, false),
        };
        let format: Format = format.parse().map_err(|_| Error::InvalidFlag {
            flag: "--formats".into(),
            message: format!(
                "unknown lane `{text}`: expected f16, bf16, f32, f64, tf32, e5m2, e4m3, e3m2, \
                 e2m3, e2m1, mixed-f16 or mixed-bf16"
            ),
        })?;
        let half = matches!(format, Format::F16 | Format::Bf16);
        if policy == Policy::Mixed && !half && !explicit {
            return Ok(LaneSpec::pure(format));
        }
        if policy == Policy::Mixed && !half {
            return Err(Error::InvalidFlag {
                flag: "--formats".into(),
                message: format!(
                    "a mixed lane computes in f16 or bf16 with f32 master weights; `{text}` \
                     would be {format} throughout (use {format})"
                ),
            });
        }
        Ok(LaneSpec { format, policy })
    }
}

impl From<Format> for LaneSpec {
    fn from(format: Format) -> LaneSpec {
        LaneSpec::pure(format)
    }
}

impl fmt::Display for LaneSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.policy {
            Policy::Pure => write!(f, "{}", self.format),
            Policy::Mixed => write!(f, "mixed-{}", self.format),
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
    }
}
