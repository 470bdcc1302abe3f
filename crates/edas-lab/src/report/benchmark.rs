//! `report ... --benchmark PATH`: what the NAS-Bench-201 benchmark says the
//! found cells are worth. Per group, the mean over its cells of each cell's
//! benchmark test accuracy (200 epochs, mean over the benchmark's seeds) on
//! CIFAR-10, CIFAR-100 and ImageNet16-120, and the best cell of the file on
//! each (`edas_benchmark`).

use anyhow::{Context, Result};
use edas_benchmark::{Benchmark, Dataset};
use edas_genotype::Architecture;

use super::units::{Unit, by_group, genotype_text};
use crate::stats::mean_std;

/// The table's header.
pub fn header() -> Vec<String> {
    let mut h = vec![
        "group".to_owned(),
        "cells".into(),
        "in the benchmark".into(),
    ];
    h.extend(
        Dataset::ALL
            .iter()
            .map(|d| format!("{} test (%)", d.name())),
    );
    h
}

/// One row per group of NAS-Bench-201 cells (groups of other spaces are
/// left out), then the benchmark's best cell per data set.
pub fn table(units: &[Unit], bench: &Benchmark) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (label, us) in by_group(units) {
        let cells: Vec<_> = us
            .iter()
            .filter_map(|u| genotype_text(u))
            .filter_map(|t| match Architecture::parse_any(t) {
                Ok((_, Architecture::Nb201(c))) => Some(c),
                _ => None,
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        let mut row = vec![
            label.to_owned(),
            cells.len().to_string(),
            cells
                .iter()
                .filter(|c| bench.index_of(c).is_some())
                .count()
                .to_string(),
        ];
        for d in Dataset::ALL {
            let mut accs = Vec::new();
            for c in &cells {
                if let Some(a) = bench
                    .test_accuracy(c, d)
                    .with_context(|| format!("{label}: looking up {c}"))?
                {
                    accs.push(a);
                }
            }
            row.push(match mean_std(&accs) {
                Some((m, Some(s))) => format!("{m:.2} ± {s:.2}"),
                Some((m, None)) => format!("{m:.2}"),
                None => "-".to_owned(),
            });
        }
        rows.push(row);
    }
    let mut best = vec!["best in the benchmark".to_owned(), "-".into(), "-".into()];
    for d in Dataset::ALL {
        let mut top: Option<f64> = None;
        for i in 0..bench.len() {
            let Some(c) = bench.cell(i) else { continue };
            if let Some(a) = bench.test_accuracy(c, d)? {
                top = Some(top.map_or(a, |t| t.max(a)));
            }
        }
        best.push(top.map_or_else(|| "-".to_owned(), |t| format!("{t:.2}")));
    }
    rows.push(best);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn groups_get_their_cells_benchmark_accuracy_and_the_best_row() {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../edas-benchmark/tests/data/NATS-tss-v1_0-3ffb9-simple");
        let bench = Benchmark::open(&data).unwrap();
        let unit = |label: &str, arch: &str| Unit {
            label: label.into(),
            search: Some(serde_json::json!({ "genotype": arch })),
            ..Unit::default()
        };
        // Cells 0 and 2 of the made-up file (bench/nb201_bench_files.py),
        // a cell it does not hold, and a DARTS genotype (left out).
        let units = vec![
            unit("edas", bench.cell(0).unwrap().arch_str().as_str()),
            unit("edas", bench.cell(2).unwrap().arch_str().as_str()),
            unit(
                "darts",
                "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
            ),
        ];
        let rows = table(&units, &bench).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][..4], ["darts", "1", "0", "-"]);
        // CIFAR-10: 85.37 and 89.37 (the official reader's values).
        assert_eq!(rows[1][..4], ["edas", "2", "2", "87.37 ± 2.83"]);
        assert_eq!(rows[2][0], "best in the benchmark");
        assert_eq!(rows[2][3..], ["93.37", "67.87", "42.87"]);
        assert_eq!(header().len(), rows[0].len());
    }
}
