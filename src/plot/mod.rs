//! Pictures of an audit: drift.svg, loss.svg, ops.svg and exponents.svg, and report.html with
//! all of them inline, drawn from the tables of a `--csv` directory (read back by
//! `precision-audit plot DIR`, or handed over by an audit run with `--plot`).
//!
//! The SVG is written by hand ([`svg`]) rather than with the plotters crate: the four charts
//! need lines, rectangles and text and nothing else, which is a few hundred lines; plotters
//! would bring a drawing stack and, for text, a font backend (fontconfig/freetype system
//! libraries, or its own font loading) that measures glyphs with whatever fonts the machine has.
//! Here text is placed by anchor and left to the viewer's sans-serif, numbers are written with
//! a fixed number of decimals, positions on log axes use MPFR's correctly rounded log10, and
//! nothing (no timestamp, no random id, no hash-map order) varies between runs: the same
//! tables give the same bytes on every machine, like the CSV files.

mod drift;
mod exponents;
mod html;
mod input;
mod loss;
mod ops;
mod scale;
mod series;
mod style;
pub mod svg;

pub use input::{BinCount, OpErrors, Records, Run, Series};

use crate::error::Error;
use crate::report::CsvDir;

/// What each picture shows, as report.html introduces it.
const CAPTIONS: [(&str, &str, &str); 4] = [
    (
        "drift.svg",
        "Loss drift",
        "How far each lane's batch loss is from the reference's at every step, relative to the \
         reference's (log scale). Steps where a lane's loss is inf or NaN are gaps in its line \
         and red spans in its strip below the axis; grey spans are steps whose update loss \
         scaling skipped.",
    ),
    (
        "loss.svg",
        "Loss",
        "Every lane's batch loss and the reference's (the wide grey line) per step, log scale.",
    ),
    (
        "ops.svg",
        "Error per op",
        "Mean bits of error of every op in every lane, in the order the network runs them. \
         Local error is what the op adds by itself (it is evaluated exactly on the lane's own \
         inputs); accumulated error is how far its output is from the reference's.",
    ),
    (
        "exponents.svg",
        "Exponent ranges",
        "Where the activations, gradients and updates of each lane sit in its format's \
         exponent range over the run, with the subnormal, normal and overflow bands shaded, \
         and how many values were stored as zero, inf or NaN.",
    ),
];

/// Every file `plot` writes, in order: (file name, content).
pub fn draw(run: &Run) -> Vec<(&'static str, String)> {
    let mut files: Vec<(&'static str, String)> = Vec::new();
    for (name, _, _) in CAPTIONS {
        let svg = match name {
            "drift.svg" => drift::draw(run),
            "loss.svg" => loss::draw(run),
            "ops.svg" => ops::draw(run),
            _ => match &run.exponents {
                Some(bins) => exponents::draw(run, bins),
                None => continue,
            },
        };
        files.push((name, svg.element()));
    }
    let figures: Vec<html::Figure> = files
        .iter()
        .filter_map(|(name, svg)| {
            let (_, heading, caption) = CAPTIONS.iter().find(|(n, _, _)| n == name)?;
            Some(html::Figure {
                heading,
                caption,
                svg,
            })
        })
        .collect();
    let missing: &[&str] = match run.exponents {
        Some(_) => &[],
        None => &[MISSING_EXPONENTS],
    };
    let page = html::render(run, &figures, missing);
    let mut files: Vec<(&'static str, String)> = files
        .into_iter()
        .map(|(name, svg)| (name, svg::file(&svg)))
        .collect();
    files.push(("report.html", page));
    files
}

/// Why a directory's report has no exponent histograms.
pub const MISSING_EXPONENTS: &str = "No exponents.csv in this directory (audits write it since \
                                     exponents.csv was added): exponents.svg is not drawn.";

/// Stages every picture and report.html into `dir`, to be committed with it; returns the
/// file names.
pub fn stage(dir: &mut CsvDir, run: &Run) -> Result<Vec<&'static str>, Error> {
    let files = draw(run);
    for (name, text) in &files {
        dir.text(name, text)?;
    }
    Ok(files.into_iter().map(|(name, _)| name).collect())
}
