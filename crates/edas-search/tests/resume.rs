//! A search interrupted after each epoch, or stopped by a signal in the
//! middle of one, and resumed ends exactly where an uninterrupted one does:
//! same metrics (timings aside), same variables, same genotype. One test per binary: burn's initialisation seed is
//! process-global, so two searches must not build networks concurrently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use burn::prelude::*;
use edas_data::{DatasetKind, SyntheticSpec};
use edas_run::OpenMode;
use edas_search::{RunOptions, SearchConfig, Strategy, run_search};

fn config(strategy: Strategy) -> SearchConfig {
    let mut c = SearchConfig::new(DatasetKind::Synthetic, 3);
    c.strategy = strategy;
    c.data.synthetic = Some(SyntheticSpec {
        seed: 5,
        ..SyntheticSpec::mnist(128, 16)
    });
    c.loader.batch_size = 16;
    c.loader.workers = 1;
    c.loader.eval_examples = Some(32);
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.stem_multiplier = 2;
    c.arch.lr = 3e-2;
    // Every random regulariser on, so that every random stream must resume.
    c.regularizers.warmup_epochs = 1;
    // PC-DARTS warms up its own supernet (as its configs do), the others
    // single paths: both warm-ups must resume.
    if strategy == Strategy::PcDarts {
        c.regularizers.warmup_network = edas_search::WarmupNetwork::Supernet;
    }
    c.regularizers.epsilon = 0.3;
    c.regularizers.drop_path = 0.2;
    c.edas.gumbel = true;
    c.edas.tau_start = 2.0;
    c.edas.tau_end = 0.5;
    c.edas.edge_distribution = edas_search::EdgeDistribution::Permutation;
    c.random.candidates = 3;
    c.pc_darts.partial_channels = 2;
    c.validate("test").unwrap();
    c
}

fn options(out: &Path, mode: OpenMode, stop_after: Option<usize>) -> RunOptions {
    RunOptions {
        stop_after,
        command_line: vec!["test".into()],
        ..RunOptions::new(out, mode)
    }
}

/// metrics.jsonl without the fields that measure time and memory.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in ["step_time_s", "epoch_time_s", "peak_memory_mib"] {
                o.remove(k);
            }
            v
        })
        .collect()
}

fn searcher_state(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["searcher"].clone()
}

#[test]
fn interrupted_and_resumed_equals_uninterrupted() {
    let device = Device::flex().autodiff();
    let tmp = tempfile::tempdir().unwrap();
    for strategy in [
        Strategy::Edas,
        Strategy::Gdas,
        Strategy::Random,
        Strategy::Darts2,
        Strategy::PcDarts,
    ] {
        let c = config(strategy);
        let whole = tmp.path().join(format!("{strategy}-whole"));
        let parts = tmp.path().join(format!("{strategy}-parts"));
        let a = run_search(&c, &options(&whole, OpenMode::New, None), &device).unwrap();
        assert!(a.finished && a.epochs_done == 3);

        let b = run_search(&c, &options(&parts, OpenMode::New, Some(1)), &device).unwrap();
        assert!(!b.finished && b.epochs_done == 1);
        assert!(!parts.join("results.json").exists());
        // A second start in the same directory is refused.
        let e = run_search(&c, &options(&parts, OpenMode::New, None), &device)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--resume"), "{e}");
        let b = run_search(&c, &options(&parts, OpenMode::Resume, Some(2)), &device).unwrap();
        assert!(!b.finished && b.epochs_done == 2);
        let b = run_search(&c, &options(&parts, OpenMode::Resume, None), &device).unwrap();
        assert!(b.finished && b.epochs_done == 3);

        assert_eq!(a.genotype, b.genotype, "{strategy}");
        // Stopped by a signal during the first step (the request is already
        // there), resumed in the middle of epoch 1, and checkpointed every
        // 2 steps in-process afterwards: the same run again.
        let mid = tmp.path().join(format!("{strategy}-mid"));
        let stopped = options(&mid, OpenMode::New, None);
        stopped.stop.request();
        let m = run_search(&c, &stopped, &device).unwrap();
        assert!(
            m.interrupted && !m.finished && m.epochs_done == 0,
            "{strategy}"
        );
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(mid.join("checkpoint/state.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (state["epochs_done"].as_u64(), state["step"].as_u64()),
            (Some(0), Some(1))
        );
        assert!(!mid.join("metrics.jsonl").exists());
        let every_2 = RunOptions {
            checkpoint_every: Some(2),
            ..options(&mid, OpenMode::Resume, None)
        };
        let m = run_search(&c, &every_2, &device).unwrap();
        assert!(
            m.finished && !m.interrupted && m.genotype == a.genotype,
            "{strategy}"
        );
        assert_eq!(
            metrics(&whole),
            metrics(&mid),
            "{strategy}: mid-epoch resume"
        );
        assert_eq!(searcher_state(&whole), searcher_state(&mid), "{strategy}");
        let (ma, mb) = (metrics(&whole), metrics(&parts));
        assert_eq!(ma.len(), 3);
        assert_eq!(ma, mb, "{strategy}: metrics differ");
        assert_eq!(searcher_state(&whole), searcher_state(&parts), "{strategy}");
        for f in [
            "genotype.json",
            "genotype.txt",
            "normal.dot",
            "reduce.dot",
            "curves.svg",
        ] {
            assert!(whole.join(f).is_file(), "{f}");
            assert_eq!(
                std::fs::read(whole.join(f)).unwrap(),
                std::fs::read(parts.join(f)).unwrap(),
                "{f}"
            );
        }
        assert_eq!(
            whole.join("alpha.svg").is_file(),
            strategy != Strategy::Random
        );
        // The stored genotype is the final one.
        let (_, g) = edas_genotype::Architecture::load(&whole.join("genotype.json")).unwrap();
        assert_eq!(g, a.genotype);
        // The first epoch was warm-up: alpha did not move (except random,
        // which has none to move), later epochs searched.
        assert_eq!(ma[0]["warmup"], true);
        assert_eq!(ma[1]["warmup"], false);
        if strategy != Strategy::Random {
            assert!(ma[1]["val_loss"].is_number());
        }
        // A finished run cannot be resumed.
        let e = run_search(&c, &options(&parts, OpenMode::Resume, None), &device)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("already finished"), "{e}");
    }
}
