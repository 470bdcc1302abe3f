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

/// The most data bytes an IDX file may declare (dimensions multiplied): far
/// above any image set edas reads, low enough that a forged header cannot
/// ask for the machine's memory.
pub const MAX_IDX_BYTES: u64 = 8 << 30;

/// Up to `n` bytes of `r` (fewer only at its end).
fn read_up_to(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut out)?;
    Ok(out)
}

/// [`read_idx`], requiring `(count, meaning)` dimensions when given: a file
/// with another dimension count is reported as such, before its size is
/// checked against a header read with the wrong count.
///
/// The file is streamed: the header is read first, and then no more data
/// than it declares (a gzip bomb stops there instead of filling memory; a
/// plain file's length is checked before its data is read). A FIFO or
/// device is refused, not read.
fn read_idx_checked(path: &Path, expect: Option<(usize, &str)>) -> Result<(Vec<usize>, Vec<u8>)> {
    let open_error = |e| DataError::io(path, e, "an IDX file");
    edas_fs::require_file(path).map_err(|e| DataError::fs(e, "an IDX file"))?;
    let mut file = std::fs::File::open(path).map_err(open_error)?;
    let file_len = file.metadata().map_err(open_error)?.len();
    let magic = read_up_to(&mut file, 2).map_err(open_error)?;
    let gzip = magic == [0x1f, 0x8b];
    let file = std::fs::File::open(path).map_err(open_error)?;
    let gz_error = |e: std::io::Error| DataError::Format {
        path: path.to_owned(),
        message: format!("gzip stream is truncated or corrupt: {e}"),
    };
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(file)
    };
    let read_error = |e: std::io::Error| if gzip { gz_error(e) } else { open_error(e) };
    let head = read_up_to(&mut reader, 4).map_err(read_error)?;
    if head.len() < 4 {
        return Err(DataError::Size {
            path: path.to_owned(),
            found: head.len() as u64,
            expected: "at least a 4-byte IDX header".to_owned(),
        });
    }
    if head[0] != 0 || head[1] != 0 || head[2] != U8_TYPE || head[3] == 0 {
        return Err(DataError::Format {
            path: path.to_owned(),
            message: format!(
                "bad IDX magic number {:02x} {:02x} {:02x} {:02x}, expected 00 00 08 (unsigned bytes) and a dimension count",
                head[0], head[1], head[2], head[3]
            ),
        });
    }
    let ndims = usize::from(head[3]);
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
    let dim_bytes = read_up_to(&mut reader, 4 * ndims).map_err(read_error)?;
    if dim_bytes.len() < 4 * ndims {
        return Err(DataError::Size {
            path: path.to_owned(),
            found: (4 + dim_bytes.len()) as u64,
            expected: format!(
                "at least the {header}-byte header of a {ndims}-dimensional IDX file"
            ),
        });
    }
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if dims.contains(&0) {
        return Err(DataError::Format {
            path: path.to_owned(),
            message: format!(
                "the IDX header declares dimensions {dims:?}; every dimension must be at least 1 \
                 (an image set with no images, or images of 0 pixels, holds nothing to learn from)"
            ),
        });
    }
    let count = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&c| c <= MAX_IDX_BYTES)
        .ok_or_else(|| DataError::Format {
            path: path.to_owned(),
            message: format!(
                "the IDX header declares dimensions {dims:?}, more than the {MAX_IDX_BYTES} data bytes edas reads"
            ),
        })?;
    let expected = header as u64 + count;
    let size_error = |found: u64| {
        let how = if found < expected {
            "truncated"
        } else {
            "oversized"
        };
        DataError::Size {
            path: path.to_owned(),
            found,
            expected: format!("{expected} for dimensions {dims:?} (the file is {how})"),
        }
    };
    if !gzip && file_len != expected {
        return Err(size_error(file_len));
    }
    let mut bounded = edas_fs::BoundedReader::new(reader, count);
    let mut data = Vec::with_capacity(if gzip { 0 } else { count as usize });
    match bounded.read_to_end(&mut data) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            return Err(DataError::Format {
                path: path.to_owned(),
                message: format!(
                    "decompresses to more than the {expected} bytes its header declares for \
                     dimensions {dims:?} (the file is oversized); reading stopped there"
                ),
            });
        }
        Err(e) => return Err(read_error(e)),
    }
    if (data.len() as u64) < count {
        return Err(size_error(header as u64 + data.len() as u64));
    }
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

/// Whether `dir` holds the four IDX files of a split pair (train and
/// test, images and labels) in a form [`find_file`] reads: plain, gzipped or
/// with dotted names.
pub fn idx_present(dir: &Path) -> bool {
    [Split::Train, Split::Test].into_iter().all(|split| {
        let (images, labels) = standard_names(split);
        find_file(dir, images).is_ok() && find_file(dir, labels).is_ok()
    })
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
