//! The command line's flags, as ripgrep splits them: [`args`] is what clap parses (every flag,
//! its default and its help), [`config`] turns that into a validated [`AuditConfig`] whose
//! every refusal names its flag. The commands in `cli` only run and report.
//!
//! [`AuditConfig`]: crate::audit::AuditConfig

pub mod args;
pub mod config;

pub mod grid;
pub mod shard;

pub use args::{
    AuditArgs, CheckArgs, Cli, Command, FormatsArgs, MergeArgs, PlotArgs, QuantizeArgs, RoundArgs,
};
pub use config::{Plan, audit_config, audit_plan};
