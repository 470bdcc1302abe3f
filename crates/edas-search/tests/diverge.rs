//! A loss that becomes NaN or infinite stops the search with a clear
//! message and leaves the last good checkpoint as it was.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::prelude::*;
use edas_data::{DatasetKind, SyntheticSpec};
use edas_run::OpenMode;
use edas_run::RunError;
use edas_search::{RunOptions, SearchConfig, SearchError, run_search};

#[test]
fn non_finite_loss_stops_and_keeps_the_checkpoint() {
    let device = Device::flex().autodiff();
    let tmp = tempfile::tempdir().unwrap();
    let mut c = SearchConfig::new(DatasetKind::Synthetic, 2);
    c.data.synthetic = Some(SyntheticSpec::mnist(64, 16));
    c.loader.batch_size = 16;
    c.loader.workers = 0;
    c.loader.eval_examples = Some(16);
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.stem_multiplier = 2;
    // Cosine from 1e-3 (epoch 1) towards 1e300 (epoch 2 runs at 5e299), no
    // clipping: the second epoch's first update sends the weights to
    // infinity and its next loss is NaN or infinite.
    c.weights.lr = 1e-3;
    c.weights.lr_min = 1e300;
    c.weights.grad_clip = 0.0;
    // A schedule that a config file cannot ask for (`validate` refuses
    // lr_min > lr), built here only to make a run diverge on cue.
    assert!(c.validate("test").is_err());
    let out = tmp.path().join("run");
    let options = RunOptions::new(&out, OpenMode::New);
    let err = run_search(&c, &options, &device).expect_err("the run diverges");
    let text = err.to_string();
    assert!(
        matches!(err, SearchError::Run(RunError::Diverged { epoch: 2, .. })),
        "{text}"
    );
    assert!(text.contains("became"), "{text}");
    assert!(text.contains("last good checkpoint is intact"), "{text}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert_eq!(state["epochs_done"], 1);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 1);
    assert!(!out.join("results.json").exists());
    assert!(
        std::fs::read_to_string(out.join("log.txt"))
            .unwrap()
            .contains("error: the")
    );
}
