//! Which shard of a grid this process runs: `--shard K/N`, else a Slurm job array's or a
//! Kubernetes Indexed Job's environment. `--shard` wins over the environment; what contradicts
//! itself is refused (exit 2), naming the flag or variable.
//!
//! Slurm numbers array tasks as `--array` says: `--array=0-3` gives SLURM_ARRAY_TASK_ID 0..3,
//! `--array=1-4` gives 1..4, `--array=0-6:2` gives 0, 2, 4, 6. The shard is therefore counted
//! from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP (1 when unset):
//! K = (ID − MIN) / STEP + 1, N = SLURM_ARRAY_TASK_COUNT. An array that is not such a range
//! (`--array=1,5,7`) cannot be told apart from a range with gaps and is refused.
//! JOB_COMPLETION_INDEX is 0-based: K = index + 1, N = `--shard-count`.

use crate::error::Error;
pub use crate::study::grid::Shard;

/// A shard and what chose it (`--shard`, or the variables that did), for the report and
/// `shard.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// The shard.
    pub shard: Shard,
    /// `--shard 2/4`, `SLURM_ARRAY_TASK_ID=1 (SLURM_ARRAY_TASK_MIN=0, …)`, `JOB_COMPLETION_INDEX=1`.
    pub by: String,
}

fn invalid(flag: &str, message: impl Into<String>) -> Error {
    Error::InvalidFlag {
        flag: flag.to_string(),
        message: message.into(),
    }
}

