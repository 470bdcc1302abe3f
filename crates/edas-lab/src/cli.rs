//! The lab's command line (`edas-lab`, and `cargo xtask` for the
//! developers' habits), parsed with clap: one subcommand per study type.

use std::ffi::OsString;

use anyhow::Result;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::binary::{edas_binary, edas_binary_path};
use crate::check::check_configs;
use crate::local::{LocalOptions, run_matrix};
use crate::matrix::load_matrix;
use crate::paper::{self, Data};
use crate::report::{ReportOptions, report};
use crate::slurm::{SlurmOptions, submit};
use crate::variance::{VarianceOptions, variance};

/// The experiment lab of edas: matrices of searches and trainings, run
/// here or on Slurm, their status and reports; variance studies; the
/// paper-scale runs.
#[derive(Debug, Parser)]
#[command(name = "edas-lab", version)]
pub struct Cli {
    /// The study.
    #[command(subcommand)]
    pub command: Command,
}

/// One study type.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a matrix file (datasets x strategies x config grids x seeds):
    /// each unit's search (or sampled cell) and training, finished steps
    /// skipped, interrupted ones resumed; then its report.
    #[command(
        after_help = "Examples:\n  edas-lab matrix configs/matrix/fashion.toml --jobs 2\n  edas-lab matrix fashion --status\n  edas-lab matrix configs/matrix/decisive.toml --slurm --partition gpu --gpus 1 --dry-run"
    )]
    Matrix(MatrixArgs),
    /// The CPU-sized experiment on real data: configs/matrix/fashion.toml
    /// with Debian's Fashion-MNIST (found, or installed with apt-get).
    #[command(after_help = "Examples:\n  edas-lab fashion --jobs 2")]
    Fashion(LocalOptions),
    /// Mean +/- std over seeds per group: search time, peak memory,
    /// pruning gap, params, test error and its difference from a baseline
    /// with a 95% CI and Holm-adjusted p.
    #[command(
        after_help = "Examples:\n  edas-lab report runs/matrix/fashion --csv fashion.csv --plot errors.svg\n  edas-lab report runs/matrix/knobs --by edas.relaxed_edges --baseline random-cell"
    )]
    Report(ReportOptions),
    /// How well each search's supernet ranks cells trained from scratch:
    /// Kendall's tau of `edas score` with their test accuracy, per group
    /// with a 95% interval over seeds.
    #[command(
        after_help = "Examples:\n  edas-lab rank-cells --searches runs/matrix/nb201-fashion --cells runs/matrix/nb201-fashion-cells"
    )]
    RankCells(crate::rank_cells::RankOptions),
    /// One cell trained with N seeds: the recipe's spread and the runs a
    /// comparison needs.
    #[command(after_help = "Examples:\n  edas-lab variance --genotype DARTS_V2 --seeds 5")]
    Variance(VarianceOptions),
    /// DARTS' CIFAR-10 search (hours to days on a GPU).
    #[command(
        after_help = "Examples:\n  edas-lab search-cifar10 --data ~/data/cifar10 --device cuda"
    )]
    SearchCifar10(paper::Options),
    /// DARTS' CIFAR-100 search.
    #[command(
        after_help = "Examples:\n  edas-lab search-cifar100 --data ~/data/cifar100 --device cuda --strategy darts"
    )]
    SearchCifar100(paper::Options),
    /// Train a cell on CIFAR-10 with DARTS' recipe.
    #[command(
        after_help = "Examples:\n  edas-lab train-cifar10 --data ~/data/cifar10 --genotype runs/paper/search-cifar10-edas --device cuda"
    )]
    TrainCifar10(paper::Options),
    /// Train a cell on CIFAR-100 with DARTS' recipe.
    #[command(
        after_help = "Examples:\n  edas-lab train-cifar100 --data ~/data/cifar100 --genotype DARTS_V2 --device cuda"
    )]
    TrainCifar100(paper::Options),
    /// Search on CIFAR-10 (unless --genotype), then train on ImageNet.
    #[command(
        after_help = "Examples:\n  edas-lab imagenet --data ~/data/imagenet --genotype DARTS_V2 --device cuda"
    )]
    Imagenet(paper::Options),
}

/// `matrix FILE [--jobs N] [--bin PATH] | --status | --slurm [OPTIONS]`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// The matrix file (relative to the working directory, else to the
    /// project root).
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Print each unit's state (and squeue's) and the work left; run
    /// nothing.
    #[arg(long, conflicts_with = "slurm")]
    pub status: bool,
    /// Write one batch script per step into OUT/slurm/ and submit them with
    /// sbatch (each training after its search).
    #[arg(long)]
    pub slurm: bool,
    /// The local runner's options.
    #[command(flatten)]
    pub local: LocalOptions,
    /// The Slurm runner's options (with --slurm).
    #[command(flatten, next_help_heading = "Slurm (with --slurm)")]
    pub slurm_options: SlurmOptions,
}

