//! Self-contained SVG line charts (no plotting tool needed to read them):
//! loss and accuracy curves, alpha over epochs, the pruning gap. Drawn with
//! `plotters`' SVG backend: text stays `<text>` for the viewer to render, so
//! no font is needed to write them.

use plotters::prelude::*;

use crate::error::RunError;

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
    /// Fixed y range (panels that are compared share one); derived from the
    /// data when `None`.
    pub y_range: Option<(f64, f64)>,
    /// Draw no legend (the panels of a figure that share their series show
    /// one legend, on the first).
    pub hide_legend: bool,
}

/// Colours for up to 8 series (then repeating): one per DARTS op.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x9e, 0x9e, 0x9e),
    RGBColor(0xe6, 0x19, 0x4b),
    RGBColor(0x3c, 0xb4, 0x4b),
    RGBColor(0x43, 0x63, 0xd8),
    RGBColor(0xf5, 0x82, 0x31),
    RGBColor(0x91, 0x1e, 0xb4),
    RGBColor(0x42, 0xd4, 0xf4),
    RGBColor(0xf0, 0x32, 0xe6),
];

const PANEL_W: u32 = 360;
const PANEL_H: u32 = 250;
const TITLE_H: u32 = 28;

impl Chart {
    /// The x and y ranges: the finite data (padded 5% in y) or `y_range`.
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
        } else {
            // A near-constant line (an entropy at ln 8) gets a span of 2% of
            // its size, so that its ticks read apart; else 5% padding.
            let min_span = 0.02 * y0.abs().max(y1.abs()).max(0.05);
            if y1 - y0 < min_span {
                let mid = 0.5 * (y0 + y1);
                (y0, y1) = (mid - 0.5 * min_span, mid + 0.5 * min_span);
            } else {
                let pad = 0.05 * (y1 - y0);
                y0 -= pad;
                y1 += pad;
            }
        }
        ((x0, x1), (y0, y1))
    }

    /// Whether every x is a whole number (epochs): ticks then fall on whole
    /// numbers only.
    fn whole_x(&self) -> bool {
        self.series
            .iter()
            .flat_map(|s| s.points.iter())
            .all(|(x, _)| !x.is_finite() || (x - x.round()).abs() < 1e-9)
    }

    /// Draws the panel into `area`.
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let ((x0, x1), (y0, y1)) = self.bounds();
        let whole_x = self.whole_x();
        // Whole-number x: at most one tick per number, labelled as integers.
        let x_ticks = if whole_x {
            ((x1 - x0).round() as usize + 1).clamp(2, 6)
        } else {
            6
        };
        let x_format = move |x: &f64| {
            if !whole_x {
                format!("{x}")
            } else if (x - x.round()).abs() < 1e-9 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        };
        // As many decimals as the tick spacing needs (about a fifth of the
        // span), so that neighbouring ticks never read the same.
        let decimals = (-((y1 - y0) / 5.0).log10().floor()).clamp(0.0, 8.0) as usize;
        let y_format = move |y: &f64| format!("{y:.decimals$}");
        let mut chart = ChartBuilder::on(area)
            .caption(
                &self.title,
                ("sans-serif", 13).into_font().style(FontStyle::Bold),
            )
            .margin(6)
            .x_label_area_size(32)
            .y_label_area_size(46)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
            .x_labels(x_ticks)
            .y_labels(5)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 10))
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| (x, y.clamp(y0, y1)))
                .collect();
            let legend = move |(x, y): (i32, i32)| {
                PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
            };
            if let [single] = points.as_slice() {
                chart
                    .draw_series(std::iter::once(Circle::new(*single, 3, colour.filled())))?
                    .label(&s.name)
                    .legend(legend);
            } else {
                chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                    .label(&s.name)
                    .legend(legend);
            }
        }
        if !self.series.is_empty() && !self.hide_legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 10))
                .background_style(WHITE.mix(0.8))
                .border_style(RGBColor(0xaa, 0xaa, 0xaa))
                .draw()?;
        }
        Ok(())
    }
}

