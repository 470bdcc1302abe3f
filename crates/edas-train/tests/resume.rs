//! A training run interrupted after each epoch and resumed ends exactly like
//! an uninterrupted one (drop-path masks, data order and augmentation are
//! seeded; weights and SGD momentum are checkpointed). One test in this
//! binary: burn's initialisation seed is process-global.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use burn::prelude::*;
use common::metrics;
use edas_data::{DatasetKind, SyntheticSpec};
use edas_genotype::published::DARTS_V2;
use edas_run::{OpenMode, RunOptions};
use edas_train::{TrainConfig, run_train};

#[test]
fn interrupted_and_resumed_equals_uninterrupted() {
    let device = Device::flex().autodiff();
    let mut c = TrainConfig::new(DatasetKind::Synthetic, 3);
    c.data.synthetic = Some(SyntheticSpec {
        seed: 3,
        ..SyntheticSpec::mnist(96, 64)
    });
    c.loader.batch_size = 16;
    c.loader.workers = 1;
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.drop_path = 0.3;
    c.optim.lr = 0.05;
    c.validate("test").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let opts = |dir: &Path, mode, stop_after| RunOptions {
        stop_after,
        ..RunOptions::new(dir, mode)
    };
    let (whole, parts) = (tmp.path().join("whole"), tmp.path().join("parts"));
    let a = run_train(
        &c,
        &DARTS_V2.into(),
        &opts(&whole, OpenMode::New, None),
        &device,
    )
    .unwrap();
    assert!(a.finished);
    let b = run_train(
        &c,
        &DARTS_V2.into(),
        &opts(&parts, OpenMode::New, Some(1)),
        &device,
    )
    .unwrap();
    assert!(!b.finished && b.epochs_done == 1);
    let b = run_train(
        &c,
        &DARTS_V2.into(),
        &opts(&parts, OpenMode::Resume, Some(2)),
        &device,
    )
    .unwrap();
    assert_eq!(b.epochs_done, 2);
    let b = run_train(
        &c,
        &DARTS_V2.into(),
        &opts(&parts, OpenMode::Resume, None),
        &device,
    )
    .unwrap();
    assert!(b.finished);
    let (ma, mb) = (metrics(&whole), metrics(&parts));
    assert_eq!(ma.len(), 3);
    assert_eq!(ma, mb);
    // Drop-path was ramped: 0, 0.1, 0.2.
    let drops: Vec<f64> = ma
        .iter()
        .map(|r| r["drop_prob"].as_f64().unwrap())
        .collect();
    for (d, want) in drops.iter().zip([0.0, 0.1, 0.2]) {
        assert!((d - want).abs() < 1e-12, "{drops:?}");
    }
    // The training loss fell (synthetic classes are easy).
    let l0 = ma[0]["train_loss"].as_f64().unwrap();
    let l2 = ma[2]["train_loss"].as_f64().unwrap();
    assert!(l2 < l0, "{l0} -> {l2}");
    let read = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("results.json")).unwrap()).unwrap()
    };
    let (ra, rb) = (read(&whole), read(&parts));
    assert_eq!(ra["test"], rb["test"]);
    assert_eq!(ra["params"], rb["params"]);

    // Stopped by a signal during the first step, resumed in the middle of
    // epoch 1, checkpointed every step afterwards: the same run.
    let mid = tmp.path().join("mid");
    let stopped = opts(&mid, OpenMode::New, None);
    stopped.stop.request();
    let m = run_train(&c, &DARTS_V2.into(), &stopped, &device).unwrap();
    assert!(m.interrupted && m.epochs_done == 0);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mid.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["step"], 1);
    assert!(state["partial"]["seen"].as_u64().unwrap() > 0);
    let every_step = RunOptions {
        checkpoint_every: Some(1),
        ..opts(&mid, OpenMode::Resume, None)
    };
    let m = run_train(&c, &DARTS_V2.into(), &every_step, &device).unwrap();
    assert!(m.finished && !m.interrupted);
    assert_eq!(metrics(&whole), metrics(&mid));
    assert_eq!(read(&whole)["test"], read(&mid)["test"]);
}
