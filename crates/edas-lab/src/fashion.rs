//! The CPU-sized experiment on real data: Debian's Fashion-MNIST, found on
//! disk or installed, and `configs/matrix/fashion.toml` run locally.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::local::{LocalOptions, run_matrix};
use crate::matrix::load_matrix;

/// Where Debian's `dataset-fashion-mnist` puts its files.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Whether `dir` holds the four Fashion-MNIST IDX files (gzipped or not).
fn has_fashion_mnist(dir: &Path) -> bool {
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    .iter()
    .all(|f| dir.join(f).is_file() || dir.join(format!("{f}.gz")).is_file())
}

/// Finds Fashion-MNIST for `cargo xtask fashion`: Debian's package if
/// installed; else installs it with apt-get where there is one; else returns
/// the overrides that make edas download it (checksum-verified) into its
/// cache directory.
fn locate_fashion_mnist() -> Vec<String> {
    let debian = Path::new(DEBIAN_FASHION_MNIST);
    if has_fashion_mnist(debian) {
        eprintln!("Fashion-MNIST: {DEBIAN_FASHION_MNIST} (Debian's dataset-fashion-mnist)");
        return Vec::new();
    }
    if Path::new("/usr/bin/apt-get").is_file() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        eprintln!(
            "Fashion-MNIST: not in {DEBIAN_FASHION_MNIST}; installing dataset-fashion-mnist with apt-get"
        );
        let ok = cmd
            .args([
                "install",
                "-y",
                "--no-install-recommends",
                "dataset-fashion-mnist",
            ])
            .status()
            .is_ok_and(|s| s.success());
        if ok && has_fashion_mnist(debian) {
            return Vec::new();
        }
        eprintln!("Fashion-MNIST: apt-get did not install it");
    }
    eprintln!("Fashion-MNIST: edas will download it (data.download=true, checksums verified)");
    vec!["data.download=true".to_owned()]
}

/// `cargo xtask fashion [--jobs N] [--bin PATH]`: the CPU-sized end-to-end
/// experiment, with the data located (or installed, or downloaded) first.
pub fn fashion(local: &LocalOptions) -> Result<()> {
    let m = load_matrix("configs/matrix/fashion.toml")?;
    let extra = locate_fashion_mnist();
    run_matrix(m, &extra, &local.binary()?, local.jobs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fashion_mnist_files_are_recognised() {
        let tmp = std::env::temp_dir().join(format!("edas-xtask-fm-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        assert!(!has_fashion_mnist(&tmp));
        for f in [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte",
        ] {
            std::fs::write(tmp.join(f), b"x").unwrap();
        }
        assert!(!has_fashion_mnist(&tmp));
        std::fs::write(tmp.join("t10k-labels-idx1-ubyte.gz"), b"x").unwrap();
        assert!(has_fashion_mnist(&tmp));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
