//! loss.svg: every lane's batch loss and the reference's, step by step, on a log axis.

use super::drift::lane_line;
use super::input::{Run, Series};
use super::series::{Chart, Line, Pen};
use super::style::REFERENCE;
use super::svg::Svg;

/// The chart.
pub fn draw(run: &Run) -> Svg {
    let reference = run.series.first().map(|s| Line {
        lane: "reference".into(),
        label: "reference".into(),
        note: run.reference.clone(),
        pen: Pen {
            colour: REFERENCE,
            width: 4.0,
            dash: None,
        },
        points: s
            .steps
            .iter()
            .copied()
            .zip(s.reference.iter().copied())
            .collect(),
        marks: Vec::new(),
    });
    let lanes = run
        .series
        .iter()
        .enumerate()
        .map(|(index, s)| lane_line(index, s, &s.loss, note(s)));
    Chart {
        title: format!(
            "Batch loss per step: every lane and the reference ({})",
            run.reference
        ),
        y_label: "loss (log)",
        lines: reference.into_iter().chain(lanes).collect(),
    }
    .draw()
}

/// Where the lane's loss went non-finite, or its last loss.
fn note(s: &Series) -> String {
    let first = s.steps.iter().zip(&s.loss).find(|(_, l)| !l.is_finite());
    match (first, s.loss.last()) {
        (Some((step, loss)), _) => format!("non-finite from step {step} ({loss})"),
        (None, Some(last)) => format!("final loss {last:.4e}"),
        (None, None) => "no steps".into(),
    }
}
