//! `edas bench`: time one step case (`edas_bench`) on any device and
//! print one JSON line, so that a prebuilt binary measures a GPU machine
//! without cargo (`scripts/gpu-check.sh`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use edas_bench::{BenchSpec, run as run_case};
use edas_run::sys::{mib, peak_rss_bytes};

/// `edas bench CASE ...`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// `edas-l8`, `gdas-l8`, `darts-l8`, `derived-l8`, `derived-v2-l8` (or
    /// `-l20`): one search step or a training step of the derived network,
    /// C=16; `train-cC-lL`: a training step of DARTS_V2's CIFAR network
    /// (e.g. `train-c36-l20`); `op-NAME`: one op's forward and backward
    /// (e.g. `op-sep_conv_3x3`); `prim-KIND-cC-hH`: one primitive's (`pw`,
    /// `dw3`, `bn`, `relu`, `max3`; e.g. `prim-pw-c16-h32`).
    pub case: String,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed steps (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Untimed steps first (kernel compilation, autotuning).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// The searcher's seed (its clamped cells).
    #[arg(long, default_value_t = 2)]
    pub seed: u64,
    /// Keep EDAS's relaxed edges' activations instead of recomputing them.
    #[arg(long)]
    pub no_recompute: bool,
    /// cpu, tch, tch-cuda[:N], cuda[:N], vulkan[:N], wgpu[:N|:cpu] (docs/gpu.md).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs the case and prints its JSON line.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let device = crate::device::parse(&args.device, true)?;
    let spec = BenchSpec {
        warmup: args.warmup,
        seed: args.seed,
        recompute: !args.no_recompute,
        ..BenchSpec::new(&args.case, args.batch, args.steps)
    };
    let r = run_case(&spec, &device)
        .with_context(|| format!("benchmark {} on --device {}", args.case, args.device))?;
    let line = serde_json::json!({
        "case": args.case,
        "device": args.device,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "first_step_s": r.first_step_s,
        "median_step_s": r.median_step_s,
        "min_step_s": r.min_step_s,
        "images_per_s": args.batch as f64 / r.median_step_s,
        "params": r.params,
        "forward_s": r.phases_s.map(|p| p[0]),
        "backward_s": r.phases_s.map(|p| p[1]),
        "update_s": r.phases_s.map(|p| p[2]),
        "peak_rss_mib": peak_rss_bytes().map(mib),
        "seed": args.seed,
        "recompute": spec.recompute,
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
