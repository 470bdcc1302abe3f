//! `rank-cells`: how well each search's weight-sharing estimate ranks cells
//! that were trained from scratch. Every finished search run under
//! `--searches` scores every trained cell under `--cells` on its supernet
//! (`edas score`); per run, Kendall's tau-b of those scores with the cells'
//! trained test accuracies; per group (the run's label, i.e. strategy),
//! the mean tau over its runs (seeds) with a 95% t interval. A space's
//! cells are scored by the searches of that space only.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use edas_genotype::Architecture;
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::binary::{edas_binary, pinned_binary};
use crate::report::ranks::kendall_tau_b;
use crate::report::table::{csv_rows, markdown};
use crate::report::units::{collect, genotype_text, test_top1};
use crate::stats::mean_std;

/// What `rank-cells` reads and writes.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct RankOptions {
    /// Search runs, or folders holding them (a matrix's `out`).
    #[arg(long, value_name = "DIR", required = true)]
    pub searches: Vec<PathBuf>,
    /// Trained cells (training runs), or folders holding them: e.g. a
    /// matrix of `random-cell` units.
    #[arg(long, value_name = "DIR", required = true)]
    pub cells: Vec<PathBuf>,
    /// The `edas` binary that scores (default: build the release binary).
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
    /// Also write one row per search run as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

/// A trained cell: its architecture and trained top-1 test accuracy.
struct Trained {
    arch: Architecture,
    top1: f64,
}

/// One search run's ranking of the trained cells.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRank {
    /// The run's group (its unit's label).
    pub label: String,
    /// The run directory.
    pub dir: PathBuf,
    /// `(score on the supernet, trained test accuracy)` per cell.
    pub pairs: Vec<(f64, f64)>,
}

/// Runs `rank-cells`.
pub fn rank_cells(o: &RankOptions) -> Result<()> {
    // The report's own walk of run directories (symlinks followed once,
    // unfinished runs left out with a note).
    let mut searches = Vec::new();
    for p in &o.searches {
        searches.extend(collect(p)?);
    }
    searches.retain(|u| u.search_dir.is_some());
    let mut cells = Vec::new();
    for p in &o.cells {
        for u in collect(p)? {
            let (Some(text), Some(top1)) = (
                u.train
                    .as_ref()
                    .and_then(|t| t.get("genotype"))
                    .and_then(Value::as_str),
                test_top1(&u),
            ) else {
                continue;
            };
            let (_, arch) = Architecture::parse_any(text)
                .with_context(|| format!("{}: its genotype does not parse", u.label))?;
            cells.push(Trained { arch, top1 });
        }
    }
    if searches.is_empty() {
        bail!("no finished search run under {:?}", o.searches);
    }
    if cells.len() < 2 {
        bail!(
            "{} trained cell(s) under {:?}: a ranking needs at least 2",
            cells.len(),
            o.cells
        );
    }
    let bin = match &o.bin {
        Some(b) => pinned_binary(b)?,
        None => edas_binary(None)?,
    };
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let mut ranks = Vec::new();
    for run in &searches {
        let (Some(dir), Some(space)) = (
            run.search_dir.as_ref(),
            genotype_text(run)
                .and_then(|t| Architecture::parse_any(t).ok())
                .map(|(_, a)| a.space()),
        ) else {
            continue;
        };
        let mine: Vec<&Trained> = cells.iter().filter(|c| c.arch.space() == space).collect();
        if mine.len() < 2 {
            continue;
        }
        let list = scratch.path().join("cells.txt");
        let text: String = mine.iter().map(|c| format!("{}\n", c.arch)).collect();
        std::fs::write(&list, text).with_context(|| format!("cannot write {}", list.display()))?;
        let out = Command::new(&bin)
            .args(["score", "--json", "--run"])
            .arg(dir)
            .arg("--cells")
            .arg(&list)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "edas score --run {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let scores: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v.get("accuracy").and_then(Value::as_f64))
                    .with_context(|| format!("edas score printed `{l}`"))
            })
            .collect::<Result<_>>()?;
        if scores.len() != mine.len() {
            bail!(
                "edas score --run {} scored {} of {} cells",
                dir.display(),
                scores.len(),
                mine.len()
            );
        }
        eprintln!("scored {} cells on {}", mine.len(), dir.display());
        ranks.push(RunRank {
            label: run.label.clone(),
            dir: dir.clone(),
            pairs: scores
                .into_iter()
                .zip(mine.iter().map(|c| c.top1))
                .collect(),
        });
    }
    println!(
        "Kendall's tau-b of each search's supernet accuracy with the trained test accuracy \
         of {} cells (mean over a group's runs, 95% t interval):\n",
        cells.len()
    );
    print!("{}", markdown(&header(), &table(&ranks)));
    if let Some(path) = &o.csv {
        let mut rows = vec![vec![
            "group".to_owned(),
            "run".into(),
            "cells".into(),
            "tau".into(),
        ]];
        for r in &ranks {
            rows.push(vec![
                r.label.clone(),
                r.dir.display().to_string(),
                r.pairs.len().to_string(),
                kendall_tau_b(&r.pairs).map_or_else(String::new, |t| t.to_string()),
            ]);
        }
        edas_fs::write_atomic(path, csv_rows(&rows).as_bytes())?;
    }
    Ok(())
}

