//! Augmentation and normalisation: the standard CIFAR and ImageNet pipelines,
//! seeded per example.
//!
//! A [`Pipeline`] applies its 8-bit [`Augment`] steps in order, converts to
//! `f32` in `[0, 1]`, normalises per channel, then applies cutout (which, as in
//! DARTS, zeroes a square of the *normalised* image).

use serde::{Deserialize, Serialize};

use crate::dataset::{Image, ImageShape};
use crate::error::{DataError, Result};
use edas_rng::Rng;

/// Per-channel mean and standard deviation on the `[0, 1]` scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Per-channel mean.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation.
    pub std: Vec<f32>,
}

impl Normalization {
    /// CIFAR-10 (DARTS' constants).
    pub fn cifar10() -> Normalization {
        Normalization {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2470, 0.2435, 0.2616],
        }
    }

    /// CIFAR-100 (DARTS' constants).
    pub fn cifar100() -> Normalization {
        Normalization {
            mean: vec![0.5071, 0.4865, 0.4409],
            std: vec![0.2673, 0.2564, 0.2762],
        }
    }

    /// ImageNet (the torchvision constants DARTS uses).
    pub fn imagenet() -> Normalization {
        Normalization {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// ImageNet16-120, as NAS-Bench-201 normalises it (AutoDL-Projects'
    /// `get_datasets`: mean 122.68, 116.66, 104.01 and standard deviation
    /// 63.22, 61.26, 65.09 on the 0-255 scale).
    pub fn imagenet16() -> Normalization {
        Normalization {
            mean: vec![122.68 / 255.0, 116.66 / 255.0, 104.01 / 255.0],
            std: vec![63.22 / 255.0, 61.26 / 255.0, 65.09 / 255.0],
        }
    }

    /// Fashion-MNIST: mean and standard deviation of the 60000 training
    /// images, measured (`fashion_mnist_real_files` in `tests/formats.rs` checks them).
    pub fn fashion_mnist() -> Normalization {
        Normalization {
            mean: vec![0.2860],
            std: vec![0.3530],
        }
    }

    /// MNIST (the usual constants).
    pub fn mnist() -> Normalization {
        Normalization {
            mean: vec![0.1307],
            std: vec![0.3081],
        }
    }

    /// No change: mean 0, std 1 for each of `channels`.
    pub fn identity(channels: usize) -> Normalization {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }
}

/// One 8-bit augmentation step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Augment {
    /// Zero-pad by `padding` pixels on every side, then crop `size x size` at a
    /// uniformly random position (CIFAR: 32, 4).
    RandomCrop {
        /// Output side.
        size: usize,
        /// Padding on each side.
        padding: usize,
    },
    /// Mirror left-right with probability `p` (usually 0.5).
    HorizontalFlip {
        /// Probability.
        p: f64,
    },
    /// Crop a random area fraction in `scale` with aspect ratio in `ratio`
    /// (log-uniform), then resize to `size x size` (torchvision's
    /// RandomResizedCrop: 10 tries, then a centre crop).
    RandomResizedCrop {
        /// Output side.
        size: usize,
        /// Area fraction range, e.g. (0.08, 1.0).
        scale: (f64, f64),
        /// Aspect ratio range, e.g. (3/4, 4/3).
        ratio: (f64, f64),
    },
    /// Random brightness, contrast and saturation factors in `[1-x, 1+x]` and a
    /// hue shift in `[-hue, hue]` of a turn, applied in that fixed order.
    ColorJitter {
        /// Brightness spread.
        brightness: f64,
        /// Contrast spread.
        contrast: f64,
        /// Saturation spread.
        saturation: f64,
        /// Hue spread (at most 0.5).
        hue: f64,
    },
    /// Resize so the shorter side is `shorter` (bilinear, antialiased),
    /// keeping the aspect ratio.
    Resize {
        /// Length of the shorter side.
        shorter: usize,
    },
    /// Crop the central `size x size`.
    CenterCrop {
        /// Output side.
        size: usize,
    },
}

/// An augmentation pipeline and its normalisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// 8-bit steps, in order.
    pub augments: Vec<Augment>,
    /// Per-channel normalisation.
    pub normalization: Normalization,
    /// Side of the cutout square (DeVries & Taylor 2017), if any.
    pub cutout: Option<usize>,
}

