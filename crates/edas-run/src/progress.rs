//! Step progress: a one-line bar redrawn in place on a terminal (rate, ETA,
//! running metrics), plain periodic lines otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress over `total` steps of one phase (an epoch).
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    start: Instant,
    last_draw: Option<Instant>,
    terminal: bool,
    every: Duration,
}

/// `seconds` as `1h02m`, `3m05s` or `12s`.
pub fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "?".into();
    }
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Progress {
    /// Progress on standard error: a bar when it is a terminal, otherwise a
    /// line every 30 s (`EDAS_PROGRESS_SECS` changes the period; `0` turns
    /// periodic lines off).
    pub fn new(label: impl Into<String>, total: usize) -> Progress {
        let every = std::env::var("EDAS_PROGRESS_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(30.0);
        Progress {
            label: label.into(),
            total,
            done: 0,
            start: Instant::now(),
            last_draw: None,
            terminal: std::io::stderr().is_terminal(),
            every: Duration::from_secs_f64(every.max(0.0)),
        }
    }

    /// The status line after `done` of `total` steps with `metrics` appended.
    pub fn line(&self, metrics: &str) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let rate = self.done as f64 / elapsed.max(1e-9);
        let eta = (self.total.saturating_sub(self.done)) as f64 / rate.max(1e-12);
        let width = 24;
        let filled = (width * self.done) / self.total.max(1);
        format!(
            "{} [{}{}] {}/{} {:.2} it/s eta {} {}",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.done,
            self.total,
            rate,
            fmt_duration(if self.done == 0 { f64::NAN } else { eta }),
            metrics
        )
    }

    /// One more step done; redraws (terminal) or prints a line when due.
    pub fn step(&mut self, metrics: &str) {
        self.done += 1;
        let now = Instant::now();
        let due = match self.last_draw {
            None => true,
            Some(t) if self.terminal => now.duration_since(t) >= Duration::from_millis(200),
            Some(t) => !self.every.is_zero() && now.duration_since(t) >= self.every,
        };
        if !due && self.done < self.total {
            return;
        }
        if !self.terminal && (self.every.is_zero() || self.done == self.total) {
            return; // the caller prints the epoch summary
        }
        self.last_draw = Some(now);
        let line = self.line(metrics);
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    /// Clears the bar (terminal), so the epoch summary starts on a clean line.
    pub fn finish(&self) {
        if self.terminal && self.last_draw.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    /// Seconds since the phase started.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_lines() {
        assert_eq!(fmt_duration(5.4), "5s");
        assert_eq!(fmt_duration(185.0), "3m05s");
        assert_eq!(fmt_duration(3720.0), "1h02m");
        assert_eq!(fmt_duration(f64::NAN), "?");
        let mut p = Progress::new("epoch 1/3", 4);
        p.terminal = false;
        p.every = Duration::ZERO;
        p.step("loss 2.0");
        p.step("loss 1.9");
        let line = p.line("loss 1.9");
        assert!(
            line.starts_with("epoch 1/3 [############------------] 2/4 "),
            "{line}"
        );
        assert!(line.ends_with("loss 1.9"));
    }
}
