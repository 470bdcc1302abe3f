//! The options `edas search` and `edas train` share: overrides, the run
//! directory and its mode, slicing, device and output.

use std::path::PathBuf;

use anyhow::Result;
use burn::prelude::Device;
use clap::Args;
use edas_train::run::OpenMode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Override a config key: `--set epochs=10 --set seed=3` (TOML values;
    /// a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// The run directory (default: under runs/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the unfinished run in this directory from its checkpoint,
    /// with the config stored there.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["sets", "out", "force"])]
    pub resume: Option<PathBuf>,
    /// Overwrite the run directory if it holds a run.
    #[arg(long)]
    pub force: bool,
    /// Stop (checkpointed) once this many epochs are done; resume later.
    #[arg(long, value_name = "EPOCHS")]
    pub stop_after: Option<usize>,
    /// Device: cpu, or with a GPU build cuda[:N], vulkan[:N], wgpu[:N|:cpu].
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Print only errors (the run directory's log.txt has everything).
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final results as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
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
