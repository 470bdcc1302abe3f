//! Hostile inputs, round 2, against the real binary: outputs never replace
//! what is not a regular file (or follow a symlink), checkpoints whose
//! counters disagree are refused naming the file and field, nonsense
//! options are refused, and misleading messages say what is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{edas, ok, tiny_config};

fn err_of(o: &std::process::Output) -> String {
    assert!(
        !o.status.success(),
        "expected a failure; stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A 3-epoch tiny training stopped after 2 epochs (a checkpoint, no
/// results), in `dir/run`.
fn stopped_training(dir: &Path) -> PathBuf {
    let config = dir.join("train.toml");
    std::fs::write(&config, tiny_config(3, "")).unwrap();
    let out = dir.join("run");
    ok(&edas(&[
        "train",
        "--genotype",
        "DARTS_V2",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--stop-after",
        "2",
        "--quiet",
    ]));
    assert!(out.join("checkpoint/state.json").is_file());
    out
}

/// `edit` applied to the run's `state.json`, then `--resume`; the original
/// is put back afterwards. Returns stderr of the (failing) resume.
fn resume_edited(cmd: &str, run: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let path = run.join("checkpoint/state.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    let o = edas(&[cmd, "--resume", run.to_str().unwrap(), "--quiet"]);
    std::fs::write(&path, original).unwrap();
    err_of(&o)
}

#[test]
fn a_checkpoint_whose_counters_disagree_is_refused_naming_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let run = stopped_training(tmp.path());
    let state = run.join("checkpoint/state.json");
    let state = state.display().to_string();
    for (edit, expect) in [
        (
            serde_json::json!({"step": 99999}),
            "step is 99999, but an epoch of this run has 4 steps",
        ),
        (
            serde_json::json!({"step": 1}),
            "step is 1 (within an epoch) but partial is missing",
        ),
        (
            serde_json::json!({"step": 1, "partial": {"loss_sum": 1.0, "correct": 1, "seen": 5, "train_time_s": 1.0}}),
            "partial.seen is 5, but the 1 steps before the pause give 32",
        ),
        (
            serde_json::json!({"epochs_done": 0}),
            "says 0 epochs are done, but metrics.jsonl records epoch 2",
        ),
        (serde_json::json!({"elapsed_s": -3.0}), "elapsed_s is -3"),
    ] {
        let err = resume_edited("train", &run, |v| {
            for (k, x) in edit.as_object().unwrap() {
                v[k] = x.clone();
            }
        });
        assert!(
            err.contains(&state) && err.contains(expect),
            "{edit}: {err}"
        );
        assert!(!run.join("results.json").exists(), "{edit}");
    }
    // A bad line of metrics.jsonl is named by its number.
    let metrics = run.join("metrics.jsonl");
    let text = std::fs::read_to_string(&metrics).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&metrics, format!("{}\n{{oops\n", lines[0])).unwrap();
    let err = err_of(&edas(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        err.contains("invalid JSON in") && err.contains("metrics.jsonl, line 2"),
        "{err}"
    );
    assert_eq!(err.matches("key must be a string").count(), 1, "{err}");
    std::fs::write(&metrics, &text).unwrap();

    // `search --resume` on a training run says what the run is.
    let err = err_of(&edas(&["search", "--resume", run.to_str().unwrap()]));
    assert!(
        err.contains("a training run, not a search run; resume it with `edas train --resume"),
        "{err}"
    );

    // state.json that is a directory, or a symlink to /dev/zero, is named
    // as such (not "checkpoint/ is missing", not read for ever).
    let path = run.join("checkpoint/state.json");
    let saved = tmp.path().join("state.json.saved");
    std::fs::rename(&path, &saved).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    let err = err_of(&edas(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        err.contains("state.json is a character device, not a regular file"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let err = err_of(&edas(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        err.contains("state.json is a directory, not a regular file"),
        "{err}"
    );
    std::fs::remove_dir(&path).unwrap();
    std::fs::rename(&saved, &path).unwrap();

    // A run directory in use is "in use", whatever its checkpoint.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(run.join(".lock"))
        .unwrap();
    lock.try_lock().unwrap();
    std::fs::write(run.join(".lock"), format!("{}\n", std::process::id())).unwrap();
    let err = err_of(&edas(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        err.contains(&format!("is in use by process {}", std::process::id())),
        "{err}"
    );
    drop(lock);

    // Untouched, the run resumes and finishes.
    ok(&edas(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(run.join("results.json").is_file());
    assert_eq!(
        std::fs::read_to_string(run.join("status.json")).unwrap(),
        "{\n  \"state\": \"finished\"\n}\n"
    );
    exports_replace_only_regular_files(tmp.path(), &run);
    onnx_export_then_force_reuses_the_run(tmp.path(), &run);
}

/// `edas export --format onnx` writes `model.onnx` into the run directory
/// (its default output), a file of the run's (`edas_run::files::RUN_OUTPUTS`):
/// a new run started there with `--force` replaces it instead of refusing
/// the directory as holding something else.
fn onnx_export_then_force_reuses_the_run(tmp: &Path, run: &Path) {
    let r = run.to_str().unwrap();
    ok(&edas(&["export", "--run", r, "--format", "onnx"]));
    assert!(run.join("model.onnx").is_file());
    ok(&edas(&[
        "train",
        "--genotype",
        "DARTS_V2",
        "--config",
        tmp.join("train.toml").to_str().unwrap(),
        "--out",
        r,
        "--force",
        "--stop-after",
        "1",
        "--quiet",
    ]));
    assert!(!run.join("model.onnx").exists() && !run.join("results.json").exists());
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("status.json")).unwrap()).unwrap();
    assert_eq!(
        status,
        serde_json::json!({"state": "stopped", "interrupted": false})
    );
}

/// `export` (safetensors and ONNX): a FIFO, a directory or the run's own
/// config are refused, even with `--force`; a symlink is replaced, not
/// followed, and gets the umask's mode.
fn exports_replace_only_regular_files(tmp: &Path, run: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let r = run.to_str().unwrap();
    let fifo = tmp.join("fifo");
    mkfifo(&fifo);
    let dir = tmp.join("a-dir");
    std::fs::create_dir(&dir).unwrap();
    for format in ["safetensors", "onnx"] {
        for target in [&fifo, &dir] {
            let o = edas(&[
                "export",
                "--run",
                r,
                "--format",
                format,
                "-o",
                target.to_str().unwrap(),
                "--force",
            ]);
            let err = err_of(&o);
            assert!(
                err.contains("not a regular file; edas writes only regular files"),
                "{format}: {err}"
            );
        }
        let kept = tmp.join(format!("kept.{format}"));
        std::fs::write(&kept, "keep").unwrap();
        let link = tmp.join(format!("link.{format}"));
        std::os::unix::fs::symlink(&kept, &link).unwrap();
        ok(&edas(&[
            "export",
            "--run",
            r,
            "--format",
            format,
            "-o",
            link.to_str().unwrap(),
            "--force",
        ]));
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep", "{format}");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.is_file(),
            "{format}: the link was replaced by the export"
        );
        let probe = tmp.join("probe");
        std::fs::write(&probe, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&link), mode(&probe), "{format}");
    }
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }
    let config = run.join("config.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    let err = err_of(&edas(&[
        "export",
        "--run",
        r,
        "-o",
        config.to_str().unwrap(),
        "--force",
    ]));
    assert!(err.contains("is the run's own config.toml"), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);

    // eval --dump does not overwrite an earlier dump without --force.
    let dump = tmp.join("dump");
    ok(&edas(&[
        "eval",
        "--run",
        r,
        "--dump",
        dump.to_str().unwrap(),
        "--limit",
        "8",
    ]));
    let err = err_of(&edas(&[
        "eval",
        "--run",
        r,
        "--dump",
        dump.to_str().unwrap(),
        "--limit",
        "8",
    ]));
    assert!(err.contains("images.npy exists; pass --force"), "{err}");
    ok(&edas(&[
        "eval",
        "--run",
        r,
        "--dump",
        dump.to_str().unwrap(),
        "--limit",
        "8",
        "--force",
    ]));
}

/// A tiny search config (the round-2 probe's `B`) with 2 epochs.
const SEARCH: &str = r#"name = "b"
seed = 0
strategy = "edas"
epochs = 2

[data]
dataset = "synthetic"

[data.synthetic]
channels = 1
height = 16
width = 16
classes = 10
train_len = 64
test_len = 16
noise = 40.0
seed = 0

[loader]
train_portion = 0.5
eval_examples = 16
batch_size = 16
workers = 1

[network]
channels = 4
layers = 3

[regularizers]
warmup_epochs = 0
"#;

/// An all-zero generator state would make the resumed search spin for
/// ever: refused at once, naming the field.
#[test]
fn a_zero_rng_state_is_refused_not_spun_on() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("search.toml");
    std::fs::write(&config, SEARCH).unwrap();
    let run = tmp.path().join("run");
    ok(&edas(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--stop-after",
        "1",
        "--quiet",
    ]));
    let err = resume_edited("search", &run, |v| {
        v["searcher"]["rng"] = serde_json::json!([0, 0, 0, 0]);
    });
    assert!(
        err.contains("state.json: searcher.rng: the generator state is all zeros"),
        "{err}"
    );
    // `--stop-after 0` is refused by the parser, before anything runs.
    let err = err_of(&edas(&[
        "search",
        "--resume",
        run.to_str().unwrap(),
        "--stop-after",
        "0",
    ]));
    assert!(err.contains("--stop-after"), "{err}");
    ok(&edas(&[
        "search",
        "--resume",
        run.to_str().unwrap(),
        "--quiet",
    ]));
}

