//! Synthetic data in the shapes of the real data sets, for tests and smoke
//! runs: each class is a fixed smooth pattern (a random plane wave per
//! channel), each example that pattern plus Gaussian noise, so a network can
//! learn it and a broken pipeline shows.

use crate::cifar::Split;
use crate::dataset::{ImageShape, InMemoryDataset, numbered_classes};
use crate::error::{DataError, Result};
use edas_rng::Rng;

/// What to generate.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Image shape.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Number of classes.
    pub classes: usize,
    /// Training examples.
    pub train_len: usize,
    /// Test examples.
    pub test_len: usize,
    /// Noise standard deviation, in pixel units (0..255).
    pub noise: f64,
    /// Seed of the class patterns and the noise.
    pub seed: u64,
}

impl SyntheticSpec {
    /// CIFAR-shaped: 3x32x32, 10 classes.
    pub fn cifar(train_len: usize, test_len: usize) -> SyntheticSpec {
        SyntheticSpec {
            channels: 3,
            height: 32,
            width: 32,
            classes: 10,
            train_len,
            test_len,
            noise: 40.0,
            seed: 0,
        }
    }

    /// MNIST-shaped: 1x28x28, 10 classes.
    pub fn mnist(train_len: usize, test_len: usize) -> SyntheticSpec {
        SyntheticSpec {
            channels: 1,
            height: 28,
            width: 28,
            ..SyntheticSpec::cifar(train_len, test_len)
        }
    }

    /// The image shape.
    pub fn shape(&self) -> ImageShape {
        ImageShape::new(self.channels, self.height, self.width)
    }
}

/// Generates the `split` part of `spec`; labels cycle through the classes, so
/// every class has the same count (up to one).
pub fn synthetic(spec: &SyntheticSpec, split: Split) -> Result<InMemoryDataset> {
    let shape = spec.shape();
    if shape.is_empty() || spec.classes == 0 || spec.classes > usize::from(u16::MAX) {
        return Err(DataError::Config(format!(
            "synthetic data needs a non-empty shape and 1..=65535 classes, got {}x{}x{} and {}",
            spec.channels, spec.height, spec.width, spec.classes
        )));
    }
    // One plane wave per (class, channel): frequency, direction, phase.
    let waves: Vec<(f64, f64, f64)> = (0..spec.classes * spec.channels)
        .map(|k| {
            let mut r = Rng::for_item(spec.seed, 1, k as u64);
            (
                r.uniform_range(0.5, 3.0),
                r.uniform_range(0.0, std::f64::consts::TAU),
                r.uniform_range(0.0, std::f64::consts::TAU),
            )
        })
        .collect();
    let (len, stream) = match split {
        Split::Train => (spec.train_len, 2),
        Split::Test => (spec.test_len, 3),
    };
    let mut pixels = Vec::with_capacity(len * shape.len());
    let mut labels = Vec::with_capacity(len);
    for i in 0..len {
        let label = i % spec.classes;
        let mut r = Rng::for_item(spec.seed, stream, i as u64);
        for c in 0..spec.channels {
            let (freq, dir, phase) = waves[label * spec.channels + c];
            let (dy, dx) = (dir.sin() * freq, dir.cos() * freq);
            for y in 0..spec.height {
                for x in 0..spec.width {
                    let t = std::f64::consts::TAU
                        * (dy * y as f64 / spec.height as f64 + dx * x as f64 / spec.width as f64)
                        + phase;
                    let v = 128.0 + 80.0 * t.sin() + spec.noise * r.normal();
                    pixels.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        labels.push(label as u16);
    }
    InMemoryDataset::new(
        format!(
            "synthetic {}x{}x{} {}",
            spec.channels,
            spec.height,
            spec.width,
            split.name()
        ),
        shape,
        pixels,
        labels,
        numbered_classes(spec.classes),
    )
}
