//! `precision-audit merge DIR…`: the shards of a grid run, checked (every shard and task once,
//! one configuration) and written as the files and report one machine would have produced.

use std::io::Write;

use crate::error::Error;
use crate::flags::MergeArgs;
use crate::report::CsvDir;
use crate::report::grid_merge::merge_shards;
use crate::report::grid_report::{GRID_FILES, render_grid, stage_grid};
use crate::study::grid::summarize_grid;

/// Merges `args.dirs` into `args.csv` (if given) and prints the grid's report.
pub fn merge(args: &MergeArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    if let Some(out) = &args.csv
        && let Ok(out) = out.canonicalize()
        && let Some(dir) = args
            .dirs
            .iter()
            .find(|d| d.canonicalize().is_ok_and(|d| d == out))
    {
        return Err(Error::InvalidFlag {
            flag: "--csv".into(),
            message: format!(
                "{} is one of the shard directories: merge into another directory",
                dir.display()
            ),
        });
    }
    let (plan, runs) = merge_shards(&args.dirs)?;
    let mut files = match &args.csv {
        Some(dir) => {
            let files = CsvDir::create(dir)?;
            files.expect(&GRID_FILES)?;
            Some(files)
        }
        None => None,
    };
    let summary = summarize_grid(plan.points.len(), &runs);
    if let Some(files) = files.as_mut() {
        stage_grid(files, &plan, &runs, &summary)?;
    }
    super::print(stdout, &render_grid(args.output, &plan, &runs, &summary))?;
    files.map_or(Ok(()), CsvDir::commit)?;
    Ok(0)
}
