//! The loader: determinism across worker counts, coverage, the search split,
//! tensors, and errors from workers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use burn::prelude::Device;
use edas_data::{
    Batch, ImageFolder, ImageSource, Loader, LoaderConfig, Normalization, Pipeline, Split,
    SyntheticSpec, search_split, synthetic,
};

fn source(n: usize) -> Arc<dyn ImageSource> {
    Arc::new(synthetic(&SyntheticSpec::cifar(n, 0), Split::Train).unwrap())
}

fn config(workers: usize, seed: u64) -> LoaderConfig {
    LoaderConfig {
        batch_size: 16,
        shuffle: true,
        drop_last: false,
        seed,
        workers,
        prefetch: 2,
    }
}

fn epoch(loader: &Loader, e: u64) -> Vec<Batch> {
    loader.epoch(e).collect::<Result<Vec<_>, _>>().unwrap()
}

#[test]
fn same_seed_same_batches_whatever_the_workers() {
    let src = source(100);
    let pipeline = Pipeline::cifar_train(Normalization::cifar10(), true);
    let reference = epoch(
        &Loader::new(src.clone(), None, pipeline.clone(), config(0, 7)).unwrap(),
        3,
    );
    assert_eq!(reference.len(), 7); // 6 x 16 + 4
    assert_eq!(reference[6].len(), 4);
    for workers in [1, 2, 3, 8] {
        let loader = Loader::new(src.clone(), None, pipeline.clone(), config(workers, 7)).unwrap();
        assert_eq!(epoch(&loader, 3), reference, "{workers} workers");
        // A run resumed in the middle of the epoch gets the rest of it.
        for start in [0, 1, 4, 6, 7, 9] {
            let rest: Vec<Batch> = loader
                .epoch_from(3, start)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                rest,
                reference[start.min(7)..],
                "{workers} workers from {start}"
            );
        }
    }
    let other_seed = epoch(
        &Loader::new(src.clone(), None, pipeline.clone(), config(2, 8)).unwrap(),
        3,
    );
    assert_ne!(other_seed[0].indices, reference[0].indices);
    let other_epoch = epoch(&Loader::new(src, None, pipeline, config(2, 7)).unwrap(), 4);
    assert_ne!(other_epoch[0].indices, reference[0].indices);
}

#[test]
fn every_example_once_per_epoch() {
    let src = source(50);
    let (train, valid) = search_split(50, 0.5, 1).unwrap();
    let mut cfg = config(2, 0);
    cfg.drop_last = true;
    let loader = Loader::new(
        src.clone(),
        Some(train.clone()),
        Pipeline::plain(Normalization::cifar10()),
        cfg,
    )
    .unwrap();
    assert_eq!(loader.num_batches(), 1); // 25 examples, batch 16, drop last
    let mut cfg = config(2, 0);
    cfg.shuffle = false;
    let loader = Loader::new(
        src,
        Some(valid.clone()),
        Pipeline::plain(Normalization::cifar10()),
        cfg,
    )
    .unwrap();
    let seen: Vec<usize> = epoch(&loader, 0)
        .iter()
        .flat_map(|b| b.indices.clone())
        .collect();
    assert_eq!(seen, valid, "no shuffle: the given order");
}

#[test]
fn search_split_is_a_seeded_partition() {
    let (a, b) = search_split(1001, 0.5, 3).unwrap();
    assert_eq!((a.len(), b.len()), (501, 500));
    let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..1001).collect::<Vec<_>>());
    assert_eq!(search_split(1001, 0.5, 3).unwrap(), (a.clone(), b));
    assert_ne!(search_split(1001, 0.5, 4).unwrap().0, a);
    assert_eq!(search_split(100, 0.8, 0).unwrap().0.len(), 80);
    assert!(search_split(10, 1.0, 0).is_err());
    assert!(search_split(10, 0.0, 0).is_err());
}

#[test]
fn batches_become_tensors() {
    let src = source(20);
    let mut cfg = config(1, 0);
    cfg.shuffle = false;
    let loader = Loader::new(
        src.clone(),
        None,
        Pipeline::plain(Normalization::cifar10()),
        cfg,
    )
    .unwrap();
    let batch = loader.batch(0, 0).unwrap();
    let device = Device::flex();
    let (images, labels) = batch.to_tensors(&device);
    assert_eq!(images.dims(), [16, 3, 32, 32]);
    assert_eq!(labels.dims(), [16]);
    let values = images.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(values, batch.images);
    let labels = labels
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    assert_eq!(labels, (0..16).map(|i| (i % 10) as i64).collect::<Vec<_>>());
    // Pixel (0, 0, 0) of example 3, normalised.
    let raw = src.image(3).unwrap().at(0, 0, 0);
    let n = Normalization::cifar10();
    assert_eq!(
        values[3 * 3072],
        (f32::from(raw) / 255.0 - n.mean[0]) / n.std[0]
    );
}

