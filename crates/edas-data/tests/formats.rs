//! Readers against files generated here in the real formats, with the exact
//! values that must come out, and every error case naming its path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use edas_data::idx::{DEBIAN_FASHION_MNIST_DIR, read_idx};
use edas_data::{
    Cifar100Labels, DataError, ImageFolder, ImageShape, ImageSource, InMemoryDataset,
    Normalization, Pipeline, Rng, Split, cifar10, cifar100, fashion_mnist, mnist,
};

/// Pixel `p` of CIFAR image `n` in file `f`: a value we can predict.
fn pixel(f: usize, n: usize, p: usize) -> u8 {
    ((f * 31 + n * 7 + p) % 256) as u8
}

fn cifar10_file(dir: &Path, name: &str, f: usize, records: usize) {
    let mut bytes = Vec::new();
    for n in 0..records {
        bytes.push(((f + n) % 10) as u8);
        bytes.extend((0..3072).map(|p| pixel(f, n, p)));
    }
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn make_cifar10(root: &Path) -> std::path::PathBuf {
    let dir = root.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for f in 0..5 {
        cifar10_file(&dir, &format!("data_batch_{}.bin", f + 1), f, 3);
    }
    cifar10_file(&dir, "test_batch.bin", 9, 4);
    let names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    std::fs::write(dir.join("batches.meta.txt"), names.join("\n") + "\n\n").unwrap();
    dir
}

#[test]
fn cifar10_values_labels_and_names() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = make_cifar10(tmp.path());
    // Both the directory itself and its parent work.
    for root in [tmp.path(), dir.as_path()] {
        let train = cifar10(root, Split::Train).unwrap();
        assert_eq!(train.len(), 15);
        assert_eq!(train.shape(), ImageShape::new(3, 32, 32));
        // Example 4 is record 1 of data_batch_2.bin.
        assert_eq!(train.label(4), 2);
        let img = train.image(4).unwrap();
        assert_eq!(img.at(0, 0, 0), pixel(1, 1, 0));
        // Channel-planar: green starts at byte 1024, row 3 at +96.
        assert_eq!(img.at(1, 3, 5), pixel(1, 1, 1024 + 3 * 32 + 5));
        assert_eq!(img.at(2, 31, 31), pixel(1, 1, 3071));
        assert_eq!(train.class_names()[9], "truck");
    }
    let test = cifar10(tmp.path(), Split::Test).unwrap();
    assert_eq!(test.len(), 4);
    assert_eq!(test.labels(), &[9, 0, 1, 2]);

    // After normalisation: (v / 255 - mean[c]) / std[c], exactly.
    let n = Normalization::cifar10();
    let (shape, values) = Pipeline::plain(n.clone())
        .apply(test.image(2).unwrap(), &mut Rng::new(0))
        .unwrap();
    assert_eq!(shape, ImageShape::new(3, 32, 32));
    for (c, p) in [(0usize, 0usize), (1, 1024 + 77), (2, 2048 + 1000)] {
        let raw = pixel(9, 2, p);
        let expect = (f32::from(raw) / 255.0 - n.mean[c]) / n.std[c];
        assert_eq!(values[p], expect, "channel {c}");
    }
}

#[test]
fn cifar100_fine_and_coarse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar-100-binary");
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = Vec::new();
    for n in 0..5u8 {
        bytes.extend([n % 20, 99 - n]);
        bytes.extend((0..3072).map(|p| ((p + n as usize) % 256) as u8));
    }
    std::fs::write(dir.join("train.bin"), &bytes).unwrap();
    let fine: Vec<String> = (0..100).map(|i| format!("fine{i}")).collect();
    std::fs::write(dir.join("fine_label_names.txt"), fine.join("\n")).unwrap();
    let d = cifar100(tmp.path(), Split::Train, Cifar100Labels::Fine).unwrap();
    assert_eq!(d.labels(), &[99, 98, 97, 96, 95]);
    assert_eq!(d.num_classes(), 100);
    assert_eq!(d.class_names()[98], "fine98");
    assert_eq!(d.image(3).unwrap().at(0, 0, 0), 3);
    let c = cifar100(&dir, Split::Train, Cifar100Labels::Coarse).unwrap();
    assert_eq!(c.labels(), &[0, 1, 2, 3, 4]);
    assert_eq!(c.num_classes(), 20);
    assert_eq!(c.class_names()[4], "4", "no coarse names file: numbered");
    let err = cifar100(&dir, Split::Test, Cifar100Labels::Fine).unwrap_err();
    assert!(err.to_string().contains("test.bin"), "{err}");
}

