//! Colours: one per lane (Okabe–Ito, told apart with colour blindness too; a mixed lane is
//! dashed and near its pure lane's hue), and the sequential ramp of the heatmap.

/// The reference's colour.
pub const REFERENCE: &str = "#9a9a9a";
/// Marks of non-finite values.
pub const NONFINITE: &str = "#b00020";
/// Heatmap cells whose mean is not finite: outside the ramp, which ends in dark red.
pub const NONFINITE_CELL: &str = "#111111";
/// Marks of skipped steps.
pub const SKIPPED: &str = "#7a7a7a";
/// Text and lines of secondary importance.
pub const MUTED: &str = "#666666";

/// The colours of lanes not named below, in order of use.
const SPARE: [&str; 4] = ["#000000", "#F0E442", "#882255", "#44AA99"];

/// A lane's colour: fixed per lane name, so f16 looks the same in every picture of every run.
pub fn lane_colour(lane: &str, index: usize) -> &'static str {
    match lane {
        "f16" => "#D55E00",
        "mixed-f16" => "#E69F00",
        "bf16" => "#CC79A7",
        "mixed-bf16" => "#56B4E9",
        "f32" => "#009E73",
        "f64" => "#0072B2",
        _ => SPARE[index % SPARE.len()],
    }
}

/// A lane's dash pattern: mixed lanes are dashed.
pub fn lane_dash(lane: &str) -> Option<&'static str> {
    lane.starts_with("mixed-").then_some("6 3")
}

/// ColorBrewer's YlOrRd, light (no error) to dark (much error).
const RAMP: [(u8, u8, u8); 9] = [
    (0xff, 0xff, 0xcc),
    (0xff, 0xed, 0xa0),
    (0xfe, 0xd9, 0x76),
    (0xfe, 0xb2, 0x4c),
    (0xfd, 0x8d, 0x3c),
    (0xfc, 0x4e, 0x2a),
    (0xe3, 0x1a, 0x1c),
    (0xbd, 0x00, 0x26),
    (0x80, 0x00, 0x26),
];

/// The ramp's colour at `t` in [0, 1] (clamped), interpolated linearly between its stops.
pub fn ramp(t: f64) -> (u8, u8, u8) {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let position = t * (RAMP.len() - 1) as f64;
    let below = (position.floor() as usize).min(RAMP.len() - 2);
    let f = position - below as f64;
    let (a, b) = (RAMP[below], RAMP[below + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `#rrggbb`.
pub fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Black or white, whichever reads better on `background`.
pub fn ink((r, g, b): (u8, u8, u8)) -> &'static str {
    let luma = 299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b);
    if luma > 150_000 { "#000000" } else { "#ffffff" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_runs_from_light_to_dark_through_its_stops() {
        assert_eq!(hex(ramp(0.0)), "#ffffcc");
        assert_eq!(hex(ramp(1.0)), "#800026");
        assert_eq!(hex(ramp(0.5)), "#fd8d3c");
        assert_eq!(hex(ramp(2.0)), "#800026");
        assert_eq!(ink(ramp(0.0)), "#000000");
        assert_eq!(ink(ramp(1.0)), "#ffffff");
    }
}
