//! Loss scaling for mixed-precision lanes: the loss gradient is multiplied by a scale before
//! the backward pass in the compute format, so that small gradients do not flush to zero, and
//! the parameter gradients are divided by it again before the optimizer.
//!
//! The dynamic scale follows PyTorch's `torch.amp.GradScaler` (`_amp_update_scale_`): the scale
//! is an f32; a step whose unscaled gradients hold any inf or NaN is skipped and the scale is
//! multiplied by `backoff_factor` (the growth tracker restarts at 0); otherwise the tracker
//! counts the step, and when it reaches `growth_interval` the scale is multiplied by
//! `growth_factor` — unless that product is not finite (as the CUDA kernel checks) — and the
//! tracker restarts. Keras' `LossScaleOptimizer` does the same with its own defaults (initial
//! 2^15, growth ×2 every 2000 finite steps, halving on a non-finite step).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The parameters of a dynamic loss scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dynamic {
    /// The first scale.
    pub init: f32,
    /// The factor applied after `growth_interval` consecutive finite steps.
    pub growth_factor: f32,
    /// The factor applied after a non-finite step.
    pub backoff_factor: f32,
    /// Consecutive finite steps before the scale grows.
    pub growth_interval: u32,
}

impl Dynamic {
    /// PyTorch `GradScaler`'s defaults.
    pub const PYTORCH: Dynamic = Dynamic {
        init: 65536.0,
        growth_factor: 2.0,
        backoff_factor: 0.5,
        growth_interval: 2000,
    };

    /// Keras `LossScaleOptimizer`'s defaults.
    pub const KERAS: Dynamic = Dynamic {
        init: 32768.0,
        growth_factor: 2.0,
        backoff_factor: 0.5,
        growth_interval: 2000,
    };
}

/// How a lane scales its loss (`--loss-scale`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossScaling {
    /// No scaling.
    None,
    /// A fixed scale; non-finite steps are not skipped.
    Static(f32),
    /// A scale that backs off on overflow and grows after a run of finite steps; non-finite
    /// steps are skipped. `keras` names Keras' preset, `dynamic` PyTorch's.
    Dynamic {
        /// The preset's name, as given (`dynamic` or `keras`).
        preset: &'static str,
        /// Its parameters, after any `--scale-*` overrides.
        parameters: Dynamic,
    },
}

impl fmt::Display for LossScaling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossScaling::None => f.write_str("none"),
            LossScaling::Static(scale) => write!(f, "static:{scale}"),
            LossScaling::Dynamic { preset, parameters } => write!(
                f,
                "{preset}(init {}, growth {} every {}, backoff {})",
                parameters.init,
                parameters.growth_factor,
                parameters.growth_interval,
                parameters.backoff_factor
            ),
        }
    }
}

impl FromStr for LossScaling {
    type Err = Error;

    /// `none`, `static:S`, `dynamic` (PyTorch's defaults) or `keras`.
    fn from_str(text: &str) -> Result<LossScaling, Error> {
        let invalid = |message: String| Error::InvalidFlag {
            flag: "--loss-scale".into(),
            message,
        };
        match text {
            "none" => Ok(LossScaling::None),
            "dynamic" => Ok(LossScaling::Dynamic {
                preset: "dynamic",
                parameters: Dynamic::PYTORCH,
            }),
            "keras" => Ok(LossScaling::Dynamic {
                preset: "keras",
                parameters: Dynamic::KERAS,
            }),
            _ => match text.strip_prefix("static:").map(str::parse::<f32>) {
                Some(Ok(scale)) if scale.is_finite() && scale > 0.0 => {
                    Ok(LossScaling::Static(scale))
                }
                Some(_) => Err(invalid(format!(
                    "`{text}`: a static scale must be a finite number > 0 in f32, e.g. static:1024"
                ))),
                None => Err(invalid(format!(
                    "unknown loss scaling `{text}`: expected none, static:S, dynamic or keras"
                ))),
            },
        }
    }
}

