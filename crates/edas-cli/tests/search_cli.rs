//! `edas search` killed with SIGKILL in the middle of an epoch and resumed
//! ends exactly like an uninterrupted search; a truncated checkpoint file
//! is an error naming the file, not a silent restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{edas, ok};

const CONFIG: &str = r#"name = "k9"
seed = 0
strategy = "edas"
epochs = 3

[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = 32
width = 32
classes = 10
train_len = 128
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
layers = 5

[regularizers]
warmup_epochs = 0
"#;

/// The searcher's final state (alpha, Adam, RNG, sampler), without timings.
fn searcher_state(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("checkpoint/state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["searcher"].clone()
}

/// `edas search` with `config` into `out`, running, once its first epoch's
/// checkpoint exists (so in epoch 2).
fn search_until_checkpoint(config: &str, out: &Path) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_edas"))
        .args([
            "search",
            "--config",
            config,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !out.join("checkpoint/state.json").is_file() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no checkpoint after 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn killed_mid_epoch_and_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("search.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let config = config.to_str().unwrap();

    let whole = tmp.path().join("whole");
    ok(&edas(&[
        "search",
        "--config",
        config,
        "--out",
        whole.to_str().unwrap(),
        "--quiet",
    ]));

    // Kill -9 once the first epoch's checkpoint exists (so during epoch 2).
    let cut = tmp.path().join("cut");
    let mut child = search_until_checkpoint(config, &cut);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !cut.join("results.json").exists(),
        "the search ended before it was killed; make the test's search longer"
    );

    // A copy with a truncated weights file: resuming it names the file.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(broken.join("checkpoint")).unwrap();
    for entry in std::fs::read_dir(&cut).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, broken.join(p.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(cut.join("checkpoint")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, broken.join("checkpoint").join(p.file_name().unwrap())).unwrap();
    }
    let weights = broken.join("checkpoint/supernet.bpk");
    let len = std::fs::metadata(&weights).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .unwrap();
    f.set_len(len / 2).unwrap();
    let o = edas(&["search", "--resume", broken.to_str().unwrap(), "--quiet"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("supernet.bpk"), "{err}");

    // The killed run resumes (its lock died with it) and ends as the whole one.
    ok(&edas(&[
        "search",
        "--resume",
        cut.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(
        std::fs::read_to_string(whole.join("genotype.txt")).unwrap(),
        std::fs::read_to_string(cut.join("genotype.txt")).unwrap()
    );
    assert_eq!(searcher_state(&whole), searcher_state(&cut));

    // SIGTERM (a scheduler's warning before a time limit or preemption) in
    // the middle of epoch 2: the search checkpoints at the next step,
    // exits with status 75, and resumes to the same end.
    let term = tmp.path().join("term");
    let mut child = search_until_checkpoint(config, &term);
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert!(
        !term.join("results.json").exists(),
        "the search ended before SIGTERM; make the test's search longer"
    );
    assert_eq!(status.code(), Some(75), "{status:?}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(term.join("checkpoint/state.json")).unwrap())
            .unwrap();
    assert!(state["step"].as_u64().unwrap() >= 1, "{}", state["step"]);
    let log = std::fs::read_to_string(term.join("log.txt")).unwrap();
    assert!(log.contains("stopped by a signal at step"), "{log}");
    ok(&edas(&[
        "search",
        "--resume",
        term.to_str().unwrap(),
        "--quiet",
    ]));
    assert_eq!(
        std::fs::read_to_string(whole.join("genotype.txt")).unwrap(),
        std::fs::read_to_string(term.join("genotype.txt")).unwrap()
    );
    assert_eq!(searcher_state(&whole), searcher_state(&term));
}
