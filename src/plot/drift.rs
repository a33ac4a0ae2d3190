//! drift.svg: each lane's relative loss drift against the reference, step by step, on a log
//! axis; steps whose drift is not finite and steps whose update was skipped are marked.

use super::input::{Run, Series};
use super::series::{Chart, Line, Marks, Pen};
use super::style::{lane_colour, lane_dash};
use super::svg::Svg;

/// The chart.
pub fn draw(run: &Run) -> Svg {
    let lines = run
        .series
        .iter()
        .enumerate()
        .map(|(index, s)| lane_line(index, s, &s.drift, note(s)))
        .collect();
    Chart {
        title: format!(
            "Relative loss drift |loss − reference| / |reference| per step (reference: {})",
            run.reference
        ),
        y_label: "relative drift (log)",
        lines,
    }
    .draw()
}

/// Where the lane went non-finite, or its last drift.
/// Lane `index`'s line of `values` (its drift, its loss) per step, with its legend `note` and
/// the marks of its non-finite and skipped steps.
pub fn lane_line(index: usize, s: &Series, values: &[f64], note: String) -> Line {
    Line {
        lane: s.lane.clone(),
        label: s.lane.clone(),
        note,
        pen: Pen {
            colour: lane_colour(&s.lane, index),
            width: 1.5,
            dash: lane_dash(&s.lane),
        },
        points: s
            .steps
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect(),
        marks: marks(s, values),
    }
}

fn note(s: &Series) -> String {
    let first = s.steps.iter().zip(&s.drift).find(|(_, d)| !d.is_finite());
    match (first, s.drift.last()) {
        (Some((step, _)), _) => format!("non-finite from step {step}"),
        (None, Some(last)) => format!("final drift {last:.2e}"),
        (None, None) => "no steps".into(),
    }
}

/// The strips of a lane: steps whose `values` are not finite, and skipped steps.
pub fn marks(s: &Series, values: &[f64]) -> Vec<Marks> {
    let pick = |keep: &dyn Fn(usize) -> bool| -> Vec<u64> {
        (0..s.steps.len())
            .filter(|&i| keep(i))
            .map(|i| s.steps[i])
            .collect()
    };
    [
        ("nonfinite", pick(&|i| !values[i].is_finite())),
        ("skipped", pick(&|i| s.skipped[i])),
    ]
    .into_iter()
    .filter(|(_, steps)| !steps.is_empty())
    .map(|(kind, steps)| Marks { kind, steps })
    .collect()
}
