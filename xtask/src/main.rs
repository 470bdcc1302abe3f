//! `cargo xtask <task>`: project automation (matklad's xtask convention).
//!
//! Tasks:
//! - `lint`: `cargo fmt --check` and `cargo clippy` with warnings as errors.
//! - `test`: the README's test command (`cargo test --workspace --locked`).
//!
//! Experiment tasks (search, train, matrix, report) land here with the crates
//! that implement them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(project_root())
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  lint    cargo fmt --check, then cargo clippy --workspace --all-targets -D warnings
  test    cargo test --workspace --locked (the README's test command)";

fn run(task: &str) -> Result<()> {
    match task {
        "lint" => {
            cargo(&["fmt", "--all", "--", "--check"])?;
            cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ])
        }
        "test" => cargo(&["test", "--workspace", "--locked"]),
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

fn main() -> ExitCode {
    let Some(task) = std::env::args().nth(1) else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    match run(&task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
