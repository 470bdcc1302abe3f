//! `cargo xtask <task>`: project automation (matklad's xtask convention).
//!
//! Tasks:
//! - `lint`: `cargo fmt --check` and `cargo clippy` with warnings as errors.
//! - `test`: the README's test command (`cargo test --workspace --locked`).
//! - `bench nn [BATCH] [STEPS] [CASE...]`: network speed and peak memory, one
//!   process per case (`crates/edas-nn/benches/nn.rs`).
//! - `bench search [BATCH] [STEPS] [CASE...]`: one whole search step per
//!   strategy (architecture + weight step) against a derived-network step.
//! - `bench torch [BATCH] [STEPS]`: the same discrete network in PyTorch
//!   (`bench/torch_darts.py`; installs torch from PyPI into `target/torch-venv`).
//! - `bench data`: input-pipeline throughput.
//!
//!
//! The experiment lab's studies are the `edas-lab` crate's (`edas-lab --help`);
//! `cargo xtask matrix|fashion|report|variance|search-cifar10|search-cifar100|
//! train-cifar10|train-cifar100|imagenet ...` are aliases of its subcommands,
//! for the developers' habits.
//! - `slurm-test`: a tiny matrix through a one-node Slurm cluster on this
//!   machine, one job preempted and requeued, report compared with the
//!   local runner's (`slurm_test.rs`).
//! - `tch build|test|bench`: burn's LibTorch backend from PyPI's torch
//!   (`gpu.rs`).
//! - `interop`: edas-trained weights into PyTorch, PyTorch `model.pt` into
//!   edas, both as ONNX in onnxruntime, logits compared (`interop.rs`).
//! - `gpu-kit`: `target/gpu-kit`, what `scripts/gpu-check.sh` needs on a GPU
//!   machine (`gpu.rs`).

mod bench;
mod gpu;
mod interop;
mod slurm_test;
mod torch_venv;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

pub(crate) use edas_lab::workspace::{cargo, cargo_with, project_root};

/// Runs `cmd` and parses the last line of its output that is a JSON object
/// (the benchmarks print one).
pub(crate) fn run_json(cmd: &mut Command) -> Result<serde_json::Value> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("no JSON line in the output of {cmd:?}: {stdout}"))?;
    Ok(serde_json::from_str(line)?)
}

/// Project automation (matklad's xtask convention): the developers' chores,
/// and the experiment lab's studies (`edas-lab`'s subcommands, listed last).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Xtask {
    /// The task.
    #[command(subcommand)]
    task: Task,
}

/// Arguments passed on to a task as they are (`[BATCH] [STEPS] [CASE...]`).
#[derive(Debug, clap::Args)]
struct Rest {
    /// The task's own arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

// Parsed once per process: the lab's options stay inline.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Task {
    /// cargo fmt --check, then cargo clippy --workspace --all-targets -D warnings.
    #[command(after_help = "Example:\n  cargo xtask lint")]
    Lint,
    /// The README's test command (cargo test --workspace --locked).
    #[command(after_help = "Example:\n  cargo xtask test")]
    Test,
    /// Benchmarks: nn|search [BATCH] [STEPS] [CASE...] (one process per case),
    /// torch [BATCH] [STEPS] (the PyTorch reference), data (input pipeline).
    #[command(
        subcommand,
        after_help = "Examples:\n  cargo xtask bench nn 32 5\n  cargo xtask bench search 32 3 edas-l8 darts-l8\n  cargo xtask bench torch"
    )]
    Bench(BenchTask),
    /// edas with LibTorch (tch) and Vulkan into target/gpu (torch from PyPI):
    /// build, test [-- ARGS], bench [BATCH] [STEPS] (flex vs tch vs PyTorch),
    /// ops [BATCH] [STEPS] [ROUNDS] (each owned op, tch vs PyTorch, paired).
    #[command(
        after_help = "Examples:\n  cargo xtask tch build\n  cargo xtask tch bench 32 3\n  cargo xtask tch ops 32 50 5"
    )]
    Tch(Rest),
    /// edas <-> PyTorch weights and ONNX in onnxruntime, logits compared.
    #[command(after_help = "Example:\n  cargo xtask interop")]
    Interop,
    /// A one-node Slurm cluster here (root; Debian's slurmctld, slurmd,
    /// munge): a tiny matrix, one job preempted, report = the local runner's.
    #[command(after_help = "Example:\n  cargo xtask slurm-test")]
    SlurmTest,
    /// target/gpu-kit: edas (tch, vulkan), scripts/gpu-check.sh, a Vulkan loader.
    #[command(after_help = "Example:\n  cargo xtask gpu-kit")]
    GpuKit,
    /// The experiment lab (edas-lab).
    #[command(flatten)]
    Lab(edas_lab::cli::Command),
}

