//! A NAS-Bench-201 search through the CLI: the run says its space, `edas
//! score` gives the search's own derived cell the accuracy the search
//! recorded for it, and refuses a cell of the other space; with
//! `--benchmark`, every epoch records the derived cell's benchmark accuracy
//! when the benchmark holds it.

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

#[test]
fn a_search_with_a_benchmark_records_its_cells_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nb.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edas-benchmark/tests/data/NATS-tss-v1_0-3ffb9-simple");
    let bench = edas_benchmark::Benchmark::open(&data).unwrap();
    let run = dir.path().join("run");
    let out = edas(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--benchmark",
        data.to_str().unwrap(),
        // Only skip_connect: every derived cell is the all-skip cell, which
        // the benchmark file holds (its cell 1).
        "--set",
        r#"space.ops=["skip_connect"]"#,
        "--quiet",
    ]);
    ok(&out);
    // The run's config keeps the benchmark (resume reads it).
    let toml = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(toml.contains("benchmark = "), "{toml}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    for line in metrics.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let cell: edas_genotype::Nb201Cell = r["genotype"].as_str().unwrap().parse().unwrap();
        assert_eq!(bench.index_of(&cell), Some(1), "{line}");
        let want = bench
            .test_accuracy(&cell, edas_benchmark::Dataset::Cifar10)
            .unwrap()
            .unwrap();
        assert_eq!(r["benchmark"]["cifar10"].as_f64().unwrap(), want, "{line}");
    }
    // Only a NAS-Bench-201 search takes one, and a missing file is named
    // before anything is written.
    let darts = dir.path().join("darts.toml");
    std::fs::write(
        &darts,
        CONFIG.replace("name = \"nas-bench-201\"", "name = \"darts\""),
    )
    .unwrap();
    let out = edas(&[
        "search",
        "--config",
        darts.to_str().unwrap(),
        "--benchmark",
        data.to_str().unwrap(),
        "--check",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`benchmark`") && err.contains("darts"),
        "{err}"
    );
    let missing = dir.path().join("missing.pth");
    let run2 = dir.path().join("run2");
    let out = edas(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run2.to_str().unwrap(),
        "--benchmark",
        missing.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.pth"), "{err}");
    assert!(!run2.exists());
}