impl Pipeline {
    /// Normalisation only.
    pub fn plain(normalization: Normalization) -> Pipeline {
        Pipeline {
            augments: Vec::new(),
            normalization,
            cutout: None,
        }
    }

    /// CIFAR training: random crop 32 with padding 4, horizontal flip,
    /// normalisation, and cutout 16 when `cutout` (DARTS' evaluation recipe;
    /// its search uses no cutout).
    pub fn cifar_train(normalization: Normalization, cutout: bool) -> Pipeline {
        Pipeline {
            augments: vec![
                Augment::RandomCrop {
                    size: 32,
                    padding: 4,
                },
                Augment::HorizontalFlip { p: 0.5 },
            ],
            normalization,
            cutout: cutout.then_some(16),
        }
    }

    /// ImageNet training: random resized crop 224, flip, colour jitter
    /// (0.4, 0.4, 0.4, 0.2 as in DARTS).
    pub fn imagenet_train() -> Pipeline {
        Pipeline {
            augments: vec![
                Augment::RandomResizedCrop {
                    size: 224,
                    scale: (0.08, 1.0),
                    ratio: (3.0 / 4.0, 4.0 / 3.0),
                },
                Augment::HorizontalFlip { p: 0.5 },
                Augment::ColorJitter {
                    brightness: 0.4,
                    contrast: 0.4,
                    saturation: 0.4,
                    hue: 0.2,
                },
            ],
            normalization: Normalization::imagenet(),
            cutout: None,
        }
    }

    /// ImageNet evaluation: resize 256, centre crop 224.
    pub fn imagenet_eval() -> Pipeline {
        Pipeline {
            augments: vec![
                Augment::Resize { shorter: 256 },
                Augment::CenterCrop { size: 224 },
            ],
            normalization: Normalization::imagenet(),
            cutout: None,
        }
    }

    /// The output shape for inputs of shape `input`, when it is fixed.
    pub fn output_shape(&self, input: ImageShape) -> ImageShape {
        let mut s = input;
        for a in &self.augments {
            match *a {
                Augment::RandomCrop { size, .. }
                | Augment::RandomResizedCrop { size, .. }
                | Augment::CenterCrop { size } => {
                    s.height = size;
                    s.width = size;
                }
                Augment::Resize { shorter } => {
                    let (h, w) = resized(s.height, s.width, shorter);
                    s.height = h;
                    s.width = w;
                }
                Augment::HorizontalFlip { .. } | Augment::ColorJitter { .. } => {}
            }
        }
        s
    }

    /// Applies the pipeline to `image` with randomness from `rng`; returns
    /// the normalised `C x H x W` values.
    pub fn apply(&self, image: Image, rng: &mut Rng) -> Result<(ImageShape, Vec<f32>)> {
        let c = image.shape.channels;
        if self.normalization.mean.len() != c || self.normalization.std.len() != c {
            return Err(DataError::Config(format!(
                "normalisation has {} means and {} stds for {c}-channel images",
                self.normalization.mean.len(),
                self.normalization.std.len()
            )));
        }
        let mut img = image;
        for a in &self.augments {
            img = apply_one(a, img, rng)?;
        }
        let ImageShape {
            channels,
            height,
            width,
        } = img.shape;
        let plane = height * width;
        let mut out = Vec::with_capacity(img.data.len());
        for ch in 0..channels {
            let (m, s) = (self.normalization.mean[ch], self.normalization.std[ch]);
            out.extend(
                img.data[ch * plane..(ch + 1) * plane]
                    .iter()
                    .map(|&v| (f32::from(v) / 255.0 - m) / s),
            );
        }
        if let Some(len) = self.cutout {
            cutout(&mut out, img.shape, len, rng);
        }
        Ok((img.shape, out))
    }
}

/// The size after resizing the shorter side to `shorter` (torchvision's rule:
/// the longer side is `shorter * long / short`, truncated).
fn resized(h: usize, w: usize, shorter: usize) -> (usize, usize) {
    if h <= w {
        (shorter, (shorter * w / h.max(1)).max(1))
    } else {
        ((shorter * h / w.max(1)).max(1), shorter)
    }
}

