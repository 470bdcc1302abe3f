//! `edas`: the command-line tool of the edas project.
//!
//! Argument parsing and glue only; the work is done by the library crates.

mod bench_cmd;
mod config_cmd;
mod data_cmd;
mod device;
mod dump;
mod genotype_cmd;
mod import_cmd;
mod inspect_cmd;
mod run_args;
mod score_cmd;
mod search_cmd;
mod shipped;
mod source;
mod train_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The commit this binary was built from (`build.rs`): `<sha>`,
/// `<sha>-dirty`, or `unknown` outside the project's git checkout.
pub const BUILD_COMMIT: &str = env!("EDAS_BUILD_COMMIT");

/// EDAS: efficient and differentiable architecture search (arXiv:1912.01237).
#[derive(Debug, Parser)]
#[command(
    name = "edas",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("EDAS_BUILD_COMMIT"), ")"),
    about,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, show, convert, draw and compare genotypes.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  edas genotype show DARTS_V2\n  edas genotype convert PDARTS --to json -o pdarts.json"
    )]
    Genotype(genotype_cmd::GenotypeCommand),
    /// Check that a data set is in place (and download it if asked).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  edas data check fashion-mnist\n  edas data check cifar10 --data ~/data --download"
    )]
    Data(data_cmd::DataCommand),
    /// The configs shipped with edas: list them, print one, write one to edit.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  edas config list\n  edas config write cifar100-edas -o my-search.toml"
    )]
    Config(config_cmd::ConfigCommand),
    /// Parameters, mult-adds and cell shapes of the network a genotype builds.
    #[command(after_help = "Examples:\n  edas inspect --genotype DARTS_V2 --net imagenet")]
    Inspect(inspect_cmd::InspectArgs),
    /// Search a cell architecture from a config (EDAS, DARTS first and second
    /// order, PC-DARTS, GDAS or random search).
    #[command(
        override_usage = "edas search --config <CONFIG> [OPTIONS]\n       edas search --resume <RUN_DIR> [OPTIONS]",
        after_help = "Examples:\n  edas search --config configs/search/cifar10-edas.toml --set seed=3\n  edas search --resume runs/cifar10-edas"
    )]
    Search(search_cmd::SearchArgs),
    /// Train a genotype's network from scratch with a config's recipe.
    #[command(
        override_usage = "edas train --genotype <GENOTYPE> --config <CONFIG> [OPTIONS]\n       edas train --resume <RUN_DIR> [OPTIONS]",
        after_help = "Examples:\n  edas train --genotype runs/cifar10-edas --config configs/train/cifar10.toml"
    )]
    Train(train_cmd::TrainArgs),
    /// Test accuracy (top-1, top-5) and loss of a trained run.
    #[command(after_help = "Examples:\n  edas eval --run runs/cifar10-cifar10-edas --json")]
    Eval(train_cmd::EvalArgs),
    /// Write a trained run's network as safetensors with PyTorch names, or as
    /// ONNX.
    #[command(
        after_help = "Examples:\n  edas export --run runs/cifar10-cifar10-edas\n  edas export --run runs/cifar10-cifar10-edas --format onnx -o net.onnx"
    )]
    Export(train_cmd::ExportArgs),
    /// Turn a PyTorch DARTS `model.pt` into a run that `eval`, `export` and
    /// `train --resume` accept.
    #[command(
        after_help = "Examples:\n  edas import --weights weights.pt --genotype DARTS_V2 --out runs/darts-v2-pt"
    )]
    Import(import_cmd::ImportArgs),
    /// Architectures' accuracy on a search run's supernet clamped to each
    /// (the weight-sharing estimate), on the run's evaluation examples.
    #[command(
        after_help = "Examples:\n  edas score --run runs/nb201-fashion-mnist-edas --cells cells.txt\n  edas score --run runs/cifar10-edas --genotype DARTS_V2 --genotype PDARTS"
    )]
    Score(score_cmd::ScoreArgs),
    /// Time one search or training step on a device (one JSON line).
    #[command(after_help = "Examples:\n  edas bench edas-l8 --batch 64 --device cpu")]
    Bench(bench_cmd::BenchArgs),
}

/// `edas ... | head` closes standard output early; Rust's `println!` then
/// panics. Exit quietly as a shell tool does on SIGPIPE (status 141) instead
/// of printing a panic (`unsafe` is forbidden, so SIGPIPE cannot be reset).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    // `RUST_LOG=edas_search=debug` etc.; warnings only by default (the
    // commands print their own progress and epoch lines).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Genotype(cmd) => genotype_cmd::run(cmd),
        Command::Data(cmd) => data_cmd::run(cmd),
        Command::Config(cmd) => config_cmd::run(cmd),
        Command::Inspect(args) => inspect_cmd::run(args),
        Command::Search(args) => search_cmd::run(args),
        Command::Train(args) => train_cmd::train(args),
        Command::Eval(args) => train_cmd::eval(args),
        Command::Export(args) => train_cmd::export(args),
        Command::Import(args) => import_cmd::run(args),
        Command::Score(args) => score_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
