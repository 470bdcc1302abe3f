//! Step progress: an `indicatif` bar redrawn in place on a terminal (rate,
//! ETA, running metrics), plain periodic lines otherwise (logs, CI, Slurm
//! output files), which indicatif does not write.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over `total` steps of one phase (an epoch).
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    start: Instant,
    last_line: Option<Instant>,
    /// The bar, when standard error is a terminal.
    bar: Option<ProgressBar>,
    every: Duration,
}

/// The bar: label, 24 cells, steps, rate, ETA, the running metrics.
const TEMPLATE: &str = "{prefix} [{bar:24}] {pos}/{len} {rate} eta {epoch_eta} {wide_msg}";

/// The bar on standard error, at most 5 redraws a second.
fn bar(label: &str, total: usize) -> ProgressBar {
    // TEMPLATE is a constant that a test parses; indicatif's default bar
    // stands in only if that ever broke.
    let style = ProgressStyle::with_template(TEMPLATE).map_or_else(
        |_| ProgressStyle::default_bar(),
        |s| {
            // Before the first step there is no rate to show: `? it/s eta ?`
            // rather than `0.00 it/s eta 0s`.
            s.progress_chars("#-")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = match state.pos() {
                            0 => write!(w, "? it/s"),
                            _ => write!(w, "{:.2} it/s", state.per_sec()),
                        };
                    },
                )
                .with_key(
                    "epoch_eta",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = match state.pos() {
                            0 => write!(w, "?"),
                            _ => write!(w, "{}", fmt_duration(state.eta().as_secs_f64())),
                        };
                    },
                )
        },
    );
    let bar =
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr_with_hz(5));
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}

/// `n` and `noun`, plural unless `n` is 1 (`1 epoch`, `3 epochs`).
pub fn count_of(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
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
        let label = label.into();
        let every = std::env::var("EDAS_PROGRESS_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(30.0);
        Progress {
            bar: std::io::stderr().is_terminal().then(|| bar(&label, total)),
            label,
            total,
            done: 0,
            start: Instant::now(),
            last_line: None,
            every: Duration::from_secs_f64(every.max(0.0)),
        }
    }

    /// Progress that shows nothing, on a terminal or not (`--quiet`: only
    /// errors are printed; a bar would still be drawn once per epoch and
    /// never updated).
    pub fn silent(label: impl Into<String>, total: usize) -> Progress {
        Progress {
            bar: None,
            label: label.into(),
            total,
            done: 0,
            start: Instant::now(),
            last_line: None,
            every: Duration::ZERO,
        }
    }

    /// Whether anything is drawn or printed.
    pub fn is_silent(&self) -> bool {
        self.bar.is_none() && self.every.is_zero()
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

    /// One more step done; redraws the bar (terminal) or prints a line
    /// when one is due.
    pub fn step(&mut self, metrics: &str) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.set_message(metrics.to_owned());
            bar.inc(1);
            return;
        }
        // The caller prints the epoch's summary after its last step.
        if self.every.is_zero() || self.done >= self.total {
            return;
        }
        let now = Instant::now();
        let due = self
            .last_line
            .is_none_or(|t| now.duration_since(t) >= self.every);
        if due {
            self.last_line = Some(now);
            let _ = writeln!(std::io::stderr(), "{}", self.line(metrics));
        }
    }

    /// Clears the bar (terminal), so the epoch summary starts on a clean line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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
        p.bar = None;
        p.every = Duration::ZERO;
        p.step("loss 2.0");
        p.step("loss 1.9");
        let line = p.line("loss 1.9");
        assert!(
            line.starts_with("epoch 1/3 [############------------] 2/4 "),
            "{line}"
        );
        assert!(line.ends_with("loss 1.9"));
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }
}
