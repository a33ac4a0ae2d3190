//! `plot`: draw a saved `--csv` directory.

use std::io::Write;

use super::print;
use crate::error::Error;
use crate::flags::PlotArgs;
use crate::plot::{self, MISSING_EXPONENTS, Run};
use crate::report::CsvDir;

/// Reads the directory, writes the pictures and report.html (all or none) and lists them.
pub fn plot(args: &PlotArgs, stdout: &mut dyn Write) -> Result<u8, Error> {
    let mut run = Run::read(&args.dir)?;
    if let Some(json) = &args.json {
        run.read_verdicts(json)?;
    }
    let out = args.out.as_deref().unwrap_or(&args.dir);
    let mut dir = CsvDir::create(out)?;
    let names = plot::stage(&mut dir, &run)?;
    // Beside the result set it was drawn from: a plot adds pictures and replaces nothing.
    dir.commit_beside()?;
    if run.exponents.is_none() {
        super::warn(MISSING_EXPONENTS);
    }
    let listing: String = names
        .iter()
        .map(|name| format!("{}\n", out.join(name).display()))
        .collect();
    print(stdout, &listing)?;
    Ok(0)
}