#[test]
fn cifar_errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = cifar10(&missing, Split::Train).unwrap_err();
    assert!(matches!(err, DataError::MissingDir { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: data directory not found", missing.display())),
        "{err}"
    );

    let dir = make_cifar10(tmp.path());
    std::fs::remove_file(dir.join("data_batch_3.bin")).unwrap();
    let err = cifar10(tmp.path(), Split::Train).unwrap_err();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("data_batch_3.bin"), "{err}");

    let dir = make_cifar10(tmp.path());
    let path = dir.join("data_batch_2.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.pop();
    std::fs::write(&path, &bytes).unwrap();
    let err = cifar10(tmp.path(), Split::Train).unwrap_err();
    assert!(matches!(err, DataError::Size { found: 9218, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("data_batch_2.bin: 9218 bytes, expected a whole number of 3073-byte records"),
        "{err}"
    );

    bytes.extend([0, 0]);
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        cifar10(tmp.path(), Split::Train).unwrap_err(),
        DataError::Size { found: 9220, .. }
    ));

    let dir = make_cifar10(tmp.path());
    let path = dir.join("test_batch.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3073 * 2] = 10;
    std::fs::write(&path, &bytes).unwrap();
    let err = cifar10(tmp.path(), Split::Test).unwrap_err();
    assert!(
        err.to_string()
            .contains("record 2 (byte 6146): label 10 is not below 10"),
        "{err}"
    );
}

fn idx_bytes(magic_type: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, magic_type, dims.len() as u8];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn idx_plain_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let images: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 3) as u8).collect();
    // Train pair gzipped, test pair plain (and the dotted name variant).
    std::fs::write(
        tmp.path().join("train-images-idx3-ubyte.gz"),
        gz(&idx_bytes(8, &[3, 4, 5], &images)),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("train-labels-idx1-ubyte.gz"),
        gz(&idx_bytes(8, &[3], &[7, 0, 9])),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("t10k-images.idx3-ubyte"),
        idx_bytes(8, &[2, 4, 5], &images[..40]),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("t10k-labels-idx1-ubyte"),
        idx_bytes(8, &[2], &[1, 2]),
    )
    .unwrap();
    let train = mnist(tmp.path(), Split::Train).unwrap();
    assert_eq!(train.shape(), ImageShape::new(1, 4, 5));
    assert_eq!(train.labels(), &[7, 0, 9]);
    let img = train.image(2).unwrap();
    assert_eq!(img.at(0, 3, 4), images[2 * 20 + 19]);
    let test = fashion_mnist(Some(tmp.path()), Split::Test).unwrap();
    assert_eq!(test.class_names()[2], "Pullover");
    assert_eq!(test.pixels(1), &images[20..40]);
    // Normalised values are exact.
    let n = Normalization::fashion_mnist();
    let (_, v) = Pipeline::plain(n.clone())
        .apply(test.image(1).unwrap(), &mut Rng::new(0))
        .unwrap();
    assert_eq!(v[7], (f32::from(images[27]) / 255.0 - n.mean[0]) / n.std[0]);
}

