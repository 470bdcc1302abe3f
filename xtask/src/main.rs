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
//! Experiments:
//! - `matrix FILE [--jobs N] [--bin PATH]`, `fashion [--jobs N] [--bin PATH]`, `report RUNS...` (`experiments.rs`,
//!   `report.rs`); `matrix FILE --status` (with the work left, `remaining.rs`);
//!   `matrix FILE --slurm ...` (`slurm.rs`).
//! - `slurm-test`: a tiny matrix through a one-node Slurm cluster on this
//!   machine, one job preempted and requeued, report compared with the
//!   local runner's (`slurm_test.rs`).
//! - `variance [--genotype G] [--seeds N] ...`: a training recipe's
//!   run-to-run spread and the runs a comparison needs (`variance.rs`).
//! - `search-cifar10`, `search-cifar100`, `train-cifar10`, `train-cifar100`,
//!   `imagenet`: the paper-scale runs (`paper.rs`).
//! - `tch build|test|bench`: burn's LibTorch backend from PyPI's torch
//!   (`gpu.rs`).
//! - `interop`: edas-trained weights into PyTorch, PyTorch `model.pt` into
//!   edas, both as ONNX in onnxruntime, logits compared (`interop.rs`).
//! - `gpu-kit`: `target/gpu-kit`, what `scripts/gpu-check.sh` needs on a GPU
//!   machine (`gpu.rs`).

mod bench;
mod experiments;
mod gpu;
mod interop;
mod paper;
mod remaining;
mod report;
mod report_ops;
mod report_plot;
mod report_ranks;
mod slurm;
mod slurm_test;
mod variance;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    cargo_with(args, |_| {})
}

/// `cargo ARGS` in the project root, with `configure` setting the
/// environment; fails on a non-zero exit.
pub(crate) fn cargo_with(args: &[&str], configure: impl FnOnce(&mut Command)) -> Result<()> {
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
  matrix FILE [--jobs N] [--bin PATH]  strategies x seeds from configs/matrix/FILE.toml: search (+ train), skip finished, resume interrupted; --jobs: N units at a time; --bin: run this edas binary (no build)
  matrix FILE --status                 each unit's state (and squeue's), the work left
  matrix FILE --slurm [--partition P] [--gpus N] [--time T] [--device D] [--checkpoint-every STEPS] [--signal-secs S] [--dry-run]
                                       one batch script per step into OUT/slurm/, submitted with sbatch (training after its search)
  fashion [--jobs N] [--bin PATH]      matrix configs/matrix/fashion.toml (the CPU-sized experiment, ~1.5 h; --jobs, --bin as for matrix); finds or installs the data
  slurm-test                           a one-node Slurm cluster here (root; Debian's slurmctld, slurmd, munge): tiny matrix, one job preempted, report = local runner's
  report RUN_OR_DIR... [--csv FILE] [--cells DIR]  mean +/- std over seeds: search time, peak memory, pruning gap, params, test error; --cells: each group's best cell drawn
  variance [--genotype G] [--seeds N] [--config F] [--set K=V]   one cell, N training seeds: the recipe's spread and the runs a comparison needs
  search-cifar10|search-cifar100|train-cifar10|train-cifar100|imagenet OPTIONS  paper-scale runs (below)

";

fn usage() -> String {
    format!("{USAGE}{}", paper::PAPER_USAGE)
}

fn run(task: &str, rest: &[String]) -> Result<()> {
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
        "matrix" => experiments::matrix(rest),
        "fashion" => experiments::fashion(rest),
        "report" => report::report(rest),
        "variance" => variance::variance(rest),
        "search-cifar10" => paper::search(paper::Data::Cifar10, rest),
        "search-cifar100" => paper::search(paper::Data::Cifar100, rest),
        "train-cifar10" => paper::train(paper::Data::Cifar10, rest),
        "train-cifar100" => paper::train(paper::Data::Cifar100, rest),
        "imagenet" => paper::imagenet(rest),
        other => bail!("unknown task `{other}`\n\n{}", usage()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first().cloned() else {
        eprintln!("{}", usage());
        return ExitCode::FAILURE;
    };
    match run(&task, &args[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
