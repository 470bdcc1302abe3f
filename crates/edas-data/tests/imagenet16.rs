//! ImageNet16-120 against files in the downsampled ImageNet's layout
//! (`tests/data/imagenet16`, written by `bench/imagenet16_files.py` with
//! made-up pixels: pixel p of image n of file f is (31 f + 7 n + p) mod 256;
//! train batches f = 1..10, `val_data` f = 0). The train batches are
//! protocol-2 pickles, `val_data` a protocol-0 one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use edas_data::download::DownloadOptions;
use edas_data::imagenet16::{IMAGENET16_TRAIN_FILES, IMAGENET16_VAL_FILE};
use edas_data::{
    Augment, DataConfig, DataError, DatasetKind, ImageShape, ImageSource, Split, imagenet16,
    imagenet16_present,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imagenet16")
}

fn pixel(f: usize, n: usize, p: usize) -> u8 {
    ((31 * f + 7 * n + p) % 256) as u8
}

/// `(file, image)` of each kept image, in order, with its class.
fn expected(split: Split) -> Vec<(usize, usize, u16)> {
    match split {
        // Labels 1, 120, 121, 1000, f: 121 and 1000 are dropped.
        Split::Train => (1..=10)
            .flat_map(|f| [(f, 0, 0), (f, 1, 119), (f, 4, (f - 1) as u16)])
            .collect(),
        // Labels 1, 2, 120, 121, 500, 1000.
        Split::Test => vec![(0, 0, 0), (0, 1, 1), (0, 2, 119)],
    }
}

fn check(data: &dyn ImageSource, split: Split) {
    let want = expected(split);
    assert_eq!(data.len(), want.len());
    assert_eq!(data.num_classes(), 120);
    assert_eq!(data.fixed_shape(), Some(ImageShape::new(3, 16, 16)));
    for (i, &(f, n, class)) in want.iter().enumerate() {
        assert_eq!(data.label(i), usize::from(class), "image {i}");
        let image = data.image(i).unwrap();
        let pixels: Vec<u8> = (0..768).map(|p| pixel(f, n, p)).collect();
        assert_eq!(image.data, pixels, "image {i} (file {f}, row {n})");
    }
}

#[test]
fn both_splits_keep_the_first_120_classes_with_their_pixels() {
    let root = fixtures();
    assert!(imagenet16_present(&root));
    for split in [Split::Train, Split::Test] {
        let data = imagenet16(&root, split, 120).unwrap();
        check(&data, split);
    }
    // Two classes keep only labels 1 and 2.
    let data = imagenet16(&root, Split::Test, 2).unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.num_classes(), 2);
}

#[test]
fn the_archives_layout_and_the_config_read_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let (train, val) = (
        tmp.path().join("Imagenet16_train"),
        tmp.path().join("Imagenet16_val"),
    );
    std::fs::create_dir_all(&train).unwrap();
    std::fs::create_dir_all(&val).unwrap();
    for f in IMAGENET16_TRAIN_FILES {
        std::fs::copy(fixtures().join(f), train.join(f)).unwrap();
    }
    std::fs::copy(
        fixtures().join(IMAGENET16_VAL_FILE),
        val.join(IMAGENET16_VAL_FILE),
    )
    .unwrap();
    assert!(imagenet16_present(tmp.path()));

    let config: DataConfig = serde_json::from_value(serde_json::json!({
        "dataset": "imagenet16-120",
        "root": tmp.path(),
        "download": true,
    }))
    .unwrap();
    assert_eq!(config.dataset, DatasetKind::Imagenet16);
    assert_eq!(config.dataset.name(), "imagenet16-120");
    // Present on disk: `download = true` fetches nothing and opens them.
    for split in [Split::Train, Split::Test] {
        let data = config.open(split, &DownloadOptions::default()).unwrap();
        check(data.as_ref(), split);
    }
    // NAS-Bench-201's pipeline: crop 16 with padding 2, flip, its constants.
    let p = config.train_pipeline(false);
    assert_eq!(
        p.augments[0],
        Augment::RandomCrop {
            size: 16,
            padding: 2
        }
    );
    let n = config.normalization();
    assert!((n.mean[0] - 122.68 / 255.0).abs() < 1e-6);
    assert!((n.std[2] - 65.09 / 255.0).abs() < 1e-6);
}

/// A copy of the fixtures in a temporary directory, `edit` applied.
fn edited(edit: impl Fn(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in IMAGENET16_TRAIN_FILES.iter().chain([&IMAGENET16_VAL_FILE]) {
        std::fs::copy(fixtures().join(f), tmp.path().join(f)).unwrap();
    }
    edit(tmp.path());
    tmp
}

fn message(root: &Path, split: Split) -> String {
    let e = imagenet16(root, split, 120).unwrap_err();
    format!("{e}")
}

#[test]
fn damaged_or_missing_files_are_errors_naming_the_file() {
    // A missing batch.
    let tmp = edited(|d| std::fs::remove_file(d.join("train_data_batch_7")).unwrap());
    assert!(!imagenet16_present(tmp.path()));
    let e = imagenet16(tmp.path(), Split::Train, 120).unwrap_err();
    assert!(
        matches!(e, DataError::MissingFile { ref path, .. } if path.ends_with("train_data_batch_7")),
        "{e}"
    );

    // A cut pickle.
    let tmp = edited(|d| {
        let p = d.join("train_data_batch_3");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    });
    let m = message(tmp.path(), Split::Train);
    assert!(
        m.contains("train_data_batch_3: not a readable pickle: the pickle ends early"),
        "{m}"
    );

    // A label outside 1..=1000 (protocol 0 writes `I1000`).
    let tmp = edited(|d| {
        let p = d.join(IMAGENET16_VAL_FILE);
        let text = std::fs::read(&p).unwrap();
        let at = text.windows(6).position(|w| w == b"I1000\n").unwrap();
        let mut text = text;
        text[at + 4] = b'1';
        std::fs::write(&p, text).unwrap();
    });
    let m = message(tmp.path(), Split::Test);
    assert!(
        m.contains("val_data: label 5 is Int(1001), expected an int in 1..=1000"),
        "{m}"
    );

    // A dict without `labels`: rename the key in the protocol-2 batch.
    let tmp = edited(|d| {
        let p = d.join("train_data_batch_1");
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(6).position(|w| w == b"labels").unwrap();
        bytes[at] = b'L';
        std::fs::write(&p, bytes).unwrap();
    });
    let m = message(tmp.path(), Split::Train);
    assert!(
        m.contains("train_data_batch_1: the pickle has no `labels` entry"),
        "{m}"
    );

    // Not a pickle at all.
    let tmp = edited(|d| std::fs::write(d.join(IMAGENET16_VAL_FILE), b"hello").unwrap());
    let m = message(tmp.path(), Split::Test);
    assert!(m.contains("val_data: not a readable pickle"), "{m}");

    // Nothing there.
    let empty = tempfile::tempdir().unwrap();
    let e = imagenet16(&empty.path().join("nope"), Split::Train, 120).unwrap_err();
    assert!(matches!(e, DataError::MissingDir { .. }), "{e}");
    assert!(imagenet16(&fixtures(), Split::Train, 0).is_err());
}
