//! EDAS iterations on synthetic data: each step moves only the relaxed edges'
//! variables, the weights learn, and the derived network agrees with the
//! supernet's clamp.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{mnist_batches as batches, tiny};

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use edas_data::Split;
use edas_genotype::CellKind;
use edas_nn::SearchNetworkConfig;
use edas_search::{EdasSection, EdasSettings, Searcher, StepContext, Strategy, WarmupNetwork};

#[test]
fn edas_steps_move_only_relaxed_rows_and_learn() {
    let device = Device::flex().autodiff();
    let config = SearchNetworkConfig {
        in_channels: 1,
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
    let settings = EdasSettings {
        arch: edas_search::AdamConfig {
            lr: 3e-2,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut searcher = Searcher::new(&config, settings, 5, &device).unwrap();
    let train = batches(&device, 160, Split::Train);
    let valid = batches(&device, 160, Split::Test);
    let mut losses = Vec::new();
    for epoch in 0..3 {
        for (t, v) in train.iter().zip(&valid) {
            let before = [
                searcher.arch.values(CellKind::Normal).unwrap(),
                searcher.arch.values(CellKind::Reduce).unwrap(),
            ];
            let stats = searcher
                .step(t.clone(), v.clone(), &StepContext::plain(0.05))
                .unwrap();
            let after = [
                searcher.arch.values(CellKind::Normal).unwrap(),
                searcher.arch.values(CellKind::Reduce).unwrap(),
            ];
            for k in 0..2 {
                for e in 0..14 {
                    let changed = before[k][e * 8..e * 8 + 8] != after[k][e * 8..e * 8 + 8];
                    assert!(
                        !changed || stats.relaxed[k].contains(&e),
                        "kind {k} edge {e} changed without being relaxed"
                    );
                }
                assert!(before[k] != after[k], "the relaxed edge moved");
            }
            assert!(stats.train_loss.is_finite() && stats.grad_norm.is_finite());
            // The clamp after the step is exactly the DARTS derivation of
            // softmax(alpha), computed here from the host values.
            let w = |k: usize, kind| {
                edas_genotype::EdgeWeights::from_flat(
                    kind,
                    &edas_search::softmax_rows(&after[k], 8),
                )
                .unwrap()
            };
            let derived = edas_genotype::derive(
                &w(0, CellKind::Normal),
                &w(1, CellKind::Reduce),
                edas_genotype::DeriveOptions::default(),
            )
            .unwrap();
            assert_eq!(searcher.genotype().unwrap(), derived.into());
            losses.push(stats.train_loss);
        }
        let _ = epoch;
    }
    let first: f64 = losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = losses[losses.len() - 10..].iter().sum::<f64>() / 10.0;
    assert!(
        last < 0.8 * first,
        "training loss went from {first:.3} to {last:.3}"
    );
    // The derived network with inherited weights classifies the held-out
    // batches well above chance (10 classes).
    let held_out = batches(&device, 160, Split::Test);
    let eval = searcher.evaluate(&held_out, 1.0).unwrap();
    let (derived, searched) = (eval.derived_correct, eval.searched_correct);
    assert_eq!(eval.examples, 160);
    println!("loss {first:.3} -> {last:.3}; derived {derived}/160, searched {searched}/160");
    // Measured 92..146 of 160 derived, the searched network within 3 of it,
    // depending on burn's (process-global) initialisation seed; chance is 16.
    assert!(derived >= 64, "derived network: {derived}/160 correct");
    // EDAS' pruning gap: the derived network is the searched one minus its
    // relaxed edges, so the two agree closely.
    assert!(
        derived.abs_diff(searched) <= 16,
        "gap: derived {derived}, searched {searched}"
    );
}

#[test]
fn baselines_step_as_their_strategy_says() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 32, Split::Train);
    let valid = batches(&device, 32, Split::Test);
    let held_out = batches(&device, 32, Split::Test);
    for strategy in Strategy::ALL {
        let settings = EdasSettings {
            strategy,
            ..Default::default()
        };
        let mut s = Searcher::new(&tiny(), settings, 7, &device).unwrap();
        let before = s.arch.values(CellKind::Normal).unwrap();
        let ctx = StepContext {
            tau: 5.0,
            ..StepContext::plain(0.05)
        };
        let stats = s.step(train[0].clone(), valid[0].clone(), &ctx).unwrap();
        let after = s.arch.values(CellKind::Normal).unwrap();
        let moved = (0..14)
            .filter(|e| before[e * 8..e * 8 + 8] != after[e * 8..e * 8 + 8])
            .count();
        match strategy {
            // One relaxed edge per kind moves.
            Strategy::Edas => assert_eq!(moved, 1, "{strategy}"),
            // Every edge has a gradient (DARTS: the mixture; GDAS: the
            // straight-through estimator).
            Strategy::Darts | Strategy::Darts2 | Strategy::PcDarts | Strategy::Gdas => {
                assert_eq!(moved, 14, "{strategy}")
            }
            Strategy::Random => {
                assert_eq!(moved, 0);
                assert!(stats.val_loss.is_none());
            }
        }
        assert!(stats.train_loss.is_finite(), "{strategy}");
        // Warm-up never touches alpha, whatever the strategy.
        let warm = StepContext {
            warmup: Some(WarmupNetwork::SinglePath),
            drop_path: 0.2,
            ..StepContext::plain(0.05)
        };
        let stats = s.step(train[1].clone(), valid[1].clone(), &warm).unwrap();
        assert_eq!(
            s.arch.values(CellKind::Normal).unwrap(),
            after,
            "{strategy}"
        );
        assert!(stats.val_loss.is_none() && stats.train_loss.is_finite());
        let eval = s.evaluate(&held_out, 5.0).unwrap();
        assert_eq!(eval.examples, 32);
        if strategy == Strategy::Random {
            s.end_epoch(&held_out).unwrap();
            let g = s.genotype().unwrap();
            assert_ne!(
                g,
                s.arch.derive(s.settings().derive_options()).unwrap(),
                "random search stands at its best candidate, not at the clamp"
            );
            let score = s.score_genotype(&g, &held_out);
            assert!((0.0..=1.0).contains(&score));
            // Another round rescores the best: it is kept unless beaten.
            s.end_epoch(&held_out).unwrap();
            assert!(s.score_genotype(&s.genotype().unwrap(), &held_out) >= score);
            // Clamped to its own genotype, random search has no pruning gap.
            let eval = s.evaluate(&held_out, 1.0).unwrap();
            assert_eq!(eval.searched_correct, eval.derived_correct);
        }
    }
}

/// EDAS steps with the relaxed edges recomputed in backward (the default)
/// and with their activations kept: same alpha, same losses, same weights,
/// up to floating-point summation order.
#[test]
fn recomputing_relaxed_edges_changes_nothing_but_memory() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 48, Split::Train);
    let valid = batches(&device, 48, Split::Test);
    let settings = |recompute| EdasSettings {
        edas: EdasSection {
            recompute,
            gumbel: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut kept = Searcher::new(&tiny(), settings(false), 9, &device).unwrap();
    let mut recomputed = Searcher::new(&tiny(), settings(true), 9, &device).unwrap();
    // The same weights (burn draws them from its own global generator).
    let dir = tempfile::tempdir().unwrap();
    let state = kept.save(dir.path()).unwrap();
    recomputed.load(dir.path(), &state).unwrap();
    let ctx = StepContext {
        tau: 2.0,
        epsilon: 0.3,
        drop_path: 0.2,
        ..StepContext::plain(0.05)
    };
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    for (t, v) in train.iter().zip(&valid) {
        let a = kept.step(t.clone(), v.clone(), &ctx).unwrap();
        let b = recomputed.step(t.clone(), v.clone(), &ctx).unwrap();
        assert_eq!(a.relaxed, b.relaxed);
        assert!((a.train_loss - b.train_loss).abs() < 1e-4, "{a:?} vs {b:?}");
        assert!((a.val_loss.unwrap() - b.val_loss.unwrap()).abs() < 1e-4);
        assert!((a.grad_norm - b.grad_norm).abs() < 1e-3 * a.grad_norm);
        assert_eq!(a.train_correct, b.train_correct);
        for kind in CellKind::ALL {
            let d = max_diff(
                &kept.arch.values(kind).unwrap(),
                &recomputed.arch.values(kind).unwrap(),
            );
            // Measured: at most 2.6e-10 (summation order).
            assert!(d < 1e-6, "alpha differs by {d}");
        }
    }
    assert_eq!(kept.genotype().unwrap(), recomputed.genotype().unwrap());
}

#[test]
fn a_state_with_the_wrong_alpha_length_names_its_file() {
    let device = Device::flex().autodiff();
    let config = SearchNetworkConfig {
        in_channels: 1,
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
    let searcher = Searcher::new(&config, EdasSettings::default(), 1, &device).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut state = searcher.save(tmp.path()).unwrap();
    state.alpha_normal.pop();
    let mut other = Searcher::new(&config, EdasSettings::default(), 2, &device).unwrap();
    let e = other.load(tmp.path(), &state).unwrap_err().to_string();
    assert!(
        e.contains("state.json: the architecture variables do not fit this search space"),
        "{e}"
    );
}

/// The values of every float parameter outside BatchNorms (whose running
/// statistics change in any forward pass), in the network's visiting order.
#[derive(Default)]
struct Values {
    values: Vec<Vec<f32>>,
    in_bn: usize,
}

impl ModuleVisitor for Values {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        self.in_bn += usize::from(container_type == "Struct:Bn");
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.in_bn -= usize::from(container_type == "Struct:Bn");
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.in_bn == 0 {
            self.values
                .push(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
}

fn param_values(s: &Searcher) -> Vec<Vec<f32>> {
    let mut v = Values::default();
    s.network().visit(&mut v);
    v.values
}

/// A warm-up step on the supernet trains what the strategy's own weight
/// step trains: every op of DARTS' and PC-DARTS' mixtures (PC-DARTS' own
/// warm-up); a single-path warm-up step trains one op per edge. Alpha stays
/// still in both.
#[test]
fn supernet_warmup_trains_what_the_weight_step_trains() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 32, Split::Train);
    let valid = batches(&device, 32, Split::Test);
    for strategy in [Strategy::Darts, Strategy::PcDarts] {
        // Which parameter tensors one step changes.
        let changed = |warmup: Option<WarmupNetwork>| -> Vec<bool> {
            let settings = EdasSettings {
                strategy,
                ..Default::default()
            };
            let mut s = Searcher::new(&tiny(), settings, 7, &device).unwrap();
            let alpha = s.arch.values(CellKind::Normal).unwrap();
            let before = param_values(&s);
            let ctx = StepContext {
                warmup,
                ..StepContext::plain(0.05)
            };
            let stats = s.step(train[0].clone(), valid[0].clone(), &ctx).unwrap();
            assert!(stats.train_loss.is_finite());
            if warmup.is_some() {
                assert!(stats.val_loss.is_none());
                assert_eq!(
                    s.arch.values(CellKind::Normal).unwrap(),
                    alpha,
                    "{strategy}"
                );
            }
            let after = param_values(&s);
            after.iter().zip(&before).map(|(a, b)| a != b).collect()
        };
        let count = |v: &[bool]| v.iter().filter(|c| **c).count();
        let plain = changed(None);
        assert!(
            count(&plain) > 100,
            "{strategy}: {} trained tensors",
            count(&plain)
        );
        let supernet = changed(Some(WarmupNetwork::Supernet));
        let single = changed(Some(WarmupNetwork::SinglePath));
        assert_eq!(supernet, plain, "{strategy}");
        // Measured: 546 and 42 tensors of 1264 (the rest are the search
        // network's unused per-channel BN parameters).
        assert!(
            count(&single) * 4 < count(&plain),
            "{strategy}: single path {} of the weight step's {}",
            count(&single),
            count(&plain)
        );
    }
}
