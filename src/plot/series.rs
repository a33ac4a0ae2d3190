//! The per-step chart that drift.svg and loss.svg share: one line per lane on a log axis
//! against the step, gaps where a value is not finite, and below the axis one strip per lane
//! and kind of mark (non-finite values, skipped steps) with the steps it covers.

use super::scale::{self, Linear, Log};
use super::style::{MUTED, NONFINITE, SKIPPED};
use super::svg::{Svg, points};

/// How a line is drawn.
pub struct Pen {
    /// Stroke colour.
    pub colour: &'static str,
    /// Stroke width.
    pub width: f64,
    /// Dash pattern.
    pub dash: Option<&'static str>,
}

/// Steps of one lane marked in a strip below the axis.
pub struct Marks {
    /// `nonfinite` or `skipped`: the class of the marks, and what the strip says.
    pub kind: &'static str,
    /// The marked steps, increasing.
    pub steps: Vec<u64>,
}

/// One lane's line.
pub struct Line {
    /// `data-lane` of its group (`f16`, `reference`).
    pub lane: String,
    /// The legend's first line.
    pub label: String,
    /// The legend's second line, smaller.
    pub note: String,
    /// How it is drawn.
    pub pen: Pen,
    /// (step, value); a value that is zero, negative or not finite is not drawn.
    pub points: Vec<(u64, f64)>,
    /// Strips of marked steps.
    pub marks: Vec<Marks>,
}

/// A chart of lines.
pub struct Chart {
    /// The title (also the SVG's `<title>`).
    pub title: String,
    /// The y axis's label.
    pub y_label: &'static str,
    /// Drawn in order (later ones on top).
    pub lines: Vec<Line>,
}

const WIDTH: f64 = 980.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 740.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 364.0;
const LEGEND: f64 = 770.0;
const STRIP: f64 = 16.0;

impl Chart {
    /// The chart as an SVG.
    pub fn draw(&self) -> Svg {
        let strips: usize = self.lines.iter().map(|l| l.marks.len()).sum();
        let strips_top = BOTTOM + 52.0;
        let height = strips_top + STRIP * strips as f64 + 30.0;
        let mut svg = Svg::new(WIDTH, height, &self.title);
        svg.heading(LEFT, &self.title);

        let last = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|&(s, _)| s))
            .max()
            .unwrap_or(1);
        let x = Linear::new(1.0, last as f64, LEFT, RIGHT);
        let drawable = |v: f64| v > 0.0 && v.is_finite();
        let values = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|&(_, v)| v))
            .filter(|&v| drawable(v));
        let (min, max) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let y = if max > 0.0 {
            Log::covering(min, max, BOTTOM, TOP)
        } else {
            Log::covering(1.0, 10.0, BOTTOM, TOP)
        };
        y.draw_vertical(&mut svg, LEFT, RIGHT, self.y_label, 8);
        scale::draw_horizontal(
            &mut svg,
            &x,
            BOTTOM,
            &x.ticks(10, None),
            |t| t.to_string(),
            "step",
        );

        let mut row = 0usize;
        let mut zeros = false;
        for (index, line) in self.lines.iter().enumerate() {
            svg.el("g")
                .at("class", "lane")
                .at("data-lane", line.lane.as_str())
                .open();
            for segment in segments(&line.points, drawable) {
                let at: Vec<(f64, f64)> = segment
                    .iter()
                    .map(|&(s, v)| (x.at(s as f64), y.at(v).unwrap_or(BOTTOM)))
                    .collect();
                if let [(cx, cy)] = at[..] {
                    svg.el("circle")
                        .at("class", "series")
                        .at("cx", cx)
                        .at("cy", cy)
                        .at("r", 1.5)
                        .at("fill", line.pen.colour)
                        .end();
                } else {
                    svg.el("polyline")
                        .at("class", "series")
                        .at("points", points(&thin(&at)))
                        .at("fill", "none")
                        .at("stroke", line.pen.colour)
                        .at("stroke-width", line.pen.width)
                        .at("stroke-linejoin", "round")
                        .at_some("stroke-dasharray", line.pen.dash)
                        .end();
                }
            }
            for &(s, _) in line.points.iter().filter(|&&(_, v)| v == 0.0) {
                zeros = true;
                svg.el("circle")
                    .at("class", "zero")
                    .at("cx", x.at(s as f64))
                    .at("cy", BOTTOM)
                    .at("r", 2.5)
                    .at("fill", "none")
                    .at("stroke", line.pen.colour)
                    .end();
            }
            for marks in &line.marks {
                let top = strips_top + STRIP * row as f64;
                row += 1;
                strip(&mut svg, &x, top, marks);
            }
            svg.close();
            legend(&mut svg, index, line);
        }

        // Strip labels, beside the strips.
        let mut row = 0usize;
        for line in &self.lines {
            for marks in &line.marks {
                let top = strips_top + STRIP * row as f64;
                row += 1;
                let what = match marks.kind {
                    "nonfinite" => "non-finite",
                    other => other,
                };
                svg.el("text")
                    .at("x", RIGHT + 8.0)
                    .at("y", top + 10.0)
                    .at("font-size", 11.0)
                    .at("fill", line.pen.colour)
                    .text(&format!(
                        "{} {what} ({} steps)",
                        line.label,
                        marks.steps.len()
                    ));
            }
        }
        let mut notes = Vec::new();
        if strips > 0 {
            notes.push("Strips below the axis: steps whose value is not finite (not drawn above) or whose update was skipped.");
        }
        if zeros {
            notes.push("○ on the bottom edge: the value is exactly 0.");
        }
        svg.el("text")
            .at("x", LEFT)
            .at("y", height - 10.0)
            .at("font-size", 11.0)
            .at("fill", MUTED)
            .text(&notes.join(" "));
        svg
    }
}

