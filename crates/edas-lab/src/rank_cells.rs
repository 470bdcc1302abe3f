//! `rank-cells`: how well each search's weight-sharing estimate ranks cells
//! that were trained from scratch. Every finished search run under
//! `--searches` scores every trained cell under `--cells` on its supernet
//! (`edas score`); per run, Kendall's tau-b of those scores with the cells'
//! trained test accuracies; per group (the run's label, i.e. strategy),
//! the mean tau over its runs (seeds) with a 95% t interval. A space's
//! cells are scored by the searches of that space only.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use edas_genotype::Architecture;
use edas_run::files::RESULTS_FILE;
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::binary::{edas_binary, pinned_binary};
use crate::report::ranks::kendall_tau_b;
use crate::report::table::{csv_rows, markdown};
use crate::report::units::label_of;
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

/// A finished run directory and its `results.json`.
struct Finished {
    dir: PathBuf,
    results: Value,
}

/// The finished runs (directories holding `results.json`) under `path`,
/// depth first, directories in name order.
fn finished_runs(path: &Path, out: &mut Vec<Finished>) -> Result<()> {
    let results = path.join(RESULTS_FILE);
    if results.is_file() {
        let text = edas_fs::read_to_string_bounded(&results, 1 << 24, "results.json")?;
        let value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", results.display()))?;
        out.push(Finished {
            dir: path.to_owned(),
            results: value,
        });
        return Ok(());
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        finished_runs(&d, out)?;
    }
    Ok(())
}

/// A trained cell: its architecture and trained top-1 test accuracy.
struct Trained {
    arch: Architecture,
    top1: f64,
}

/// One search run's ranking of the trained cells.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRank {
    /// The run's group (its directory name without `-s<seed>`; a matrix
    /// unit's `search/` folder takes its unit's name).
    pub label: String,
    /// The run directory.
    pub dir: PathBuf,
    /// `(score on the supernet, trained test accuracy)` per cell.
    pub pairs: Vec<(f64, f64)>,
}

/// A search run's group label: a matrix unit's `OUT/<unit>/search` is
/// labelled by `<unit>`.
fn search_label(dir: &Path) -> String {
    match (dir.file_name(), dir.parent()) {
        (Some(name), Some(parent)) if name == "search" => label_of(parent),
        _ => label_of(dir),
    }
}

/// Runs `rank-cells`.
pub fn rank_cells(o: &RankOptions) -> Result<()> {
    let mut searches = Vec::new();
    for p in &o.searches {
        finished_runs(p, &mut searches)?;
    }
    searches.retain(|r| r.results.get("strategy").is_some());
    let mut trained_runs = Vec::new();
    for p in &o.cells {
        finished_runs(p, &mut trained_runs)?;
    }
    let mut cells = Vec::new();
    for r in trained_runs
        .iter()
        .filter(|r| r.results.get("strategy").is_none())
    {
        let (Some(text), Some(top1)) = (
            r.results.get("genotype").and_then(Value::as_str),
            r.results
                .get("test")
                .and_then(|t| t.get("top1"))
                .and_then(Value::as_f64),
        ) else {
            continue;
        };
        let (_, arch) = Architecture::parse_any(text)
            .with_context(|| format!("{}: its genotype does not parse", r.dir.display()))?;
        cells.push(Trained { arch, top1 });
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
        let Some(space) = Architecture::parse_any(
            run.results
                .get("genotype")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
        .ok()
        .map(|(_, a)| a.space()) else {
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
            .arg(&run.dir)
            .arg("--cells")
            .arg(&list)
            .output()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "edas score --run {} failed: {}",
                run.dir.display(),
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
                run.dir.display(),
                scores.len(),
                mine.len()
            );
        }
        eprintln!("scored {} cells on {}", mine.len(), run.dir.display());
        ranks.push(RunRank {
            label: search_label(&run.dir),
            dir: run.dir.clone(),
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

    #[test]
    fn a_matrix_units_search_folder_takes_the_units_label() {
        assert_eq!(search_label(Path::new("runs/m/edas-s3/search")), "edas");
        assert_eq!(search_label(Path::new("runs/nb201-edas")), "nb201-edas");
    }
}