#[test]
fn worker_errors_reach_the_consumer_and_early_drop_does_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("a");
    std::fs::create_dir_all(&class).unwrap();
    for i in 0..6 {
        image::RgbImage::from_pixel(8, 8, image::Rgb([i * 10, 0, 0]))
            .save(class.join(format!("{i}.png")))
            .unwrap();
    }
    std::fs::write(class.join("3.png"), b"garbage").unwrap();
    let folder: Arc<dyn ImageSource> = Arc::new(ImageFolder::new(tmp.path()).unwrap());
    let mut cfg = config(2, 0);
    cfg.batch_size = 2;
    cfg.shuffle = false;
    let loader = Loader::new(
        folder,
        None,
        Pipeline::plain(Normalization::imagenet()),
        cfg,
    )
    .unwrap();
    let results: Vec<_> = loader.epoch(0).collect();
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        err.to_string().contains("3.png: cannot decode image"),
        "{err}"
    );
    assert!(results[2].is_ok());

    let big = source(2000);
    let loader = Loader::new(
        big,
        None,
        Pipeline::plain(Normalization::cifar10()),
        config(2, 0),
    )
    .unwrap();
    let mut it = loader.epoch(0);
    assert!(it.next().unwrap().is_ok());
    drop(it); // must return: workers stop when their queue closes
}

#[test]
fn mixed_sizes_without_a_crop_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("a");
    std::fs::create_dir_all(&class).unwrap();
    image::RgbImage::new(8, 8)
        .save(class.join("0.png"))
        .unwrap();
    image::RgbImage::new(9, 8)
        .save(class.join("1.png"))
        .unwrap();
    let folder: Arc<dyn ImageSource> = Arc::new(ImageFolder::new(tmp.path()).unwrap());
    let mut cfg = config(0, 0);
    cfg.shuffle = false;
    let loader = Loader::new(
        folder.clone(),
        None,
        Pipeline::plain(Normalization::imagenet()),
        cfg.clone(),
    )
    .unwrap();
    let err = loader.batch(0, 0).unwrap_err();
    assert!(err.to_string().contains("add a crop or resize"), "{err}");
    let loader = Loader::new(folder, None, Pipeline::imagenet_eval(), cfg).unwrap();
    assert_eq!(loader.batch(0, 0).unwrap().shape, [2, 3, 224, 224]);
}

#[test]
fn bad_configs_are_errors() {
    let src = source(4);
    let p = Pipeline::plain(Normalization::cifar10());
    let mut cfg = config(0, 0);
    cfg.batch_size = 0;
    assert!(Loader::new(src.clone(), None, p.clone(), cfg).is_err());
    assert!(Loader::new(src.clone(), Some(vec![4]), p.clone(), config(0, 0)).is_err());
    assert!(Loader::new(src, Some(vec![]), p, config(0, 0)).is_err());
}

/// A source whose image 3 panics, as a broken decoder might.
struct Panicky(Arc<dyn ImageSource>);

impl ImageSource for Panicky {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn image(&self, index: usize) -> edas_data::Result<edas_data::Image> {
        assert_ne!(index, 3, "decoder bug on image 3");
        self.0.image(index)
    }
    fn label(&self, index: usize) -> usize {
        self.0.label(index)
    }
    fn num_classes(&self) -> usize {
        self.0.num_classes()
    }
    fn class_names(&self) -> &[String] {
        self.0.class_names()
    }
    fn fixed_shape(&self) -> Option<edas_data::ImageShape> {
        self.0.fixed_shape()
    }
    fn describe(&self) -> String {
        "panicky".into()
    }
}

/// A worker that panics is reported as such, with its batch and the panic's
/// message (not as a configuration error), and the batches before it arrive.
#[test]
fn a_panicking_worker_is_named_with_its_message() {
    let mut cfg = config(2, 0);
    cfg.batch_size = 2;
    cfg.shuffle = false;
    let loader = Loader::new(
        Arc::new(Panicky(source(8))),
        None,
        Pipeline::plain(Normalization::cifar10()),
        cfg,
    )
    .unwrap();
    let results: Vec<_> = loader.epoch(0).collect();
    assert!(results[0].is_ok());
    let e = results[1].as_ref().unwrap_err();
    assert!(
        matches!(e, edas_data::DataError::Worker { batch: 1, .. }),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("data worker for batch 1 stopped: it panicked")
            && text.contains("decoder bug on image 3"),
        "{text}"
    );
}
