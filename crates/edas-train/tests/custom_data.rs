//! Training on images a program hands over (a burn dataset through
//! `DatasetSource`), and the checks that the config describes them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use burn::data::dataset::InMemDataset;
use burn::prelude::*;
use edas_data::{
    DataConfig, DatasetKind, DatasetSource, Image, ImageShape, ImageSource, LabelledImage,
};
use edas_genotype::published::DARTS_V2;
use edas_run::{OpenMode, RunOptions};
use edas_train::{TrainConfig, run_train_on};

fn source(n: usize, side: usize) -> Arc<dyn ImageSource> {
    let shape = ImageShape::new(3, side, side);
    let items: Vec<LabelledImage> = (0..n)
        .map(|i| LabelledImage {
            image: Image {
                shape,
                data: (0..shape.len())
                    .map(|p| ((p * 11 + i * 29) % 256) as u8)
                    .collect(),
            },
            label: i % 3,
        })
        .collect();
    let classes = vec!["a".into(), "b".into(), "c".into()];
    Arc::new(DatasetSource::new("mine", InMemDataset::new(items), classes).unwrap())
}

#[test]
fn trains_on_a_burn_dataset() {
    let device = Device::flex().autodiff();
    let (train, test) = (source(32, 16), source(16, 16));
    let mut c = TrainConfig::new(DatasetKind::Custom, 1);
    c.data = DataConfig::custom(train.as_ref()).unwrap();
    c.loader.batch_size = 16;
    c.loader.workers = 1;
    c.network.channels = 4;
    c.network.layers = 3;
    c.network.auxiliary = false;
    c.validate("test").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = run_train_on(
        &c,
        &DARTS_V2.into(),
        train.clone(),
        test.clone(),
        &RunOptions::new(&out, OpenMode::New),
        &device,
    )
    .unwrap();
    assert!(o.finished);
    assert_eq!(o.last.unwrap().test.unwrap().examples, 16);
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("dataset = \"custom\"") && config.contains("[data.custom]"));

    // Another shape, or a config that names a data set, is refused.
    let other = source(16, 12);
    let e = run_train_on(
        &c,
        &DARTS_V2.into(),
        other.clone(),
        other,
        &RunOptions::new(tmp.path().join("x"), OpenMode::New),
        &device,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("[data.custom] says 3x16x16"), "{e}");
    let named = TrainConfig::new(DatasetKind::Cifar10, 1);
    let e = run_train_on(
        &named,
        &DARTS_V2.into(),
        train.clone(),
        test,
        &RunOptions::new(tmp.path().join("y"), OpenMode::New),
        &device,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("need dataset = \"custom\""), "{e}");
    // The edas command cannot open a custom data set itself.
    let e = c
        .data
        .open(edas_data::Split::Train, &Default::default())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("the edas command cannot open them"),
        "{e}"
    );
}