/// The table's header.
pub fn header() -> Vec<String> {
    [
        "group",
        "runs",
        "cells",
        "tau (mean)",
        "95% interval",
        "per run",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// One row per group in label order: how many runs, cells, the mean tau,
/// its 95% t interval (`-` below two runs) and each run's tau.
pub fn table(ranks: &[RunRank]) -> Vec<Vec<String>> {
    let mut groups: std::collections::BTreeMap<&str, Vec<&RunRank>> = Default::default();
    for r in ranks {
        groups.entry(&r.label).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(label, rs)| {
            let taus: Vec<f64> = rs.iter().filter_map(|r| kendall_tau_b(&r.pairs)).collect();
            let cells = rs.iter().map(|r| r.pairs.len()).max().unwrap_or(0);
            let (mean, interval) = match mean_std(&taus) {
                Some((m, Some(s))) => {
                    #[allow(clippy::cast_precision_loss)] // a handful of seeds
                    let n = taus.len() as f64;
                    let t = StudentsT::new(0.0, 1.0, n - 1.0)
                        .map(|d| d.inverse_cdf(0.975))
                        .unwrap_or(f64::NAN);
                    let half = t * s / n.sqrt();
                    (
                        format!("{m:+.2}"),
                        format!("[{:+.2}, {:+.2}]", m - half, m + half),
                    )
                }
                Some((m, None)) => (format!("{m:+.2}"), "-".to_owned()),
                None => ("-".to_owned(), "-".to_owned()),
            };
            vec![
                label.to_owned(),
                rs.len().to_string(),
                cells.to_string(),
                mean,
                interval,
                taus.iter()
                    .map(|t| format!("{t:+.2}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rank(label: &str, pairs: &[(f64, f64)]) -> RunRank {
        RunRank {
            label: label.into(),
            dir: PathBuf::from(label),
            pairs: pairs.to_vec(),
        }
    }

    #[test]
    fn taus_are_averaged_per_group_with_a_t_interval() {
        let up = [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)];
        let down = [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)];
        let mixed = [(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (4.0, 4.0)];
        let rows = table(&[
            rank("edas", &up),
            rank("edas", &mixed),
            rank("darts", &down),
        ]);
        assert_eq!(rows.len(), 2);
        // darts: one run, tau -1, no interval.
        assert_eq!(rows[0][..5], ["darts", "1", "3", "-1.00", "-"]);
        // edas: taus 1 and 2/3: mean 0.83, sample std 0.2357, t(1) 12.706:
        // half-width 12.706 * 0.2357 / sqrt(2) = 2.118.
        assert_eq!(rows[1][..4], ["edas", "2", "4", "+0.83"]);
        assert_eq!(rows[1][4], "[-1.28, +2.95]");
        assert_eq!(rows[1][5], "+1.00 +0.67");
    }
}