/// `K/N` with 1 ≤ K ≤ N.
pub fn parse_shard(text: &str) -> Result<Shard, Error> {
    let refuse = || {
        invalid(
            "--shard",
            format!("`{text}` is not K/N with 1 ≤ K ≤ N (e.g. 2/4)"),
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(refuse)?;
    let (index, count): (u64, u64) = (
        k.trim().parse().map_err(|_| refuse())?,
        n.trim().parse().map_err(|_| refuse())?,
    );
    if index == 0 || index > count {
        return Err(refuse());
    }
    Ok(Shard { index, count })
}

/// A variable's value as a count, or a refusal naming it.
fn number(name: &str, text: &str) -> Result<u64, Error> {
    text.trim()
        .parse()
        .map_err(|_| invalid(name, format!("`{text}` is not a whole number ≥ 0")))
}

/// The shard a Slurm job array task runs, when SLURM_ARRAY_TASK_ID is set.
fn slurm(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Selected>, Error> {
    let Some(id_text) = env("SLURM_ARRAY_TASK_ID") else {
        return Ok(None);
    };
    let id = number("SLURM_ARRAY_TASK_ID", &id_text)?;
    let need = |name: &str| {
        env(name).ok_or_else(|| {
            invalid(
                name,
                format!(
                    "SLURM_ARRAY_TASK_ID is {id} but {name} is not set: not a Slurm job array?"
                ),
            )
        })
    };
    let count = number("SLURM_ARRAY_TASK_COUNT", &need("SLURM_ARRAY_TASK_COUNT")?)?;
    let min = number("SLURM_ARRAY_TASK_MIN", &need("SLURM_ARRAY_TASK_MIN")?)?;
    let step = match env("SLURM_ARRAY_TASK_STEP") {
        Some(text) => number("SLURM_ARRAY_TASK_STEP", &text)?.max(1),
        None => 1,
    };
    let by = format!(
        "SLURM_ARRAY_TASK_ID={id} (SLURM_ARRAY_TASK_MIN={min}, SLURM_ARRAY_TASK_STEP={step}, \
         SLURM_ARRAY_TASK_COUNT={count})"
    );
    if count == 0 {
        return Err(invalid("SLURM_ARRAY_TASK_COUNT", "is 0"));
    }
    if let Some(max_text) = env("SLURM_ARRAY_TASK_MAX") {
        let max = number("SLURM_ARRAY_TASK_MAX", &max_text)?;
        let expected = (count - 1)
            .checked_mul(step)
            .and_then(|d| d.checked_add(min));
        if expected != Some(max) {
            return Err(invalid(
                "SLURM_ARRAY_TASK_MAX",
                format!(
                    "is {max}, but {count} tasks from {min} in steps of {step} end at {}: a grid's \
                     array must be a range such as --array=0-{} or --array=1-{count}",
                    expected.map_or("an overflow".to_string(), |e| e.to_string()),
                    count - 1
                ),
            ));
        }
    }
    let offset = id.checked_sub(min).filter(|o| o % step == 0);
    let index = offset.map(|o| o / step + 1).filter(|&k| k <= count);
    match index {
        Some(index) => Ok(Some(Selected {
            shard: Shard { index, count },
            by,
        })),
        None => Err(invalid(
            "SLURM_ARRAY_TASK_ID",
            format!("{by}: the id is not one of the array's {count} tasks"),
        )),
    }
}

/// The shard a Kubernetes Indexed Job's pod runs, when JOB_COMPLETION_INDEX is set.
fn kubernetes(
    env: &dyn Fn(&str) -> Option<String>,
    shard_count: Option<u32>,
) -> Result<Option<Selected>, Error> {
    let Some(text) = env("JOB_COMPLETION_INDEX") else {
        return Ok(None);
    };
    let index = number("JOB_COMPLETION_INDEX", &text)?;
    let Some(count) = shard_count.map(u64::from) else {
        return Err(invalid(
            "JOB_COMPLETION_INDEX",
            format!(
                "is {index} (a Kubernetes Indexed Job): give --shard-count N, the Job's \
                 completions, to say how many shards there are"
            ),
        ));
    };
    if index >= count {
        return Err(invalid(
            "JOB_COMPLETION_INDEX",
            format!(
                "is {index}, but --shard-count {count} allows 0 to {}",
                count - 1
            ),
        ));
    }
    Ok(Some(Selected {
        shard: Shard {
            index: index + 1,
            count,
        },
        by: format!("JOB_COMPLETION_INDEX={index} (--shard-count {count})"),
    }))
}

/// The shard this process runs, if any: `--shard`, else Slurm's or Kubernetes' variables read
/// through `env`. `--shard-count` must agree with the shard's N.
pub fn select(
    flag: Option<&str>,
    shard_count: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Selected>, Error> {
    let selected = match flag {
        Some(text) => Some(Selected {
            shard: parse_shard(text)?,
            by: format!("--shard {text}"),
        }),
        None => {
            let from_slurm = slurm(env)?;
            let from_kubernetes = kubernetes(env, shard_count)?;
            match (from_slurm, from_kubernetes) {
                (Some(a), Some(b)) if a.shard != b.shard => {
                    return Err(invalid(
                        "JOB_COMPLETION_INDEX",
                        format!(
                            "{} selects shard {}, but {} selects shard {}: set only one, or give --shard",
                            b.by, b.shard, a.by, a.shard
                        ),
                    ));
                }
                (Some(a), _) => Some(a),
                (None, b) => b,
            }
        }
    };
    match (&selected, shard_count) {
        (Some(s), Some(n)) if u64::from(n) != s.shard.count => Err(invalid(
            "--shard-count",
            format!(
                "is {n}, but {} says there are {} shards",
                s.by, s.shard.count
            ),
        )),
        (None, Some(n)) => Err(invalid(
            "--shard-count",
            format!(
                "is {n}, but no shard is selected: give --shard K/{n}, or run in a Kubernetes \
                 Indexed Job (JOB_COMPLETION_INDEX)"
            ),
        )),
        _ => Ok(selected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn shard(index: u64, count: u64) -> Shard {
        Shard { index, count }
    }

    fn chosen(flag: Option<&str>, count: Option<u32>, vars: &[(&str, &str)]) -> Option<Shard> {
        select(flag, count, &env(vars)).unwrap().map(|s| s.shard)
    }

    fn refused(flag: Option<&str>, count: Option<u32>, vars: &[(&str, &str)]) -> String {
        select(flag, count, &env(vars)).unwrap_err().to_string()
    }

    #[test]
    fn tasks_go_round_robin_and_every_task_to_one_shard() {
        for count in [1, 2, 3, 7] {
            for task in 0..50 {
                let owners: Vec<u64> = (1..=count)
                    .filter(|&k| shard(k, count).owns(task))
                    .collect();
                assert_eq!(owners, [task as u64 % count + 1], "task {task} of {count}");
                assert_eq!(Shard::of_task(task, count), shard(owners[0], count));
            }
        }
    }

    #[test]
    fn the_flag_is_k_of_n() {
        assert_eq!(parse_shard("2/4").unwrap(), shard(2, 4));
        assert_eq!(parse_shard("1/1").unwrap(), shard(1, 1));
        for bad in ["0/4", "5/4", "2", "a/4", "2/b", "-1/4", "", "/"] {
            let err = parse_shard(bad).unwrap_err().to_string();
            assert!(err.starts_with("--shard: "), "{bad}: {err}");
        }
    }

    #[test]
    fn slurm_arrays_from_zero_from_one_and_in_steps() {
        let array = |id: &str, min: &str, max: &str, step: &str| {
            chosen(
                None,
                None,
                &[
                    ("SLURM_ARRAY_TASK_ID", id),
                    ("SLURM_ARRAY_TASK_MIN", min),
                    ("SLURM_ARRAY_TASK_MAX", max),
                    ("SLURM_ARRAY_TASK_STEP", step),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                ],
            )
        };
        // --array=0-3 and --array=1-4 give the same four shards.
        assert_eq!(array("0", "0", "3", "1"), Some(shard(1, 4)));
        assert_eq!(array("3", "0", "3", "1"), Some(shard(4, 4)));
        assert_eq!(array("1", "1", "4", "1"), Some(shard(1, 4)));
        assert_eq!(array("4", "1", "4", "1"), Some(shard(4, 4)));
        // --array=0-6:2.
        assert_eq!(array("4", "0", "6", "2"), Some(shard(3, 4)));
        // Without SLURM_ARRAY_TASK_STEP or _MAX the range is counted in steps of 1.
        assert_eq!(
            chosen(
                None,
                None,
                &[
                    ("SLURM_ARRAY_TASK_ID", "5"),
                    ("SLURM_ARRAY_TASK_MIN", "5"),
                    ("SLURM_ARRAY_TASK_COUNT", "2"),
                ]
            ),
            Some(shard(1, 2))
        );
    }

    #[test]
    fn slurm_contradictions_are_refused_naming_the_variable() {
        let base = [
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            refused(None, None, &vars)
        };
        assert!(with(&[("SLURM_ARRAY_TASK_ID", "4")]).starts_with("SLURM_ARRAY_TASK_ID: "));
        assert!(with(&[("SLURM_ARRAY_TASK_ID", "x")]).starts_with("SLURM_ARRAY_TASK_ID: "));
        // --array=1,5,7: three tasks whose ids are no range.
        let list = refused(
            None,
            None,
            &[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "7"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
        );
        assert!(list.starts_with("SLURM_ARRAY_TASK_MAX: "), "{list}");
        let no_min = refused(
            None,
            None,
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ],
        );
        assert!(no_min.starts_with("SLURM_ARRAY_TASK_MIN: "), "{no_min}");
        // --shard-count must agree with the array.
        let mut vars = base.to_vec();
        vars.push(("SLURM_ARRAY_TASK_ID", "1"));
        assert!(refused(None, Some(3), &vars).starts_with("--shard-count: "));
        assert_eq!(chosen(None, Some(4), &vars), Some(shard(2, 4)));
    }

    #[test]
    fn kubernetes_needs_the_shard_count() {
        let index = [("JOB_COMPLETION_INDEX", "2")];
        assert_eq!(chosen(None, Some(3), &index), Some(shard(3, 3)));
        assert!(refused(None, None, &index).starts_with("JOB_COMPLETION_INDEX: "));
        assert!(refused(None, Some(2), &index).starts_with("JOB_COMPLETION_INDEX: "));
        assert!(refused(None, Some(2), &[]).starts_with("--shard-count: "));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("JOB_COMPLETION_INDEX", "1"),
        ];
        assert_eq!(chosen(Some("3/4"), None, &vars), Some(shard(3, 4)));
        // But --shard-count still has to agree with it.
        assert!(refused(Some("3/4"), Some(5), &vars).starts_with("--shard-count: "));
        // Slurm and Kubernetes at once, disagreeing, without the flag.
        assert!(refused(None, Some(4), &vars).starts_with("JOB_COMPLETION_INDEX: "));
        assert_eq!(chosen(None, None, &[]), None);
    }
}
