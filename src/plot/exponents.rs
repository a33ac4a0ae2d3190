//! exponents.svg: per lane (rows) and role (columns: activations, gradients, updates), the
//! histogram of floor(log2 |x|) over the run from `exponents.csv`, with the bands of the
//! format the values are stored in shaded: flushed to zero (below the smallest subnormal),
//! subnormal, normal and overflow; and the values stored as zero, inf and NaN beside it.
//!
//! Every panel shares one exponent axis: the data's range, widened to show a format's
//! subnormal and overflow edges when they are near it (f16's are; bf16's, f32's and f64's
//! usually lie far outside the data and are not drawn). Counts are on a log axis per panel.

use std::collections::BTreeMap;

use super::input::{BinCount, Run};
use super::scale::{self, Linear, Log};
use super::style::{MUTED, NONFINITE, lane_colour};
use super::svg::{Svg, power};
use crate::audit::{Bin, ValueRole};
use crate::format::{Format, Spec};

const LEFT: f64 = 128.0;
const PANEL_WIDTH: f64 = 300.0;
const PANEL_GAP: f64 = 28.0;
const SLOT: f64 = 20.0;
const SLOT_GAP: f64 = 10.0;
const TOP: f64 = 104.0;
const BARS: f64 = 92.0;
const ROW: f64 = BARS + 46.0;
/// How far (in binades) beyond the data a format's edge may lie and still be drawn.
const NEAR: i32 = 48;

const FLUSHED: &str = "#dedede";
const SUBNORMAL: &str = "#fddcb8";
const NORMAL: &str = "#e6f0fa";
const OVERFLOW: &str = "#f5c2c2";
const ZERO: &str = "#555555";

/// One panel's histogram.
#[derive(Default)]
struct Histogram {
    stored_in: String,
    zero: u64,
    inf: u64,
    nan: u64,
    finite: BTreeMap<i32, u64>,
}

impl Histogram {
    fn max(&self) -> u64 {
        let finite = self.finite.values().copied().max().unwrap_or(0);
        finite.max(self.zero).max(self.inf).max(self.nan)
    }

    fn is_empty(&self) -> bool {
        self.max() == 0
    }
}

/// The chart.
pub fn draw(run: &Run, bins: &[BinCount]) -> Svg {
    let roles = ValueRole::ALL.map(ValueRole::name);
    let histograms: Vec<Vec<Histogram>> = run
        .lanes
        .iter()
        .map(|lane| {
            roles
                .iter()
                .map(|role| histogram(bins, lane, role))
                .collect()
        })
        .collect();
    let (lo, hi) = range(&histograms);
    let width = LEFT + 3.0 * PANEL_WIDTH + 2.0 * PANEL_GAP + 20.0;
    let height = TOP + ROW * run.lanes.len() as f64 + 30.0;
    let title = "Where values sit in each format: histograms of log2 |x| over the run";
    let mut svg = Svg::new(width, height, title);
    svg.heading(10.0, title);
    legend(&mut svg);
    for (c, heading) in [
        "activations (forward outputs)",
        "gradients (backward outputs)",
        "updates (steps Δ)",
    ]
    .iter()
    .enumerate()
    {
        svg.el("text")
            .at("x", panel_left(c) + PANEL_WIDTH / 2.0)
            .at("y", TOP - 16.0)
            .at("text-anchor", "middle")
            .at("font-weight", "bold")
            .text(heading);
    }
    for (r, lane) in run.lanes.iter().enumerate() {
        let top = TOP + ROW * r as f64;
        let colour = lane_colour(lane, r);
        svg.el("text")
            .at("x", 10.0)
            .at("y", top + BARS / 2.0)
            .at("font-weight", "bold")
            .at("fill", colour)
            .text(lane);
        for (c, role) in roles.iter().enumerate() {
            let panel = Panel {
                left: panel_left(c),
                top,
                x: Linear::new(
                    f64::from(lo),
                    f64::from(hi) + 1.0,
                    panel_left(c) + SLOT + SLOT_GAP,
                    panel_left(c) + PANEL_WIDTH - 2.0 * SLOT - SLOT_GAP,
                ),
            };
            svg.el("g")
                .at("class", "histogram")
                .at("data-lane", lane.as_str())
                .at("data-role", *role)
                .at("data-stored-in", histograms[r][c].stored_in.as_str())
                .open();
            panel.draw(&mut svg, &histograms[r][c], colour);
            svg.close();
        }
    }
    svg.el("text")
        .at("x", 10.0)
        .at("y", height - 10.0)
        .at("font-size", 11.0)
        .at("fill", MUTED)
        .text(
            "Bars: values per binade 2^k ≤ |x| < 2^(k+1) (log scale); 0, inf, nan: values stored \
             as zero, infinity or NaN. Bands: the format the values are stored in.",
        );
    svg
}

