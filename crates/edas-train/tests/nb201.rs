//! A NAS-Bench-201 cell trains with NAS-Bench-201's recipe (Nesterov SGD,
//! no auxiliary head, no drop-path): interrupted in the middle of an epoch
//! and resumed, it ends exactly like an uninterrupted run, and its run
//! directory reloads into the network that gives the recorded test result.
//! One test in this binary: burn's initialisation seed is process-global.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use burn::prelude::*;
use common::metrics;
use edas_data::{DatasetKind, SyntheticSpec};
use edas_genotype::{Architecture, Nb201Cell};
use edas_nn::{Model, NetKind};
use edas_run::{OpenMode, RunOptions};
use edas_train::{TrainConfig, evaluate, load_run, run_train};

fn read(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_cell_trains_resumes_exactly_and_reloads() {
    let device = Device::flex().autodiff();
    let mut c = TrainConfig::new(DatasetKind::Synthetic, 2);
    c.data.synthetic = Some(SyntheticSpec {
        seed: 5,
        ..SyntheticSpec::mnist(96, 64)
    });
    c.loader.batch_size = 16;
    c.loader.workers = 1;
    c.loader.cutout = false;
    c.network.kind = NetKind::Nb201;
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.auxiliary = false;
    c.network.drop_path = 0.0;
    c.optim.lr = 0.1;
    c.optim.nesterov = true;
    c.optim.weight_decay = 5e-4;
    c.optim.grad_clip = 0.0;
    c.validate("test").unwrap();
    let cell: Architecture = Nb201Cell::parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
    )
    .unwrap()
    .into();
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let a = run_train(&c, &cell, &RunOptions::new(&whole, OpenMode::New), &device).unwrap();
    assert!(a.finished);

    // Stopped during the first step, then resumed with a checkpoint after
    // every step.
    let mid = tmp.path().join("mid");
    let stopped = RunOptions::new(&mid, OpenMode::New);
    stopped.stop.request();
    let m = run_train(&c, &cell, &stopped, &device).unwrap();
    assert!(m.interrupted && m.epochs_done == 0);
    let every_step = RunOptions {
        checkpoint_every: Some(1),
        ..RunOptions::new(&mid, OpenMode::Resume)
    };
    let m = run_train(&c, &cell, &every_step, &device).unwrap();
    assert!(m.finished);
    assert_eq!(metrics(&whole).len(), 2);
    assert_eq!(metrics(&whole), metrics(&mid));
    let results = read(&whole.join("results.json"));
    assert_eq!(results["test"], read(&mid.join("results.json"))["test"]);
    assert_eq!(results["genotype"], cell.to_string());
    // The loss fell (synthetic classes are easy).
    let ms = metrics(&whole);
    assert!(ms[1]["train_loss"].as_f64().unwrap() < ms[0]["train_loss"].as_f64().unwrap());

    // The genotype file says its space; the run reloads into the
    // NAS-Bench-201 network and evaluates to the recorded result.
    let file = read(&whole.join("genotype.json"));
    assert_eq!(file["space"], "nas-bench-201");
    let (trained, test) = load_run(&whole, None, &device).unwrap();
    assert_eq!(trained.genotype, cell);
    assert!(matches!(trained.net, Model::Nb201(_)));
    let r = evaluate(&trained.net, &test, &device).unwrap();
    assert_eq!(r.top1, results["test"]["top1"].as_f64().unwrap());
    assert_eq!(r.loss, results["test"]["loss"].as_f64().unwrap());
    let params = results["params"].as_u64().unwrap();
    assert_eq!(params, trained.net.costs([1, 28, 28]).main.params);
}
