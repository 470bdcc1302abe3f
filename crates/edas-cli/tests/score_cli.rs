//! A NAS-Bench-201 search through the CLI: the run says its space, `edas
//! score` gives the search's own derived cell the accuracy the search
//! recorded for it, and refuses a cell of the other space.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{edas, ok};

const CONFIG: &str = r#"name = "nb"
seed = 0
strategy = "edas"
epochs = 2

[space]
name = "nas-bench-201"

[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = 16
width = 16
classes = 10
train_len = 96
test_len = 32
noise = 40.0
seed = 0

[loader]
train_portion = 0.5
eval_examples = 32
batch_size = 16
workers = 1

[network]
channels = 4
layers = 3
"#;

#[test]
fn a_nas_bench_201_search_scores_its_own_cell_as_it_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nb.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let run = dir.path().join("run");
    let out = edas(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    ok(&out);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("genotype.json")).unwrap()).unwrap();
    assert_eq!(file["space"], "nas-bench-201");
    let arch = std::fs::read_to_string(run.join("genotype.txt")).unwrap();
    let arch = arch.trim();
    assert!(arch.starts_with('|'), "{arch}");
    assert!(run.join("cell.dot").is_file());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["genotype"], arch);

    let out = edas(&[
        "score",
        "--run",
        run.to_str().unwrap(),
        "--json",
        "--genotype",
        arch,
    ]);
    ok(&out);
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(line["arch"], arch);
    assert_eq!(line["accuracy"], results["derived_acc"]);

    let out = edas(&[
        "score",
        "--run",
        run.to_str().unwrap(),
        "--genotype",
        "DARTS_V2",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("takes nas-bench-201 architectures"), "{err}");
}
