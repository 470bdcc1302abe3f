//! The `edas` binary the lab drives: where it is built, how a step of a
//! run is started or resumed, and what its exit status means.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::workspace::{cargo, library_path_with, libtorch_dir, project_root};

/// Builds the release `edas` and returns its path. With the cargo `feature`
/// a GPU device needs, into `target/gpu` (the features change every burn
/// crate, so the CPU build in `target/release` is kept apart).
pub fn edas_binary(feature: Option<&str>) -> Result<PathBuf> {
    let mut args = vec!["build", "--release", "--locked", "-p", "edas-cli"];
    if let Some(f) = feature {
        eprintln!(
            "building edas with the `{f}` backend into target/gpu/release (the CPU build in \
             target/release is kept apart; the first build takes a while, and pass --bin PATH \
             to use an edas you built yourself)"
        );
        args.extend(["--features", f, "--target-dir", "target/gpu"]);
    }
    cargo(&args)?;
    Ok(edas_binary_path(feature))
}

/// Where [`edas_binary`] puts the binary (for scripts written without
/// building it: `--slurm --dry-run`).
pub fn edas_binary_path(feature: Option<&str>) -> PathBuf {
    project_root().join(match feature {
        Some(_) => "target/gpu/release/edas",
        None => "target/release/edas",
    })
}

/// An `edas` binary given with `--bin`, used as it is (no build): a long
/// matrix keeps one build from its first unit to its last while the code
/// changes. Checked by running `edas --version`.
pub fn pinned_binary(bin: &Path) -> Result<PathBuf> {
    let bin = if bin.is_absolute() {
        bin.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot read the working directory")?
            .join(bin)
    };
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run --bin {}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let version = stdout.lines().next().unwrap_or("");
    if !out.status.success() || !version.starts_with("edas ") {
        bail!(
            "--bin {} is not an edas binary (`--version` printed {version:?})",
            bin.display()
        );
    }
    eprintln!("using {} ({version})", bin.display());
    Ok(bin)
}

/// Runs `edas ARGS` in the project root; a signal's stop is [`Stopped`].
pub fn run_edas(bin: &Path, args: &[String]) -> Result<()> {
    run_edas_threads(bin, args, None)
}

/// [`run_edas`] with the CPU backend's thread count (`RAYON_NUM_THREADS`)
/// set to `threads`, unless the caller's environment already sets it. When
/// `cargo xtask tch` has installed its PyTorch environment, its LibTorch
/// folder goes first on `LD_LIBRARY_PATH`, so that a `tch` build runs
/// without the user setting it (other builds do not look there).
pub fn run_edas_threads(bin: &Path, args: &[String], threads: Option<usize>) -> Result<()> {
    eprintln!("+ edas {}", args.join(" "));
    let mut command = Command::new(bin);
    if let Some(lib) = libtorch_dir() {
        command.env("LD_LIBRARY_PATH", library_path_with(&lib));
    }
    if let Some(n) = threads
        && std::env::var_os("RAYON_NUM_THREADS").is_none()
    {
        command.env("RAYON_NUM_THREADS", n.to_string());
    }
    let status = command
        .args(args)
        .current_dir(project_root())
        .status()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if status.code() == Some(STOPPED_STATUS) {
        return Err(Stopped {
            command: format!("edas {}", args.join(" ")),
        }
        .into());
    }
    if !status.success() {
        bail!("edas {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `edas`'s exit status after a signal stopped it at a checkpoint
/// ([`edas_run::INTERRUPTED`], the binary's own constant): the local runner
/// reports a stop, the Slurm scripts requeue.
pub const STOPPED_STATUS: i32 = edas_run::INTERRUPTED as i32;

/// An `edas` run stopped by a signal after checkpointing: not a failure,
/// the same matrix command resumes it.
#[derive(Debug)]
pub struct Stopped {
    /// The command that was stopped.
    pub command: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was stopped by a signal after its checkpoint (exit status {STOPPED_STATUS})",
            self.command
        )
    }
}

impl std::error::Error for Stopped {}

/// `KEY=VALUE` overrides as edas arguments: `--set KEY=VALUE` each.
pub fn set_args(sets: &[String]) -> Vec<String> {
    sets.iter()
        .flat_map(|s| ["--set".to_owned(), s.clone()])
        .collect()
}

/// The arguments that start `edas COMMAND` in run directory `dir` afresh:
/// `start` (the config and overrides) after the seed (none: the config's).
pub fn start_args(command: &str, dir: &Path, seed: Option<u64>, start: Vec<String>) -> Vec<String> {
    let mut a = vec![
        command.to_owned(),
        "--out".into(),
        dir.display().to_string(),
        "--force".into(),
    ];
    // The seed first, so that overrides in `start` may replace it.
    if let Some(seed) = seed {
        a.extend(["--set".into(), format!("seed={seed}")]);
    }
    a.extend(start);
    a
}

/// The arguments that resume `edas COMMAND` in run directory `dir`.
pub fn resume_args(command: &str, dir: &Path) -> Vec<String> {
    vec![
        command.to_owned(),
        "--resume".into(),
        dir.display().to_string(),
    ]
}
