//! Time and peak memory of one whole search step (`Searcher::step`:
//! architecture step on a validation batch, then weight step on a training
//! batch) per strategy, against one training step of the derived discrete
//! network: the cells EDAS's clamp holds at the same seed (`derived-*`), so
//! that EDAS's step is exactly that network plus the relaxed edge, or
//! DARTS_V2's cells (`derived-v2-*`), with the C=16 supernet's weights.
//!
//! One case per process, so that the peak resident memory (`VmHWM`) is the
//! case's own:
//!
//! ```text
//! cargo bench -p edas-bench --bench step -- CASE [BATCH] [STEPS]
//! cargo xtask bench search [BATCH] [STEPS]   # every case, as a table
//! ```
//!
//! Cases: `derived-l8`, `derived-v2-l8`, `edas-l8`, `darts-l8`, `gdas-l8` and
//! the same with `l20`, and `train-cC-lL` (DARTS_V2's CIFAR network, e.g.
//! `train-c36-l20`); `edas_bench` defines them (`edas bench` runs the
//! same cases on any `--device`). 32x32 RGB inputs, 10 classes, C=16. `EDAS_BENCH_CHECKPOINT=1`
//! turns on burn's balanced gradient checkpointing; `EDAS_BENCH_SEED=N` sets
//! the searcher's seed (default 2), hence its clamped cells;
//! `EDAS_BENCH_RECOMPUTE=0` keeps the relaxed edges' activations instead of
//! recomputing them in backward (`edas.recompute`). Prints a JSON line.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use burn::prelude::*;
use edas_bench::{BenchSpec, run};
use edas_run::sys::{mib, peak_rss_bytes};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let case = args.first().cloned().unwrap_or_else(|| "edas-l8".into());
    let batch: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(32);
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut device = Device::flex().autodiff();
    if std::env::var("EDAS_BENCH_CHECKPOINT").is_ok_and(|v| v == "1") {
        device = device.gradient_checkpointing();
    }
    let spec = BenchSpec {
        seed: std::env::var("EDAS_BENCH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2),
        recompute: std::env::var("EDAS_BENCH_RECOMPUTE").map_or(true, |v| v != "0"),
        ..BenchSpec::new(&case, batch, steps)
    };
    let rss_before = peak_rss_bytes().map_or(f64::NAN, mib);
    let r = run(&spec, &device).unwrap();
    println!(
        "{{\"case\": \"{case}\", \"batch\": {batch}, \"steps\": {steps}, \"median_step_s\": {:.4}, \"images_per_s\": {:.1}, \"peak_rss_mib\": {:.0}, \"rss_before_mib\": {rss_before:.0}, \"seed\": {}, \"recompute\": {}, \"checkpointing\": {}}}",
        r.median_step_s,
        batch as f64 / r.median_step_s,
        peak_rss_bytes().map_or(f64::NAN, mib),
        spec.seed,
        spec.recompute,
        device.gradient_checkpointing_strategy()
            == Some(burn::tensor::GradientCheckpointingStrategy::Balanced)
    );
}
