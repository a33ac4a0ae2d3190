//! "step k of n" (or "task k of n" while a grid runs), the rate and the time left, on stderr
//! while an audit runs, when stderr is a terminal (never in a pipe or a log file).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shows a bar, the steps done, steps per second and an estimate of the time left on stderr
/// when it is a terminal and the run lasts more than a moment.
pub struct Progress {
    unit: &'static str,
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
    shown: usize,
}

impl Progress {
    /// Starts the clock for an audit's steps; shows nothing unless stderr is a terminal.
    pub fn new() -> Self {
        Progress::counting("step")
    }

    /// Starts the clock for items called `unit` (`task`).
    pub fn counting(unit: &'static str) -> Self {
        Progress {
            unit,
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            shown: 0,
        }
    }

    /// Redraws the line after `done` of `total` steps, at most ten times a second.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
            && done < total
        {
            return;
        }
        self.last = Some(Instant::now());
        let text = line(done, total, self.started.elapsed(), self.unit);
        // Pad over a longer line drawn before.
        let pad = self.shown.saturating_sub(text.chars().count());
        self.shown = text.chars().count();
        draw(&format!("\r{text}{}", " ".repeat(pad)));
    }

    /// Clears the line.
    pub fn finish(&self) {
        if self.last.is_some() {
            draw(&format!("\r{}\r", " ".repeat(self.shown)));
        }
    }
}

/// The progress line after `done` of `total` steps (or other `unit`s) in `elapsed`: the bar,
/// the count, the rate so far and the time left at that rate.
fn line(done: u64, total: u64, elapsed: Duration, unit: &str) -> String {
    // In u128 and capped at full, so no count overflows or leaves the bar, whatever `done` and
    // `total` are.
    const WIDTH: u128 = 30;
    let filled = (u128::from(done) * WIDTH / u128::from(total.max(1))).min(WIDTH) as usize;
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        done as f64 / seconds
    } else {
        0.0
    };
    let left = if rate > 0.0 {
        clock((total.saturating_sub(done) as f64 / rate).round() as u64)
    } else {
        "?".into()
    };
    format!(
        "[{}{}] {unit} {done}/{total}  {} {unit}s/s  ETA {left}",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled),
        rate_text(rate)
    )
}

/// Writes to stderr; a line that cannot be drawn is not an error.
fn draw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// A rate with three significant digits or so: `0.52`, `8.3`, `412`.
fn rate_text(rate: f64) -> String {
    match rate {
        r if r < 1.0 => format!("{r:.2}"),
        r if r < 100.0 => format!("{r:.1}"),
        r => format!("{r:.0}"),
    }
}

/// Seconds as `42s`, `3m07s` or `2h05m`.
fn clock(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_rate_and_time_left() {
        assert_eq!(
            line(100, 400, Duration::from_secs(4), "step"),
            "[#######                       ] step 100/400  25.0 steps/s  ETA 12s"
        );
        assert_eq!(
            line(1, 10_000, Duration::from_secs(2), "step"),
            "[                              ] step 1/10000  0.50 steps/s  ETA 5h33m"
        );
        assert_eq!(
            line(400, 400, Duration::from_millis(800), "step"),
            "[##############################] step 400/400  500 steps/s  ETA 0s"
        );
        assert!(line(0, 400, Duration::ZERO, "step").ends_with("0.00 steps/s  ETA ?"));
        assert_eq!(
            line(3, 32, Duration::from_secs(3), "task"),
            "[##                            ] task 3/32  1.0 tasks/s  ETA 29s"
        );
    }

    #[test]
    fn the_bar_stays_30_wide_for_any_count() {
        // A total that wrapped to 0 once made `done * 30` exceed the bar: `30 - filled`
        // underflowed and `repeat` panicked with a capacity overflow.
        let full = format!("[{}]", "#".repeat(30));
        assert!(line(7, 0, Duration::from_secs(1), "step").starts_with(&full));
        let huge = line(u64::MAX, u64::MAX, Duration::from_secs(1), "step");
        assert!(huge.starts_with(&full), "{huge}");
    }

    #[test]
    fn clock_reads_at_a_glance() {
        assert_eq!(clock(7), "7s");
        assert_eq!(clock(187), "3m07s");
        assert_eq!(clock(7500), "2h05m");
    }
}