impl Command {
    /// Runs the study.
    pub fn run(self) -> Result<()> {
        match self {
            Command::Matrix(a) => matrix(a),
            Command::Fashion(local) => crate::fashion::fashion(&local),
            Command::Report(o) => report(&o),
            Command::Variance(o) => variance(&o),
            Command::RankCells(o) => crate::rank_cells::rank_cells(&o),
            Command::SearchCifar10(o) => paper::search(Data::Cifar10, &o),
            Command::SearchCifar100(o) => paper::search(Data::Cifar100, &o),
            Command::TrainCifar10(o) => paper::train(Data::Cifar10, &o),
            Command::TrainCifar100(o) => paper::train(Data::Cifar100, &o),
            Command::Imagenet(o) => paper::imagenet(&o),
        }
    }
}

/// The `matrix` subcommand: status, Slurm or the local runner.
fn matrix(a: MatrixArgs) -> Result<()> {
    if a.status {
        return crate::matrix_status::matrix_status(&a.file);
    }
    if !a.slurm {
        if a.slurm_options != SlurmOptions::default() {
            anyhow::bail!(
                "the Slurm options (--partition, --gpus, --time, --device, --checkpoint-every, --signal-secs, --dry-run) need --slurm"
            );
        }
        // The file is read and checked before the binary is built.
        let m = load_matrix(&a.file)?;
        return run_matrix(m, &[], &a.local.binary()?, a.local.jobs);
    }
    if a.local != (LocalOptions { jobs: 1, bin: None }) {
        anyhow::bail!("--jobs and --bin are the local runner's; --slurm builds its own binary");
    }
    let o = a.slurm_options;
    let m = load_matrix(&a.file)?;
    let feature = paper::feature(&o.device)?;
    // A dry run writes the scripts only: no build. It checks the configs
    // with the binary already built, when there is one.
    let bin = if o.dry_run {
        edas_binary_path(feature)
    } else {
        edas_binary(feature)?
    };
    if bin.is_file() {
        check_configs(&bin, &m.units())?;
    } else {
        eprintln!(
            "note: the units' configs and --set keys are not checked: no edas binary at {} \
             (the real --slurm builds it and checks them before writing a script)",
            bin.display()
        );
    }
    submit(&m, &bin, &o)
}

/// Parses `args` (the program name first) as the lab's command line named
/// `bin_name` in help and errors (`edas-lab`, or `cargo xtask` for the
/// aliases). Help and version requests and usage errors come back as
/// clap's error, which prints and exits as clap does ([`clap::Error::exit`]).
pub fn parse_from<I, T>(bin_name: &str, args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut command = Cli::command().bin_name(bin_name.to_owned());
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// Parses `args` (options only, no program name) as `T`'s flags, for tests.
#[cfg(test)]
pub(crate) fn parse_as<T: Args>(args: &[&str]) -> Result<T, clap::Error> {
    #[derive(Parser)]
    struct Only<T: Args> {
        #[command(flatten)]
        inner: T,
    }
    Only::<T>::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|o| o.inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands_parse_and_misuse_is_named() {
        let cli = parse_from("edas-lab", ["edas-lab", "matrix", "m.toml", "--jobs", "2"]).unwrap();
        let Command::Matrix(a) = cli.command else {
            panic!("not matrix")
        };
        assert_eq!(
            (a.file.as_str(), a.local.jobs, a.status),
            ("m.toml", 2, false)
        );
        let cli = parse_from(
            "cargo xtask",
            [
                "x",
                "matrix",
                "m.toml",
                "--slurm",
                "--gpus",
                "2",
                "--dry-run",
            ],
        )
        .unwrap();
        let Command::Matrix(a) = cli.command else {
            panic!("not matrix")
        };
        assert!(a.slurm && a.slurm_options.dry_run);
        assert_eq!(a.slurm_options.gpus, Some(2));
        let e = parse_from(
            "cargo xtask",
            ["x", "matrix", "m.toml", "--status", "--slurm"],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot be used with"), "{e}");
        let e = parse_from("cargo xtask", ["x", "report"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("<RUN_OR_DIR>"), "{e}");
        assert!(e.contains("cargo xtask report"), "{e}");
        let e = parse_from("edas-lab", ["x", "report", "r", "--bin", "e"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--cells"), "{e}");
        // Slurm options without --slurm, local ones with it, are refused.
        let cli = parse_from(
            "edas-lab",
            ["x", "matrix", "/nonexistent.toml", "--gpus", "1"],
        )
        .unwrap();
        let e = format!("{:#}", cli.command.run().unwrap_err());
        assert!(e.contains("need --slurm"), "{e}");
        let cli = parse_from(
            "edas-lab",
            ["x", "matrix", "/nonexistent.toml", "--slurm", "--jobs", "2"],
        )
        .unwrap();
        let e = format!("{:#}", cli.command.run().unwrap_err());
        assert!(e.contains("--jobs and --bin are the local runner's"), "{e}");
        let cli = parse_from("edas-lab", ["x", "search-cifar10", "--strategy", "gdas"]).unwrap();
        let Command::SearchCifar10(o) = cli.command else {
            panic!("not search-cifar10")
        };
        assert_eq!(o.strategy, "gdas");
    }
}
