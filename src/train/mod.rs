//! Training: optimizers and how their updates are rounded, the seeded batch schedule shared by
//! every format, and the step.

mod constant;
mod loss_scale;
mod mixed;
pub mod op_formats;
mod optimizer;
mod policy;
pub mod recipe;
mod schedule;
mod trainer;
mod training;
pub mod update;

pub use constant::Constant;
pub use loss_scale::{Dynamic, LossScaler, LossScaling, ScaleStep};
pub use mixed::{MixedTrainer, ScaledStep};
pub use op_formats::{OpFormats, OpPattern};
pub use optimizer::{Optimizer, OptimizerConfig};
pub use policy::{LaneSpec, Policy, promoted_to};
pub use recipe::Recipe;
pub use schedule::{Schedule, StepPlan};
pub use trainer::{TrainConfig, Trainer};
pub use training::{LaneFn, Training};
pub use update::UpdateRounding;
