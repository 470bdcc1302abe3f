//! `variance [--genotype G] [--config F] [--seeds N] [--out DIR]
//! [--set KEY=VALUE ...]`: the run-to-run variance of a training recipe.
//!
//! One cell (default DARTS_V2) is trained with seeds 1..=N (default 5) by the
//! recipe (default: the Fashion-MNIST experiment's, `configs/matrix/fashion.toml`'s
//! training), finished runs are skipped and interrupted ones resumed; the
//! test errors give the recipe's standard deviation `s`, and from it the
//! number of runs per strategy a comparison needs (below).
//!
//! Power: to detect a difference `d` in mean test error between two
//! strategies with a two-sided test at level 0.05 and power 0.8, each needs
//! about `n = 2 (z_0.975 + z_0.8)^2 s^2 / d^2 = 15.7 s^2 / d^2` runs (normal
//! approximation; Student's t adds one or two runs at these sizes). That
//! counts only training noise: cells found by different search seeds
//! differ too, so `s` is a lower bound on the spread a strategy's runs show.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use edas_run::files::RESULTS_FILE;

use crate::binary::{edas_binary, set_args};
use crate::local::run_step;
use crate::stats::mean_std;

/// `2 (z_0.975 + z_0.8)^2`: runs per group, times `s^2 / d^2`.
pub const RUNS_FACTOR: f64 = 2.0 * (1.959_964 + 0.841_621) * (1.959_964 + 0.841_621);

/// Runs per group to detect a difference `d` at standard deviation `s`
/// (level 0.05 two-sided, power 0.8, normal approximation), at least 2.
pub fn runs_needed(s: f64, d: f64) -> usize {
    (RUNS_FACTOR * s * s / (d * d)).ceil().max(2.0) as usize
}

/// The difference detectable with `n` runs per group at standard deviation
/// `s` (same test).
pub fn detectable(s: f64, n: usize) -> f64 {
    (RUNS_FACTOR / n as f64).sqrt() * s
}

/// The recipe `variance` measures and how often.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct VarianceOptions {
    /// The cell: a genotype name, file or search run directory.
    #[arg(long, value_name = "G", default_value = "DARTS_V2")]
    pub genotype: String,
    /// The training config.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "configs/train/fashion-mnist-cpu.toml"
    )]
    pub config: String,
    /// Training seeds 1..=N (at least 2).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub seeds: u64,
    /// Where the runs go (default `runs/variance/<genotype>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// A config override after the Fashion-MNIST experiment's recipe
    /// (`configs/matrix/fashion.toml`'s training; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// `variance`: trains the cell with each seed (finished runs skipped,
/// interrupted ones resumed) and prints the spread and the runs a
/// comparison needs.
pub fn variance(o: &VarianceOptions) -> Result<()> {
    let (genotype, config, seeds) = (o.genotype.clone(), o.config.clone(), o.seeds);
    // The Fashion-MNIST experiment's training recipe (configs/matrix/fashion.toml),
    // then the caller's overrides.
    let mut sets: Vec<String> = [
        "network.channels=8",
        "network.layers=5",
        "loader.train_examples=3000",
        "loader.test_examples=5000",
    ]
    .map(String::from)
    .to_vec();
    sets.extend(o.sets.iter().cloned());
    if seeds < 2 {
        bail!("--seeds must be at least 2 for a standard deviation");
    }
    let label: String = genotype
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/variance").join(label));
    let bin = edas_binary(None)?;
    let mut errors = Vec::new();
    for seed in 1..=seeds {
        let dir = out.join(format!("s{seed}"));
        let mut start = vec![
            "--genotype".to_owned(),
            genotype.clone(),
            "--config".to_owned(),
            config.clone(),
        ];
        start.extend(set_args(&sets));
        run_step(&bin, "train", &dir, Some(seed), start)?;
        let results = dir.join(RESULTS_FILE);
        let text = std::fs::read_to_string(&results)
            .with_context(|| format!("cannot read {}", results.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", results.display()))?;
        let top1 = v["test"]["top1"]
            .as_f64()
            .with_context(|| format!("{} has no test.top1", results.display()))?;
        errors.push(100.0 * (1.0 - top1));
    }
    let Some((mean, Some(s))) = mean_std(&errors) else {
        bail!("no runs");
    };
    println!("{genotype}, {config} (with {}):", sets.join(" "));
    for (seed, e) in (1..).zip(&errors) {
        println!("  seed {seed}: test error {e:.2}%");
    }
    println!("test error {mean:.2} ± {s:.2} % (mean ± sample std over {seeds} seeds)");
    for d in [0.5, 1.0, 2.0] {
        println!(
            "  to detect {d} point(s) between two strategies (two-sided 0.05, power 0.8): \
             about {} runs each",
            runs_needed(s, d)
        );
    }
    println!(
        "  with 5 runs each: differences of {:.2} points and more",
        detectable(s, 5)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_numbers_match_the_textbook() {
        // 2 (1.96 + 0.84)^2 = 15.7; s = d: 16 runs per group.
        assert!((RUNS_FACTOR - 15.70).abs() < 0.01);
        assert_eq!(runs_needed(1.0, 1.0), 16);
        assert_eq!(runs_needed(0.5, 1.0), 4);
        assert_eq!(runs_needed(0.1, 1.0), 2);
        assert!((detectable(1.0, 16) - 0.99).abs() < 0.01);
    }
}
