//! ops.svg: a heatmap of mean bits of error, ops (rows, in the order the network runs them:
//! forward, loss, backward, optimizer, with a policy's casts and scalings where they run) by
//! lanes (columns), in two panels: local error (where error enters) and accumulated error
//! (how much has built up). Each panel has its own colour scale, drawn below it; a cell whose
//! mean is not finite is marked, and an op a lane does not run is left blank.

use super::input::{OpErrors, Run};
use super::style::{MUTED, NONFINITE_CELL, hex, ink, ramp};
use super::svg::Svg;

const LABELS: f64 = 210.0;
const CELL_WIDTH: f64 = 66.0;
const CELL_HEIGHT: f64 = 16.0;
const PANEL_GAP: f64 = 30.0;
const TOP: f64 = 84.0;
/// Steps of the colour bar in a legend.
const BAR_STEPS: usize = 48;

/// The two panels: a title and which mean each shows.
type Panel = (&'static str, &'static str, fn(&OpErrors) -> f64);

const PANELS: [Panel; 2] = [
    ("local", "local: where error enters", |o| o.local),
    ("accumulated", "accumulated: against the reference", |o| {
        o.accumulated
    }),
];

/// The heatmap.
pub fn draw(run: &Run) -> Svg {
    let rows = row_order(&run.lanes, &run.ops);
    let columns = run.lanes.len().max(1) as f64;
    let panel_width = CELL_WIDTH * columns;
    let grid_bottom = TOP + CELL_HEIGHT * rows.len() as f64;
    let width = (LABELS + 2.0 * panel_width + PANEL_GAP + 20.0).max(760.0);
    let height = grid_bottom + 120.0;
    let title = "Mean bits of error per op and lane";
    let mut svg = Svg::new(width, height, title);
    svg.heading(10.0, title);

    for (i, op) in rows.iter().enumerate() {
        svg.el("text")
            .at("x", LABELS - 8.0)
            .at("y", TOP + CELL_HEIGHT * i as f64 + 12.0)
            .at("text-anchor", "end")
            .at("font-size", 11.0)
            .at("font-family", "monospace")
            .text(op);
    }
    for (p, (class, heading, mean)) in PANELS.iter().enumerate() {
        let left = LABELS + p as f64 * (panel_width + PANEL_GAP);
        let top_value = run
            .ops
            .iter()
            .map(mean)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .ceil()
            .max(1.0);
        svg.el("text")
            .at("x", left)
            .at("y", 50.0)
            .at("font-weight", "bold")
            .text(heading);
        svg.el("g")
            .at("class", "panel")
            .at("data-panel", *class)
            .open();
        for (c, lane) in run.lanes.iter().enumerate() {
            let x = left + CELL_WIDTH * c as f64;
            svg.el("text")
                .at("x", x + CELL_WIDTH / 2.0)
                .at("y", TOP - 8.0)
                .at("text-anchor", "middle")
                .at("font-size", 11.0)
                .text(lane);
            for (r, op) in rows.iter().enumerate() {
                let y = TOP + CELL_HEIGHT * r as f64;
                let found = run.ops.iter().find(|o| &o.lane == lane && &o.op == op);
                cell(&mut svg, (x, y), lane, op, found.map(mean), top_value);
            }
        }
        separators(&mut svg, &rows, left, panel_width);
        svg.close();
        legend(&mut svg, left, grid_bottom + 20.0, panel_width, top_value);
    }
    for (i, line) in [
        "Bits of error: log2(1 + format values between the result and the correctly rounded value),",
        "averaged over every element of every step. Blank: the lane does not run the op.",
    ]
    .iter()
    .enumerate()
    {
        svg.el("text")
            .at("x", 10.0)
            .at("y", height - 26.0 + 14.0 * i as f64)
            .at("font-size", 11.0)
            .at("fill", MUTED)
            .text(line);
    }
    svg
}

/// One cell: its colour, and its value written in it.
fn cell(svg: &mut Svg, (x, y): (f64, f64), lane: &str, op: &str, value: Option<f64>, top: f64) {
    let (class, fill, text, ink) = match value {
        None => ("cell missing", "#f4f4f4".to_string(), String::new(), MUTED),
        Some(v) if !v.is_finite() => (
            "cell nonfinite",
            NONFINITE_CELL.to_string(),
            if v.is_nan() { "nan" } else { "inf" }.to_string(),
            "#ffffff",
        ),
        Some(v) => {
            let colour = ramp(v / top);
            ("cell", hex(colour), bits(v), ink(colour))
        }
    };
    svg.el("rect")
        .at("class", class)
        .at("data-lane", lane)
        .at("data-op", op)
        .at("x", x + 1.0)
        .at("y", y + 1.0)
        .at("width", CELL_WIDTH - 2.0)
        .at("height", CELL_HEIGHT - 2.0)
        .at("fill", fill)
        .end();
    if !text.is_empty() {
        svg.el("text")
            .at("x", x + CELL_WIDTH / 2.0)
            .at("y", y + 12.0)
            .at("text-anchor", "middle")
            .at("font-size", 10.0)
            .at("fill", ink)
            .text(&text);
    }
}

