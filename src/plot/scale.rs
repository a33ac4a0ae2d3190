//! Axes: a linear scale over integers (steps, exponents) and a logarithmic one over decades,
//! with their ticks and how they are drawn. log10 is MPFR's, correctly rounded, so where a
//! point lands does not depend on the platform's libm.

use rug::Float;

use super::svg::{Svg, power};

/// log10 x, correctly rounded (x finite and positive).
pub fn log10(x: f64) -> f64 {
    Float::with_val(53, x).log10().to_f64()
}

/// Light grey of grid lines.
const GRID: &str = "#e4e4e4";
/// Dark grey of axes and their text.
const AXIS: &str = "#444444";

/// A linear map from values to pixels.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Linear {
    /// Values `lo..=hi` onto pixels `from..=to` (a single value sits in the middle).
    pub fn new(lo: f64, hi: f64, from: f64, to: f64) -> Linear {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        Linear { lo, hi, from, to }
    }

    /// The pixel of `v`.
    pub fn at(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// The pixel of the range's low end.
    pub fn at_start(&self) -> f64 {
        self.from
    }

    /// The pixel of the range's high end.
    pub fn at_end(&self) -> f64 {
        self.to
    }

    /// The pixel of `v` clamped to the range (infinities included).
    pub fn at_clamped(&self, v: f64) -> f64 {
        self.at(v.clamp(self.lo, self.hi))
    }

    /// Pixels per unit of value.
    pub fn unit(&self) -> f64 {
        (self.to - self.from) / (self.hi - self.lo)
    }

    /// Integer ticks inside the range at a round step (1, 2 or 5 × 10^k, or a multiple of
    /// `base` when one is given), at most `most` of them.
    pub fn ticks(&self, most: i64, base: Option<i64>) -> Vec<i64> {
        let span = (self.hi - self.lo).ceil().max(1.0) as i64;
        let mut step = 1i64;
        let steps: Vec<i64> = match base {
            Some(base) => (0..20).map(|k| base << k).collect(),
            None => (0..18)
                .flat_map(|k| [1, 2, 5].map(|m| m * 10i64.pow(k)))
                .collect(),
        };
        for candidate in steps {
            step = candidate;
            if span / candidate < most {
                break;
            }
        }
        let first = (self.lo / step as f64).ceil() as i64 * step;
        (0..)
            .map(|k| first + k * step)
            .take_while(|&v| v as f64 <= self.hi)
            .collect()
    }
}

