//! The CPU backend's thread count changes no result: the same search steps
//! in a 1-thread and a 2-thread rayon pool give bit-identical losses and
//! architecture variables (what bit-exact resume on another machine needs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use burn::prelude::*;
use edas_data::{Split, SyntheticSpec};
use edas_genotype::CellKind;
use edas_nn::SearchNetworkConfig;
use edas_search::{EdasSettings, Searcher, StepContext, Strategy};

/// Two batches of 16 CIFAR-shaped images: the stem's output (16 x 48 x 32 x
/// 32, 786K values) is above flex's 256K-element threshold for splitting a
/// loop over threads, and the convolutions' matrix products are large
/// enough for `gemm` to split.
fn batches(device: &Device, split: Split) -> Vec<(Tensor<4>, Tensor<1, Int>)> {
    let spec = SyntheticSpec {
        seed: 4,
        ..SyntheticSpec::cifar(32, 32)
    };
    common::batches(device, &spec, split)
}

/// Losses (as bits) and both cells' alpha after two DARTS steps of `s` run
/// in a rayon pool of `threads`.
fn steps_in_pool(threads: usize, s: &mut Searcher) -> (Vec<u64>, Vec<Vec<u32>>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        assert_eq!(rayon::current_num_threads(), threads);
        let device = Device::flex().autodiff();
        let train = batches(&device, Split::Train);
        let valid = batches(&device, Split::Test);
        let mut losses = Vec::new();
        for (t, v) in train.iter().zip(&valid) {
            let stats = s
                .step(t.clone(), v.clone(), &StepContext::plain(0.05))
                .unwrap();
            losses.extend([
                stats.train_loss.to_bits(),
                stats.val_loss.unwrap().to_bits(),
            ]);
        }
        let alpha = CellKind::ALL
            .iter()
            .map(|&k| {
                s.arch
                    .values(k)
                    .unwrap()
                    .iter()
                    .map(|a| a.to_bits())
                    .collect()
            })
            .collect();
        (losses, alpha)
    })
}

#[test]
fn one_and_two_threads_give_identical_search_steps() {
    let device = Device::flex().autodiff();
    let config = SearchNetworkConfig {
        in_channels: 3,
        classes: 10,
        channels: 16,
        layers: 3,
        stem_multiplier: 3,
        partial_channels: 1,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    };
    let settings = || EdasSettings {
        strategy: Strategy::Darts,
        ..Default::default()
    };
    let mut one = Searcher::new(&config, settings(), 11, &device).unwrap();
    let mut two = Searcher::new(&config, settings(), 11, &device).unwrap();
    // The same weights (burn draws initial weights from a process-global
    // generator).
    let dir = tempfile::tempdir().unwrap();
    let state = one.save(dir.path()).unwrap();
    two.load(dir.path(), &state).unwrap();
    let one = steps_in_pool(1, &mut one);
    let two = steps_in_pool(2, &mut two);
    assert_eq!(one.0.len(), 4);
    assert_eq!(one, two, "losses or alpha depend on the thread count");
}