/// `dir/search.toml`: the tiny search config on Fashion-MNIST in a data
/// directory that does not exist.
fn search_without_data(dir: &Path) -> PathBuf {
    let config = dir.join("search.toml");
    std::fs::write(
        &config,
        SEARCH.replace(
            "dataset = \"synthetic\"",
            "dataset = \"fashion-mnist\"\nroot = \"/nonexistent/data\"",
        ),
    )
    .unwrap();
    config
}

/// A config whose data cannot be opened leaves no directory behind.
#[test]
fn bad_data_leaves_no_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let config = search_without_data(tmp.path());
    let run = tmp.path().join("run");
    let err = err_of(&edas(&[
        "search",
        "--config",
        config.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(err.contains("/nonexistent/data"), "{err}");
    assert!(!run.exists(), "a half-made run directory was left: {err}");
    let train = tmp.path().join("train.toml");
    std::fs::write(
        &train,
        tiny_config(1, "").replace("[loader]", "[loader]\ntest_examples = 0"),
    )
    .unwrap();
    let err = err_of(&edas(&[
        "train",
        "--genotype",
        "DARTS_V2",
        "--config",
        train.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]));
    assert!(
        err.contains("key `loader.test_examples`: must be at least 1"),
        "{err}"
    );
    assert!(!run.exists());
    for (set, expect) in [
        (
            "optim.momentum=2",
            "key `optim.momentum`: must be in [0, 1), got 2",
        ),
        (
            "optim.lr_min=1",
            "key `optim.lr_min`: must not exceed optim.lr",
        ),
    ] {
        let o = edas(&[
            "train",
            "--genotype",
            "DARTS_V2",
            "--config",
            train.to_str().unwrap(),
            "--set",
            "loader.test_examples=8",
            "--set",
            set,
            "--out",
            run.to_str().unwrap(),
        ]);
        let err = err_of(&o);
        assert!(err.contains(expect), "{set}: {err}");
        assert!(!run.exists());
    }
}

/// Genotype outputs stay in their directory and never replace a file
/// without `--force`; `inspect` refuses a network of no classes.
#[test]
fn genotype_outputs_stay_put_and_ask_before_replacing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plots");
    let o = out.to_str().unwrap();
    for prefix in ["../../x", "/tmp/x", "..", ""] {
        let err = err_of(&edas(&[
            "genotype", "plot", "DARTS_V2", "-o", o, "--format", "dot", "--prefix", prefix,
        ]));
        assert!(err.contains("is not a plain file name"), "{prefix}: {err}");
    }
    assert!(!out.exists(), "nothing written for a refused prefix");
    ok(&edas(&[
        "genotype", "plot", "DARTS_V2", "-o", o, "--format", "dot",
    ]));
    let err = err_of(&edas(&[
        "genotype", "plot", "DARTS_V2", "-o", o, "--format", "dot",
    ]));
    assert!(
        err.contains("DARTS_V2-normal.dot exists; pass --force"),
        "{err}"
    );
    ok(&edas(&[
        "genotype", "plot", "DARTS_V2", "-o", o, "--format", "dot", "--force",
    ]));

    let cfg = tmp.path().join("mycfg.toml");
    std::fs::write(&cfg, "epochs = 600\n").unwrap();
    let err = err_of(&edas(&[
        "genotype",
        "convert",
        "DARTS_V2",
        "-o",
        cfg.to_str().unwrap(),
    ]));
    assert!(err.contains("mycfg.toml exists; pass --force"), "{err}");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "epochs = 600\n");
    ok(&edas(&[
        "genotype",
        "convert",
        "DARTS_V2",
        "-o",
        cfg.to_str().unwrap(),
        "--force",
    ]));

    for flag in ["--classes", "--in-channels", "--channels", "--image-size"] {
        let err = err_of(&edas(&["inspect", "--genotype", "DARTS_V2", flag, "0"]));
        assert!(err.contains("must be at least 1"), "{flag}: {err}");
    }
}