#[test]
fn idx_errors_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x-idx3-ubyte");
    std::fs::write(&p, idx_bytes(9, &[1, 2, 2], &[0; 4])).unwrap();
    let err = read_idx(&p).unwrap_err();
    assert!(
        err.to_string().contains("bad IDX magic number 00 00 09 03"),
        "{err}"
    );
    std::fs::write(&p, idx_bytes(8, &[2, 2, 2], &[0; 7])).unwrap();
    let err = read_idx(&p).unwrap_err();
    assert!(
        err.to_string().contains(
            "x-idx3-ubyte: 23 bytes, expected 24 for dimensions [2, 2, 2] (the file is truncated)"
        ),
        "{err}"
    );
    std::fs::write(&p, idx_bytes(8, &[2, 2, 2], &[0; 9])).unwrap();
    assert!(read_idx(&p).unwrap_err().to_string().contains("oversized"));
    std::fs::write(&p, [0u8, 0]).unwrap();
    assert!(matches!(
        read_idx(&p).unwrap_err(),
        DataError::Size { found: 2, .. }
    ));
    let mut g = gz(&idx_bytes(8, &[1, 2, 2], &[0; 4]));
    g.truncate(g.len() - 6);
    std::fs::write(&p, g).unwrap();
    assert!(
        read_idx(&p)
            .unwrap_err()
            .to_string()
            .contains("gzip stream is truncated or corrupt")
    );

    // Label count must match the image count.
    std::fs::write(
        tmp.path().join("train-images-idx3-ubyte"),
        idx_bytes(8, &[2, 1, 1], &[0, 0]),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("train-labels-idx1-ubyte"),
        idx_bytes(8, &[3], &[0, 0, 0]),
    )
    .unwrap();
    let err = mnist(tmp.path(), Split::Train).unwrap_err();
    assert!(
        err.to_string().contains("expected 1 dimension of 2 labels"),
        "{err}"
    );
    // A 3-dimensional image file whose header byte says 4 dimensions is
    // reported as such, not as truncated.
    let mut bytes = idx_bytes(8, &[2, 1, 1], &[0, 0]);
    bytes[3] = 4;
    std::fs::write(tmp.path().join("train-images-idx3-ubyte"), bytes).unwrap();
    let err = mnist(tmp.path(), Split::Train).unwrap_err();
    assert!(
        err.to_string()
            .contains("the IDX header declares 4 dimension(s); expected 3 (count, rows, columns)"),
        "{err}"
    );
    let err = mnist(tmp.path(), Split::Test).unwrap_err();
    assert!(
        matches!(err, DataError::MissingFile { .. })
            && err.to_string().contains("t10k-images-idx3-ubyte"),
        "{err}"
    );
    let err = mnist(&tmp.path().join("absent"), Split::Test).unwrap_err();
    assert!(matches!(err, DataError::MissingDir { .. }));
}

fn write_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)));
    img.save(path).unwrap();
}

#[test]
fn image_folder_sorted_classes_exact_png_and_jpeg() {
    let tmp = tempfile::tempdir().unwrap();
    let train = tmp.path().join("train");
    for class in ["n02", "n01"] {
        std::fs::create_dir_all(train.join(class)).unwrap();
    }
    write_png(&train.join("n01/b.png"), 6, 4, |x, y| {
        [x as u8 * 10, y as u8 * 20, 200]
    });
    write_png(&train.join("n01/a.PNG"), 3, 2, |_, _| [1, 2, 3]);
    // A flat-colour JPEG decodes back to nearly the same colour.
    let jpeg = image::RgbImage::from_pixel(16, 16, image::Rgb([120, 60, 30]));
    jpeg.save(train.join("n02/c.JPEG")).unwrap();
    std::fs::write(train.join("n02/notes.txt"), "ignored").unwrap();
    let folder = ImageFolder::imagenet(tmp.path(), Split::Train).unwrap();
    assert_eq!(folder.class_names(), &["n01".to_owned(), "n02".to_owned()]);
    assert_eq!(folder.len(), 3);
    assert_eq!(
        (folder.label(0), folder.label(1), folder.label(2)),
        (0, 0, 1)
    );
    assert!(folder.path(0).ends_with("a.PNG"));
    let b = folder.image(1).unwrap();
    assert_eq!(b.shape, ImageShape::new(3, 4, 6));
    assert_eq!((b.at(0, 2, 5), b.at(1, 3, 0), b.at(2, 1, 1)), (50, 60, 200));
    let c = folder.image(2).unwrap();
    for (ch, want) in [(0, 120i32), (1, 60), (2, 30)] {
        let got = i32::from(c.at(ch, 8, 8));
        assert!((got - want).abs() <= 2, "channel {ch}: {got} vs {want}");
    }
}

