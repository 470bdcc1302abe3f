//! Embeds the commit this binary is built from as `EDAS_BUILD_COMMIT`
//! (`<sha>`, `<sha>-dirty` when tracked files had uncommitted changes, or
//! `unknown` outside the project's git checkout), so that a run records
//! the source of the program that made it, not of whatever directory it
//! was started in (`git.txt`, `edas --version`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit, or `None` when this crate is not built inside the edas
/// checkout (a packaged crate, or one vendored into another repository).
fn commit(manifest_dir: &Path) -> Option<(String, PathBuf, PathBuf)> {
    let top = PathBuf::from(git(manifest_dir, &["rev-parse", "--show-toplevel"])?);
    let ours = top.join("crates/edas-cli/Cargo.toml");
    if !ours.is_file()
        || ours.canonicalize().ok()? != manifest_dir.join("Cargo.toml").canonicalize().ok()?
    {
        return None;
    }
    let git_dir = PathBuf::from(git(manifest_dir, &["rev-parse", "--absolute-git-dir"])?);
    let sha = git(manifest_dir, &["rev-parse", "HEAD"])?;
    let dirty = !git(
        manifest_dir,
        &["status", "--porcelain", "--untracked-files=no"],
    )?
    .is_empty();
    let description = if dirty { format!("{sha}-dirty") } else { sha };
    Some((description, top, git_dir))
}

/// Writes `$OUT_DIR/shipped_configs.rs`: every `configs/search/*.toml` and
/// `configs/train/*.toml` of the checkout as `(name, text)`, so that an
/// installed binary finds them by name (`--config cifar100-edas`, `edas
/// config list`). Outside the checkout the list is empty.
fn ship_configs(manifest_dir: &Path) {
    let configs = manifest_dir.join("../../configs");
    let mut entries = Vec::new();
    for kind in ["search", "train"] {
        let dir = configs.join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let (Some(stem), Ok(abs)) = (f.file_stem().and_then(|s| s.to_str()), f.canonicalize())
            else {
                continue;
            };
            entries.push(format!(
                "    (\"{kind}/{stem}\", include_str!({:?})),\n",
                abs.display().to_string()
            ));
        }
    }
    let out =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("shipped_configs.rs");
    let text = format!(
        "/// The shipped configs, `(\"search/NAME\" or \"train/NAME\", TOML text)`.\npub const SHIPPED: &[(&str, &str)] = &[\n{}];\n",
        entries.concat()
    );
    if let Err(e) = std::fs::write(&out, text) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    ship_configs(&manifest_dir);
    let description = match commit(&manifest_dir) {
        Some((description, top, git_dir)) => {
            // A new commit or checkout changes these; an edit to a source
            // file changes the dirty flag (cargo scans directories).
            for p in [
                git_dir.join("HEAD"),
                git_dir.join("index"),
                git_dir.join("refs"),
                git_dir.join("packed-refs"),
                top.join("crates"),
                top.join("Cargo.toml"),
                top.join("Cargo.lock"),
            ] {
                if p.exists() {
                    println!("cargo:rerun-if-changed={}", p.display());
                }
            }
            description
        }
        None => "unknown".to_owned(),
    };
    println!("cargo:rustc-env=EDAS_BUILD_COMMIT={description}");
}
