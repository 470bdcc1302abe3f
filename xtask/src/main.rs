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

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  lint    cargo fmt --check, then cargo clippy --workspace --all-targets -D warnings
  test    cargo test --workspace --locked (the README's test command)
  bench nn [BATCH] [STEPS] [CASE...]   network step time and peak memory
  bench search [BATCH] [STEPS] [CASE...]  whole search step per strategy vs the derived network
  bench torch [BATCH] [STEPS]          the PyTorch reference of the discrete network
  bench data                           input-pipeline throughput
  tch build|test                       edas with LibTorch (tch) and Vulkan into target/gpu (torch from PyPI); its tests
  tch bench [BATCH] [STEPS]            DARTS_V2 and search steps: flex vs tch vs PyTorch on this CPU
  interop                              edas <-> PyTorch weights and ONNX (onnxruntime): logits compared (torch venv)
  gpu-kit                              target/gpu-kit: edas (tch, vulkan), scripts/gpu-check.sh, Vulkan loader
  slurm-test                           a one-node Slurm cluster here (root; Debian's slurmctld, slurmd, munge): tiny matrix, one job preempted, report = local runner's

the experiment lab (aliases of `edas-lab`'s subcommands; `cargo xtask matrix --help` etc.):
  matrix FILE [--jobs N] [--bin PATH] | --status | --slurm [OPTIONS]   strategies x seeds x grids: search (+ train), skip finished, resume interrupted
  fashion [--jobs N] [--bin PATH]      matrix configs/matrix/fashion.toml on Debian's Fashion-MNIST (~1.5 h)
  report RUN_OR_DIR... [OPTIONS]       mean +/- std over seeds, CIs against a baseline; CSV, chart, best cells
  variance [OPTIONS]                   one cell, N training seeds: the recipe's spread and the runs a comparison needs
  search-cifar10|search-cifar100|train-cifar10|train-cifar100|imagenet [OPTIONS]   paper-scale runs

";

/// The lab's subcommands, which `cargo xtask` passes on to `edas-lab`.
const LAB: [&str; 9] = [
    "matrix",
    "fashion",
    "report",
    "variance",
    "search-cifar10",
    "search-cifar100",
    "train-cifar10",
    "train-cifar100",
    "imagenet",
];

fn usage() -> String {
    USAGE.to_owned()
}

fn run(task: &str, rest: &[String]) -> Result<()> {
    if LAB.contains(&task) {
        let args = std::iter::once("cargo xtask")
            .chain(std::iter::once(task))
            .chain(rest.iter().map(String::as_str));
        let cli = match edas_lab::cli::parse_from("cargo xtask", args) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        return cli.command.run();
    }
    match task {
        "bench" => match rest.first().map(String::as_str) {
            Some("nn") => bench::nn(&rest[1..]),
            Some("torch") => bench::torch(&rest[1..]),
            Some("search") => bench::search(&rest[1..]),
            Some("data") => bench::data(),
            _ => bail!(
                "usage: cargo xtask bench nn|search|torch|data\n\n{}",
                usage()
            ),
        },
        "tch" => gpu::tch(rest),
        "interop" => interop::interop(rest),
        "slurm-test" => slurm_test::slurm_test(rest),
        "gpu-kit" => gpu::kit(),
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
        other => bail!("unknown task `{other}`\n\n{}", usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first().cloned() else {
        eprintln!("{}", usage());
        return ExitCode::FAILURE;
    };
    if matches!(task.as_str(), "-h" | "--help" | "help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    match run(&task, &args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
