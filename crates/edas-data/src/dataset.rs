//! Labelled image data sets: the [`ImageSource`] trait the loader reads from,
//! and [`InMemoryDataset`], the form CIFAR, IDX and synthetic data take.

use std::sync::Arc;

use crate::error::Result;

/// Channels, height and width of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl ImageShape {
    /// A shape.
    pub const fn new(channels: usize, height: usize, width: usize) -> ImageShape {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// Number of values in one image.
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the shape holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One decoded image: 8-bit values, channel-planar (`C x H x W`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Its shape.
    pub shape: ImageShape,
    /// `shape.len()` values, channel by channel, row by row.
    pub data: Vec<u8>,
}

impl Image {
    /// The value at channel `c`, row `y`, column `x`.
    pub fn at(&self, c: usize, y: usize, x: usize) -> u8 {
        self.data[(c * self.shape.height + y) * self.shape.width + x]
    }
}

/// A labelled set of images that the loader can read by index from any thread.
pub trait ImageSource: Send + Sync {
    /// Number of examples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The image at `index` (decoded if the source holds files).
    fn image(&self, index: usize) -> Result<Image>;
    /// The label at `index`, in `0..num_classes()`.
    fn label(&self, index: usize) -> usize;
    /// Number of classes.
    fn num_classes(&self) -> usize;
    /// Class names, `num_classes()` of them.
    fn class_names(&self) -> &[String];
    /// The shape of every image, when all images share one (CIFAR, IDX); `None`
    /// for folders of differently sized photos.
    fn fixed_shape(&self) -> Option<ImageShape>;
    /// A short description for logs (`CIFAR-10 train (50000 images)`).
    fn describe(&self) -> String;
}

/// Checks that a data set's training and test parts can serve one network:
/// the same image shape (where both parts have one) and the same classes.
/// A test part of 28x28 images beside 14x56 training images would build a
/// network for one and feed it the other.
pub fn check_splits(train: &dyn ImageSource, test: &dyn ImageSource) -> Result<()> {
    if let (Some(a), Some(b)) = (train.fixed_shape(), test.fixed_shape())
        && a != b
    {
        return Err(crate::DataError::Config(format!(
            "the training images ({}) are {}x{}x{} but the test images ({}) are {}x{}x{}; \
             both parts of a data set must have one shape",
            train.describe(),
            a.channels,
            a.height,
            a.width,
            test.describe(),
            b.channels,
            b.height,
            b.width
        )));
    }
    if train.class_names() != test.class_names() {
        return Err(crate::DataError::Config(format!(
            "the training images ({}) have {} classes but the test images ({}) have {} (or other \
             names); both parts of a data set must have the same classes",
            train.describe(),
            train.num_classes(),
            test.describe(),
            test.num_classes()
        )));
    }
    Ok(())
}

/// Images held in memory as one `u8` buffer (`N x C x H x W`) with labels.
#[derive(Clone, Debug)]
pub struct InMemoryDataset {
    name: String,
    shape: ImageShape,
    pixels: Arc<Vec<u8>>,
    labels: Arc<Vec<u16>>,
    classes: Vec<String>,
}

impl InMemoryDataset {
    /// A data set from its parts. `pixels` holds `labels.len()` images of
    /// `shape`; labels are below `classes.len()`.
    pub fn new(
        name: impl Into<String>,
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Vec<u16>,
        classes: Vec<String>,
    ) -> Result<InMemoryDataset> {
        let name = name.into();
        if shape.is_empty() || labels.is_empty() {
            return Err(crate::DataError::Config(format!(
                "{name}: {} images of {}x{}x{}; a data set needs at least one image of at least \
                 one pixel",
                labels.len(),
                shape.channels,
                shape.height,
                shape.width
            )));
        }
        if pixels.len() != labels.len() * shape.len() {
            return Err(crate::DataError::Config(format!(
                "{name}: {} pixel values for {} images of {}x{}x{}",
                pixels.len(),
                labels.len(),
                shape.channels,
                shape.height,
                shape.width
            )));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= classes.len())
        {
            return Err(crate::DataError::Config(format!(
                "{name}: label {l} of example {i} is not below the class count {}",
                classes.len()
            )));
        }
        Ok(InMemoryDataset {
            name,
            shape,
            pixels: Arc::new(pixels),
            labels: Arc::new(labels),
            classes,
        })
    }

    /// The image shape.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The raw pixels of image `index`.
    pub fn pixels(&self, index: usize) -> &[u8] {
        let n = self.shape.len();
        &self.pixels[index * n..(index + 1) * n]
    }

    /// All labels.
    pub fn labels(&self) -> &[u16] {
        &self.labels
    }

    /// How many examples each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        class_counts(self)
    }
}

/// How many examples of `source` each class has.
pub fn class_counts(source: &dyn ImageSource) -> Vec<usize> {
    let mut counts = vec![0; source.num_classes()];
    for i in 0..source.len() {
        counts[source.label(i)] += 1;
    }
    counts
}

/// Per-channel mean and standard deviation of the pixels of `source` on the
/// `0..1` scale (what normalisation constants are computed from), reading
/// every image; `None` when its images differ in shape.
pub fn channel_stats(source: &dyn ImageSource) -> Result<Option<Vec<(f64, f64)>>> {
    let Some(shape) = source.fixed_shape() else {
        return Ok(None);
    };
    let plane = shape.height * shape.width;
    let mut sums = vec![(0f64, 0f64); shape.channels];
    for i in 0..source.len() {
        let img = source.image(i)?;
        for (c, (sum, sq)) in sums.iter_mut().enumerate() {
            for &v in &img.data[c * plane..(c + 1) * plane] {
                let v = f64::from(v) / 255.0;
                *sum += v;
                *sq += v * v;
            }
        }
    }
    let n = (source.len() * plane).max(1) as f64;
    Ok(Some(
        sums.into_iter()
            .map(|(s, q)| (s / n, (q / n - (s / n).powi(2)).max(0.0).sqrt()))
            .collect(),
    ))
}

impl ImageSource for InMemoryDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn image(&self, index: usize) -> Result<Image> {
        Ok(Image {
            shape: self.shape,
            data: self.pixels(index).to_vec(),
        })
    }

    fn label(&self, index: usize) -> usize {
        usize::from(self.labels[index])
    }

    fn num_classes(&self) -> usize {
        self.classes.len()
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn fixed_shape(&self) -> Option<ImageShape> {
        Some(self.shape)
    }

    fn describe(&self) -> String {
        format!("{} ({} images)", self.name, self.len())
    }
}

/// Class names `0`, `1`, ... for data sets that ship none.
pub fn numbered_classes(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}