/// What the scaler decided for one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleStep {
    /// The scale the step used.
    pub scale: f32,
    /// Whether the optimizer step was skipped (non-finite gradients under a dynamic scale).
    pub skipped: bool,
}

/// A lane's loss scale as it evolves over the run.
#[derive(Clone, Debug, PartialEq)]
pub struct LossScaler {
    scaling: LossScaling,
    scale: f32,
    growth_tracker: u32,
}

impl LossScaler {
    /// The scaler at the start of a run.
    pub fn new(scaling: LossScaling) -> LossScaler {
        let scale = match scaling {
            LossScaling::None => 1.0,
            LossScaling::Static(scale) => scale,
            LossScaling::Dynamic { parameters, .. } => parameters.init,
        };
        LossScaler {
            scaling,
            scale,
            growth_tracker: 0,
        }
    }

    /// The scale of the coming step, or `None` when the lane does not scale.
    pub fn scale(&self) -> Option<f32> {
        (self.scaling != LossScaling::None).then_some(self.scale)
    }

    /// Ends a step whose unscaled gradients were all finite, or not: says whether to skip the
    /// optimizer step, and updates the scale for the next one.
    pub fn update(&mut self, found_nonfinite: bool) -> ScaleStep {
        let used = ScaleStep {
            scale: self.scale,
            skipped: false,
        };
        let LossScaling::Dynamic { parameters, .. } = self.scaling else {
            return used;
        };
        if found_nonfinite {
            self.scale *= parameters.backoff_factor;
            self.growth_tracker = 0;
            return ScaleStep {
                skipped: true,
                ..used
            };
        }
        let successful = self.growth_tracker + 1;
        if successful == parameters.growth_interval {
            let grown = self.scale * parameters.growth_factor;
            if grown.is_finite() {
                self.scale = grown;
            }
            self.growth_tracker = 0;
        } else {
            self.growth_tracker = successful;
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic(init: f32, interval: u32) -> LossScaler {
        LossScaler::new(LossScaling::Dynamic {
            preset: "dynamic",
            parameters: Dynamic {
                init,
                growth_interval: interval,
                ..Dynamic::PYTORCH
            },
        })
    }

    #[test]
    fn grows_after_interval_finite_steps_and_backs_off_on_overflow() {
        let mut scaler = dynamic(8.0, 3);
        let mut seen = Vec::new();
        for found in [false, false, false, false, true, false, false, false] {
            let step = scaler.update(found);
            seen.push((step.scale, step.skipped));
        }
        assert_eq!(
            seen,
            [
                (8.0, false),
                (8.0, false),
                (8.0, false),
                (16.0, false),
                (16.0, true),
                (8.0, false),
                (8.0, false),
                (8.0, false),
            ]
        );
        assert_eq!(scaler.scale(), Some(16.0));
    }

    #[test]
    fn a_scale_that_would_overflow_f32_does_not_grow() {
        let mut scaler = dynamic(f32::MAX, 1);
        assert!(!scaler.update(false).skipped);
        assert_eq!(scaler.scale(), Some(f32::MAX));
    }

    #[test]
    fn static_and_no_scaling_never_skip() {
        let mut fixed = LossScaler::new("static:1024".parse().unwrap());
        assert_eq!(
            fixed.update(true),
            ScaleStep {
                scale: 1024.0,
                skipped: false
            }
        );
        let mut none = LossScaler::new(LossScaling::None);
        assert_eq!(none.scale(), None);
        assert!(!none.update(true).skipped);
    }

    #[test]
    fn flag_values_parse_or_name_the_flag() {
        assert_eq!("none".parse::<LossScaling>().unwrap(), LossScaling::None);
        assert!(matches!(
            "keras".parse::<LossScaling>().unwrap(),
            LossScaling::Dynamic {
                parameters: Dynamic::KERAS,
                ..
            }
        ));
        for bad in [
            "static:0",
            "static:-1",
            "static:x",
            "static:1e39",
            "sometimes",
        ] {
            let error = bad.parse::<LossScaling>().unwrap_err().to_string();
            assert!(error.starts_with("--loss-scale"), "{error}");
        }
    }
}
