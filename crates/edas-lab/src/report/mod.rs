//! `report RUNS... [--csv FILE] [--cells DIR] [--baseline GROUP] [--by
//! KEY]... [--ops] [--ranks] [--plot FILE.svg]`: finished runs grouped by
//! label (the seed is the only difference within a group; with `--by`, by
//! the values of config keys, pooling the rest), mean +/- sample std per
//! column, as a Markdown table ([`table`]); with `--csv`, also as a CSV
//! file; with `--cells`, each group's best cell (lowest test error) drawn
//! ([`cells`]); with `--ops`, a second table of the operations the found
//! cells use ([`ops`]); with `--ranks`, the rank correlations of the final
//! accuracy with the search's own and with the parameter count
//! ([`ranks`]); with `--plot`, the test errors as a strip chart
//! ([`plot`]). Nothing is written unless asked for.

pub mod benchmark;
pub mod cells;
pub mod ops;
pub mod plot;
pub mod ranks;
pub mod table;
pub mod units;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::matrix::RANDOM_CELL;
use table::{Table, csv_text, markdown};
use units::{Unit, by_group, collect, regroup, test_errors};

/// What `report` reads and writes.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct ReportOptions {
    /// Run directories, or folders holding them (a matrix's `out`).
    #[arg(required = true, value_name = "RUN_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// Also write the table as CSV (raw numbers) to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw each group's best cell (lowest test error) into DIR/<group>/.
    #[arg(long, value_name = "DIR")]
    pub cells: Option<PathBuf>,
    /// The `edas` binary that draws `--cells` (default: build the release
    /// binary).
    #[arg(long, value_name = "PATH", requires = "cells")]
    pub bin: Option<PathBuf>,
    /// The group every other group's test errors are compared with
    /// (default: the matching `random-cell` group).
    #[arg(long, value_name = "GROUP")]
    pub baseline: Option<String>,
    /// Group by the values of this config key instead of by label,
    /// pooling the rest (repeatable).
    #[arg(long, value_name = "KEY")]
    pub by: Vec<String>,
    /// Add a table of the operations the found cells use.
    #[arg(long)]
    pub ops: bool,
    /// Add the rank correlations of the trained cells' accuracy with the
    /// search's own and with the parameter count.
    #[arg(long)]
    pub ranks: bool,
    /// Draw the test errors as a strip chart (SVG) into FILE.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// A NAS-Bench-201 or NATS-Bench topology file (or NATS' simple
    /// directory): add the found NAS-Bench-201 cells' benchmark test
    /// accuracies.
    #[arg(long, value_name = "PATH")]
    pub benchmark: Option<PathBuf>,
}

impl ReportOptions {
    /// The plain report (the Markdown table) of `paths`.
    pub fn of(paths: Vec<PathBuf>) -> ReportOptions {
        ReportOptions {
            paths,
            ..ReportOptions::default()
        }
    }
}

/// The finished runs under `paths`, grouped as `by` says; refused when
/// there are none.
pub fn units_of(paths: &[PathBuf], by: &[String]) -> Result<Vec<Unit>> {
    let mut units = Vec::new();
    for p in paths {
        units.extend(collect(p)?);
    }
    if units.is_empty() {
        bail!(
            "no finished runs (results.json) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !by.is_empty() {
        regroup(&mut units, by)?;
    }
    Ok(units)
}

/// `report`: prints the Markdown tables; writes the CSV, the chart and the
/// best cells where asked to.
pub fn report(o: &ReportOptions) -> Result<()> {
    let units = units_of(&o.paths, &o.by)?;
    let Table { header, md, csv } = table::table(&units, o.baseline.as_deref())?;
    print!("{}", markdown(&header, &md));
    if o.ops {
        println!("\nMean number of each cell's kept edges that use each operation:\n");
        print!("{}", markdown(&ops::header(&units), &ops::table(&units)?));
    }
    if o.ranks {
        println!("\nKendall's rank correlation with the trained cell's test accuracy:\n");
        print!("{}", markdown(&ranks::header(), &ranks::table(&units)));
    }
    if let Some(path) = &o.benchmark {
        let bench = edas_benchmark::Benchmark::open(path)?;
        println!(
            "\nBenchmark test accuracy of the found cells ({}; 200 epochs, mean over its seeds; \
             mean ± std over a group's cells):\n",
            path.display()
        );
        print!(
            "{}",
            markdown(&benchmark::header(), &benchmark::table(&units, &bench)?)
        );
    }
    if let Some(path) = &o.csv {
        edas_fs::write_atomic(path, csv_text(&csv).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("CSV written to {}", path.display());
    }
    if let Some(path) = &o.plot {
        draw_plot(&units, o.baseline.as_deref(), path)?;
        eprintln!("chart written to {}", path.display());
    }
    if let Some(dir) = &o.cells {
        cells::draw_best_cells(&units, dir, o.bin.as_deref())?;
    }
    Ok(())
}

/// The test errors of each group as a strip chart in `path`.
fn draw_plot(units: &[Unit], baseline: Option<&str>, path: &Path) -> Result<()> {
    let columns: Vec<plot::Column> = by_group(units)
        .into_iter()
        .map(|(label, us)| plot::Column {
            label: label.to_owned(),
            errors: test_errors(&us),
        })
        .collect();
    plot::draw(&columns, Some(baseline.unwrap_or(RANDOM_CELL)), path)
}
