//! `--grid KEY=V1,V2,…`: the keys are audit flags that take a value, the values are taken
//! literally, and each grid point is the command line with `--KEY=VALUE` added, parsed by clap
//! and validated by [`audit_config`] exactly as if the user had typed it, so every refusal is
//! the flag's own, prefixed with the grid key and value that caused it.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, parser::ValueSource};

use crate::error::Error;
use crate::flags::args::Cli;
use crate::flags::config::audit_config;
use crate::study::grid::PointAudit;

/// Flags that take a value but are not a property of the audit a grid point runs: the studies,
/// the output, the grid's own flags, and `seed` (which `--seeds N` sweeps).
const NOT_GRID_KEYS: [&str; 10] = [
    "seeds",
    "orders",
    "csv",
    "output",
    "threads",
    "fail-on",
    "grid",
    "shard",
    "shard-count",
    "seed",
];

/// One key of the grid and its values, as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// The flag without its dashes: `eps`, `adam-eps`, `batch-size`.
    pub key: String,
    /// The values, in the order given.
    pub values: Vec<String>,
}

/// The keys of a grid, in the order given; points run through every combination of their
/// values, the first key varying slowest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    /// The keys and their values.
    pub axes: Vec<Axis>,
}

/// One grid point: its values (one per key, in the grid's key order) and its audit.
#[derive(Clone, Debug)]
pub struct GridPoint {
    /// The value of each key.
    pub values: Vec<String>,
    /// The validated audit of this point.
    pub audit: PointAudit,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidFlag {
        flag: "--grid".into(),
        message: message.into(),
    }
}

/// The audit flags a grid may vary, by long name.
pub fn grid_keys() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter(|arg| arg.get_action().takes_values() && !arg.is_positional())
        .filter_map(|arg| arg.get_long())
        .filter(|long| !NOT_GRID_KEYS.contains(long))
        .map(str::to_string)
        .collect()
}

/// Parses the `--grid` values: a known key, `=`, and at least one value; each key once and
/// each of its values once.
pub fn parse_grid(specs: &[String]) -> Result<Grid, Error> {
    let keys = grid_keys();
    let mut axes: Vec<Axis> = Vec::new();
    for spec in specs {
        let (key, list) = spec
            .split_once('=')
            .ok_or_else(|| invalid(format!("`{spec}` is not KEY=V1,V2,…")))?;
        let key = key.trim().trim_start_matches("--");
        if !keys.iter().any(|k| k == key) {
            let why = if NOT_GRID_KEYS.contains(&key) {
                format!("`{key}` cannot be a grid key (use --seeds N for seeds)")
            } else {
                format!("unknown key `{key}`")
            };
            return Err(invalid(format!(
                "{why}: expected an audit flag that takes a value, one of {}",
                keys.join(", ")
            )));
        }
        if axes.iter().any(|a| a.key == key) {
            return Err(invalid(format!(
                "`{key}` is given twice: give all its values in one --grid {key}=V1,V2,…"
            )));
        }
        if list.is_empty() {
            return Err(invalid(format!("`{key}=` has no values")));
        }
        // A value list with a `;` is split at `;`, so that values may hold commas.
        let separator = if list.contains(';') { ';' } else { ',' };
        let values: Vec<String> = list.split(separator).map(str::to_string).collect();
        for (i, value) in values.iter().enumerate() {
            if values[..i].contains(value) {
                return Err(invalid(format!(
                    "{key}: the value `{value}` is given twice"
                )));
            }
        }
        axes.push(Axis {
            key: key.to_string(),
            values,
        });
    }
    Ok(Grid { axes })
}

impl Grid {
    /// The keys, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.key.as_str()).collect()
    }

    /// Every combination of values, the first key varying slowest.
    pub fn points(&self) -> Vec<Vec<String>> {
        let mut points: Vec<Vec<String>> = vec![Vec::new()];
        for axis in &self.axes {
            points = points
                .iter()
                .flat_map(|point| {
                    axis.values.iter().map(move |value| {
                        let mut next = point.clone();
                        next.push(value.clone());
                        next
                    })
                })
                .collect();
        }
        points
    }
}

