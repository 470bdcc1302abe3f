//! Forward+backward speed and peak memory of the discrete network and of the
//! search supernet, on the CPU (`flex`) backend.
//!
//! One case per process, so that the peak resident memory (`VmHWM`) belongs to
//! that case alone:
//!
//! ```text
//! cargo bench -p edas-nn --bench nn -- CASE [BATCH] [STEPS]
//! cargo xtask bench nn          # every case, one process each, as a table
//! ```
//!
//! Cases: `discrete-c16-l20`, `discrete-c36-l20`, `discrete-c16-l8` (the
//! evaluation network with its auxiliary head and drop-path 0.2),
//! `derived-l8`, `derived-l20` (the derived network of the supernet, DARTS_V2
//! with inherited weights), `darts-l8`, `darts-l20` (every edge relaxed),
//! `edas-l8`, `edas-l20` (the clamped DARTS_V2 cell plus one relaxed edge per
//! cell kind), `ops` (each op alone) and `pool` (3x3 average pooling: burn's
//! kernel against `edas_nn::pool`'s shifted sums). Search cases use C=16.
//! Prints JSON lines.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use edas_genotype::published::DARTS_V2;
use edas_nn::supernet::EdgeWeighting;
use edas_nn::{Network, NetworkConfig, NetworkWeights, SearchNetwork, SearchNetworkConfig};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Forward+backward time of each op alone on `[batch, 16, 32, 32]`.
fn ops(device: &Device, batch: usize, steps: usize) {
    use edas_genotype::Primitive;
    use edas_nn::ops::{Op, OpMode};
    let x: Tensor<4> = Tensor::random(
        [batch, 16, 32, 32],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    for p in Primitive::ALL.into_iter().skip(1) {
        let op = Op::new(p, 16, 1, OpMode::Eval, device);
        let run = || {
            let input = x.clone().require_grad();
            std::hint::black_box(op.forward(input).sum().backward());
        };
        println!(
            "{{\"case\": \"op-{p}\", \"batch\": {batch}, \"median_step_s\": {:.5}}}",
            median_s(steps, &run)
        );
    }
}

/// Median seconds of `steps` calls of `f`, after one untimed call.
fn median_s(steps: usize, f: &dyn Fn()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
}

/// `avg_pool_3x3` at stride 1: burn's pooling kernel against the shifted
/// sums `edas_nn::pool` uses on flex, forward and forward+backward, at the
/// Fashion-MNIST network's three resolutions (C=8 L=5).
fn pool(device: &Device, batch: usize, steps: usize) {
    use burn::nn::PaddingConfig2d;
    use burn::nn::pool::AvgPool2dConfig;
    use edas_nn::pool::avg_pool_3x3_shifted;
    let kernel = AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init();
    for (c, hw) in [(8, 28), (16, 14), (32, 7)] {
        let x: Tensor<4> = Tensor::random(
            [batch, c, hw, hw],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        let burn_kernel = |x: Tensor<4>| kernel.forward(x);
        let shifted = |x: Tensor<4>| avg_pool_3x3_shifted(x);
        let variants: [(&str, &dyn Fn(Tensor<4>) -> Tensor<4>); 2] =
            [("burn", &burn_kernel), ("shifted", &shifted)];
        for (name, f) in variants {
            let forward = median_s(steps, &|| {
                std::hint::black_box(f(x.clone()).into_data());
            });
            let both = median_s(steps, &|| {
                let xi = x.clone().require_grad();
                let grads = f(xi.clone()).sum().backward();
                std::hint::black_box(xi.grad(&grads).unwrap().into_data());
            });
            println!(
                "{{\"case\": \"avg-pool-{name}\", \"shape\": [{batch}, {c}, {hw}, {hw}], \"forward_s\": {forward:.5}, \"forward_backward_s\": {both:.5}}}"
            );
        }
    }
}

/// `flex` by default; `EDAS_BENCH_BACKEND=ndarray` with `--features ndarray`.
fn bench_device() -> Device {
    match std::env::var("EDAS_BENCH_BACKEND").as_deref() {
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // ndarray is deprecated in burn; kept only to compare backends
        Ok("ndarray") => Device::ndarray().autodiff(),
        Ok("flex") | Err(_) => Device::flex().autodiff(),
        Ok(other) => panic!("unknown or not compiled-in backend `{other}`"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let case = args
        .first()
        .cloned()
        .unwrap_or_else(|| "discrete-c16-l20".to_owned());
    let batch: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(32);
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let device = bench_device();
    if case == "ops" {
        ops(&device, batch, steps);
        return;
    }
    if case == "pool" {
        pool(&device, batch, steps);
        return;
    }
    let x: Tensor<4> = Tensor::random(
        [batch, 3, 32, 32],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let rss_before = peak_rss_mib();

    let (step, params): (Box<dyn Fn()>, usize) = match case.as_str() {
        c if c.starts_with("discrete") => {
            let (channels, layers) = match c {
                "discrete-c36-l20" => (36, 20),
                "discrete-c16-l8" => (16, 8),
                _ => (16, 20),
            };
            let config = NetworkConfig {
                channels,
                layers,
                ..NetworkConfig::darts_cifar(10)
            };
            let net = Network::cifar(&DARTS_V2, &config, &device).unwrap();
            let params = net.num_params();
            (
                Box::new(move || {
                    let out = net.forward(x.clone(), 0.2, true);
                    let loss = loss_fn.forward(out.logits, y.clone());
                    let loss = match out.aux {
                        Some(a) => loss.add(loss_fn.forward(a, y.clone()).mul_scalar(0.4)),
                        None => loss,
                    };
                    std::hint::black_box(loss.backward());
                }),
                params,
            )
        }
        c if c.starts_with("derived") => {
            // The derived network of a C=16 supernet (DARTS_V2 with inherited
            // weights, search-mode ops), what EDAS trains apart from its relaxed edges.
            let layers = if c.ends_with("l20") { 20 } else { 8 };
            let search = SearchNetwork::new(
                &SearchNetworkConfig {
                    layers,
                    ..SearchNetworkConfig::darts_cifar(10)
                },
                &device,
            );
            let net = Network::from_search(&search, &DARTS_V2).unwrap();
            drop(search);
            let params = net.num_params();
            (
                Box::new(move || {
                    let loss =
                        loss_fn.forward(net.forward(x.clone(), 0.0, false).logits, y.clone());
                    std::hint::black_box(loss.backward());
                }),
                params,
            )
        }
        c => {
            let layers = if c.ends_with("l20") { 20 } else { 8 };
            let config = SearchNetworkConfig {
                layers,
                ..SearchNetworkConfig::darts_cifar(10)
            };
            let net = SearchNetwork::new(&config, &device);
            let params = net.num_params();
            let darts = c.starts_with("darts");
            let alpha = |seed: f32| -> Tensor<1> {
                Tensor::<1>::from_data(
                    TensorData::new(
                        (0..8)
                            .map(|i| (i as f32 * seed).sin() * 1e-3)
                            .collect::<Vec<_>>(),
                        [8],
                    ),
                    &device,
                )
                .require_grad()
            };
            (
                Box::new(move || {
                    let weights =
                        if darts {
                            let cell = |s: f32| {
                                (0..14)
                                    .map(|e| {
                                        EdgeWeighting::Relaxed(burn::tensor::activation::softmax(
                                            alpha(s + e as f32),
                                            0,
                                        ))
                                    })
                                    .collect()
                            };
                            NetworkWeights {
                                normal: cell(1.0),
                                reduce: cell(2.0),
                            }
                        } else {
                            // EDAS: the clamped cell plus one relaxed edge per kind
                            // (edge 10 is not kept by DARTS_V2's normal cell, edge 3
                            // is kept by its reduction cell).
                            let mut w = NetworkWeights::clamped(&DARTS_V2);
                            w.normal[10] = EdgeWeighting::Relaxed(
                                burn::tensor::activation::softmax(alpha(1.0), 0),
                            );
                            w.reduce[3] = EdgeWeighting::Relaxed(
                                burn::tensor::activation::softmax(alpha(2.0), 0),
                            );
                            w
                        };
                    let loss = loss_fn.forward(net.forward(x.clone(), &weights), y.clone());
                    std::hint::black_box(loss.backward());
                }),
                params,
            )
        }
    };
    // One warm-up step, then timed steps.
    step();
    let mut times = Vec::new();
    for _ in 0..steps {
        let start = Instant::now();
        step();
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "{{\"case\": \"{case}\", \"backend\": \"{}\", \"batch\": {batch}, \"steps\": {steps}, \"stored_values\": {params}, \"median_step_s\": {median:.4}, \"images_per_s\": {:.1}, \"peak_rss_mib\": {:.0}, \"rss_before_mib\": {:.0}, \"threads\": {}}}",
        std::env::var("EDAS_BENCH_BACKEND").unwrap_or_else(|_| "flex".to_owned()),
        batch as f64 / median,
        peak_rss_mib(),
        rss_before,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
