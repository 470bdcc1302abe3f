//! `edas config list|show|write`: the configs shipped with edas (embedded
//! in the binary, `crate::shipped`), for an installed binary that has no
//! checkout beside it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use crate::shipped::{SHIPPED, find};

/// The config subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List the shipped configs (`search/NAME` for `edas search --config
    /// NAME`, `train/NAME` for `edas train`).
    #[command(after_help = "Example:\n  edas config list")]
    List,
    /// Print a shipped config.
    #[command(after_help = "Example:\n  edas config show cifar100-edas")]
    Show(NameArg),
    /// Write a shipped config to a file, to edit it.
    #[command(after_help = "Example:\n  edas config write cifar100-edas -o my-search.toml")]
    Write(WriteArgs),
}

/// A shipped config's name.
#[derive(Debug, Args)]
pub struct NameArg {
    /// `cifar100-edas`, `search/cifar100-edas` or `train/cifar100`.
    name: String,
}

/// `edas config write NAME -o FILE`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    #[command(flatten)]
    name: NameArg,
    /// The file to write.
    #[arg(short = 'o', long = "out", alias = "output")]
    out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
}

/// The shipped config `name` names (a search config first, then a
/// training config), or the error listing what there is.
fn named(name: &str) -> Result<(&'static str, &'static str)> {
    match find("search", name).or_else(|| find("train", name)) {
        Some(c) => Ok(c),
        None => bail!(
            "no shipped config `{name}`; the shipped configs are: {}",
            SHIPPED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Runs a config subcommand.
pub fn run(cmd: ConfigCommand) -> Result<ExitCode> {
    match cmd {
        ConfigCommand::List => {
            for (name, _) in SHIPPED {
                println!("{name}");
            }
        }
        ConfigCommand::Show(a) => print!("{}", named(&a.name)?.1),
        ConfigCommand::Write(a) => {
            let (name, text) = named(&a.name.name)?;
            edas_fs::check_output(&a.out, a.force)?;
            edas_fs::write_atomic(&a.out, text.as_bytes())?;
            println!("wrote {} ({name})", a.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
