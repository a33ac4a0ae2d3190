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
        let width = 30;
        let filled = (done * width / total.max(1)) as usize;
        draw(&format!(
            "\r[{}{}] step {done}/{total}",
            "#".repeat(filled),
            " ".repeat(width as usize - filled)
        ));
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if self.last.is_some() {
            draw(&format!("\r{}\r", " ".repeat(60)));
        }
    }
}

/// Writes to stderr; a bar that cannot be drawn is not an error.
fn draw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