/// Charts in a grid, `columns` per row, as one SVG document.
pub fn figure(title: &str, charts: &[Chart], columns: usize) -> Result<String, RunError> {
    let columns = columns.clamp(1, charts.len().max(1));
    let rows = charts.len().div_ceil(columns).max(1);
    let head = if title.is_empty() { 0 } else { TITLE_H };
    let size = (PANEL_W * columns as u32, head + PANEL_H * rows as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn: Result<(), DrawingAreaErrorKind<_>> = (|| {
            root.fill(&WHITE)?;
            let grid = if title.is_empty() {
                root.clone()
            } else {
                root.titled(title, ("sans-serif", 15).into_font().style(FontStyle::Bold))?
            };
            for (chart, panel) in charts.iter().zip(grid.split_evenly((rows, columns))) {
                chart.draw(&panel)?;
            }
            root.present()
        })();
        drawn.map_err(|e| RunError::Plot(e.to_string()))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn figure_draws_each_series_in_its_colour_and_escapes_text() {
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
                Series {
                    name: "one point".into(),
                    points: vec![(2.0, 1.2)],
                },
            ],
            y_range: None,
            hide_legend: false,
        };
        let svg = figure("run", &[chart.clone(), chart], 2).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(
            svg.contains(r#"width="720" height="278""#),
            "{}",
            &svg[..200]
        );
        assert!(svg.contains("loss &lt;train &amp; val&gt;"));
        assert!(!svg.contains("NaN"));
        // Each panel: one line per series of two or more points in the
        // series' colour (and its legend swatch, a two-point line), the NaN
        // point skipped (3 points in the train line); a dot for the single
        // point.
        let lines = |colour: &str| -> Vec<usize> {
            svg.lines()
                .filter(|l| {
                    l.starts_with("<polyline") && l.contains(&format!("stroke=\"{colour}\""))
                })
                .map(|l| {
                    let points = l.split("points=\"").nth(1).unwrap();
                    points.split('"').next().unwrap().split_whitespace().count()
                })
                .collect()
        };
        assert_eq!(lines("#9E9E9E"), [3, 2, 3, 2]);
        assert_eq!(lines("#E6194B"), [2, 2, 2, 2]);
        assert_eq!(svg.matches("<circle").count(), 2);
        for name in ["train", "val", "one point"] {
            assert_eq!(svg.matches(&format!(">\n{name}\n<")).count(), 2, "{name}");
        }
    }

    /// The text of every `<text>` element of an SVG document.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                Some(
                    t.split_once('>')?
                        .1
                        .split_once("</text>")?
                        .0
                        .trim()
                        .to_owned(),
                )
            })
            .collect()
    }

    /// Epoch ticks are whole numbers, and a near-constant line (an entropy
    /// at ln 8 = 2.07944) gets ticks that read apart (they all read
    /// `2.07944` before).
    #[test]
    fn ticks_read_apart_and_epochs_are_whole() {
        let ln8 = 8f64.ln();
        let chart = Chart {
            title: "entropy".into(),
            x_label: "epoch".into(),
            y_label: "nats".into(),
            series: vec![Series {
                name: "normal".into(),
                points: vec![(1.0, ln8), (2.0, ln8 - 2e-6)],
            }],
            ..Chart::default()
        };
        let svg = figure("", &[chart], 1).unwrap();
        let texts = texts(&svg);
        let numbers: Vec<&String> = texts.iter().filter(|t| t.parse::<f64>().is_ok()).collect();
        let x_ticks: Vec<&&String> = numbers.iter().filter(|t| !t.contains('.')).collect();
        assert!(
            x_ticks.iter().any(|t| t.as_str() == "1") && x_ticks.iter().any(|t| t.as_str() == "2"),
            "{texts:?}"
        );
        let y_ticks: Vec<&&String> = numbers.iter().filter(|t| t.contains('.')).collect();
        assert!(y_ticks.len() >= 3, "{texts:?}");
        let distinct: std::collections::BTreeSet<&str> =
            y_ticks.iter().map(|t| t.as_str()).collect();
        assert_eq!(distinct.len(), y_ticks.len(), "{texts:?}");
        assert!(!texts.iter().any(|t| t == "1.2" || t == "1.4"), "{texts:?}");
    }
}
