//! `edas search`: run, resume or slice an architecture search.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::run_args::RunArgs;
use edas_search::{RunOptions, SearchConfig, run_search};
use edas_train::config::load;
use edas_train::run::OpenMode;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The search config (TOML; see configs/search/).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(args: SearchArgs) -> Result<ExitCode> {
    let (config, out, mode) = match &args.run.resume {
        Some(dir) => {
            let path = dir.join("config.toml");
            if !path.is_file() {
                bail!(
                    "{}: not a search run directory (no config.toml)",
                    dir.display()
                );
            }
            let loaded = load::<SearchConfig>(&path, &[])?;
            (loaded, dir.clone(), OpenMode::Resume)
        }
        None => {
            let path = args
                .config
                .as_ref()
                .context("--config is required (or --resume RUN_DIR)")?;
            let loaded = load::<SearchConfig>(path, &args.run.sets)?;
            let out = args
                .run
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("runs").join(&loaded.config.name));
            (loaded, out, args.run.new_mode())
        }
    };
    config.config.validate(&config.origin)?;
    let device = args.run.device(config.config.gradient_checkpointing)?;
    let options = RunOptions {
        out,
        mode,
        stop_after: args.run.stop_after,
        command_line: std::env::args().collect(),
        verbose: !args.run.quiet,
    };
    let outcome = run_search(&config.config, &options, &device)?;
    if args.run.json {
        let results = serde_json::json!({
            "run_dir": options.out,
            "finished": outcome.finished,
            "epochs_done": outcome.epochs_done,
            "genotype": edas_genotype::darts_text::to_darts(&outcome.genotype),
            "last": outcome.last,
        });
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(ExitCode::SUCCESS)
}
