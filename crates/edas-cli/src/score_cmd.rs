//! `edas score`: architectures' accuracy on a search run's supernet, each
//! with every edge clamped to it (the weight-sharing estimate), on the
//! run's evaluation examples.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use edas_search::RunScorer;

use crate::source::resolve;

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A search run directory (its config, data and newest checkpoint).
    #[arg(long)]
    run: PathBuf,
    /// An architecture to score (same forms as `edas genotype show`);
    /// repeat for several.
    #[arg(long = "genotype", value_name = "GENOTYPE")]
    genotypes: Vec<String>,
    /// A file with one architecture per line (DARTS text or NAS-Bench-201
    /// strings; blank lines and `#` comments skipped).
    #[arg(long, value_name = "FILE")]
    cells: Option<PathBuf>,
    /// Device: cpu, or with a GPU build cuda[:N], vulkan[:N], wgpu[:N|:cpu],
    /// tch, tch-cuda[:N].
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print JSON lines (`{"arch": ..., "accuracy": ...}`).
    #[arg(long)]
    json: bool,
}

/// Runs `edas score`.
pub fn run(args: ScoreArgs) -> Result<ExitCode> {
    let mut archs = Vec::new();
    for g in &args.genotypes {
        archs.push(resolve(g)?.arch);
    }
    if let Some(file) = &args.cells {
        let text = edas_fs::read_to_string_bounded(file, 1 << 24, "cell list")
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (_, arch) = edas_genotype::Architecture::parse_any(line)
                .with_context(|| format!("{} line {}", file.display(), i + 1))?;
            archs.push(arch);
        }
    }
    if archs.is_empty() {
        bail!("nothing to score: pass --genotype G (repeatable) or --cells FILE");
    }
    // The supernet is restored as the search holds it (autodiff); scoring
    // itself runs on the inner backend.
    let device = crate::device::parse(&args.device, true)?;
    let scorer = RunScorer::open(&args.run, &device)
        .with_context(|| format!("cannot open search run {}", args.run.display()))?;
    if !args.json {
        println!(
            "{}: {} space, checkpoint after epoch {}",
            args.run.display(),
            scorer.space(),
            scorer.epochs_done
        );
    }
    for arch in &archs {
        let accuracy = scorer.score(arch)?;
        if args.json {
            let line = serde_json::json!({ "arch": arch.to_string(), "accuracy": accuracy });
            println!("{line}");
        } else {
            println!("{:6.2}%  {arch}", 100.0 * accuracy);
        }
    }
    Ok(ExitCode::SUCCESS)
}
