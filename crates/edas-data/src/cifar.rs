//! CIFAR-10 and CIFAR-100 in their binary distributions
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>).
//!
//! CIFAR-10 (`cifar-10-batches-bin/`): `data_batch_1.bin` .. `data_batch_5.bin`
//! (train) and `test_batch.bin`; each record is 1 label byte and 3072 pixel
//! bytes, channel-planar (1024 red, 1024 green, 1024 blue, rows top to bottom).
//! Class names in `batches.meta.txt`.
//!
//! CIFAR-100 (`cifar-100-binary/`): `train.bin` and `test.bin`; each record is
//! a coarse label byte, a fine label byte and 3072 pixel bytes. Class names in
//! `fine_label_names.txt` and `coarse_label_names.txt`.

use std::path::{Path, PathBuf};

use crate::dataset::{ImageShape, InMemoryDataset, numbered_classes};
use crate::error::{DataError, Result};

/// The CIFAR image shape.
pub const CIFAR_SHAPE: ImageShape = ImageShape::new(3, 32, 32);
const PIXELS: usize = 3072;

/// Training or test part of a data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training set.
    Train,
    /// The test set.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Which CIFAR-100 labels to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cifar100Labels {
    /// The 100 fine classes (the usual benchmark).
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

/// The CIFAR-10 training batches, in order.
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The CIFAR-10 test batch.
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";

/// `root` itself when it holds `marker`, else `root/subdir` when that does.
pub(crate) fn locate(root: &Path, subdir: &str, marker: &str, expected: &str) -> Result<PathBuf> {
    if !root.is_dir() {
        return Err(DataError::MissingDir {
            path: root.to_owned(),
            expected: expected.to_owned(),
        });
    }
    if root.join(marker).exists() {
        return Ok(root.to_owned());
    }
    let nested = root.join(subdir);
    if nested.join(marker).exists() {
        return Ok(nested);
    }
    Err(DataError::MissingFile {
        path: root.join(marker),
        expected: format!("{expected}; also looked in {}", nested.display()),
    })
}

/// Whether CIFAR-10's training and test files are under `root` in a layout
/// [`cifar10`] reads (in `root` itself or in `root/cifar-10-batches-bin`):
/// data on disk is used, never downloaded again.
pub fn cifar10_present(root: &Path) -> bool {
    CIFAR10_TRAIN_FILES
        .iter()
        .chain([&CIFAR10_TEST_FILE])
        .all(|f| locate(root, "cifar-10-batches-bin", f, "").is_ok())
}

/// Whether CIFAR-100's `train.bin` and `test.bin` are under `root` in a
/// layout [`cifar100`] reads (flat or in `root/cifar-100-binary`).
pub fn cifar100_present(root: &Path) -> bool {
    ["train.bin", "test.bin"]
        .iter()
        .all(|f| locate(root, "cifar-100-binary", f, "").is_ok())
}

/// The most records a CIFAR file holds (CIFAR-100's training file).
const MAX_RECORDS: usize = 50_000;

/// Reads a file of fixed-size records, checking that its size is a whole
/// number of records.
fn read_records(path: &Path, record: usize, what: &str) -> Result<Vec<u8>> {
    // CIFAR-100's training file, the largest, holds 50000 records.
    let limit = (MAX_RECORDS * record) as u64;
    let bytes =
        edas_fs::read_bounded(path, limit, "CIFAR file").map_err(|e| DataError::fs(e, what))?;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError::Size {
            path: path.to_owned(),
            found: bytes.len() as u64,
            expected: format!(
                "a whole number of {record}-byte records ({what}; 10000 records = {} bytes); the file is truncated or oversized",
                10_000 * record
            ),
        });
    }
    Ok(bytes)
}

/// One name per non-empty line, if the file exists.
fn read_names(path: &Path, expected: usize) -> Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if names.len() != expected {
                return Err(DataError::Format {
                    path: path.to_owned(),
                    message: format!("{} class names, expected {expected}", names.len()),
                });
            }
            Ok(names)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(numbered_classes(expected)),
        Err(e) => Err(DataError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

fn split_records(
    path: &Path,
    bytes: &[u8],
    label_offset: usize,
    header: usize,
    classes: usize,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u16>,
) -> Result<()> {
    for (i, record) in bytes.chunks_exact(header + PIXELS).enumerate() {
        let label = record[label_offset];
        if usize::from(label) >= classes {
            return Err(DataError::Format {
                path: path.to_owned(),
                message: format!(
                    "record {i} (byte {}): label {label} is not below {classes}",
                    i * (header + PIXELS) + label_offset
                ),
            });
        }
        labels.push(u16::from(label));
        pixels.extend_from_slice(&record[header..]);
    }
    Ok(())
}

/// Loads CIFAR-10 from `root` (the `cifar-10-batches-bin` directory or its
/// parent).
pub fn cifar10(root: &Path, split: Split) -> Result<InMemoryDataset> {
    let expected = "CIFAR-10 binary version (cifar-10-batches-bin/data_batch_1.bin ...)";
    let marker = match split {
        Split::Train => CIFAR10_TRAIN_FILES[0],
        Split::Test => CIFAR10_TEST_FILE,
    };
    let dir = locate(root, "cifar-10-batches-bin", marker, expected)?;
    let files: Vec<&str> = match split {
        Split::Train => CIFAR10_TRAIN_FILES.to_vec(),
        Split::Test => vec![CIFAR10_TEST_FILE],
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        let path = dir.join(file);
        let bytes = read_records(
            &path,
            1 + PIXELS,
            "CIFAR-10 records: 1 label byte + 3072 pixels",
        )?;
        split_records(&path, &bytes, 0, 1, 10, &mut pixels, &mut labels)?;
    }
    let classes = read_names(&dir.join("batches.meta.txt"), 10)?;
    InMemoryDataset::new(
        format!("CIFAR-10 {}", split.name()),
        CIFAR_SHAPE,
        pixels,
        labels,
        classes,
    )
}

/// Loads CIFAR-100 from `root` (the `cifar-100-binary` directory or its
/// parent), with fine (100) or coarse (20) labels.
pub fn cifar100(root: &Path, split: Split, labels_kind: Cifar100Labels) -> Result<InMemoryDataset> {
    let expected = "CIFAR-100 binary version (cifar-100-binary/train.bin, test.bin)";
    let file = match split {
        Split::Train => "train.bin",
        Split::Test => "test.bin",
    };
    let dir = locate(root, "cifar-100-binary", file, expected)?;
    let path = dir.join(file);
    let bytes = read_records(
        &path,
        2 + PIXELS,
        "CIFAR-100 records: coarse label, fine label, 3072 pixels",
    )?;
    let (offset, classes, names) = match labels_kind {
        Cifar100Labels::Fine => (1, 100, "fine_label_names.txt"),
        Cifar100Labels::Coarse => (0, 20, "coarse_label_names.txt"),
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    split_records(&path, &bytes, offset, 2, classes, &mut pixels, &mut labels)?;
    InMemoryDataset::new(
        format!("CIFAR-100 {}", split.name()),
        CIFAR_SHAPE,
        pixels,
        labels,
        read_names(&dir.join(names), classes)?,
    )
}