/// DARTS' cutout: a `len x len` square centred at a uniformly random pixel,
/// clipped at the borders, set to 0 in every channel.
pub fn cutout(values: &mut [f32], shape: ImageShape, len: usize, rng: &mut Rng) {
    let (h, w) = (shape.height, shape.width);
    let cy = rng.index(h);
    let cx = rng.index(w);
    let (y0, y1) = (cy.saturating_sub(len / 2), (cy + len / 2).min(h));
    let (x0, x1) = (cx.saturating_sub(len / 2), (cx + len / 2).min(w));
    for c in 0..shape.channels {
        for y in y0..y1 {
            let row = (c * h + y) * w;
            values[row + x0..row + x1].fill(0.0);
        }
    }
}

fn apply_one(a: &Augment, img: Image, rng: &mut Rng) -> Result<Image> {
    Ok(match *a {
        Augment::RandomCrop { size, padding } => {
            let ox = rng.index(img.shape.width + 2 * padding - size + 1);
            let oy = rng.index(img.shape.height + 2 * padding - size + 1);
            crop_padded(
                &img,
                oy as isize - padding as isize,
                ox as isize - padding as isize,
                size,
                size,
            )
        }
        Augment::HorizontalFlip { p } => {
            if rng.bernoulli(p) {
                flip(img)
            } else {
                img
            }
        }
        Augment::RandomResizedCrop { size, scale, ratio } => {
            let (y, x, h, w) = resized_crop_box(img.shape, scale, ratio, rng);
            resize(&crop_padded(&img, y as isize, x as isize, h, w), size, size)
        }
        Augment::ColorJitter {
            brightness,
            contrast,
            saturation,
            hue,
        } => jitter(img, brightness, contrast, saturation, hue, rng),
        Augment::Resize { shorter } => {
            let (h, w) = resized(img.shape.height, img.shape.width, shorter);
            resize(&img, h, w)
        }
        Augment::CenterCrop { size } => {
            let y = (img.shape.height as isize - size as isize) / 2;
            let x = (img.shape.width as isize - size as isize) / 2;
            crop_padded(&img, y, x, size, size)
        }
    })
}

/// The `h x w` window at (`y`, `x`); pixels outside the image are 0.
pub fn crop_padded(img: &Image, y: isize, x: isize, h: usize, w: usize) -> Image {
    let ImageShape {
        channels,
        height,
        width,
    } = img.shape;
    let mut data = vec![0u8; channels * h * w];
    for c in 0..channels {
        for oy in 0..h {
            let sy = y + oy as isize;
            if sy < 0 || sy >= height as isize {
                continue;
            }
            for ox in 0..w {
                let sx = x + ox as isize;
                if sx < 0 || sx >= width as isize {
                    continue;
                }
                data[(c * h + oy) * w + ox] = img.at(c, sy as usize, sx as usize);
            }
        }
    }
    Image {
        shape: ImageShape::new(channels, h, w),
        data,
    }
}

fn flip(mut img: Image) -> Image {
    let w = img.shape.width;
    for row in img.data.chunks_exact_mut(w) {
        row.reverse();
    }
    img
}

/// torchvision's RandomResizedCrop box: (top, left, height, width).
fn resized_crop_box(
    shape: ImageShape,
    scale: (f64, f64),
    ratio: (f64, f64),
    rng: &mut Rng,
) -> (usize, usize, usize, usize) {
    let (height, width) = (shape.height as f64, shape.width as f64);
    let area = height * width;
    let (log_lo, log_hi) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.uniform_range(scale.0, scale.1);
        let aspect = rng.uniform_range(log_lo, log_hi).exp();
        let w = (target * aspect).sqrt().round() as usize;
        let h = (target / aspect).sqrt().round() as usize;
        if 0 < w && w <= shape.width && 0 < h && h <= shape.height {
            let top = rng.index(shape.height - h + 1);
            let left = rng.index(shape.width - w + 1);
            return (top, left, h, w);
        }
    }
    // Fallback: the largest centred crop within the ratio range.
    let in_ratio = width / height;
    let (w, h) = if in_ratio < ratio.0 {
        (width, (width / ratio.0).round())
    } else if in_ratio > ratio.1 {
        ((height * ratio.1).round(), height)
    } else {
        (width, height)
    };
    let (w, h) = (w as usize, h as usize);
    ((shape.height - h) / 2, (shape.width - w) / 2, h, w)
}

