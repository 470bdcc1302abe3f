//! IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number (`0x00 0x00`, the element type, the
//! number of dimensions), one big-endian `u32` per dimension, then the data.
//! Images are `u8` with 3 dimensions (count, rows, columns), labels `u8` with 1.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cifar::Split;
use crate::dataset::{ImageShape, InMemoryDataset, numbered_classes};
use crate::error::{DataError, Result};

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST's class names (Xiao, Rasul, Vollgraf 2017).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const U8_TYPE: u8 = 0x08;

/// The standard file stems of a split: (images, labels).
pub fn standard_names(split: Split) -> (&'static str, &'static str) {
    match split {
        Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
}

/// Finds `stem` in `dir` as it is, gzipped (`.gz`), or with the dotted
/// variant some mirrors use (`train-images.idx3-ubyte`).
pub fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            path: dir.to_owned(),
            expected: "a directory of IDX files (train-images-idx3-ubyte[.gz], ...)".to_owned(),
        });
    }
    let dotted = stem.replacen("-idx", ".idx", 1);
    for name in [
        format!("{stem}.gz"),
        stem.to_owned(),
        format!("{dotted}.gz"),
        dotted,
    ] {
        let path = dir.join(&name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(DataError::MissingFile {
        path: dir.join(format!("{stem}.gz")),
        expected: format!("IDX file {stem} (plain or .gz)"),
    })
}

/// Reads an IDX file (decompressing `.gz` files and any file that starts
/// with the gzip magic) and returns its dimensions and data.
pub fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    read_idx_checked(path, None)
}

/// [`read_idx`], requiring `(count, meaning)` dimensions when given: a file
/// with another dimension count is reported as such, before its size is
/// checked against a header read with the wrong count.
fn read_idx_checked(path: &Path, expect: Option<(usize, &str)>) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e, "an IDX file"))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::Format {
                path: path.to_owned(),
                message: format!("gzip stream is truncated or corrupt: {e}"),
            })?;
        out
    } else {
        raw
    };
    if bytes.len() < 4 {
        return Err(DataError::Size {
            path: path.to_owned(),
            found: bytes.len() as u64,
            expected: "at least a 4-byte IDX header".to_owned(),
        });
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != U8_TYPE || bytes[3] == 0 {
        return Err(DataError::Format {
            path: path.to_owned(),
            message: format!(
                "bad IDX magic number {:02x} {:02x} {:02x} {:02x}, expected 00 00 08 (unsigned bytes) and a dimension count",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        });
    }
    let ndims = usize::from(bytes[3]);
    if let Some((want, meaning)) = expect
        && ndims != want
    {
        return Err(DataError::Format {
            path: path.to_owned(),
            message: format!(
                "the IDX header declares {ndims} dimension(s); expected {want} ({meaning})"
            ),
        });
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(DataError::Size {
            path: path.to_owned(),
            found: bytes.len() as u64,
            expected: format!(
                "at least the {header}-byte header of a {ndims}-dimensional IDX file"
            ),
        });
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(usize::MAX);
    let expected = header.saturating_add(count);
    if bytes.len() != expected {
        let how = if bytes.len() < expected {
            "truncated"
        } else {
            "oversized"
        };
        return Err(DataError::Size {
            path: path.to_owned(),
            found: bytes.len() as u64,
            expected: format!("{expected} for dimensions {dims:?} (the file is {how})"),
        });
    }
    let mut data = bytes;
    data.drain(..header);
    Ok((dims, data))
}

/// Loads an image/label IDX pair from `dir` by the standard names.
pub fn idx_dataset(
    dir: &Path,
    split: Split,
    name: &str,
    classes: Vec<String>,
) -> Result<InMemoryDataset> {
    let (image_stem, label_stem) = standard_names(split);
    let image_path = find_file(dir, image_stem)?;
    let label_path = find_file(dir, label_stem)?;
    let (dims, pixels) = read_idx_checked(&image_path, Some((3, "count, rows, columns")))?;
    let (ldims, labels) = read_idx_checked(&label_path, Some((1, "one label per image")))?;
    if ldims[0] != dims[0] {
        return Err(DataError::Format {
            path: label_path,
            message: format!(
                "expected 1 dimension of {} labels (one per image in {}), found {ldims:?}",
                dims[0],
                image_path.display()
            ),
        });
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes.len())
    {
        return Err(DataError::Format {
            path: label_path,
            message: format!("label {i} is {l}, not below {}", classes.len()),
        });
    }
    InMemoryDataset::new(
        format!("{name} {}", split.name()),
        ImageShape::new(1, dims[1], dims[2]),
        pixels,
        labels.into_iter().map(u16::from).collect(),
        classes,
    )
}

/// Fashion-MNIST from `dir` (default: [`DEBIAN_FASHION_MNIST_DIR`]).
pub fn fashion_mnist(dir: Option<&Path>, split: Split) -> Result<InMemoryDataset> {
    let dir = dir.unwrap_or(Path::new(DEBIAN_FASHION_MNIST_DIR));
    let classes = FASHION_MNIST_CLASSES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    idx_dataset(dir, split, "Fashion-MNIST", classes)
}

/// MNIST from `dir`.
pub fn mnist(dir: &Path, split: Split) -> Result<InMemoryDataset> {
    idx_dataset(dir, split, "MNIST", numbered_classes(10))
}
