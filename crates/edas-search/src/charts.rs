//! The plots of a search run: `curves.svg` (losses, accuracies, pruning
//! gap, alpha entropy) and `alpha.svg` (`softmax(alpha)` of every edge).

use edas_genotype::nb201::NB201_EDGES;
use edas_genotype::{Architecture, CellKind, SpaceName};
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
            series: match config.space.name() {
                SpaceName::Darts => vec![
                    series("normal", &|r| r.entropy.first().copied()),
                    series("reduce", &|r| r.entropy.get(1).copied()),
                ],
                SpaceName::NasBench201 => vec![series("cell", &|r| r.entropy.first().copied())],
            },
            y_range: None,
            hide_legend: false,
        },
    ];
    let mut charts = charts;
    let datasets: std::collections::BTreeSet<&String> = rs
        .iter()
        .filter_map(|r| r.benchmark.as_ref())
        .flat_map(|b| b.keys())
        .collect();
    if !datasets.is_empty() {
        charts.push(Chart {
            title: "benchmark test accuracy of the derived cell".into(),
            x_label: "epoch".into(),
            y_label: "accuracy (%)".into(),
            series: datasets
                .into_iter()
                .map(|d| Series {
                    name: d.clone(),
                    points: rs
                        .iter()
                        .filter_map(|r| Some((x(r), *r.benchmark.as_ref()?.get(d)?)))
                        .collect(),
                })
                .collect(),
            y_range: None,
            hide_legend: false,
        });
    }
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
            .and_then(|r| Architecture::parse_any(&r.genotype).ok())
            .map(|(_, a)| a);
        let space = config.space.name();
        let names = space.op_names();
        let n = names.len();
        let kinds: &[CellKind] = match space {
            SpaceName::Darts => &CellKind::ALL,
            SpaceName::NasBench201 => &[CellKind::Normal],
        };
        let mut charts = Vec::new();
        for (k, &kind) in kinds.iter().enumerate() {
            for e in 0..config.space.edges() {
                let (title, kept) = edge_title(space, kind, e, last.as_ref());
                charts.push(Chart {
                    title: format!("{title}{kept}"),
                    x_label: "epoch".into(),
                    y_label: "softmax(alpha)".into(),
                    series: names
                        .iter()
                        .enumerate()
                        .map(|(col, name)| Series {
                            name: (*name).into(),
                            points: rs
                                .iter()
                                .filter_map(|r| {
                                    r.alpha
                                        .get(k)
                                        .and_then(|a| a.get(e * n + col))
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
        let columns = if space == SpaceName::Darts { 7 } else { 3 };
        run.write(
            ALPHA_SVG,
            figure("softmax(alpha) per edge over epochs", &charts, columns)?.as_bytes(),
        )?;
    }
    Ok(())
}

/// A panel's title (`normal edge 3 (1->3)`, `edge 4 (1->3)`) and what the
/// final architecture keeps on the edge (`: sep_conv_3x3`, `: not kept`).
fn edge_title(
    space: SpaceName,
    kind: CellKind,
    e: usize,
    last: Option<&Architecture>,
) -> (String, String) {
    match space {
        SpaceName::Darts => {
            let edge = edas_genotype::space::Edge::from_index(e);
            let kept = match (last, edge) {
                (Some(Architecture::Darts(g)), Some(ed)) => match g.cell(kind).op_on(ed) {
                    Some(op) => format!(": {op}"),
                    None => ": not kept".to_owned(),
                },
                _ => String::new(),
            };
            let title = match edge {
                Some(ed) => format!("{kind} edge {e} ({}->{})", ed.input, ed.node),
                None => format!("{kind} edge {e}"),
            };
            (title, kept)
        }
        SpaceName::NasBench201 => {
            let (input, node) = NB201_EDGES.get(e).copied().unwrap_or((0, 0));
            let kept = match last {
                Some(Architecture::Nb201(c)) => format!(": {}", c.0[e]),
                _ => String::new(),
            };
            (format!("edge {e} ({input}->{node})"), kept)
        }
    }
}
