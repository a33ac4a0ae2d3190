//! "step k of n" on stderr while an audit runs, when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shows "step k of n" on stderr when it is a terminal and the run lasts more than a moment.
pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// Starts the clock; shows nothing unless stderr is a terminal.
    pub fn new() -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
        }
    }

    /// Redraws the bar after `done` of `total` steps, at most ten times a second.
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
        draw(&bar(done, total));
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if self.last.is_some() {
            draw(&format!("\r{}\r", " ".repeat(60)));
        }
    }
}

/// "[####      ] step k/n", 30 characters of bar. Computed in u128 and capped at full, so no
/// count overflows or leaves the bar, whatever `done` and `total` are.
fn bar(done: u64, total: u64) -> String {
    const WIDTH: u128 = 30;
    let filled = (u128::from(done) * WIDTH / u128::from(total.max(1))).min(WIDTH) as usize;
    format!(
        "\r[{}{}] step {done}/{total}",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled)
    )
}

/// Writes to stderr; a bar that cannot be drawn is not an error.
fn draw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_bar_stays_30_wide_for_any_count() {
        assert_eq!(bar(0, 4), format!("\r[{}] step 0/4", " ".repeat(30)));
        assert_eq!(
            bar(2, 4),
            format!("\r[{}{}] step 2/4", "#".repeat(15), " ".repeat(15))
        );
        // A total that wrapped to 0 once made `done * 30` exceed the bar: `30 - filled`
        // underflowed and `repeat` panicked with a capacity overflow.
        assert_eq!(bar(7, 0), format!("\r[{}] step 7/0", "#".repeat(30)));
        let huge = bar(u64::MAX, u64::MAX);
        assert!(
            huge.starts_with(&format!("\r[{}]", "#".repeat(30))),
            "{huge}"
        );
    }
}
