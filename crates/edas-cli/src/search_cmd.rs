//! `edas search`: run, resume or slice an architecture search.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use edas_search::{SearchConfig, run_search};

use crate::run_args::RunArgs;

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The search config (TOML; see configs/search/).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// A NAS-Bench-201 `.pth`, a NATS-Bench topology `.pickle.pbz2` or its
    /// simple directory: record the derived cell's benchmark test accuracy
    /// every epoch (the config's `benchmark`; NAS-Bench-201 space only).
    #[arg(long, value_name = "PATH", conflicts_with = "resume")]
    benchmark: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn run(args: SearchArgs) -> Result<ExitCode> {
    let plan = args
        .run
        .plan::<SearchConfig>("search", args.config.as_deref(), |c| {
            PathBuf::from("runs").join(&c.name)
        })?;
    let mut config = plan.loaded.config.clone();
    if let Some(path) = &args.benchmark {
        config.benchmark = Some(path.clone());
    }
    let config = &config;
    config.validate(&plan.loaded.origin)?;
    if args.run.check {
        println!("config ok: {}", plan.loaded.origin);
        return Ok(ExitCode::SUCCESS);
    }
    let device = args.run.device(config.gradient_checkpointing)?;
    let options = args.run.options(plan.out, plan.mode)?;
    let outcome = run_search(config, &options, &device)?;
    if args.run.json {
        let results = serde_json::json!({
            "run_dir": options.out,
            "finished": outcome.finished,
            "interrupted": outcome.interrupted,
            "epochs_done": outcome.epochs_done,
            "genotype": outcome.genotype.to_string(),
            "last": outcome.last,
        });
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    if outcome.interrupted {
        return Ok(ExitCode::from(edas_run::INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}
