//! The LibTorch backend (`--features tch`): a search step, a training step,
//! save and load, and the same numbers as `flex` on a small network. Compiled
//! only with the feature (`cargo xtask tch test` builds LibTorch's environment
//! and runs these); `EDAS_TCH_DEVICE=cuda` runs them on GPU 0 instead of the
//! CPU.

#![cfg(feature = "tch")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
#![allow(deprecated)] // burn marks its tch backend deprecated

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use edas_genotype::published::DARTS_V2;
use edas_nn::{Network, NetworkConfig, SearchNetworkConfig};
use edas_run::checkpoint::{load_module, save_module};
use edas_run::optim::{SgdSettings, sgd};
use edas_search::{EdasSettings, Searcher, StepContext, Strategy};

fn tch() -> Device {
    match std::env::var("EDAS_TCH_DEVICE").as_deref() {
        Ok("cuda") => Device::libtorch_cuda(0),
        _ => Device::libtorch(),
    }
}

fn batch(device: &Device, n: usize, mean: f64) -> (Tensor<4>, Tensor<1, Int>) {
    // Host-made data, so that both backends see the same values.
    let values: Vec<f32> = (0..n * 3 * 20 * 20)
        .map(|i| ((i as f32 * 0.37).sin() + mean as f32) * 0.8)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(values, [n, 3, 20, 20]), device);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % 10).collect();
    (x, Tensor::from_data(TensorData::new(labels, [n]), device))
}

fn small_net() -> NetworkConfig {
    NetworkConfig {
        in_channels: 3,
        image_size: 20,
        classes: 10,
        channels: 4,
        layers: 3,
        auxiliary: true,
    }
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn search_steps_run_and_learn() {
    let device = tch().autodiff();
    let config = SearchNetworkConfig {
        in_channels: 3,
        classes: 10,
        channels: 4,
        layers: 3,
        stem_multiplier: 2,
        partial_channels: 1,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    };
    for strategy in [Strategy::Edas, Strategy::Darts, Strategy::Gdas] {
        let settings = EdasSettings {
            strategy,
            ..EdasSettings::default()
        };
        let mut searcher = Searcher::new(&config, settings, 3, &device).unwrap();
        let alpha0 = searcher.state().unwrap().alpha_normal;
        let (train, valid) = (batch(&device, 8, 0.0), batch(&device, 8, 0.2));
        let ctx = StepContext {
            tau: 1.0,
            ..StepContext::plain(0.05)
        };
        let losses: Vec<f64> = (0..12)
            .map(|_| {
                searcher
                    .step(train.clone(), valid.clone(), &ctx)
                    .unwrap()
                    .train_loss
            })
            .collect();
        assert!(
            losses.iter().all(|l| l.is_finite()),
            "{strategy:?}: {losses:?}"
        );
        // The architecture variables moved.
        let alpha = searcher.state().unwrap().alpha_normal;
        let moved = alpha0.iter().zip(&alpha).filter(|(a, b)| a != b).count();
        assert!(moved > 0, "{strategy:?}: alpha did not move");
        // The same batch twelve times: the weights fit it (GDAS trains one
        // op per edge, sampled anew each step, so its loss on one batch is
        // too noisy to test this way).
        if strategy != Strategy::Gdas {
            assert!(
                losses[11] < losses[0] * 0.9,
                "{strategy:?}: loss {} -> {}",
                losses[0],
                losses[11]
            );
        }
        let g = *searcher.genotype().unwrap().darts("tch test").unwrap();
        assert_eq!(g.normal.edges().count(), 8);
    }
}

#[test]
fn training_step_save_load_and_flex_agree() {
    let dir = tempfile::tempdir().unwrap();
    let flex = Device::flex().autodiff();
    let tch = tch().autodiff();
    // One network, built on flex and copied to LibTorch through a file.
    flex.seed(7);
    let net_flex = Network::cifar(&DARTS_V2, &small_net(), &flex).unwrap();
    let path = dir.path().join("net.bpk");
    save_module(&net_flex, &path).unwrap();
    let mut net_tch = Network::cifar(&DARTS_V2, &small_net(), &tch).unwrap();
    load_module(&mut net_tch, &path).unwrap();

    // Forward (training mode, batch statistics, no drop-path) and backward
    // on both backends from the same weights and data.
    let loss_fn = CrossEntropyLossConfig::new();
    let step = |net: &Network, device: &Device| {
        let (x, y) = batch(device, 6, 0.0);
        let out = net.forward(x, 0.0, true);
        let logits = out.logits.clone();
        let loss_fn = loss_fn.init(device);
        let loss = loss_fn.forward(out.logits, y.clone()).add(
            loss_fn
                .forward(out.aux.expect("auxiliary head"), y)
                .mul_scalar(0.4),
        );
        let grads = GradientsParams::from_grads(loss.backward(), net);
        (host(logits), grads)
    };
    let eval = |net: Network, device: &Device| {
        let valid = net.valid();
        let (x, _) = batch(&device.clone().inner(), 6, 0.3);
        host(valid.forward(x, 0.0, false).logits)
    };
    let before = eval(net_flex.clone(), &flex);
    let (logits_flex, grads_flex) = step(&net_flex, &flex);
    let (logits_tch, grads_tch) = step(&net_tch, &tch);
    let d = max_rel_diff(&logits_flex, &logits_tch);
    eprintln!("flex vs tch: logits differ by {d:e} (relative to the largest)");
    assert!(d < 1e-4, "logits differ by {d} (relative)");

    // One SGD step on each; the updated networks still agree.
    let settings = SgdSettings::default();
    let net_flex = sgd(&settings).step(0.1, net_flex, grads_flex);
    let net_tch = sgd(&settings).step(0.1, net_tch, grads_tch);
    let after_flex = eval(net_flex, &flex);
    let after_tch = eval(net_tch.clone(), &tch);
    let d = max_rel_diff(&after_flex, &after_tch);
    let moved = max_rel_diff(&after_flex, &before);
    eprintln!("after one SGD step: flex vs tch {d:e}; the step moved the outputs by {moved:e}");
    assert!(
        d < 1e-3,
        "after one SGD step, logits differ by {d} (relative)"
    );
    assert!(moved > 1e-3, "the step changed nothing");

    // Save on LibTorch, load on LibTorch: the same outputs exactly.
    let path2 = dir.path().join("trained.bpk");
    save_module(&net_tch, &path2).unwrap();
    let mut reloaded = Network::cifar(&DARTS_V2, &small_net(), &tch).unwrap();
    load_module(&mut reloaded, &path2).unwrap();
    assert_eq!(eval(reloaded, &tch), after_tch);
}