/// A base-10 logarithmic map from positive values to pixels.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Log {
    /// Whole decades covering `min..=max` (positive), onto pixels `from..=to`; at least one
    /// decade.
    pub fn covering(min: f64, max: f64, from: f64, to: f64) -> Log {
        let lo = log10(min).floor();
        let hi = log10(max).ceil().max(lo + 1.0);
        Log { lo, hi, from, to }
    }

    /// From `lo` (any positive value) to the decade above `max`.
    pub fn from_value(lo: f64, max: f64, from: f64, to: f64) -> Log {
        let lo = log10(lo);
        let hi = log10(max).ceil().max(lo.ceil()).max(lo + 1.0);
        Log { lo, hi, from, to }
    }

    /// The pixel of `v`, clamped to the axis; `None` for zero, negative and non-finite values.
    pub fn at(&self, v: f64) -> Option<f64> {
        (v > 0.0 && v.is_finite()).then(|| self.at_log(log10(v).clamp(self.lo, self.hi)))
    }

    fn at_log(&self, l: f64) -> f64 {
        self.from + (l - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// The whole decades inside the axis.
    fn decades(&self) -> impl Iterator<Item = i32> {
        (self.lo.ceil() as i32)..=(self.hi.floor() as i32)
    }

    /// Draws a vertical log axis at `x`, with grid lines to `grid_to`, at most `most` labelled
    /// decades and `label` beside it (none when empty).
    pub fn draw_vertical(&self, svg: &mut Svg, x: f64, grid_to: f64, label: &str, most: usize) {
        let decades: Vec<i32> = self.decades().collect();
        let every = decades.len().div_ceil(most.max(1)).max(1) as i32;
        for &d in &decades {
            let y = self.at_log(f64::from(d));
            svg.el("line")
                .at("x1", x)
                .at("y1", y)
                .at("x2", grid_to)
                .at("y2", y)
                .at("stroke", GRID)
                .end();
            if d.rem_euclid(every) == 0 {
                svg.el("text")
                    .at("x", x - 6.0)
                    .at("y", y + 4.0)
                    .at("text-anchor", "end")
                    .at("fill", AXIS)
                    .markup(&decade_label(d));
            }
        }
        axis_line(svg, (x, self.from), (x, self.to));
        if label.is_empty() {
            return;
        }
        let middle = (self.from + self.to) / 2.0;
        svg.el("text")
            .at("x", x - 48.0)
            .at("y", middle)
            .at("text-anchor", "middle")
            .at("fill", AXIS)
            .at("transform", format!("rotate(-90 {} {})", x - 48.0, middle))
            .text(label);
    }
}

/// 10^d as axis text: `1`, `10`, `100`, then `10` with a superscript.
fn decade_label(d: i32) -> String {
    match d {
        0 => "1".into(),
        1 => "10".into(),
        2 => "100".into(),
        _ => power(10, d),
    }
}

/// Draws a horizontal axis at `y` with integer ticks, labelled by `label_of`, and `label`
/// centred below.
pub fn draw_horizontal(
    svg: &mut Svg,
    scale: &Linear,
    y: f64,
    ticks: &[i64],
    label_of: impl Fn(i64) -> String,
    label: &str,
) {
    axis_line(svg, (scale.from, y), (scale.to, y));
    for &t in ticks {
        let x = scale.at(t as f64);
        svg.el("line")
            .at("x1", x)
            .at("y1", y)
            .at("x2", x)
            .at("y2", y + 4.0)
            .at("stroke", AXIS)
            .end();
        svg.el("text")
            .at("x", x)
            .at("y", y + 16.0)
            .at("text-anchor", "middle")
            .at("fill", AXIS)
            .markup(&label_of(t));
    }
    if !label.is_empty() {
        svg.el("text")
            .at("x", (scale.from + scale.to) / 2.0)
            .at("y", y + 34.0)
            .at("text-anchor", "middle")
            .at("fill", AXIS)
            .text(label);
    }
}

fn axis_line(svg: &mut Svg, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) {
    svg.el("line")
        .at("x1", x1)
        .at("y1", y1)
        .at("x2", x2)
        .at("y2", y2)
        .at("stroke", AXIS)
        .end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log10_is_exact_at_powers_of_ten() {
        for k in -20..=20 {
            let x: f64 = format!("1e{k}").parse().unwrap();
            assert_eq!(log10(x), f64::from(k));
        }
    }

    #[test]
    fn log_axis_covers_whole_decades_and_clamps() {
        let axis = Log::covering(3e-5, 0.2, 100.0, 0.0);
        assert_eq!((axis.lo, axis.hi), (-5.0, 0.0));
        assert_eq!(axis.at(1e-5), Some(100.0));
        assert_eq!(axis.at(1.0), Some(0.0));
        assert_eq!(axis.at(1e-3), Some(60.0));
        assert_eq!(axis.at(1e-9), Some(100.0));
        assert_eq!(axis.at(0.0), None);
        assert_eq!(axis.at(f64::NAN), None);
    }

    #[test]
    fn linear_ticks_are_round_and_inside() {
        let steps = Linear::new(1.0, 400.0, 0.0, 600.0);
        assert_eq!(
            steps.ticks(10, None),
            vec![50, 100, 150, 200, 250, 300, 350, 400]
        );
        let exponents = Linear::new(-27.0, 17.0, 0.0, 300.0);
        assert_eq!(exponents.ticks(8, Some(4)), vec![-24, -16, -8, 0, 8, 16]);
        let one = Linear::new(1.0, 1.0, 0.0, 100.0);
        assert_eq!(one.at(1.0), 50.0);
        assert_eq!(one.ticks(10, None), vec![1]);
    }
}
