//! Optional download of the public data sets into a cache directory, with
//! checksum verification. Nothing is ever downloaded unless asked for.
//!
//! Files go to a `.part` file first and are renamed into place only after
//! their checksum matches, so an interrupted or corrupt download never looks
//! like data. `EDAS_DATA_MIRROR` (or [`DownloadOptions::mirror`]) replaces the
//! directory part of every address, for mirrors and for tests.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::error::{DataError, Result};

/// How a downloaded file is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// MD5 of the file as downloaded (what the CIFAR page publishes).
    Md5(&'static str),
    /// SHA-256 of the file's contents after gunzip (measured on Debian's
    /// `dataset-fashion-mnist`, whose gzip wrappers differ from the
    /// originals' but whose contents do not).
    Sha256Gunzipped(&'static str),
}

/// One file to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Full address.
    pub url: &'static str,
    /// Expected digest.
    pub checksum: Checksum,
}

impl Resource {
    /// The file name (the last part of the address).
    pub fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.url)
    }
}

/// CIFAR-10, binary version (Krizhevsky 2009).
pub const CIFAR10_BINARY: Resource = Resource {
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    checksum: Checksum::Md5("c32a1d4ab5d03f1284b67883e8d87530"),
};

/// CIFAR-100, binary version.
pub const CIFAR100_BINARY: Resource = Resource {
    url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    checksum: Checksum::Md5("03b5dce01913d631647c71ecec9e9cb8"),
};

