//! burn's [`Dataset`] on both sides of edas' [`ImageSource`]: edas' data
//! sets (CIFAR, IDX, synthetic, image folders) are burn datasets of
//! [`LabelledImage`]s, and any burn dataset whose items convert into
//! [`LabelledImage`] is an [`ImageSource`] ([`DatasetSource`]) that the
//! loader, and through it search and training, read
//! (`edas_search::run_search_on`, `edas_train::run_train_on`).

use std::marker::PhantomData;

use burn::data::dataset::{Dataset, DatasetError};

use crate::dataset::{Image, ImageShape, ImageSource, InMemoryDataset};
use crate::error::{DataError, Result};
use crate::folder::ImageFolder;

/// One example: an image and its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledImage {
    /// The image, 8-bit, channel-planar.
    pub image: Image,
    /// Its class, below the data set's class count.
    pub label: usize,
}

/// Example `index` of `source`, or the error that names it.
fn example(
    source: &dyn ImageSource,
    index: usize,
) -> std::result::Result<LabelledImage, DatasetError> {
    if index >= source.len() {
        return Err(DatasetError::new(DataError::Config(format!(
            "{}: no example {index}",
            source.describe()
        ))));
    }
    let image = source.image(index).map_err(DatasetError::new)?;
    Ok(LabelledImage {
        image,
        label: source.label(index),
    })
}

impl Dataset<LabelledImage> for InMemoryDataset {
    fn get(&self, index: usize) -> std::result::Result<LabelledImage, DatasetError> {
        example(self, index)
    }

    fn len(&self) -> usize {
        ImageSource::len(self)
    }
}

impl Dataset<LabelledImage> for ImageFolder {
    fn get(&self, index: usize) -> std::result::Result<LabelledImage, DatasetError> {
        example(self, index)
    }

    fn len(&self) -> usize {
        ImageSource::len(self)
    }
}

/// A burn [`Dataset`] as an edas [`ImageSource`]: items of type `I` that
/// convert into [`LabelledImage`] (implement `From<YourItem> for
/// LabelledImage` for your own item type).
///
/// [`DatasetSource::new`] reads every item once, to check that images share
/// one shape and labels are below the class count, and keeps the labels
/// (the loader asks for labels apart from images); images are read again
/// when the loader needs them.
pub struct DatasetSource<D, I> {
    name: String,
    dataset: D,
    labels: Vec<usize>,
    classes: Vec<String>,
    shape: ImageShape,
    item: PhantomData<fn() -> I>,
}

impl<D, I> DatasetSource<D, I>
where
    D: Dataset<I>,
    I: Into<LabelledImage>,
{
    /// The source `name` over `dataset`, whose labels name `classes`.
    pub fn new(name: impl Into<String>, dataset: D, classes: Vec<String>) -> Result<Self> {
        let name = name.into();
        let config = |message: String| DataError::Config(format!("{name}: {message}"));
        let mut labels = Vec::with_capacity(dataset.len());
        let mut shape = None;
        for i in 0..dataset.len() {
            let item: LabelledImage = dataset
                .get(i)
                .map_err(|e| config(format!("example {i}: {e}")))?
                .into();
            if item.label >= classes.len() {
                return Err(config(format!(
                    "example {i} has label {}, not below the {} classes",
                    item.label,
                    classes.len()
                )));
            }
            if item.image.data.len() != item.image.shape.len() {
                return Err(config(format!(
                    "example {i}: {} values for a {}x{}x{} image",
                    item.image.data.len(),
                    item.image.shape.channels,
                    item.image.shape.height,
                    item.image.shape.width
                )));
            }
            match shape {
                None => shape = Some(item.image.shape),
                Some(s) if s != item.image.shape => {
                    return Err(config(format!(
                        "example {i} is {}x{}x{}, example 0 {}x{}x{}: images must share one shape",
                        item.image.shape.channels,
                        item.image.shape.height,
                        item.image.shape.width,
                        s.channels,
                        s.height,
                        s.width
                    )));
                }
                Some(_) => {}
            }
            labels.push(item.label);
        }
        let shape = shape.ok_or_else(|| config("the dataset is empty".into()))?;
        Ok(DatasetSource {
            name,
            dataset,
            labels,
            classes,
            shape,
            item: PhantomData,
        })
    }

    /// The burn dataset.
    pub fn dataset(&self) -> &D {
        &self.dataset
    }
}

impl<D, I> ImageSource for DatasetSource<D, I>
where
    D: Dataset<I>,
    I: Into<LabelledImage>,
{
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn image(&self, index: usize) -> Result<Image> {
        let item: LabelledImage = self
            .dataset
            .get(index)
            .map_err(|e| DataError::Config(format!("{}: example {index}: {e}", self.name)))?
            .into();
        Ok(item.image)
    }

    fn label(&self, index: usize) -> usize {
        self.labels[index]
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
        format!("{} ({} images)", self.name, self.labels.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use burn::data::dataset::InMemDataset;

    use super::*;
    use crate::{Split, SyntheticSpec, synthetic};

    fn item(shape: ImageShape, label: usize) -> LabelledImage {
        LabelledImage {
            image: Image {
                shape,
                data: vec![label as u8; shape.len()],
            },
            label,
        }
    }

    fn classes(n: usize) -> Vec<String> {
        (0..n).map(|c| c.to_string()).collect()
    }

    #[test]
    fn a_burn_dataset_is_a_source_with_its_labels_and_shape() {
        let shape = ImageShape::new(1, 4, 5);
        let items = (0..6).map(|i| item(shape, i % 3)).collect();
        let s = DatasetSource::new("d", InMemDataset::new(items), classes(3)).unwrap();
        assert_eq!(ImageSource::len(&s), 6);
        assert_eq!(s.fixed_shape(), Some(shape));
        assert_eq!(
            (0..6).map(|i| s.label(i)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2]
        );
        assert_eq!(s.image(4).unwrap().data, vec![1; 20]);
        assert_eq!(s.describe(), "d (6 images)");
    }

    #[test]
    fn bad_datasets_are_refused_naming_the_example() {
        let a = ImageShape::new(1, 4, 4);
        let b = ImageShape::new(1, 4, 5);
        let mixed = InMemDataset::new(vec![item(a, 0), item(b, 0)]);
        let e = DatasetSource::new("m", mixed, classes(2))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("m: example 1 is 1x4x5"), "{e}");
        let label = InMemDataset::new(vec![item(a, 0), item(a, 5)]);
        let e = DatasetSource::new("l", label, classes(2))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("example 1 has label 5, not below the 2 classes"),
            "{e}"
        );
        let mut short = item(a, 0);
        short.image.data.pop();
        let e = DatasetSource::new("s", InMemDataset::new(vec![short]), classes(1))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("15 values for a 1x4x4 image"), "{e}");
        let empty = InMemDataset::<LabelledImage>::new(Vec::new());
        assert!(DatasetSource::new("e", empty, classes(1)).is_err());
    }

    #[test]
    fn edas_data_sets_are_burn_datasets() {
        let d = synthetic(&SyntheticSpec::cifar(5, 0), Split::Train).unwrap();
        assert_eq!(Dataset::len(&d), 5);
        let x = d.get(2).unwrap();
        assert_eq!(x.label, d.label(2));
        assert_eq!(x.image, d.image(2).unwrap());
        let e = d.get(5).err().unwrap().to_string();
        assert!(e.contains("no example 5"), "{e}");
    }
}
