//! `test_every` skips test passes between epochs without changing the
//! training: every epoch's training loss and accuracy and the run's final
//! test result (which needs the same final weights to match in every bit)
//! equal a run tested every epoch, and only the skipped epochs lack a test
//! record. One test in this binary: burn's initialisation seed is
//! process-global.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use burn::prelude::*;
use edas_data::{DatasetKind, SyntheticSpec};
use edas_genotype::published::DARTS_V2;
use edas_run::{OpenMode, RunOptions};
use edas_train::{TrainConfig, run_train};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn skipped_test_passes_leave_the_training_unchanged() {
    let device = Device::flex().autodiff();
    let mut c = TrainConfig::new(DatasetKind::Synthetic, 5);
    c.data.synthetic = Some(SyntheticSpec {
        seed: 4,
        ..SyntheticSpec::mnist(64, 32)
    });
    c.loader.batch_size = 16;
    c.loader.workers = 1;
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.drop_path = 0.2;
    c.optim.lr = 0.05;
    c.validate("test").unwrap();
    let mut sparse = c.clone();
    sparse.test_every = 2;
    sparse.validate("test").unwrap();
    // Epochs 2 and 4 (every second) and 5 (the last) are tested.
    let tested: Vec<bool> = (0..5).map(|e| sparse.tests_epoch(e)).collect();
    assert_eq!(tested, [false, true, false, true, true]);

    let tmp = tempfile::tempdir().unwrap();
    let (every, some) = (tmp.path().join("every"), tmp.path().join("some"));
    for (config, dir) in [(&c, &every), (&sparse, &some)] {
        let o = run_train(
            config,
            &DARTS_V2.into(),
            &RunOptions::new(dir, OpenMode::New),
            &device,
        )
        .unwrap();
        assert!(o.finished);
    }
    let (a, b) = (metrics(&every), metrics(&some));
    assert_eq!(a.len(), 5);
    assert_eq!(b.len(), 5);
    for (e, (ra, rb)) in a.iter().zip(&b).enumerate() {
        // The training itself is the same, epoch by epoch.
        assert_eq!(ra["train_loss"], rb["train_loss"], "epoch {}", e + 1);
        assert_eq!(ra["train_acc"], rb["train_acc"], "epoch {}", e + 1);
        assert!(ra["test"].is_object());
        if tested[e] {
            assert_eq!(ra["test"], rb["test"], "epoch {}", e + 1);
        } else {
            assert!(rb.get("test").is_none(), "epoch {}: {rb}", e + 1);
        }
    }
    assert_eq!(
        json(&every.join("results.json"))["test"],
        json(&some.join("results.json"))["test"]
    );
    let mut zero = c.clone();
    zero.test_every = 0;
    let e = zero.validate("train.toml").unwrap_err().to_string();
    assert!(e.contains("test_every") && e.contains("at least 1"), "{e}");
}