/// Bilinear resize with antialiasing (the `image` crate's triangle filter,
/// which widens its support when shrinking, like PIL's bilinear).
pub fn resize(img: &Image, h: usize, w: usize) -> Image {
    let ImageShape {
        channels,
        height,
        width,
    } = img.shape;
    if (height, width) == (h, w) {
        return img.clone();
    }
    let plane = height * width;
    let mut data = Vec::with_capacity(channels * h * w);
    for c in 0..channels {
        let channel = &img.data[c * plane..(c + 1) * plane];
        let buffer = image::GrayImage::from_fn(width as u32, height as u32, |x, y| {
            image::Luma([channel[y as usize * width + x as usize]])
        });
        let out = image::imageops::resize(
            &buffer,
            w as u32,
            h as u32,
            image::imageops::FilterType::Triangle,
        );
        data.extend_from_slice(out.as_raw());
    }
    Image {
        shape: ImageShape::new(channels, h, w),
        data,
    }
}

fn jitter(
    img: Image,
    brightness: f64,
    contrast: f64,
    saturation: f64,
    hue: f64,
    rng: &mut Rng,
) -> Image {
    let factor =
        |spread: f64, rng: &mut Rng| rng.uniform_range((1.0 - spread).max(0.0), 1.0 + spread);
    let b = factor(brightness, rng);
    let c = factor(contrast, rng);
    let s = factor(saturation, rng);
    let h = rng.uniform_range(-hue, hue);
    let ImageShape {
        channels,
        height,
        width,
    } = img.shape;
    let plane = height * width;
    let mut v: Vec<f64> = img.data.iter().map(|&x| f64::from(x)).collect();
    let clamp = |x: f64| x.clamp(0.0, 255.0);
    // Brightness: scale towards black.
    v.iter_mut().for_each(|x| *x = clamp(*x * b));
    // Luma per pixel (ITU-R 601-2, as PIL's grayscale).
    let luma = |v: &[f64], i: usize| {
        if channels == 3 {
            0.299 * v[i] + 0.587 * v[plane + i] + 0.114 * v[2 * plane + i]
        } else {
            v[i]
        }
    };
    // Contrast: blend with the mean luma.
    let mean = (0..plane).map(|i| luma(&v, i)).sum::<f64>() / plane.max(1) as f64;
    v.iter_mut()
        .for_each(|x| *x = clamp(mean + (*x - mean) * c));
    if channels == 3 {
        // Saturation: blend with each pixel's luma.
        for i in 0..plane {
            let g = luma(&v, i);
            for ch in 0..3 {
                v[ch * plane + i] = clamp(g + (v[ch * plane + i] - g) * s);
            }
        }
        // Hue: rotate in HSV.
        if h != 0.0 {
            for i in 0..plane {
                let (hh, ss, vv) = rgb_to_hsv(v[i], v[plane + i], v[2 * plane + i]);
                let (r, g, bb) = hsv_to_rgb((hh + h).rem_euclid(1.0), ss, vv);
                v[i] = r;
                v[plane + i] = g;
                v[2 * plane + i] = bb;
            }
        }
    }
    Image {
        shape: img.shape,
        data: v
            .into_iter()
            .map(|x| x.round().clamp(0.0, 255.0) as u8)
            .collect(),
    }
}

fn rgb_to_hsv(r: f64, g: f64, b: f64) -> (f64, f64, f64) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

