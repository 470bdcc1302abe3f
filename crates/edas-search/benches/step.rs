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
//! cargo bench -p edas-search --bench step -- CASE [BATCH] [STEPS]
//! cargo xtask bench search [BATCH] [STEPS]   # every case, as a table
//! ```
//!
//! Cases: `derived-l8`, `derived-v2-l8`, `edas-l8`, `darts-l8`, `gdas-l8` and
//! the same with `l20`. 32x32 RGB inputs, 10 classes, C=16. `EDAS_BENCH_CHECKPOINT=1`
//! turns on burn's balanced gradient checkpointing; `EDAS_BENCH_SEED=N` sets
//! the searcher's seed (default 2), hence its clamped cells;
//! `EDAS_BENCH_RECOMPUTE=0` keeps the relaxed edges' activations instead of
//! recomputing them in backward (`recompute_relaxed`). Prints a JSON line.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use edas_genotype::published::DARTS_V2;
use edas_nn::{Network, SearchNetwork, SearchNetworkConfig};
use edas_search::{EdasSettings, Searcher, StepContext, Strategy};
use edas_train::optim::{SgdSettings, sgd};
use edas_train::sys::{mib, peak_rss_bytes};

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
    let layers = if case.ends_with("l20") { 20 } else { 8 };
    // The searcher's seed (its alpha initialisation, hence the clamped cells).
    let seed: u64 = std::env::var("EDAS_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    // EDAS recomputes its relaxed edges in backward unless this is 0.
    let recompute = std::env::var("EDAS_BENCH_RECOMPUTE").map_or(true, |v| v != "0");
    let config = SearchNetworkConfig {
        layers,
        ..SearchNetworkConfig::darts_cifar(10)
    };
    let data = |seed: f32| {
        let x: Tensor<4> = Tensor::random(
            [batch, 3, 32, 32],
            burn::tensor::Distribution::Normal(f64::from(seed) * 0.1, 1.0),
            &device,
        );
        let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
        (x, y)
    };
    let (train, valid) = (data(0.0), data(1.0));
    let rss_before = peak_rss_bytes().map_or(f64::NAN, mib);
    let mut step: Box<dyn FnMut()> = if case.starts_with("derived") {
        // The cells EDAS clamps to at this seed (what its search step
        // trains besides the relaxed edge), or DARTS_V2 for `derived-v2-*`.
        let genotype = if case.starts_with("derived-v2") {
            DARTS_V2
        } else {
            Searcher::new(&config, EdasSettings::default(), seed, &device)
                .genotype()
                .unwrap()
        };
        let search = SearchNetwork::new(&config, &device);
        let mut net = Network::from_search(&search, &genotype).unwrap();
        drop(search);
        let mut optim = sgd(&SgdSettings::default());
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        Box::new(move || {
            let loss = loss_fn.forward(
                net.forward(train.0.clone(), 0.0, false).logits,
                train.1.clone(),
            );
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(0.025, net.clone(), grads);
        })
    } else {
        let strategy = match case.split('-').next() {
            Some("darts") => Strategy::Darts,
            Some("gdas") => Strategy::Gdas,
            _ => Strategy::Edas,
        };
        let settings = EdasSettings {
            strategy,
            recompute_relaxed: recompute,
            ..EdasSettings::default()
        };
        let mut searcher = Searcher::new(&config, settings, seed, &device);
        let ctx = StepContext {
            tau: 1.0,
            ..StepContext::plain(0.025)
        };
        Box::new(move || {
            searcher.step(train.clone(), valid.clone(), &ctx).unwrap();
        })
    };
    step();
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let t = Instant::now();
            step();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "{{\"case\": \"{case}\", \"batch\": {batch}, \"steps\": {steps}, \"median_step_s\": {median:.4}, \"images_per_s\": {:.1}, \"peak_rss_mib\": {:.0}, \"rss_before_mib\": {rss_before:.0}, \"seed\": {seed}, \"recompute\": {recompute}, \"checkpointing\": {}}}",
        batch as f64 / median,
        peak_rss_bytes().map_or(f64::NAN, mib),
        device.gradient_checkpointing_strategy()
            == Some(burn::tensor::GradientCheckpointingStrategy::Balanced)
    );
}