/// The runs of consecutive points whose value can be drawn.
fn segments(points: &[(u64, f64)], drawable: impl Fn(f64) -> bool) -> Vec<&[(u64, f64)]> {
    points
        .split(|&(_, v)| !drawable(v))
        .filter(|s| !s.is_empty())
        .collect()
}

/// At most four points per pixel column (the first, the lowest, the highest and the last, in
/// order), so a long run draws the same shape with a bounded number of points.
fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for column in points.chunk_by(|a, b| a.0.floor() == b.0.floor()) {
        let lowest = column
            .iter()
            .copied()
            .fold(column[0], |m, p| if p.1 > m.1 { p } else { m });
        let highest = column
            .iter()
            .copied()
            .fold(column[0], |m, p| if p.1 < m.1 { p } else { m });
        let mut keep = vec![column[0], lowest, highest, column[column.len() - 1]];
        keep.sort_by(|a, b| a.0.total_cmp(&b.0));
        keep.dedup();
        out.extend(keep);
    }
    out
}

/// One strip: the marked steps as spans of consecutive steps.
fn strip(svg: &mut Svg, x: &Linear, top: f64, marks: &Marks) {
    let fill = match marks.kind {
        "nonfinite" => NONFINITE,
        _ => SKIPPED,
    };
    // Half a step each side, between half a pixel and a few, never beyond the axis.
    let half = (x.unit() / 2.0).clamp(0.5, 3.0);
    for span in marks.steps.chunk_by(|a, b| b == &(a + 1)) {
        let (first, last) = (span[0], span[span.len() - 1]);
        let steps = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        let left = (x.at(first as f64) - half).max(x.at_start());
        let right = (x.at(last as f64) + half).min(x.at_end());
        svg.el("rect")
            .at("class", marks.kind)
            .at("data-steps", steps)
            .at("x", left)
            .at("y", top)
            .at("width", right - left)
            .at("height", STRIP - 5.0)
            .at("fill", fill)
            .end();
    }
}

/// One legend entry: a stroke of the line's pen, its label and its note.
fn legend(svg: &mut Svg, index: usize, line: &Line) {
    let y = TOP + 8.0 + 34.0 * index as f64;
    svg.el("line")
        .at("x1", LEGEND)
        .at("y1", y)
        .at("x2", LEGEND + 26.0)
        .at("y2", y)
        .at("stroke", line.pen.colour)
        .at("stroke-width", line.pen.width.max(2.0))
        .at_some("stroke-dasharray", line.pen.dash)
        .end();
    svg.el("text")
        .at("x", LEGEND + 34.0)
        .at("y", y + 4.0)
        .text(&line.label);
    svg.el("text")
        .at("x", LEGEND + 34.0)
        .at("y", y + 18.0)
        .at("font-size", 10.0)
        .at("fill", MUTED)
        .text(&line.note);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_break_at_values_that_cannot_be_drawn() {
        let points = [(1, 1.0), (2, f64::NAN), (3, 2.0), (4, 3.0), (5, 0.0)];
        let runs = segments(&points, |v| v > 0.0 && v.is_finite());
        assert_eq!(runs, vec![&points[0..1], &points[2..4]]);
    }

    #[test]
    fn thinning_keeps_extremes_per_pixel_column_in_order() {
        let points = [(0.1, 5.0), (0.5, 1.0), (0.7, 9.0), (0.9, 4.0), (1.2, 3.0)];
        assert_eq!(
            thin(&points),
            vec![(0.1, 5.0), (0.5, 1.0), (0.7, 9.0), (0.9, 4.0), (1.2, 3.0)]
        );
        let many: Vec<(f64, f64)> = (0..100)
            .map(|i| (0.01 * f64::from(i), f64::from(i % 7)))
            .collect();
        assert!(thin(&many).len() <= 4);
    }
}
