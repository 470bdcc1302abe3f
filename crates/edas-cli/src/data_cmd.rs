//! `edas data check`: open a data set's training and test parts, report what
//! is there, and download it first when asked.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use edas_data::download::DownloadOptions;
use edas_data::{DataConfig, DatasetKind, ImageSource, Split};
use serde::Serialize;

/// The data subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Read both parts of a data set and print counts, class balance and
    /// pixel statistics.
    #[command(
        after_help = "Examples:\n  edas data check fashion-mnist\n  edas data check cifar100 --data ~/data --download"
    )]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// cifar10, cifar100, fashion-mnist, mnist, imagenet, imagenet16-120 or synthetic.
    #[arg(value_parser = parse_kind)]
    dataset: DatasetKind,
    /// The data directory (default: Debian's for Fashion-MNIST, else
    /// $EDAS_DATA_DIR or ~/.cache/edas/data/<name>).
    #[arg(long = "data", alias = "root", value_name = "DIR")]
    root: Option<PathBuf>,
    /// Download CIFAR-10/100 or Fashion-MNIST into the directory when absent
    /// (checksums verified). `EDAS_DATA_MIRROR` replaces the server.
    #[arg(long)]
    download: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_kind(s: &str) -> Result<DatasetKind, String> {
    s.parse()
}

#[derive(Serialize)]
struct PartReport {
    split: &'static str,
    description: String,
    examples: usize,
    classes: usize,
    shape: Option<[usize; 3]>,
    class_counts: Vec<usize>,
    /// Per-channel (mean, std) on the 0..1 scale, for fixed-size images.
    channel_stats: Option<Vec<(f64, f64)>>,
    seconds: f64,
}

fn report(source: &dyn ImageSource, split: Split, started: Instant) -> Result<PartReport> {
    let shape = source.fixed_shape();
    let class_counts = edas_data::dataset::class_counts(source);
    let channel_stats = edas_data::dataset::channel_stats(source)?;
    Ok(PartReport {
        split: split.name(),
        description: source.describe(),
        examples: source.len(),
        classes: source.num_classes(),
        shape: shape.map(|s| [s.channels, s.height, s.width]),
        class_counts,
        channel_stats,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs a data subcommand.
pub fn run(cmd: DataCommand) -> Result<ExitCode> {
    let DataCommand::Check(args) = cmd;
    let config = DataConfig {
        root: args.root,
        download: args.download,
        ..DataConfig::new(args.dataset)
    };
    let options = DownloadOptions {
        mirror: None,
        progress: !args.json,
    };
    let mut parts = Vec::new();
    let mut sources = Vec::new();
    for split in [Split::Train, Split::Test] {
        let started = Instant::now();
        let source = match config.open(split, &options) {
            Ok(source) => source,
            Err(e) => {
                // Only a missing file or folder is what a download fixes; a
                // damaged one the download would not replace.
                let missing = matches!(
                    e,
                    edas_data::DataError::MissingFile { .. }
                        | edas_data::DataError::MissingDir { .. }
                );
                let hint = if !missing
                    || config.download
                    || matches!(
                        config.dataset,
                        DatasetKind::Mnist
                            | DatasetKind::Imagenet
                            | DatasetKind::Imagenet16
                            | DatasetKind::Synthetic
                            | DatasetKind::Custom
                    ) {
                    ""
                } else {
                    " (pass --download to fetch it)"
                };
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open {} {}{hint}",
                    config.dataset.name(),
                    split.name()
                )));
            }
        };
        parts.push(report(source.as_ref(), split, started)?);
        sources.push(source);
    }
    if let [train, test] = &sources[..] {
        edas_data::check_splits(train.as_ref(), test.as_ref())?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&parts)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} in {}", config.dataset.name(), config.root().display());
    for p in &parts {
        let (min, max) = (
            p.class_counts.iter().min().copied().unwrap_or(0),
            p.class_counts.iter().max().copied().unwrap_or(0),
        );
        print!(
            "  {:<5} {:>7} images, {} classes ({min}..{max} per class)",
            p.split, p.examples, p.classes
        );
        if let Some([c, h, w]) = p.shape {
            print!(", {c}x{h}x{w}");
        }
        println!(", read in {:.2} s", p.seconds);
        if let Some(stats) = &p.channel_stats {
            let means: Vec<String> = stats.iter().map(|(m, _)| format!("{m:.4}")).collect();
            let stds: Vec<String> = stats.iter().map(|(_, s)| format!("{s:.4}")).collect();
            println!(
                "        mean ({}), std ({})",
                means.join(", "),
                stds.join(", ")
            );
        }
    }
    let n = config.normalization();
    println!("  normalisation used: mean {:?}, std {:?}", n.mean, n.std);
    Ok(ExitCode::SUCCESS)
}
