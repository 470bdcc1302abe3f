//! The plots of a search run: `curves.svg` (losses, accuracies, pruning
//! gap, alpha entropy) and `alpha.svg` (`softmax(alpha)` of every edge).

use edas_genotype::{CellKind, NUM_EDGES, NUM_OPS, Primitive};
use edas_run::RunDir;
use edas_run::files::{ALPHA_SVG, CURVES_SVG};
use edas_run::plot::{Chart, Series, figure};

use crate::config::SearchConfig;
use crate::error::SearchError;
use crate::records::SearchRecord;

/// `curves.svg` (losses, accuracies, pruning gap) and `alpha.svg`
/// (`softmax(alpha)` of every edge over epochs).
pub fn write(run: &RunDir, config: &SearchConfig, rs: &[SearchRecord]) -> Result<(), SearchError> {
    let x = |r: &SearchRecord| (r.epoch + 1) as f64;
    let series = |name: &str, f: &dyn Fn(&SearchRecord) -> Option<f64>| Series {
        name: name.into(),
        points: rs.iter().filter_map(|r| f(r).map(|y| (x(r), y))).collect(),
    };
    let charts = vec![
        Chart {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![
                series("train", &|r| Some(r.train_loss)),
                series("val (arch steps)", &|r| r.val_loss),
            ],
            y_range: None,
            hide_legend: false,
        },
        Chart {
            title: "accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: vec![
                series("train", &|r| Some(r.train_acc)),
                series("as searched", &|r| Some(r.searched_acc)),
                series("derived", &|r| Some(r.derived_acc)),
            ],
            y_range: None,
            hide_legend: false,
        },
        Chart {
            title: "pruning gap (searched - derived)".into(),
            x_label: "epoch".into(),
            y_label: "accuracy points".into(),
            series: vec![series("gap", &|r| Some(100.0 * r.pruning_gap))],
            y_range: None,
            hide_legend: false,
        },
        Chart {
            title: "alpha entropy".into(),
            x_label: "epoch".into(),
            y_label: "nats per edge".into(),
            series: vec![
                series("normal", &|r| Some(r.entropy[0])),
                series("reduce", &|r| Some(r.entropy[1])),
            ],
            y_range: None,
            hide_legend: false,
        },
    ];
    run.write(
        CURVES_SVG,
        figure(
            &format!("{} ({})", config.name, config.strategy),
            &charts,
            2,
        )?
        .as_bytes(),
    )?;
    if config.strategy.has_arch_step() {
        // One scale for every panel (a panel's own scale made noise look
        // like a trend), one legend (on the first panel), and each edge's
        // title says what the final genotype keeps on it.
        let values = rs.iter().flat_map(|r| r.alpha.iter().flatten());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
        let pad = 0.05 * (hi - lo).max(1e-3);
        let y_range =
            (lo.is_finite() && hi.is_finite()).then(|| ((lo - pad).max(0.0), (hi + pad).min(1.0)));
        let last = rs
            .last()
            .and_then(|r| edas_genotype::darts_text::parse_darts(&r.genotype).ok());
        let mut charts = Vec::new();
        for (k, kind) in CellKind::ALL.into_iter().enumerate() {
            for e in 0..NUM_EDGES {
                let edge = edas_genotype::space::Edge::from_index(e);
                let kept = match (&last, edge) {
                    (Some(g), Some(ed)) => match g.cell(kind).op_on(ed) {
                        Some(op) => format!(": {op}"),
                        None => ": not kept".to_owned(),
                    },
                    _ => String::new(),
                };
                charts.push(Chart {
                    title: match edge {
                        Some(ed) => format!("{kind} edge {e} ({}->{}){kept}", ed.input, ed.node),
                        None => format!("{kind} edge {e}"),
                    },
                    x_label: "epoch".into(),
                    y_label: "softmax(alpha)".into(),
                    series: Primitive::ALL
                        .into_iter()
                        .map(|p| Series {
                            name: p.name().into(),
                            points: rs
                                .iter()
                                .filter_map(|r| {
                                    r.alpha[k]
                                        .get(e * NUM_OPS + p.index())
                                        .map(|&v| (x(r), f64::from(v)))
                                })
                                .collect(),
                        })
                        .collect(),
                    y_range,
                    hide_legend: !charts.is_empty(),
                });
            }
        }
        run.write(
            ALPHA_SVG,
            figure("softmax(alpha) per edge over epochs", &charts, 7)?.as_bytes(),
        )?;
    }
    Ok(())
}
