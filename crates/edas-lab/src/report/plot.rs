//! `report ... --plot FILE.svg`: each group's test errors as a
//! strip chart, one dot per run, with the group's mean and the 95%
//! confidence interval of that mean (Student's t), and the baseline's mean
//! as a dashed line across: the table's comparison, seen. Drawn with
//! `plotters`' SVG backend, like the run charts (`docs/dependencies.md`).

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::stats::mean_std;

/// One group's column: its label and its runs' test errors (%).
pub struct Column {
    /// The group's label.
    pub label: String,
    /// Its runs' test errors (%).
    pub errors: Vec<f64>,
}

/// The mean and the 95% confidence interval of the mean of `values`
/// (`t_0.975` on `n - 1` degrees of freedom); `None` below two values.
pub fn mean_interval(values: &[f64]) -> Option<(f64, f64, f64)> {
    let (m, Some(s)) = mean_std(values)? else {
        return None;
    };
    #[allow(clippy::cast_precision_loss)] // a few hundred runs at most
    let n = values.len() as f64;
    let t = StudentsT::new(0.0, 1.0, n - 1.0).ok()?.inverse_cdf(0.975);
    let half = t * s / n.sqrt();
    Some((m, m - half, m + half))
}

/// A run's horizontal offset within its column, in column widths: spread
/// evenly over the middle 40% so that equal errors do not hide each other.
fn jitter(i: usize, n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let f = i as f64 / (n - 1) as f64;
    0.4 * (f - 0.5)
}

/// Draws the chart into `path`; `baseline` names the group whose mean is
/// drawn across.
pub fn draw(columns: &[Column], baseline: Option<&str>, path: &Path) -> Result<()> {
    let all: Vec<f64> = columns
        .iter()
        .flat_map(|c| c.errors.iter().copied())
        .filter(|e| e.is_finite())
        .collect();
    anyhow::ensure!(
        !all.is_empty(),
        "--plot: no trained run, so nothing to plot"
    );
    let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.08).max(0.5);
    #[allow(clippy::cast_precision_loss)]
    let n = columns.len() as f64;
    let width = u32::try_from(140 + 90 * columns.len()).unwrap_or(u32::MAX);
    let root = SVGBackend::new(path, (width, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(-0.5..n - 0.5, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("test error (%)")
        .draw()?;
    if let Some(base) = baseline.and_then(|b| columns.iter().find(|c| c.label == b))
        && let Some((m, _)) = mean_std(&base.errors)
    {
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, m), (n - 0.5, m)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))?;
    }
    let dot = RGBColor(0x43, 0x63, 0xd8);
    let label_style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, c) in columns.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = i as f64;
        let k = c.errors.len();
        chart.draw_series(
            c.errors
                .iter()
                .enumerate()
                .map(|(j, &e)| Circle::new((x + jitter(j, k), e), 3, dot.mix(0.7).filled())),
        )?;
        if let Some((m, low, high)) = mean_interval(&c.errors) {
            let bar = BLACK.stroke_width(2);
            chart.draw_series([
                PathElement::new(vec![(x - 0.3, m), (x + 0.3, m)], bar),
                PathElement::new(vec![(x, low), (x, high)], bar),
                PathElement::new(vec![(x - 0.1, low), (x + 0.1, low)], bar),
                PathElement::new(vec![(x - 0.1, high), (x + 0.1, high)], bar),
            ])?;
        }
        let (px, py) = chart.backend_coord(&(x, lo - pad));
        root.draw(&Text::new(
            c.label.clone(),
            (px, py + 8),
            label_style.clone(),
        ))?;
    }
    root.present()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn interval_is_the_t_interval_and_the_chart_has_every_run() {
        // 1, 2, 3: mean 2, s 1, n 3: t(0.975, 2) = 4.302653 -> 2 +- 2.484.
        let (m, low, high) = mean_interval(&[1.0, 2.0, 3.0]).unwrap();
        assert!((m - 2.0).abs() < 1e-12);
        let half = 4.302_653 / 3f64.sqrt();
        assert!((high - 2.0 - half).abs() < 1e-5, "{high}");
        assert!((2.0 - low - half).abs() < 1e-5, "{low}");
        assert!(mean_interval(&[1.0]).is_none());
        assert!((jitter(0, 3) + 0.2).abs() < 1e-12 && jitter(1, 3).abs() < 1e-12);
        assert!(jitter(0, 1).abs() < 1e-12);

        let dir = std::env::temp_dir().join(format!("edas-xtask-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("errors.svg");
        let columns = vec![
            Column {
                label: "edas".into(),
                errors: vec![16.5, 17.25, 18.0],
            },
            Column {
                label: "random-cell".into(),
                errors: vec![16.0, 17.0],
            },
        ];
        draw(&columns, Some("random-cell"), &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_eq!(svg.matches("<circle").count(), 5, "one dot per run");
        let texts: Vec<&str> = svg.lines().map(str::trim).collect();
        assert!(texts.contains(&"edas") && texts.contains(&"random-cell"));
        assert!(texts.contains(&"test error (%)"));
        std::fs::remove_dir_all(&dir).unwrap();
        let empty = [Column {
            label: "edas".into(),
            errors: Vec::new(),
        }];
        assert!(draw(&empty, None, &path).is_err());
    }
}
