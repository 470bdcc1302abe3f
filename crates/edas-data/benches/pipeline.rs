//! Input-pipeline throughput: images per second of the CIFAR training pipeline
//! (random crop 32 pad 4, flip, normalisation, cutout 16) and of the ImageNet
//! training pipeline on JPEG files, through the loader's worker threads, with
//! the batch turned into a burn tensor on the CPU device.
//!
//! `cargo bench -p edas-data --bench pipeline` (figures in docs/performance.md).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use burn::prelude::Device;
use edas_data::{
    ImageFolder, ImageSource, Loader, LoaderConfig, Normalization, Pipeline, Split, SyntheticSpec,
    synthetic,
};

fn run(name: &str, loader: &Loader, epochs: u64, device: &Device) {
    // Warm-up epoch, then timed epochs.
    for b in loader.epoch(0) {
        b.unwrap();
    }
    let start = Instant::now();
    let mut images = 0usize;
    for e in 1..=epochs {
        for b in loader.epoch(e) {
            let b = b.unwrap();
            let (x, _) = b.to_tensors(device);
            std::hint::black_box(x);
            images += b.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "| {name} | {} | {} | {:.0} |",
        loader.config().workers,
        loader.config().batch_size,
        images as f64 / secs
    );
}

fn main() {
    let device = Device::flex();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {threads} hardware threads");
    println!("| pipeline | workers | batch | images/s |");
    println!("|---|---|---|---|");
    let cifar: Arc<dyn ImageSource> =
        Arc::new(synthetic(&SyntheticSpec::cifar(10_000, 0), Split::Train).unwrap());
    for workers in [0, 1, 2] {
        let config = LoaderConfig {
            batch_size: 64,
            workers,
            ..LoaderConfig::default()
        };
        let loader = Loader::new(
            cifar.clone(),
            None,
            Pipeline::cifar_train(Normalization::cifar10(), true),
            config,
        )
        .unwrap();
        run("CIFAR train (crop, flip, cutout)", &loader, 2, &device);
    }

    // ImageNet-like: 128 JPEG photos of 500x375 (the median ImageNet size).
    let dir = std::env::temp_dir().join(format!("edas-bench-jpeg-{}", std::process::id()));
    for class in 0..4 {
        let class_dir = dir.join(format!("n{class:02}"));
        std::fs::create_dir_all(&class_dir).unwrap();
        for i in 0..32u32 {
            let img = image::RgbImage::from_fn(500, 375, |x, y| {
                image::Rgb([(x + i) as u8, (y * 2) as u8, ((x ^ y) + class) as u8])
            });
            img.save(class_dir.join(format!("{i}.JPEG"))).unwrap();
        }
    }
    let folder: Arc<dyn ImageSource> = Arc::new(ImageFolder::new(&dir).unwrap());
    for workers in [1, 2] {
        let config = LoaderConfig {
            batch_size: 32,
            workers,
            ..LoaderConfig::default()
        };
        let loader = Loader::new(folder.clone(), None, Pipeline::imagenet_train(), config).unwrap();
        run(
            "ImageNet train (decode, resized crop, flip, jitter)",
            &loader,
            2,
            &device,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
