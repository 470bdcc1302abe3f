//! The virtual environment under `target/torch-venv` with PyPI's torch:
//! PyTorch's reference numbers (`bench torch`, `interop`) and the LibTorch
//! that burn's `tch` backend links (`tch`, `gpu-kit`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project_root;

/// The torch release the `tch` build links against: torch-sys 0.22 compiles
/// its wrapper against it (2.15 fails), and it is what the GPU machine has,
/// so the kit's binary loads that machine's LibTorch.
pub const TORCH_VERSION: &str = "2.11.0";
/// The virtual environment's Python, with torch [`TORCH_VERSION`] installed
/// (several GB from PyPI on first use).
pub fn python() -> Result<PathBuf> {
    let venv = project_root().join("target").join("torch-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("cannot run python3 (install Python 3 with venv)")?;
        if !status.success() {
            bail!("cannot create {}", venv.display());
        }
    }
    let version = Command::new(&python)
        .args(["-c", "import torch; print(torch.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if !version
        .as_deref()
        .is_some_and(|v| v.starts_with(TORCH_VERSION))
    {
        eprintln!(
            "installing torch {TORCH_VERSION} from PyPI into {} (about 5 GB)",
            venv.display()
        );
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .arg(format!("torch=={TORCH_VERSION}"))
            .status()?;
        if !status.success() {
            bail!("pip install torch=={TORCH_VERSION} failed");
        }
    }
    Ok(python)
}

/// LibTorch's library folder inside the environment's torch
/// (`edas_lab::workspace::libtorch_dir`, which the lab's runners put on
/// `LD_LIBRARY_PATH` too), after [`python`] has installed it.
pub fn torch_lib(python: &Path) -> Result<PathBuf> {
    edas_lab::workspace::libtorch_dir().with_context(|| {
        format!(
            "{} has torch, but no target/torch-venv/lib/python3.*/site-packages/torch/lib",
            python.display()
        )
    })
}