#[test]
fn image_folder_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let err = ImageFolder::imagenet(tmp.path(), Split::Test).unwrap_err();
    assert!(
        matches!(err, DataError::MissingDir { .. }) && err.to_string().contains("val"),
        "{err}"
    );
    std::fs::create_dir_all(tmp.path().join("val/a")).unwrap();
    let err = ImageFolder::imagenet(tmp.path(), Split::Test).unwrap_err();
    assert!(
        err.to_string()
            .contains("no images found (1 class folders)"),
        "{err}"
    );
    let bad = tmp.path().join("val/a/broken.JPEG");
    std::fs::write(&bad, b"\xff\xd8\xff not really a jpeg").unwrap();
    let folder = ImageFolder::imagenet(tmp.path(), Split::Test).unwrap();
    let err = folder.image(0).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot decode image", bad.display())),
        "{err}"
    );
}

/// The real Fashion-MNIST, when Debian's `dataset-fashion-mnist` is installed
/// (CI installs it): counts, class balance and the normalisation constants.
#[test]
fn fashion_mnist_real_files() {
    if !Path::new(DEBIAN_FASHION_MNIST_DIR).is_dir() {
        eprintln!(
            "skipped: {DEBIAN_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)"
        );
        return;
    }
    let train = fashion_mnist(None, Split::Train).unwrap();
    let test = fashion_mnist(None, Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.shape(), ImageShape::new(1, 28, 28));
    assert_eq!(train.class_counts(), vec![6_000; 10]);
    assert_eq!(test.class_counts(), vec![1_000; 10]);
    // Our normalisation constants are these statistics, to 4 decimals.
    let (mean, std) = edas_data::dataset::channel_stats(&train).unwrap().unwrap()[0];
    let n = Normalization::fashion_mnist();
    assert!((mean - f64::from(n.mean[0])).abs() < 5e-5, "mean {mean}");
    assert!((std - f64::from(n.std[0])).abs() < 5e-5, "std {std}");
}

/// A header of 60000 images of 0x0 pixels is refused (it panicked deep in
/// the network); a gzip bomb (a tiny header, then far more zeros than it
/// declares) stops at the declared size instead of filling memory; a FIFO
/// is refused, not waited on.
#[test]
fn idx_refuses_empty_images_gzip_bombs_and_fifos() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("train-images-idx3-ubyte");
    std::fs::write(&p, idx_bytes(8, &[60000, 0, 0], &[])).unwrap();
    let err = read_idx(&p).unwrap_err().to_string();
    assert!(
        err.contains(
            "the IDX header declares dimensions [60000, 0, 0]; every dimension must be at least 1"
        ),
        "{err}"
    );
    // 8 declared data bytes, then 64 MiB of zeros (a 64 KiB file).
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&idx_bytes(8, &[2, 2, 2], &[0; 8])).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let gzp = tmp.path().join("bomb-idx3-ubyte.gz");
    std::fs::write(&gzp, bomb).unwrap();
    let err = read_idx(&gzp).unwrap_err().to_string();
    assert!(
        err.contains(
            "decompresses to more than the 24 bytes its header declares for dimensions [2, 2, 2]"
        ),
        "{err}"
    );
    // A header declaring more than edas reads is refused before any data.
    std::fs::write(&p, idx_bytes(8, &[u32::MAX, u32::MAX, 2], &[])).unwrap();
    let err = read_idx(&p).unwrap_err().to_string();
    assert!(
        err.contains("more than the 8589934592 data bytes edas reads"),
        "{err}"
    );
    let fifo = tmp.path().join("fifo-idx3-ubyte");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = read_idx(&fifo).unwrap_err().to_string();
    assert!(err.contains("is a FIFO, not a regular file"), "{err}");
}

/// Training and test parts of different image shapes or classes cannot
/// serve one network.
#[test]
fn splits_of_different_shapes_are_refused() {
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    let train = InMemoryDataset::new(
        "train",
        ImageShape::new(1, 14, 56),
        vec![0; 784],
        vec![0],
        classes.clone(),
    )
    .unwrap();
    let test = InMemoryDataset::new(
        "test",
        ImageShape::new(1, 28, 28),
        vec![0; 784],
        vec![0],
        classes.clone(),
    )
    .unwrap();
    let err = edas_data::check_splits(&train, &test)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("are 1x14x56 but the test images") && err.contains("are 1x28x28"),
        "{err}"
    );
    edas_data::check_splits(&test, &test).unwrap();
    let err = InMemoryDataset::new("empty", ImageShape::new(1, 0, 0), vec![], vec![0], classes)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a data set needs at least one image of at least one pixel"),
        "{err}"
    );
}