fn panel_left(column: usize) -> f64 {
    LEFT + (PANEL_WIDTH + PANEL_GAP) * column as f64
}

/// One lane's histogram of one role, summed over the formats its values are stored in; the
/// bands are those of the first.
fn histogram(bins: &[BinCount], lane: &str, role: &str) -> Histogram {
    let mut h = Histogram::default();
    for b in bins.iter().filter(|b| b.lane == lane && b.role == role) {
        if h.stored_in.is_empty() {
            h.stored_in = b.stored_in.clone();
        }
        match b.bin {
            Bin::Zero => h.zero += b.count,
            Bin::Inf => h.inf += b.count,
            Bin::Nan => h.nan += b.count,
            Bin::Finite(e) => *h.finite.entry(e).or_default() += b.count,
        }
    }
    h
}

/// The format's facts, when it is one the tool knows.
fn spec(name: &str) -> Option<Spec> {
    name.parse::<Format>().ok().map(Format::spec)
}

/// The lowest binade of the format's subnormals.
fn smallest(spec: &Spec) -> i32 {
    spec.emin - spec.precision as i32 + 1
}

/// The exponent axis: the data's binades, widened to the storage formats' edges near them.
fn range(histograms: &[Vec<Histogram>]) -> (i32, i32) {
    let all = histograms.iter().flatten();
    let exponents = all.clone().flat_map(|h| h.finite.keys().copied());
    let (mut lo, mut hi) =
        exponents.fold((i32::MAX, i32::MIN), |(lo, hi), e| (lo.min(e), hi.max(e)));
    if lo > hi {
        (lo, hi) = (-30, 10);
    }
    let (data_lo, data_hi) = (lo - 1, hi + 1);
    (lo, hi) = (data_lo, data_hi);
    for spec in all.filter_map(|h| spec(&h.stored_in)) {
        if smallest(&spec) >= data_lo - NEAR {
            lo = lo.min(smallest(&spec) - 2);
        }
        if spec.emax < data_hi + NEAR {
            hi = hi.max(spec.emax + 2);
        }
    }
    (lo, hi)
}

/// Where one panel is drawn.
struct Panel {
    left: f64,
    top: f64,
    x: Linear,
}

impl Panel {
    fn bottom(&self) -> f64 {
        self.top + BARS
    }

