//! Training: optimizers and how their updates are rounded, the seeded batch schedule shared by
//! every format, and the step.

mod constant;
mod optimizer;
mod schedule;
mod trainer;
pub mod update;

pub use constant::Constant;
pub use optimizer::{Optimizer, OptimizerConfig};
pub use schedule::{Schedule, StepPlan};
pub use trainer::{TrainConfig, Trainer};
pub use update::UpdateRounding;
