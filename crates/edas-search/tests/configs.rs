//! Every shipped search config parses and passes its checks; bad values are
//! reported with file and key before anything runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use edas_run::config::load;
use edas_search::{SearchConfig, Strategy};

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/search")
}

#[test]
fn shipped_configs_are_valid() {
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let loaded = load::<SearchConfig>(&path, &[]).unwrap();
        loaded.config.validate(&loaded.origin).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(loaded.config.name, stem, "name matches the file");
        assert!(stem.ends_with(loaded.config.strategy.name()), "{stem}");
        seen.insert(stem);
    }
    for data in ["cifar10", "cifar100", "imagenet", "fashion-mnist"] {
        for s in Strategy::ALL {
            assert!(seen.contains(&format!("{data}-{}", s.name())), "{data}-{s}");
        }
    }
}

#[test]
fn bad_values_name_file_and_key() {
    let path = configs_dir().join("fashion-mnist-edas.toml");
    let check = |sets: &[&str]| -> String {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        match load::<SearchConfig>(&path, &sets) {
            Err(e) => e.to_string(),
            Ok(l) => l.config.validate(&l.origin).unwrap_err().to_string(),
        }
    };
    let e = check(&["weights.lr=-0.1"]);
    assert!(
        e.contains("fashion-mnist-edas.toml") && e.contains("key `weights.lr`: must be positive"),
        "{e}"
    );
    let e = check(&["edas.tau_strat=2"]);
    assert!(e.contains("unknown field `tau_strat`"), "{e}");
    let e = check(&["network.layers=2"]);
    assert!(e.contains("key `network.layers`"), "{e}");
    let e = check(&["loader.batch_size=\"big\""]);
    assert!(e.contains("key `loader.batch_size`: invalid type"), "{e}");
    let e = check(&["strategy=pc-darts", "pc_darts.partial_channels=3"]);
    assert!(
        e.contains("key `pc_darts.partial_channels`: must divide network.channels (8)"),
        "{e}"
    );
    // Only PC-DARTS' supernet is partial: other strategies ignore the key.
    assert!(
        load::<SearchConfig>(&path, &["pc_darts.partial_channels=3".into()])
            .unwrap()
            .config
            .validate("x")
            .is_ok()
    );
    let e = check(&["strategy=pdarts"]);
    assert!(
        e.contains("key `strategy`") && e.contains("unknown variant"),
        "{e}"
    );
    let e = check(&["regularizers.warmup_epochs=4"]);
    assert!(
        e.contains("leaves no search epoch: 4 warm-up of 4 epochs")
            && e.contains("--set regularizers.warmup_epochs=N below 4"),
        "{e}"
    );
    let e = check(&["regularizers.warmup_network=\"all\""]);
    assert!(
        e.contains("key `regularizers.warmup_network`") && e.contains("unknown variant `all`"),
        "{e}"
    );
    let e = check(&["edas.relaxed_edges=15"]);
    assert!(e.contains("between 1 and 14"), "{e}");
    // The name is a folder under runs/: nothing that leaves it.
    for name in [
        "name=\"../../escape\"",
        "name=\"/tmp/x\"",
        "name=\"\"",
        "name=\"..\"",
    ] {
        let e = check(&[name]);
        assert!(e.contains("key `name`"), "{name}: {e}");
    }
    // Overrides that are fine.
    let l = load::<SearchConfig>(&path, &["epochs=9".into(), "edas.gumbel=true".into()]).unwrap();
    assert_eq!(l.config.epochs, 9);
    assert!(l.config.edas.gumbel);
}
