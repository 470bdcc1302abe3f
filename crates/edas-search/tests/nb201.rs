//! The NAS-Bench-201 space: every strategy searches it, its derived cells
//! are NAS-Bench-201 cells, a restricted op set is respected, the supernet
//! clamped to a cell computes the derived network, and a searcher's
//! checkpoint restores it exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{mnist_batches as batches, tiny};

use burn::prelude::*;
use edas_data::Split;
use edas_genotype::nb201::Nb201Op;
use edas_genotype::{Architecture, Nb201Cell, SearchSpace, SpaceName};
use edas_nn::{Model, NetworkWeights, SearchNetworkConfig, Supernet, on_inner};
use edas_search::{EdasSettings, Regularizers, Searcher, StepContext, Strategy, WarmupNetwork};

/// A 3-cell NAS-Bench-201 supernet (one cell per stage) at C=4.
fn nb201() -> SearchNetworkConfig {
    SearchNetworkConfig {
        space: SpaceName::NasBench201,
        image_size: 28,
        ..tiny()
    }
}

fn settings(strategy: Strategy, space: SearchSpace) -> EdasSettings {
    EdasSettings {
        strategy,
        space,
        regularizers: Regularizers {
            epsilon: 0.3,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    a.sub(b).abs().max().into_scalar::<f32>()
}

#[test]
fn every_strategy_searches_the_nas_bench_201_space() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 32, Split::Train);
    let valid = batches(&device, 32, Split::Test);
    let full = SearchSpace::full(SpaceName::NasBench201);
    // Without avg_pool_3x3: never built, weighted or derived.
    let no_pool = SearchSpace::with_ops(
        SpaceName::NasBench201,
        &["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"],
    )
    .unwrap();
    for strategy in Strategy::ALL {
        for space in [full, no_pool] {
            let mut s = Searcher::new(&nb201(), settings(strategy, space), 5, &device).unwrap();
            assert_eq!(s.network().space(), SpaceName::NasBench201);
            assert_eq!(s.arch.shape(), [6, 5]);
            let warm = StepContext {
                warmup: Some(WarmupNetwork::SinglePath),
                ..StepContext::plain(0.05)
            };
            s.step(train[0].clone(), valid[0].clone(), &warm).unwrap();
            let before = s.arch.values(edas_genotype::CellKind::Normal).unwrap();
            let reduce = s.arch.values(edas_genotype::CellKind::Reduce).unwrap();
            for (t, v) in train.iter().zip(&valid).skip(1) {
                let ctx = StepContext {
                    tau: 2.0,
                    epsilon: 0.3,
                    ..StepContext::plain(0.05)
                };
                let stats = s.step(t.clone(), v.clone(), &ctx).unwrap();
                assert!(stats.train_loss.is_finite(), "{strategy}");
                // One cell kind: EDAS relaxes normal edges only.
                assert!(stats.relaxed[1].is_empty(), "{strategy}");
                assert!(stats.relaxed[0].iter().all(|&e| e < 6), "{strategy}");
            }
            let after = s.arch.values(edas_genotype::CellKind::Normal).unwrap();
            assert_eq!(
                before != after,
                strategy.has_arch_step(),
                "{strategy}: alpha moves with an architecture step"
            );
            // The unused reduce variables never move.
            assert_eq!(
                s.arch.values(edas_genotype::CellKind::Reduce).unwrap(),
                reduce,
                "{strategy}"
            );
            s.end_epoch(&valid).unwrap();
            let eval = s.evaluate(&valid, 1.0).unwrap();
            assert_eq!(eval.examples, 32, "{strategy}");
            let Architecture::Nb201(cell) = s.genotype().unwrap() else {
                panic!("{strategy}: not a NAS-Bench-201 cell");
            };
            if space == no_pool {
                assert_eq!(
                    cell.op_counts()[Nb201Op::AvgPool3x3.index()],
                    0,
                    "{strategy}: {cell}"
                );
                let soft = s
                    .arch
                    .softmax_values(edas_genotype::CellKind::Normal)
                    .unwrap();
                assert!(soft.chunks(5).all(|row| row[4] == 0.0), "{strategy}");
            }
        }
    }
}

#[test]
fn the_clamped_supernet_is_the_derived_network_and_a_checkpoint_restores_it() {
    let device = Device::flex().autodiff();
    let valid = batches(&device, 16, Split::Test);
    let cell = Nb201Cell::parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    )
    .unwrap();
    let arch = Architecture::Nb201(cell);
    let s = Searcher::new(
        &nb201(),
        settings(Strategy::Edas, SearchSpace::full(SpaceName::NasBench201)),
        9,
        &device,
    )
    .unwrap();
    let net = on_inner(s.network());
    let x = valid[0].0.clone().inner();
    let clamped = net.forward(x.clone(), &NetworkWeights::clamped_arch(&arch));
    let Some(Model::Nb201(derived)) = net.derived(&arch).unwrap() else {
        panic!("a NAS-Bench-201 supernet derives a NAS-Bench-201 network");
    };
    assert!(max_abs_diff(clamped.clone(), derived.forward(x.clone())) < 1e-5);
    // A relaxed one-hot edge equals the clamped edge.
    let mut relaxed = NetworkWeights::clamped_arch(&arch);
    let hot = Tensor::<1>::from_floats([0.0, 0.0, 1.0, 0.0, 0.0], &x.device());
    relaxed.normal[1] = edas_nn::EdgeWeighting::Relaxed(hot);
    assert!(max_abs_diff(net.forward(x.clone(), &relaxed), clamped.clone()) < 1e-5);
    // A DARTS genotype does not fit.
    let e = net
        .derived(&Architecture::Darts(edas_genotype::published::DARTS_V2))
        .unwrap_err();
    assert!(e.to_string().contains("nas-bench-201"), "{e}");

    // Save, build another searcher from another seed, load: same outputs.
    let dir = tempfile::tempdir().unwrap();
    let state = s.save(dir.path()).unwrap();
    let mut other = Searcher::new(
        &nb201(),
        settings(Strategy::Edas, SearchSpace::full(SpaceName::NasBench201)),
        10,
        &device,
    )
    .unwrap();
    other.load(dir.path(), &state).unwrap();
    let again = on_inner(other.network()).forward(x, &NetworkWeights::clamped_arch(&arch));
    assert_eq!(max_abs_diff(again, clamped), 0.0);
    assert_eq!(other.genotype().unwrap(), s.genotype().unwrap());
}

#[test]
fn a_darts_checkpoint_does_not_load_into_a_nas_bench_201_searcher() {
    let device = Device::flex().autodiff();
    let darts = Searcher::new(&tiny(), EdasSettings::default(), 1, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = darts.save(dir.path()).unwrap();
    let mut nb = Searcher::new(
        &nb201(),
        settings(Strategy::Edas, SearchSpace::full(SpaceName::NasBench201)),
        1,
        &device,
    )
    .unwrap();
    assert!(nb.load(dir.path(), &state).is_err());
    let _ = Supernet::new(&nb201(), &device).unwrap();
}