/// A mean as a cell shows it: 0 when exact, `<0.01` when tiny.
fn bits(v: f64) -> String {
    match v {
        0.0 => "0".into(),
        v if v < 0.005 => "<0.01".into(),
        v if v < 10.0 => format!("{v:.2}"),
        v => format!("{v:.1}"),
    }
}

/// Lines between phases (`fwd`, `loss`, `bwd`, …) across a panel.
fn separators(svg: &mut Svg, rows: &[String], left: f64, width: f64) {
    let phase = |op: &str| op.split('.').next().unwrap_or("").to_string();
    for i in 1..rows.len() {
        if phase(&rows[i]) != phase(&rows[i - 1]) {
            let y = TOP + CELL_HEIGHT * i as f64;
            svg.el("line")
                .at("x1", left)
                .at("y1", y)
                .at("x2", left + width)
                .at("y2", y)
                .at("stroke", "#333333")
                .at("stroke-width", 1.0)
                .end();
        }
    }
}

/// The colour scale from 0 to `top` bits, and the swatch of non-finite cells.
fn legend(svg: &mut Svg, left: f64, y: f64, width: f64, top: f64) {
    let step = width / BAR_STEPS as f64;
    for i in 0..BAR_STEPS {
        let t = (i as f64 + 0.5) / BAR_STEPS as f64;
        svg.el("rect")
            .at("x", left + step * i as f64)
            .at("y", y)
            .at("width", step + 0.3)
            .at("height", 12.0)
            .at("fill", hex(ramp(t)))
            .end();
    }
    let ticks = top as i64;
    let every = (ticks / 8).max(1);
    for k in (0..=ticks).filter(|k| k % every == 0) {
        let x = left + width * k as f64 / top;
        svg.el("line")
            .at("x1", x)
            .at("y1", y + 12.0)
            .at("x2", x)
            .at("y2", y + 16.0)
            .at("stroke", "#444444")
            .end();
        svg.el("text")
            .at("x", x)
            .at("y", y + 28.0)
            .at("text-anchor", "middle")
            .at("font-size", 10.0)
            .text(&k.to_string());
    }
    svg.el("text")
        .at("x", left)
        .at("y", y + 44.0)
        .at("font-size", 11.0)
        .text("mean bits of error");
    svg.el("rect")
        .at("x", left + width - 92.0)
        .at("y", y + 34.0)
        .at("width", 12.0)
        .at("height", 12.0)
        .at("fill", NONFINITE_CELL)
        .end();
    svg.el("text")
        .at("x", left + width - 76.0)
        .at("y", y + 44.0)
        .at("font-size", 11.0)
        .text("nan or inf");
}

/// Every op of every lane, each lane's in its own order: an op a lane runs that no earlier
/// lane does (a cast, a scaling) goes right after that lane's previous op.
fn row_order(lanes: &[String], ops: &[OpErrors]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for lane in lanes {
        let mut after: Option<usize> = None;
        for op in ops.iter().filter(|o| &o.lane == lane) {
            match order.iter().position(|o| o == &op.op) {
                Some(at) => after = Some(at),
                None => {
                    let at = after.map_or(0, |a| a + 1);
                    order.insert(at, op.op.clone());
                    after = Some(at);
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_write_bits_briefly() {
        assert_eq!(bits(0.0), "0");
        assert_eq!(bits(0.001), "<0.01");
        assert_eq!(bits(0.126), "0.13");
        assert_eq!(bits(11.04), "11.0");
    }

    #[test]
    fn rows_merge_every_lane_in_network_order() {
        let ops: Vec<OpErrors> = [
            ("f16", "fwd.matmul"),
            ("f16", "loss.sub"),
            ("f16", "bwd.grad"),
            ("mixed-f16", "cast.weight"),
            ("mixed-f16", "fwd.matmul"),
            ("mixed-f16", "cast.output"),
            ("mixed-f16", "loss.sub"),
            ("mixed-f16", "bwd.grad"),
            ("mixed-f16", "cast.grad"),
        ]
        .into_iter()
        .map(|(lane, op)| OpErrors {
            lane: lane.into(),
            op: op.into(),
            local: 0.0,
            accumulated: 0.0,
        })
        .collect();
        let lanes = ["f16".to_string(), "mixed-f16".to_string()];
        assert_eq!(
            row_order(&lanes, &ops),
            [
                "cast.weight",
                "fwd.matmul",
                "cast.output",
                "loss.sub",
                "bwd.grad",
                "cast.grad"
            ]
        );
    }
}