/// `--check` checks a config with its overrides and nothing else: an
/// unknown key or a bad value is named, a good config says `config ok`,
/// and neither reads data, resolves the genotype or writes anything.
#[test]
fn check_names_bad_keys_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // Data that does not exist: --check never opens it.
    let config = search_without_data(tmp.path());
    let config = config.to_str().unwrap();
    let o = edas(&["search", "--check", "--config", config, "--set", "epochs=3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("config ok: {config} (with --set epochs=3)")
    );
    let err = err_of(&edas(&[
        "search",
        "--check",
        "--config",
        config,
        "--set",
        "edas.bogus=1",
    ]));
    assert!(
        err.contains("key `edas.bogus`: unknown field `bogus`"),
        "{err}"
    );
    let err = err_of(&edas(&[
        "search", "--check", "--config", config, "--set", "epochs=0",
    ]));
    assert!(err.contains("key `epochs`: must be at least 1"), "{err}");
    let train = tmp.path().join("train.toml");
    std::fs::write(&train, tiny_config(1, "")).unwrap();
    let train = train.to_str().unwrap();
    // The genotype is a search's future output: not read.
    let missing = tmp.path().join("no-search-yet/genotype.json");
    let missing = missing.to_str().unwrap();
    let o = edas(&["train", "--check", "--genotype", missing, "--config", train]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("config ok: {train}")
    );
    let err = err_of(&edas(&[
        "train",
        "--check",
        "--genotype",
        missing,
        "--config",
        train,
        "--set",
        "optim.momentum=2",
    ]));
    assert!(
        err.contains("key `optim.momentum`: must be in [0, 1), got 2"),
        "{err}"
    );
    // Nothing was written, not even the default run directory.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);
    assert!(!Path::new("runs/b").exists());
}
