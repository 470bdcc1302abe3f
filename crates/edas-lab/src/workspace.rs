//! The source tree the lab runs in: its root (where `edas` runs and where
//! relative matrix paths point), `cargo` in it, and the LibTorch that
//! `cargo xtask tch build` links.

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

/// LibTorch's library folder in the PyTorch environment `cargo xtask tch`
/// installs (`target/torch-venv/lib/python3.*/site-packages/torch/lib`),
/// when there is one: a binary built with the `tch` backend loads its
/// LibTorch from there through `LD_LIBRARY_PATH`.
pub fn libtorch_dir() -> Option<PathBuf> {
    let lib = project_root().join("target").join("torch-venv").join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages").join("torch").join("lib"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop()
}

/// `LD_LIBRARY_PATH` with `dir` first and the caller's after it.
pub fn library_path_with(dir: &Path) -> std::ffi::OsString {
    let mut path = dir.as_os_str().to_owned();
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH").filter(|v| !v.is_empty()) {
        path.push(":");
        path.push(old);
    }
    path
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

    #[test]
    fn libtorch_goes_first_on_the_library_path() {
        let p = library_path_with(Path::new("/opt/torch/lib"));
        let p = p.to_string_lossy();
        assert!(p.starts_with("/opt/torch/lib"), "{p}");
        match std::env::var("LD_LIBRARY_PATH") {
            Ok(old) if !old.is_empty() => assert_eq!(p, format!("/opt/torch/lib:{old}")),
            _ => assert_eq!(p, "/opt/torch/lib"),
        }
        // Found only inside a torch install's layout.
        if let Some(dir) = libtorch_dir() {
            assert!(
                dir.ends_with("site-packages/torch/lib"),
                "{}",
                dir.display()
            );
        }
    }
}