/// `key=value, key=value` of a point, for messages and reports.
pub fn describe(keys: &[&str], values: &[String]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The audit of `argv` with `--KEY=VALUE` added for each key and value, parsed and validated
/// as a typed command line would be.
fn with_values(argv: &[OsString], keys: &[&str], values: &[String]) -> Result<PointAudit, Error> {
    let mut full = argv.to_vec();
    full.extend(
        keys.iter()
            .zip(values)
            .map(|(k, v)| OsString::from(format!("--{k}={v}"))),
    );
    let matches = Cli::command()
        .try_get_matches_from(full)
        .map_err(|error| invalid(clap_message(&error)))?;
    let cli = Cli::from_arg_matches(&matches).map_err(|error| invalid(clap_message(&error)))?;
    Ok(PointAudit {
        config: audit_config(&cli.audit)?,
        redraw_init: cli.audit.init_params.is_none(),
    })
}

/// The first line of clap's message, without its `error: ` prefix.
fn clap_message(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Every point of `grid` as a validated audit, `argv` being the whole command line (program
/// name first). A key the command line also gives as a flag is refused (which would win is not
/// obvious); each value is checked alone first, so that a refusal names the key and value at
/// fault, then each combination.
pub fn grid_points(argv: &[OsString], grid: &Grid) -> Result<Vec<GridPoint>, Error> {
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|error| invalid(clap_message(&error)))?;
    for key in grid.keys() {
        let id = Cli::command()
            .get_arguments()
            .find(|a| a.get_long() == Some(key))
            .map(|a| a.get_id().to_string())
            .unwrap_or_default();
        if matches.value_source(&id) == Some(ValueSource::CommandLine) {
            return Err(invalid(format!(
                "{key}: --{key} is given too; give its values in --grid {key}=… only"
            )));
        }
    }
    for axis in &grid.axes {
        for value in &axis.values {
            with_values(argv, &[axis.key.as_str()], std::slice::from_ref(value)).map_err(
                |error| invalid(format!("{}={value}: {}", axis.key, strip_grid(&error))),
            )?;
        }
    }
    let keys = grid.keys();
    grid.points()
        .into_iter()
        .map(|values| {
            let audit = with_values(argv, &keys, &values).map_err(|error| {
                invalid(format!(
                    "the point {}: {}",
                    describe(&keys, &values),
                    strip_grid(&error)
                ))
            })?;
            Ok(GridPoint { values, audit })
        })
        .collect()
}

/// An error's message without a `--grid: ` this module put in front of it.
fn strip_grid(error: &Error) -> String {
    let text = error.to_string();
    text.strip_prefix("--grid: ")
        .map_or(text.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("precision-audit")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn grid(specs: &[&str]) -> Result<Grid, Error> {
        parse_grid(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn points_run_through_every_combination_first_key_slowest() {
        let g = grid(&["eps=1e-8,1e-4", "lr=0.1,0.01,0.001"]).unwrap();
        let points = g.points();
        assert_eq!(points.len(), 6);
        assert_eq!(points[0], ["1e-8", "0.1"]);
        assert_eq!(points[1], ["1e-8", "0.01"]);
        assert_eq!(points[3], ["1e-4", "0.1"]);
        assert_eq!(grid(&[]).unwrap().points(), vec![Vec::<String>::new()]);
    }

    #[test]
    fn values_with_commas_are_split_at_semicolons() {
        let g = grid(&["layers=10;64,64", "formats=f16,bf16"]).unwrap();
        assert_eq!(g.axes[0].values, ["10", "64,64"]);
        assert_eq!(g.axes[1].values, ["f16", "bf16"]);
    }

    #[test]
    fn bad_specs_are_refused_naming_the_key() {
        for (spec, says) in [
            ("eps", "`eps` is not KEY=V1,V2,…"),
            ("epz=1", "unknown key `epz`"),
            ("eps=", "`eps=` has no values"),
            ("eps=1,1", "the value `1` is given twice"),
            ("seeds=1,2", "`seeds` cannot be a grid key"),
            ("csv=a,b", "`csv` cannot be a grid key"),
        ] {
            let err = grid(&[spec]).unwrap_err().to_string();
            assert!(err.starts_with("--grid: "), "{spec}: {err}");
            assert!(err.contains(says), "{spec}: {err}");
        }
        let err = grid(&["eps=1", "eps=2"]).unwrap_err().to_string();
        assert!(err.contains("`eps` is given twice"), "{err}");
    }

    #[test]
    fn keys_are_the_audit_flags_that_take_values() {
        let keys = grid_keys();
        for key in [
            "eps",
            "adam-eps",
            "lr",
            "batch-size",
            "layers",
            "accumulate",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
        for key in ["order", "policy", "formats", "loss-scale", "epochs", "data"] {
            assert!(keys.iter().any(|k| k == key), "{key} in {keys:?}");
        }
        for key in [
            "verify-reference",
            "plot",
            "seeds",
            "seed",
            "csv",
            "threads",
        ] {
            assert!(!keys.iter().any(|k| k == key), "{key} not in {keys:?}");
        }
    }

    #[test]
    fn each_point_is_the_command_line_with_its_values() {
        let g = grid(&["eps=1e-6,1e-2", "batch-size=8,100"]).unwrap();
        let points = grid_points(&argv(&["--loss", "relative", "--epochs", "2"]), &g).unwrap();
        assert_eq!(points.len(), 4);
        let eps = |p: &GridPoint| {
            p.audit
                .config
                .train
                .loss
                .constants()
                .find(|(n, _)| *n == "eps")
                .map(|(_, v)| v.text().to_string())
                .unwrap()
        };
        assert_eq!(eps(&points[0]), "1e-6");
        assert_eq!(points[0].audit.config.train.batch_size, 8);
        assert_eq!(points[1].audit.config.train.batch_size, 100);
        assert_eq!(eps(&points[3]), "1e-2");
        assert!(points.iter().all(|p| p.audit.config.train.epochs == 2));
    }

    #[test]
    fn a_value_the_flag_refuses_is_refused_naming_key_and_value() {
        let base = argv(&["--loss", "relative"]);
        for (spec, says) in [
            (
                "eps=1e-8,abc",
                "--grid: eps=abc: --eps: `abc` is not a number",
            ),
            (
                "batch-size=0",
                "--grid: batch-size=0: --batch-size: must be at least 1",
            ),
            (
                "batch-size=x",
                "--grid: batch-size=x: invalid value 'x' for '--batch-size",
            ),
            ("order=sideways", "--grid: order=sideways: "),
            ("layers=10;0", "--grid: layers=0: --layers: "),
        ] {
            let err = grid_points(&base, &grid(&[spec]).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(says), "{spec}: {err}");
        }
        // A key also given as a flag.
        let err = grid_points(&argv(&["--eps", "1e-3"]), &grid(&["eps=1e-8"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--eps is given too"), "{err}");
        // Conflicts are clap's, as on the command line.
        let err = grid_points(
            &argv(&["--data", "fixtures/tiny.csv"]),
            &grid(&["samples=10,20"]).unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("--grid: samples=10: "), "{err}");
    }
}
