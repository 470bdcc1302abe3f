//! Self-contained SVG line charts (no plotting tool needed to read them):
//! loss and accuracy curves, alpha over epochs, the pruning gap.

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points; non-finite values are skipped.
    pub points: Vec<(f64, f64)>,
}

/// One panel: axes, ticks, lines and a legend.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Chart {
    /// Title above the panel.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// Fixed y range; derived from the data when `None`.
    pub y_range: Option<(f64, f64)>,
}

/// Colours for up to 8 series (then repeating): one per DARTS op.
pub const PALETTE: [&str; 8] = [
    "#9e9e9e", "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
];

const PANEL_W: f64 = 360.0;
const PANEL_H: f64 = 250.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 38.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "Nice" tick values covering `[lo, hi]`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-12);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Multiples of the step, each rounded to the step's precision.
    let digits = (-step.log10().floor()).max(0.0) as i32 + 1;
    let scale = 10f64.powi(digits);
    (first..=last)
        .map(|k| ((k as f64 * step) * scale).round() / scale)
        .collect()
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1000.0 || v.abs() < 0.01 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl Chart {
    fn bounds(&self) -> ((f64, f64), (f64, f64)) {
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 - x0 < 1e-12 {
            x1 = x0 + 1.0;
        }
        if let Some(r) = self.y_range {
            (y0, y1) = r;
        } else if y1 - y0 < 1e-12 {
            y0 -= 0.5;
            y1 += 0.5;
        } else {
            let pad = 0.05 * (y1 - y0);
            y0 -= pad;
            y1 += pad;
        }
        ((x0, x1), (y0, y1))
    }

    /// The panel as SVG elements, drawn with its top-left corner at `(ox, oy)`.
    fn render_into(&self, out: &mut String, ox: f64, oy: f64) {
        let ((x0, x1), (y0, y1)) = self.bounds();
        let (pw, ph) = (PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
        let sx = |x: f64| ox + LEFT + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| oy + TOP + (1.0 - (y - y0) / (y1 - y0)) * ph;
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="13" text-anchor="middle" font-weight="bold">{}</text>"##,
            ox + LEFT + pw / 2.0,
            oy + 16.0,
            esc(&self.title)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#444"/>"##,
            ox + LEFT,
            oy + TOP
        );
        for t in ticks(y0, y1, 5) {
            let y = sy(t);
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
                ox + LEFT,
                ox + LEFT + pw,
                ox + LEFT - 4.0,
                y + 3.5,
                fmt_tick(t)
            );
        }
        for t in ticks(x0, x1, 6) {
            let x = sx(t);
            let _ = writeln!(
                out,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#444"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
                oy + TOP + ph,
                oy + TOP + ph + 4.0,
                oy + TOP + ph + 15.0,
                fmt_tick(t)
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            ox + LEFT + pw / 2.0,
            oy + PANEL_H - 6.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"##,
            ox + 12.0,
            oy + TOP + ph / 2.0,
            ox + 12.0,
            oy + TOP + ph / 2.0,
            esc(&self.y_label)
        );
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let pts: Vec<String> = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y.clamp(y0, y1))))
                .collect();
            if pts.len() == 1 {
                let _ = writeln!(
                    out,
                    r##"<circle cx="{}" r="2.5" fill="{colour}"/>"##,
                    pts[0].replacen(',', "\" cy=\"", 1)
                );
            } else if !pts.is_empty() {
                let _ = writeln!(
                    out,
                    r##"<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{}"/>"##,
                    pts.join(" ")
                );
            }
            let ly = oy + TOP + 12.0 + 12.0 * i as f64;
            let lx = ox + LEFT + pw - 110.0;
            let _ = writeln!(
                out,
                r##"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}" font-size="10">{}</text>"##,
                ly - 3.5,
                lx + 14.0,
                ly - 3.5,
                lx + 18.0,
                esc(&s.name)
            );
        }
    }
}

/// Charts in a grid, `columns` per row, as one SVG document.
pub fn figure(title: &str, charts: &[Chart], columns: usize) -> String {
    let columns = columns.max(1);
    let rows = charts.len().div_ceil(columns).max(1);
    let head = if title.is_empty() { 0.0 } else { 28.0 };
    let (w, h) = (
        PANEL_W * columns.min(charts.len().max(1)) as f64,
        head + PANEL_H * rows as f64,
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif">"##
    );
    let _ = writeln!(out, r##"<rect width="100%" height="100%" fill="white"/>"##);
    if !title.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="20" font-size="15" text-anchor="middle" font-weight="bold">{}</text>"##,
            w / 2.0,
            esc(title)
        );
    }
    for (i, c) in charts.iter().enumerate() {
        let (r, col) = (i / columns, i % columns);
        c.render_into(&mut out, col as f64 * PANEL_W, head + r as f64 * PANEL_H);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 10.0, 6), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.93, 2.31, 5);
        assert_eq!(t.first().copied(), Some(1.0));
        assert!(t.last().copied().unwrap() <= 2.31);
    }

    #[test]
    fn figure_has_one_polyline_per_series_and_escapes_text() {
        let chart = Chart {
            title: "loss <train & val>".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![
                Series {
                    name: "train".into(),
                    points: vec![(0.0, 2.0), (1.0, 1.5), (2.0, f64::NAN), (3.0, 1.0)],
                },
                Series {
                    name: "val".into(),
                    points: vec![(0.0, 2.1), (1.0, 1.7)],
                },
            ],
            y_range: None,
        };
        let svg = figure("run", &[chart.clone(), chart], 2);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("loss &lt;train &amp; val&gt;"));
        assert!(!svg.contains("NaN"));
        // The NaN point is skipped: 3 points in the train line.
        let first = svg.split("points=\"").nth(1).unwrap();
        assert_eq!(first.split('"').next().unwrap().split(' ').count(), 3);
    }
}