    fn draw(&self, svg: &mut Svg, h: &Histogram, colour: &str) {
        let (lo, hi) = (self.x.at_start(), self.x.at_end());
        if let Some(spec) = spec(&h.stored_in) {
            let edges = [
                (f64::NEG_INFINITY, FLUSHED, "flushed"),
                (f64::from(smallest(&spec)), SUBNORMAL, "subnormal"),
                (f64::from(spec.emin), NORMAL, "normal"),
                (f64::from(spec.emax + 1), OVERFLOW, "overflow"),
            ];
            for (i, &(from, fill, class)) in edges.iter().enumerate() {
                let to = edges.get(i + 1).map_or(f64::INFINITY, |e| e.0);
                let (a, b) = (self.x.at_clamped(from), self.x.at_clamped(to));
                if b > a {
                    svg.el("rect")
                        .at("class", format!("band {class}"))
                        .at("x", a)
                        .at("y", self.top)
                        .at("width", b - a)
                        .at("height", BARS)
                        .at("fill", fill)
                        .end();
                }
            }
            svg.el("text")
                .at("x", hi)
                .at("y", self.top + 11.0)
                .at("text-anchor", "end")
                .at("font-size", 10.0)
                .at("fill", MUTED)
                .text(&h.stored_in);
        }
        let y = Log::from_value(0.5, h.max().max(1) as f64, self.bottom(), self.top);
        y.draw_vertical(svg, self.left, self.left + PANEL_WIDTH, "", 3);
        if h.is_empty() {
            svg.el("text")
                .at("x", (lo + hi) / 2.0)
                .at("y", self.top + BARS / 2.0)
                .at("text-anchor", "middle")
                .at("fill", MUTED)
                .text("no values");
        }
        let unit = self.x.unit();
        for (&e, &count) in &h.finite {
            let x0 = self.x.at(f64::from(e));
            self.bar(
                svg,
                &y,
                (x0 + 0.25, (unit - 0.5).max(0.8)),
                Bin::Finite(e),
                count,
                colour,
            );
        }
        let slots = [
            (self.left + 2.0, Bin::Zero, h.zero, ZERO, "0"),
            (hi + SLOT_GAP, Bin::Inf, h.inf, NONFINITE, "inf"),
            (hi + SLOT_GAP + SLOT, Bin::Nan, h.nan, NONFINITE, "nan"),
        ];
        for (x0, bin, count, fill, label) in slots {
            self.bar(svg, &y, (x0 + 1.0, SLOT - 2.0), bin, count, fill);
            svg.el("text")
                .at("x", x0 + SLOT / 2.0)
                .at("y", self.bottom() + 14.0)
                .at("text-anchor", "middle")
                .at("font-size", 10.0)
                .at("fill", MUTED)
                .text(label);
        }
        let ticks = self.x.ticks(8, Some(4));
        scale::draw_horizontal(
            svg,
            &self.x,
            self.bottom(),
            &ticks,
            |t| power(2, t as i32),
            "",
        );
    }

    /// One bar of `count` values (none when empty), `(x, width)` in pixels.
    fn bar(
        &self,
        svg: &mut Svg,
        y: &Log,
        (x, width): (f64, f64),
        bin: Bin,
        count: u64,
        fill: &str,
    ) {
        let Some(top) = y.at(count as f64) else {
            return;
        };
        let name = match bin {
            Bin::Finite(e) => e.to_string(),
            other => other.name().to_string(),
        };
        svg.el("rect")
            .at("class", "bin")
            .at("data-bin", name)
            .at("data-count", count)
            .at("x", x)
            .at("y", top)
            .at("width", width)
            .at("height", self.bottom() - top)
            .at("fill", fill)
            .end();
    }
}

/// What the shading and the bars mean.
fn legend(svg: &mut Svg) {
    let entries = [
        (FLUSHED, "flushed to zero (below the smallest subnormal)"),
        (SUBNORMAL, "subnormal"),
        (NORMAL, "normal"),
        (OVERFLOW, "overflow (stored as inf)"),
        (NONFINITE, "inf or NaN values"),
    ];
    let mut x = 10.0;
    for (fill, text) in entries {
        svg.el("rect")
            .at("x", x)
            .at("y", 40.0)
            .at("width", 14.0)
            .at("height", 12.0)
            .at("fill", fill)
            .at("stroke", "#999999")
            .end();
        svg.el("text")
            .at("x", x + 19.0)
            .at("y", 50.0)
            .at("font-size", 11.0)
            .text(text);
        x += 30.0 + 6.2 * text.chars().count() as f64;
    }
}
