//! `--fail-on`: the findings that turn an audit into a failure (exit code 3).

use std::str::FromStr;

use super::{AuditResult, EventKind};
use crate::error::Error;

/// A condition that turns a finding into a failure.
#[derive(Clone, Debug, PartialEq)]
pub enum FailOn {
    /// Any event of this kind in any format.
    Event(EventKind),
    /// A final relative loss drift above this in any format.
    Drift(f64),
}

/// The conditions of `--fail-on nan,inf,drift=1e-3`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailOnList(pub Vec<FailOn>);

impl FromStr for FailOnList {
    type Err = Error;

    fn from_str(text: &str) -> Result<FailOnList, Error> {
        let invalid = |message: String| Error::InvalidFlag {
            flag: "--fail-on".into(),
            message,
        };
        let condition = |part: &str| {
            if let Some(limit) = part.strip_prefix("drift=") {
                return match limit.parse::<f64>() {
                    Ok(x) if x >= 0.0 && x.is_finite() => Ok(FailOn::Drift(x)),
                    _ => Err(invalid(format!(
                        "drift needs a finite limit ≥ 0, got `{limit}`"
                    ))),
                };
            }
            EventKind::from_name(part)
                .map(FailOn::Event)
                .ok_or_else(|| {
                    let mut names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
                    names.push("drift=X");
                    crate::names::unknown("--fail-on", "condition", part, &names)
                })
        };
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(condition)
            .collect::<Result<_, _>>()
            .map(FailOnList)
    }
}

impl FailOnList {
    /// The conditions that hold in `result`, one line each.
    pub fn failures(&self, result: &AuditResult) -> Vec<String> {
        let mut found = Vec::new();
        for f in &result.formats {
            let name = f.lane.to_string();
            for condition in &self.0 {
                match condition {
                    FailOn::Event(kind) if f.events.get(*kind) > 0 => found.push(format!(
                        "{name}: {} {} event(s)",
                        f.events.get(*kind),
                        kind.name()
                    )),
                    FailOn::Drift(limit)
                        if f.loss_rel_drift.is_nan() || f.loss_rel_drift > *limit =>
                    {
                        found.push(format!(
                            "{name}: final relative loss drift {} exceeds {limit}",
                            f.loss_rel_drift
                        ))
                    }
                    _ => {}
                }
            }
        }
        found
    }
}