/// `cargo xtask bench ...`.
#[derive(Debug, Subcommand)]
enum BenchTask {
    /// Network step time and peak memory: [BATCH] [STEPS] [CASE...].
    Nn(Rest),
    /// A whole search step per strategy vs the derived network: [BATCH] [STEPS] [CASE...].
    Search(Rest),
    /// The PyTorch reference of the discrete network: [BATCH] [STEPS].
    Torch(Rest),
    /// Input-pipeline throughput.
    Data,
}

fn run(task: Task) -> Result<()> {
    match task {
        Task::Bench(BenchTask::Nn(r)) => bench::nn(&r.args),
        Task::Bench(BenchTask::Search(r)) => bench::search(&r.args),
        Task::Bench(BenchTask::Torch(r)) => bench::torch(&r.args),
        Task::Bench(BenchTask::Data) => bench::data(),
        Task::Tch(r) => gpu::tch(&r.args),
        Task::Interop => interop::interop(&[]),
        Task::SlurmTest => slurm_test::slurm_test(&[]),
        Task::GpuKit => gpu::kit(),
        Task::Lint => {
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
        Task::Test => cargo(&["test", "--workspace", "--locked"]),
        Task::Lab(command) => command.run(),
    }
}

fn main() -> ExitCode {
    // `cargo xtask` runs `xtask ARGS`: the program name is `cargo xtask`.
    let args = std::iter::once("cargo xtask".to_owned()).chain(std::env::args().skip(1));
    let task = match Xtask::try_parse_from(args) {
        Ok(x) => x.task,
        // Help and version exit 0, usage errors 2, as clap does.
        Err(e) => e.exit(),
    };
    match run(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent_and_help_exits_zero() {
        Xtask::command().debug_assert();
        for help in [
            &["x", "--help"][..],
            &["x", "-h"],
            &["x", "help"],
            &["x", "report", "--help"],
            &["x", "bench", "--help"],
        ] {
            let e = Xtask::try_parse_from(help).unwrap_err();
            assert_eq!(e.exit_code(), 0, "{help:?}");
        }
        let e = Xtask::try_parse_from(["x", "frobnicate"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let help = Xtask::command().render_help().to_string();
        for task in [
            "lint",
            "bench",
            "tch",
            "gpu-kit",
            "matrix",
            "report",
            "search-cifar100",
            "imagenet",
        ] {
            assert!(help.contains(task), "{task} missing from:\n{help}");
        }
        let Task::Bench(BenchTask::Nn(r)) =
            Xtask::try_parse_from(["x", "bench", "nn", "32", "5", "op-sep3"])
                .unwrap()
                .task
        else {
            panic!("not bench nn")
        };
        assert_eq!(r.args, ["32", "5", "op-sep3"]);
    }
}

#[cfg(test)]
mod rest_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What `cargo xtask tch test -- --nocapture` hands the task: clap keeps
    /// the words after the task as they are.
    #[test]
    fn trailing_arguments_reach_the_task() {
        let Task::Tch(r) = Xtask::try_parse_from(["x", "tch", "test", "--", "--nocapture"])
            .unwrap()
            .task
        else {
            panic!("not tch")
        };
        assert_eq!(r.args, ["test", "--", "--nocapture"]);
    }
}
