//! `edas import` end to end: the PyTorch DARTS fixture of edas-train
//! (`bench/darts_fixture.py`) becomes a run that `edas eval`, `edas export`
//! and `edas train --resume` accept; weights that do not fit leave no run
//! directory behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{edas, ok};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edas-train/tests/fixtures")
        .join(name)
}

/// Synthetic 3x32x32 images of 10 classes (the fixture's input and
/// classes); its network section (C=8, L=6) is overridden by the weights'.
const CONFIG: &str = r#"name = "imported"
epochs = 1

[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = 32
width = 32
classes = 10
train_len = 64
test_len = 48
noise = 40.0
seed = 0

[loader]
batch_size = 16
workers = 1

[network]
channels = 8
layers = 6
auxiliary = false
"#;

fn json(o: &std::process::Output) -> serde_json::Value {
    ok(o);
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_pytorch_model_imports_evaluates_exports_and_trains_on() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("darts_cifar.json")).unwrap())
            .unwrap();
    let genotype = record["genotype"].as_str().unwrap();
    let import = |weights: &Path, out: &Path| {
        edas(&[
            "import",
            "--weights",
            weights.to_str().unwrap(),
            "--genotype",
            genotype,
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
    };
    let run = tmp.path().join("run");
    let o = import(&fixture("darts_cifar_checkpoint.pt"), &run);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let v = json(&o);
    assert_eq!(v["network"]["channels"], 4);
    assert_eq!(v["network"]["layers"], 5);
    assert_eq!(v["state_dict_prefix"], "state_dict.module.");
    assert!(v["tensors"].as_u64().unwrap() > 100);
    assert!(
        err.contains("note: network.channels = 4 from the weights"),
        "{err}"
    );
    assert!(err.contains("edas train --resume"), "{err}");

    let eval = |dir: &Path| json(&edas(&["eval", "--run", dir.to_str().unwrap(), "--json"]));
    let eval_dump = |dir: &Path, dump: &Path| {
        json(&edas(&[
            "eval",
            "--run",
            dir.to_str().unwrap(),
            "--json",
            "--dump",
            dump.to_str().unwrap(),
        ]))
    };
    let first = eval(&run);
    assert!(
        first["imported_from"]
            .as_str()
            .unwrap()
            .ends_with("darts_cifar_checkpoint.pt"),
        "{first}"
    );
    assert_eq!(first["final_weights"], false);

    // --dump: what the network saw and said, as NumPy files.
    let dump = tmp.path().join("dump");
    let dumped = eval_dump(&run, &dump);
    assert_eq!(dumped["test"], first["test"]);
    let read = |name: &str| {
        let bytes = std::fs::read(dump.join(name)).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        npy.shape().to_vec()
    };
    assert_eq!(read("images.npy"), [48, 3, 32, 32]);
    assert_eq!(read("logits.npy"), [48, 10]);
    assert_eq!(read("labels.npy"), [48]);
    let logits: Vec<f32> = npyz::NpyFile::new(&std::fs::read(dump.join("logits.npy")).unwrap()[..])
        .unwrap()
        .into_vec()
        .unwrap();
    assert!(logits.iter().all(|v| v.is_finite()) && logits.iter().any(|v| *v != logits[0]));

    // Exported with DARTS' names and imported again: the same network.
    ok(&edas(&["export", "--run", run.to_str().unwrap()]));
    let again = tmp.path().join("again");
    json(&import(&run.join("model.safetensors"), &again));
    assert_eq!(eval(&again)["test"], first["test"]);

    // Trained on from the imported weights: a finished run.
    let o = edas(&["train", "--resume", run.to_str().unwrap(), "--quiet"]);
    ok(&o);
    let trained = eval(&run);
    assert_eq!(trained["final_weights"], true);
    assert!(trained["imported_from"].is_null());
    assert!(run.join("results.json").is_file());

    // Weights that do not fit: an error naming the tensors, no directory.
    let bad = tmp.path().join("bad");
    let o = edas(&[
        "import",
        "--weights",
        fixture("darts_cifar.pt").to_str().unwrap(),
        "--genotype",
        "DARTS_V2",
        "--config",
        config.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("darts_cifar.pt: the weights do not fit the network")
            && err.contains("missing from the file: ")
            && err.contains("cells.0._ops."),
        "{err}"
    );
    assert!(!bad.exists());
}