/// Fashion-MNIST's four IDX files (Xiao et al. 2017).
pub const FASHION_MNIST: [Resource; 4] = [
    Resource {
        url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
        checksum: Checksum::Sha256Gunzipped(
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
    },
    Resource {
        url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
        checksum: Checksum::Sha256Gunzipped(
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
    },
    Resource {
        url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
        checksum: Checksum::Sha256Gunzipped(
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
    },
    Resource {
        url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
        checksum: Checksum::Sha256Gunzipped(
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
];

/// Download settings.
#[derive(Clone, Debug, Default)]
pub struct DownloadOptions {
    /// Replaces everything before the file name of each address
    /// (`http://127.0.0.1:8000` fetches `http://127.0.0.1:8000/cifar-10-binary.tar.gz`).
    /// Defaults to the `EDAS_DATA_MIRROR` environment variable.
    pub mirror: Option<String>,
    /// Print progress to standard error.
    pub progress: bool,
}

impl DownloadOptions {
    fn address(&self, resource: &Resource) -> String {
        let mirror = self
            .mirror
            .clone()
            .or_else(|| std::env::var("EDAS_DATA_MIRROR").ok());
        match mirror {
            Some(m) => format!("{}/{}", m.trim_end_matches('/'), resource.file_name()),
            None => resource.url.to_owned(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of `path` by `checksum`'s algorithm: (algorithm, hex digest).
pub fn digest(path: &Path, checksum: Checksum) -> Result<(&'static str, String)> {
    let mut file =
        std::fs::File::open(path).map_err(|e| DataError::io(path, e, "a downloaded file"))?;
    let read_err = |e| DataError::Io {
        path: path.to_owned(),
        source: e,
    };
    match checksum {
        Checksum::Md5(_) => {
            let mut h = Md5::new();
            std::io::copy(&mut file, &mut h).map_err(read_err)?;
            Ok(("md5", hex(&h.finalize())))
        }
        Checksum::Sha256Gunzipped(_) => {
            let mut h = Sha256::new();
            let mut gz = flate2::read::GzDecoder::new(file);
            std::io::copy(&mut gz, &mut h).map_err(|e| DataError::Format {
                path: path.to_owned(),
                message: format!("not a complete gzip file: {e}"),
            })?;
            Ok(("sha256", hex(&h.finalize())))
        }
    }
}

/// Downloads `resource` into `dir` (created if missing) unless a file of that
/// name is already there; verifies its checksum either way. Returns the path.
pub fn fetch(resource: &Resource, dir: &Path, options: &DownloadOptions) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| DataError::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let target = dir.join(resource.file_name());
    let expected = match resource.checksum {
        Checksum::Md5(h) | Checksum::Sha256Gunzipped(h) => h,
    };
    if !target.is_file() {
        let part = dir.join(format!("{}.part", resource.file_name()));
        let url = options.address(resource);
        if options.progress {
            eprintln!("downloading {url}");
        }
        download_to(&url, &part, options.progress)?;
        let (algorithm, found) = digest(&part, resource.checksum)?;
        if found != expected {
            let _ = std::fs::remove_file(&part);
            return Err(DataError::Checksum {
                path: part,
                algorithm,
                found,
                expected: expected.to_owned(),
            });
        }
        std::fs::rename(&part, &target).map_err(|e| DataError::Io {
            path: target.clone(),
            source: e,
        })?;
    } else {
        let (algorithm, found) = digest(&target, resource.checksum)?;
        if found != expected {
            // An existing file is the user's: report it, do not delete it.
            return Err(DataError::Format {
                path: target,
                message: format!(
                    "checksum mismatch ({algorithm} {found}, expected {expected}); delete it to download again"
                ),
            });
        }
    }
    Ok(target)
}

fn download_to(url: &str, path: &Path, progress: bool) -> Result<()> {
    let fail = |message: String| DataError::Download {
        url: url.to_owned(),
        message,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total: Option<u64> = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut reader = response.into_body().into_reader();
    let mut file = std::fs::File::create(path).map_err(|e| DataError::Io {
        path: path.to_owned(),
        source: e,
    })?;
    let mut buf = vec![0u8; 1 << 16];
    let mut done: u64 = 0;
    let mut last_report = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| DataError::Io {
            path: path.to_owned(),
            source: e,
        })?;
        done += n as u64;
        if progress && done - last_report >= 8 << 20 {
            last_report = done;
            match total {
                Some(t) => eprintln!("  {} / {} MiB", done >> 20, t >> 20),
                None => eprintln!("  {} MiB", done >> 20),
            }
        }
    }
    if let Some(t) = total.filter(|&t| t != done) {
        return Err(fail(format!("received {done} of {t} bytes")));
    }
    Ok(())
}

/// Unpacks a `.tar.gz` archive into `dir`.
pub fn extract_tar_gz(archive: &Path, dir: &Path) -> Result<()> {
    let file = std::fs::File::open(archive).map_err(|e| DataError::io(archive, e, "an archive"))?;
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(dir)
        .map_err(|e| DataError::Format {
            path: archive.to_owned(),
            message: format!("cannot unpack: {e}"),
        })
}

/// Makes sure CIFAR-10 or CIFAR-100 is unpacked under `dir`: downloads and
/// unpacks `archive` (e.g. [`CIFAR10_BINARY`]) when `marker` (the file a
/// loader looks for first, relative to `dir`) is absent.
pub fn ensure_archive(
    archive: &Resource,
    dir: &Path,
    marker: &str,
    options: &DownloadOptions,
) -> Result<()> {
    if dir.join(marker).is_file() {
        return Ok(());
    }
    let path = fetch(archive, dir, options)?;
    extract_tar_gz(&path, dir)?;
    if !dir.join(marker).is_file() {
        return Err(DataError::MissingFile {
            path: dir.join(marker),
            expected: format!("a file of {} after unpacking", archive.file_name()),
        });
    }
    Ok(())
}

/// Makes sure each of `resources` is in `dir`, downloading what is missing.
pub fn ensure_files(resources: &[Resource], dir: &Path, options: &DownloadOptions) -> Result<()> {
    for r in resources {
        fetch(r, dir, options)?;
    }
    Ok(())
}

/// The default cache directory: `$EDAS_DATA_DIR`, else `$XDG_CACHE_HOME/edas/data`,
/// else `~/.cache/edas/data`.
pub fn default_cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("EDAS_DATA_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|_| PathBuf::from(".cache"));
    base.join("edas").join("data")
}
