//! The source tree the lab runs in: its root (where `edas` runs and where
//! relative matrix paths point) and `cargo` in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The project root (this crate is `crates/edas-lab` in it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo ARGS` in the project root; fails on a non-zero exit.
pub fn cargo(args: &[&str]) -> Result<()> {
    cargo_with(args, |_| {})
}

/// `cargo ARGS` in the project root, with `configure` setting the
/// environment; fails on a non-zero exit.
pub fn cargo_with(args: &[&str], configure: impl FnOnce(&mut Command)) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let mut command = Command::new(&cargo);
    command.args(args).current_dir(project_root());
    configure(&mut command);
    let status = command
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace() {
        assert!(project_root().join("Cargo.toml").is_file());
        assert!(project_root().join("crates/edas-lab/Cargo.toml").is_file());
    }
}
