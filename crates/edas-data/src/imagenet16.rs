//! ImageNet16-120: NAS-Bench-201's third data set (Dong & Yang, ICLR 2020),
//! the first 120 classes of the downsampled ImageNet at 16x16 pixels
//! (Chrabaszcz, Loshchilov & Hutter, arXiv:1707.08819).
//!
//! The files are those of the downsampled ImageNet's 16x16 release,
//! `Imagenet16_train.zip` and `Imagenet16_val.zip` from image-net.org (an
//! account is needed, so edas cannot download them):
//! `train_data_batch_1` .. `train_data_batch_10` and `val_data`, in one
//! directory (as NAS-Bench-201's code expects) or in `Imagenet16_train/` and
//! `Imagenet16_val/` under it (as the archives unpack). Each is a Python 2
//! pickle of a dict: `data`, a `uint8` NumPy array of one row per image (256
//! red, 256 green, then 256 blue bytes, rows top to bottom); `labels`, a
//! list of ints 1..=1000; and, in the training batches, `mean`.
//!
//! As NAS-Bench-201's reader (AutoDL-Projects, `ImageNet16` with
//! `use_num_of_class_only=120`) does, only images labelled 1..=120 are kept,
//! as classes 0..=119: 151,700 training and 6,000 validation images. The
//! benchmark's `x-valid`/`x-test` halves of the validation images are its own
//! split files; edas tests on all 6,000 (the benchmark's `ori-test`).
//!
//! Files of this layout with made-up pixels: `bench/imagenet16_files.py`.

use std::path::{Path, PathBuf};

use edas_pickle::{NdArray, Value};

use crate::cifar::{Split, locate};
use crate::dataset::{ImageShape, InMemoryDataset, numbered_classes};
use crate::error::{DataError, Result};

/// The image shape: 3 channels of 16x16.
pub const IMAGENET16_SHAPE: ImageShape = ImageShape::new(3, 16, 16);
/// Classes of ImageNet16-120.
pub const IMAGENET16_120_CLASSES: usize = 120;
/// The training batches, in order.
pub const IMAGENET16_TRAIN_FILES: [&str; 10] = [
    "train_data_batch_1",
    "train_data_batch_2",
    "train_data_batch_3",
    "train_data_batch_4",
    "train_data_batch_5",
    "train_data_batch_6",
    "train_data_batch_7",
    "train_data_batch_8",
    "train_data_batch_9",
    "train_data_batch_10",
];
/// The validation file (edas' test split).
pub const IMAGENET16_VAL_FILE: &str = "val_data";

const PIXELS: usize = 3 * 16 * 16;
/// Labels in the files run 1..=1000.
const FILE_CLASSES: i64 = 1000;
/// The largest file accepted: a training batch holds about 128,000 images
/// (98 MB of pixels); a protocol-0 pickle writes a byte as up to 4.
const MAX_FILE_BYTES: u64 = 1 << 30;

const EXPECTED: &str = "the downsampled ImageNet 16x16 pickles (train_data_batch_1 .. \
                        train_data_batch_10, val_data; Imagenet16_train.zip and \
                        Imagenet16_val.zip from image-net.org)";

fn files_of(split: Split) -> (&'static str, Vec<&'static str>) {
    match split {
        Split::Train => ("Imagenet16_train", IMAGENET16_TRAIN_FILES.to_vec()),
        Split::Test => ("Imagenet16_val", vec![IMAGENET16_VAL_FILE]),
    }
}

/// The directory holding `split`'s files: `root`, or its `Imagenet16_train`
/// / `Imagenet16_val` subdirectory.
fn split_dir(root: &Path, split: Split) -> Result<PathBuf> {
    let (subdir, files) = files_of(split);
    locate(root, subdir, files[0], EXPECTED)
}

/// Whether every ImageNet16 file is under `root` in a layout
/// [`imagenet16`] reads.
pub fn imagenet16_present(root: &Path) -> bool {
    [Split::Train, Split::Test].into_iter().all(|split| {
        split_dir(root, split)
            .is_ok_and(|dir| files_of(split).1.iter().all(|f| dir.join(f).is_file()))
    })
}

fn format_error(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Appends the images of one file labelled 1..=`classes` (as 0..classes).
fn read_batch(
    path: &Path,
    classes: usize,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u16>,
) -> Result<()> {
    let bytes = edas_fs::read_bounded(path, MAX_FILE_BYTES, "downsampled ImageNet pickle")
        .map_err(|e| DataError::fs(e, EXPECTED))?;
    let (value, _) = edas_pickle::read(&bytes)
        .map_err(|e| format_error(path, format!("not a readable pickle: {e}")))?;
    drop(bytes);
    let field = |key: &str| -> Result<&Value> {
        value.get(key).ok_or_else(|| {
            format_error(
                path,
                format!(
                    "the pickle has no `{key}` entry (expected a dict with `data` and `labels`)"
                ),
            )
        })
    };
    let array = NdArray::from_value(field("data")?)
        .map_err(|e| format_error(path, format!("`data`: {e}")))?;
    let rows = match array.shape.as_slice() {
        [rows, PIXELS] => *rows,
        shape => {
            return Err(format_error(
                path,
                format!("`data` has shape {shape:?}, expected (images, {PIXELS}) for 16x16 RGB"),
            ));
        }
    };
    let data = array
        .into_u8()
        .map_err(|e| format_error(path, format!("`data`: {e}")))?;
    let Some(file_labels) = field("labels")?.as_seq() else {
        return Err(format_error(path, "`labels` is not a list"));
    };
    if file_labels.len() != rows {
        return Err(format_error(
            path,
            format!("{} labels for {rows} images", file_labels.len()),
        ));
    }
    let kept = i64::try_from(classes).unwrap_or(FILE_CLASSES);
    for (i, (label, image)) in file_labels
        .iter()
        .zip(data.chunks_exact(PIXELS))
        .enumerate()
    {
        let label = match label.as_i64() {
            Some(l) if (1..=FILE_CLASSES).contains(&l) => l,
            _ => {
                return Err(format_error(
                    path,
                    format!("label {i} is {label:?}, expected an int in 1..={FILE_CLASSES}"),
                ));
            }
        };
        if label <= kept {
            // 1..=classes <= 1000, so the class fits u16.
            labels.push(u16::try_from(label - 1).unwrap_or(u16::MAX));
            pixels.extend_from_slice(image);
        }
    }
    Ok(())
}

/// Loads ImageNet16-`classes` (the first `classes` of the 1000 classes;
/// NAS-Bench-201 uses 120) from `root`.
pub fn imagenet16(root: &Path, split: Split, classes: usize) -> Result<InMemoryDataset> {
    if !(1..=1000).contains(&classes) {
        return Err(DataError::Config(format!(
            "ImageNet16 keeps the first 1..=1000 classes, not {classes}"
        )));
    }
    let dir = split_dir(root, split)?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in files_of(split).1 {
        read_batch(&dir.join(file), classes, &mut pixels, &mut labels)?;
    }
    if labels.is_empty() {
        return Err(format_error(
            &dir,
            format!(
                "no image of {split} is labelled 1..={classes}",
                split = split.name()
            ),
        ));
    }
    InMemoryDataset::new(
        format!("ImageNet16-{classes} {}", split.name()),
        IMAGENET16_SHAPE,
        pixels,
        labels,
        numbered_classes(classes),
    )
}
