//! The shipped configs inside the binary: `edas config list|show|write`,
//! and `--config NAME` from a directory without the checkout's `configs/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{edas, edas_in, ok};

#[test]
fn shipped_configs_are_found_by_name_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let o = edas_in(dir, &["config", "list"]);
    ok(&o);
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    for name in [
        "search/cifar100-edas",
        "search/fashion-mnist-darts2",
        "train/cifar100",
    ] {
        assert!(list.lines().any(|l| l == name), "{name} not in:\n{list}");
    }
    let o = edas_in(dir, &["config", "show", "cifar100-edas"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("cifar100"));
    // Written to edit; not over an existing file without --force.
    ok(&edas_in(
        dir,
        &["config", "write", "fashion-mnist-edas", "-o", "mine.toml"],
    ));
    assert!(dir.join("mine.toml").is_file());
    let o = edas_in(
        dir,
        &["config", "write", "fashion-mnist-edas", "-o", "mine.toml"],
    );
    assert!(!o.status.success());
    ok(&edas_in(
        dir,
        &[
            "config",
            "write",
            "fashion-mnist-edas",
            "-o",
            "mine.toml",
            "--force",
        ],
    ));
    // A search and a training take the names, here where no configs/ is.
    let o = edas_in(
        dir,
        &["search", "--config", "fashion-mnist-edas", "--check"],
    );
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("config ok: shipped config search/fashion-mnist-edas"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = edas_in(
        dir,
        &[
            "train",
            "--config",
            "fashion-mnist-cpu",
            "--genotype",
            "DARTS_V2",
            "--check",
        ],
    );
    ok(&o);
    let o = edas_in(dir, &["search", "--config", "no-such-config", "--check"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("no shipped config of that name (`edas config list`)"),
        "{err}"
    );
    let o = edas_in(dir, &["config", "show", "nope"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("the shipped configs are: search/"));
}

/// Every subcommand's help exits 0 and ends with examples; `search` and
/// `train` say in their usage line what they require.
#[test]
fn every_help_has_examples_and_names_what_is_required() {
    let help = |sub: &str| {
        let o = edas(&[sub, "--help"]);
        ok(&o);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for sub in [
        "genotype", "data", "config", "inspect", "search", "train", "eval", "export", "import",
        "bench",
    ] {
        let h = help(sub);
        assert!(h.contains("\nExamples:\n"), "{sub} --help:\n{h}");
    }
    let h = help("search");
    assert!(
        h.contains("Usage: edas search --config <CONFIG> [OPTIONS]\n       edas search --resume <RUN_DIR> [OPTIONS]"),
        "{h}"
    );
    let h = help("train");
    assert!(
        h.contains("Usage: edas train --genotype <GENOTYPE> --config <CONFIG> [OPTIONS]"),
        "{h}"
    );
}
