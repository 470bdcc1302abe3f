//! A run's `git.txt` names the commit the `edas` binary was built from,
//! even when it is started inside another git repository, and a resume by
//! a different build is appended, not lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{edas, edas_in, ok, tiny_config};

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
fn git_txt_names_the_binarys_commit_not_the_working_directorys() {
    // `edas --version` says which commit built it: `edas 0.1.0 (commit X)`.
    let o = edas(&["--version"]);
    ok(&o);
    let version = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    let built = version
        .split("(commit ")
        .nth(1)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no commit in {version:?}"))
        .to_owned();
    assert!(!built.is_empty());

    // Another repository, with a commit of its own, as the working directory.
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other-project");
    std::fs::create_dir_all(&other).unwrap();
    git(&other, &["init", "-q"]);
    std::fs::write(other.join("train.toml"), tiny_config(2, "")).unwrap();
    git(&other, &["add", "train.toml"]);
    git(&other, &["commit", "-q", "-m", "x"]);
    let theirs = git(&other, &["rev-parse", "HEAD"]);
    assert_ne!(built.trim_end_matches("-dirty"), theirs);

    let out = tmp.path().join("run");
    let run = out.to_str().unwrap();
    ok(&edas_in(
        &other,
        &[
            "train",
            "--genotype",
            "DARTS_V2",
            "--config",
            "train.toml",
            "--out",
            run,
            "--stop-after",
            "1",
            "--quiet",
        ],
    ));
    let git_txt = out.join("git.txt");
    assert_eq!(
        std::fs::read_to_string(&git_txt).unwrap(),
        format!("{built}\n")
    );

    // The same build resuming adds nothing; another build's entry (here
    // written by hand) makes the resume record this one.
    std::fs::write(&git_txt, "0123abc\n").unwrap();
    ok(&edas_in(&other, &["train", "--resume", run, "--quiet"]));
    assert_eq!(
        std::fs::read_to_string(&git_txt).unwrap(),
        format!("0123abc\n{built} resumed after epoch 1/2\n")
    );
}