fn hsv_to_rgb(h: f64, s: f64, v: f64) -> (f64, f64, f64) {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    match (i as i64).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(c: usize, h: usize, w: usize) -> Image {
        let shape = ImageShape::new(c, h, w);
        Image {
            shape,
            data: (0..shape.len()).map(|i| (i % 251) as u8).collect(),
        }
    }

    #[test]
    fn random_crop_keeps_pixels_and_pads_with_zero() {
        let img = ramp(3, 32, 32);
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            let out = apply_one(
                &Augment::RandomCrop {
                    size: 32,
                    padding: 4,
                },
                img.clone(),
                &mut rng,
            )
            .unwrap();
            assert_eq!(out.shape, img.shape);
            // Find the offset: the crop is a shift of the original within ±4.
            let found = (-4isize..=4)
                .flat_map(|dy| (-4isize..=4).map(move |dx| (dy, dx)))
                .any(|(dy, dx)| out == crop_padded(&img, dy, dx, 32, 32));
            assert!(found);
        }
        let corner = crop_padded(&img, -4, -4, 32, 32);
        assert_eq!(corner.at(0, 0, 0), 0);
        assert_eq!(corner.at(1, 4, 4), img.at(1, 0, 0));
    }

    #[test]
    fn flip_mirrors_rows() {
        let img = ramp(1, 2, 3);
        let f = flip(img.clone());
        assert_eq!(f.data, vec![2, 1, 0, 5, 4, 3]);
        assert_eq!(flip(f), img);
    }

    #[test]
    fn cutout_zeroes_a_clipped_square() {
        let shape = ImageShape::new(2, 32, 32);
        let mut rng = Rng::new(3);
        let mut zeros = Vec::new();
        for _ in 0..200 {
            let mut v = vec![1.0f32; shape.len()];
            cutout(&mut v, shape, 16, &mut rng);
            let z = v.iter().filter(|&&x| x == 0.0).count();
            assert_eq!(z % 2, 0, "both channels");
            assert!((2 * 8 * 8..=2 * 16 * 16).contains(&z), "{z}");
            zeros.push(z);
        }
        assert!(zeros.contains(&(2 * 16 * 16)));
        assert!(zeros.iter().any(|&z| z < 2 * 16 * 16));
    }

    #[test]
    fn normalisation_is_per_channel() {
        let img = Image {
            shape: ImageShape::new(3, 1, 2),
            data: vec![0, 255, 51, 102, 255, 255],
        };
        let p = Pipeline::plain(Normalization::cifar10());
        let (shape, v) = p.apply(img, &mut Rng::new(0)).unwrap();
        assert_eq!(shape, ImageShape::new(3, 1, 2));
        let n = Normalization::cifar10();
        let expect = [
            (0.0 - n.mean[0]) / n.std[0],
            (1.0 - n.mean[0]) / n.std[0],
            (0.2 - n.mean[1]) / n.std[1],
            (0.4 - n.mean[1]) / n.std[1],
            (1.0 - n.mean[2]) / n.std[2],
            (1.0 - n.mean[2]) / n.std[2],
        ];
        for (a, b) in v.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        let gray = Image {
            shape: ImageShape::new(1, 1, 1),
            data: vec![0],
        };
        assert!(p.apply(gray, &mut Rng::new(0)).is_err());
    }

    #[test]
    fn imagenet_pipelines_give_224() {
        let img = ramp(3, 300, 400);
        let mut rng = Rng::new(5);
        for p in [Pipeline::imagenet_train(), Pipeline::imagenet_eval()] {
            let (shape, v) = p.apply(img.clone(), &mut rng).unwrap();
            assert_eq!(shape, ImageShape::new(3, 224, 224));
            assert_eq!(v.len(), 3 * 224 * 224);
            assert_eq!(p.output_shape(img.shape), shape);
        }
        assert_eq!(resized(300, 400, 256), (256, 341));
        assert_eq!(resized(500, 375, 256), (341, 256));
        // Resize of a constant image stays constant.
        let flat = Image {
            shape: ImageShape::new(3, 40, 60),
            data: vec![77; 3 * 40 * 60],
        };
        assert!(resize(&flat, 17, 25).data.iter().all(|&x| x == 77));
    }

    #[test]
    fn jitter_is_identity_at_zero_spread_and_hsv_round_trips() {
        let img = ramp(3, 8, 8);
        let same = jitter(img.clone(), 0.0, 0.0, 0.0, 0.0, &mut Rng::new(1));
        assert_eq!(same, img);
        for (r, g, b) in [
            (10.0, 200.0, 30.0),
            (255.0, 0.0, 0.0),
            (5.0, 5.0, 5.0),
            (0.0, 40.0, 240.0),
        ] {
            let (h, s, v) = rgb_to_hsv(r, g, b);
            let (r2, g2, b2) = hsv_to_rgb(h, s, v);
            assert!((r - r2).abs() < 1e-9 && (g - g2).abs() < 1e-9 && (b - b2).abs() < 1e-9);
        }
    }
}
