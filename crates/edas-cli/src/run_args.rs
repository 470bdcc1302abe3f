//! The options `edas search` and `edas train` share: overrides, the run
//! directory and its mode, slicing, device and output.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use clap::Args;
use edas_run::config::{Loaded, load, load_text};
use edas_run::files::{COMMAND_FILE, CONFIG_FILE};
use edas_run::{OpenMode, RunOptions, StopFlag};
use serde::de::DeserializeOwned;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Override a config key: `--set epochs=10 --set seed=3` (TOML values;
    /// a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// The run directory (default: under runs/).
    #[arg(short, long, alias = "output")]
    pub out: Option<PathBuf>,
    /// Continue the unfinished run in this directory from its checkpoint,
    /// with the config stored there.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["sets", "out", "force"])]
    pub resume: Option<PathBuf>,
    /// Overwrite the run directory if it holds a run.
    #[arg(long)]
    pub force: bool,
    /// Stop (checkpointed) once this many epochs are done; resume later.
    #[arg(long, value_name = "EPOCHS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_after: Option<u64>,
    /// Also checkpoint every this many steps within an epoch, so that a
    /// hard kill loses at most that much work (SIGTERM and Ctrl-C always
    /// checkpoint at the next step and exit with status 75).
    #[arg(long, value_name = "STEPS", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// Device: cpu, or with a GPU build cuda[:N], vulkan[:N], wgpu[:N|:cpu],
    /// tch, tch-cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Print only errors (the run directory's log.txt has everything).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final results as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Only check the config with its overrides (every key, type and
    /// range), print `config ok`, and exit: no data is read, no genotype
    /// resolved, nothing written.
    #[arg(long, conflicts_with_all = ["resume", "force", "stop_after", "checkpoint_every", "json"])]
    pub check: bool,
}

/// The config `--config` names for a `kind` run: a file, else a shipped
/// config by name (`cifar100-edas`: `edas config list`), so that an
/// installed binary needs no checkout.
fn load_config<C: DeserializeOwned>(kind: &str, path: &Path, sets: &[String]) -> Result<Loaded<C>> {
    let dir = if kind == "training" { "train" } else { kind };
    if path.symlink_metadata().is_err()
        && let Some((name, text)) = path.to_str().and_then(|p| crate::shipped::find(dir, p))
    {
        return Ok(load_text::<C>(
            text,
            &format!("shipped config {name}"),
            sets,
        )?);
    }
    let missing = path.symlink_metadata().is_err();
    let loaded = load::<C>(path, sets);
    if missing {
        return loaded.with_context(|| {
            format!(
                "no config file {}, and no shipped config of that name (`edas config list`)",
                path.display()
            )
        });
    }
    Ok(loaded?)
}

/// A run to start or resume: its config, directory and mode.
pub struct RunPlan<C> {
    /// The config (the run's own `config.toml` when resuming).
    pub loaded: Loaded<C>,
    /// The run directory.
    pub out: PathBuf,
    /// New, force or resume.
    pub mode: OpenMode,
}

/// The command that made run directory `dir` (`search`, `train`), from the
/// second word of its `command.txt`, when it says.
fn run_kind(dir: &Path) -> Option<String> {
    let text =
        edas_fs::read_to_string_bounded(&dir.join(COMMAND_FILE), 1 << 20, "command line").ok()?;
    let kind = text.split_whitespace().nth(1)?;
    ["search", "train"].contains(&kind).then(|| kind.to_owned())
}

impl RunArgs {
    /// The run `--resume` names (its stored config, no overrides), or a new
    /// one from `config` with `--set` overrides in `--out` or
    /// `default_out(config)`; `kind` names the run in messages (`search`).
    pub fn plan<C: DeserializeOwned>(
        &self,
        kind: &str,
        config: Option<&Path>,
        default_out: impl FnOnce(&C) -> PathBuf,
    ) -> Result<RunPlan<C>> {
        if let Some(dir) = &self.resume {
            let path = dir.join(CONFIG_FILE);
            if !path.is_file() {
                bail!(
                    "{}: not a {kind} run directory (no config.toml)",
                    dir.display()
                );
            }
            // The command that resumes this kind of run.
            let command = if kind == "training" { "train" } else { kind };
            if let Some(other) = run_kind(dir).filter(|k| k != command) {
                let what = if other == "train" {
                    "training"
                } else {
                    "search"
                };
                bail!(
                    "{}: a {what} run, not a {kind} run; resume it with `edas {other} --resume {}`",
                    dir.display(),
                    dir.display()
                );
            }
            return Ok(RunPlan {
                loaded: load::<C>(&path, &[])?,
                out: dir.clone(),
                mode: OpenMode::Resume,
            });
        }
        let path = config.context("--config is required (or --resume RUN_DIR)")?;
        let loaded = load_config::<C>(kind, path, &self.sets)?;
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| default_out(&loaded.config));
        Ok(RunPlan {
            loaded,
            out,
            mode: self.new_mode(),
        })
    }

    /// How to run in `out` under `mode`, stopping at the next step boundary
    /// (checkpointed) on SIGTERM or SIGINT.
    pub fn options(&self, out: PathBuf, mode: OpenMode) -> Result<RunOptions> {
        Ok(RunOptions {
            stop_after: self.stop_after.map(|n| n as usize),
            command_line: std::env::args().collect(),
            build_commit: Some(crate::BUILD_COMMIT.to_owned()),
            verbose: !self.quiet,
            checkpoint_every: self.checkpoint_every.map(|n| n as usize),
            stop: StopFlag::on_signals()?,
            ..RunOptions::new(out, mode)
        })
    }

    /// How to open a new run's directory.
    pub fn new_mode(&self) -> OpenMode {
        if self.force {
            OpenMode::Force
        } else {
            OpenMode::New
        }
    }

    /// The autodiff device, with gradient checkpointing when the config
    /// asks for it.
    pub fn device(&self, gradient_checkpointing: bool) -> Result<Device> {
        let device = crate::device::parse(&self.device, true)?;
        Ok(if gradient_checkpointing {
            device.gradient_checkpointing()
        } else {
            device
        })
    }
}
