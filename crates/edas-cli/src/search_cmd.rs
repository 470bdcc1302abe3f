//! `edas search`: run, resume or slice an architecture search.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use edas_search::{RunOptions, SearchConfig, run_search};
use edas_train::config::load;
use edas_train::run::OpenMode;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The search config (TOML; see configs/search/).
    #[arg(long, required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config key: `--set edas.tau_start=2 --set epochs=10`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// The run directory (default: runs/<config name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the unfinished run in this directory from its checkpoint,
    /// with the config stored there.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "sets", "out", "force"])]
    resume: Option<PathBuf>,
    /// Overwrite the run directory if it holds a run.
    #[arg(long)]
    force: bool,
    /// Stop (checkpointed) once this many epochs are done; resume later.
    #[arg(long, value_name = "EPOCHS")]
    stop_after: Option<usize>,
    /// Device: cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print only errors (the run directory's log.txt has everything).
    #[arg(long, short)]
    quiet: bool,
    /// Print the final results as JSON on standard output.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SearchArgs) -> Result<ExitCode> {
    let (config, out, mode) = match &args.resume {
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
            let loaded = load::<SearchConfig>(path, &args.sets)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("runs").join(&loaded.config.name));
            let mode = if args.force {
                OpenMode::Force
            } else {
                OpenMode::New
            };
            (loaded, out, mode)
        }
    };
    config.config.validate(&config.origin)?;
    let mut device = crate::device::parse(&args.device, true)?;
    if config.config.gradient_checkpointing {
        device = device.gradient_checkpointing();
    }
    let options = RunOptions {
        out,
        mode,
        stop_after: args.stop_after,
        command_line: std::env::args().collect(),
        verbose: !args.quiet,
    };
    let outcome = run_search(&config.config, &options, &device)?;
    if args.json {
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
