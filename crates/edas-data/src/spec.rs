//! A data set named in a config: which one, where it lives, whether it may be
//! downloaded, and its standard pipelines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::augment::{Normalization, Pipeline};
use crate::cifar::{Cifar100Labels, Split, cifar10, cifar10_present, cifar100, cifar100_present};
use crate::dataset::{ImageShape, ImageSource};
use crate::download::{self, DownloadOptions};
use crate::error::{DataError, Result};
use crate::folder::ImageFolder;
use crate::idx::{DEBIAN_FASHION_MNIST_DIR, fashion_mnist, idx_present, mnist};
use crate::imagenet16::{IMAGENET16_120_CLASSES, imagenet16, imagenet16_present};
use crate::synthetic::{SyntheticSpec, synthetic};

/// The data sets edas reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// CIFAR-10, binary version.
    Cifar10,
    /// CIFAR-100, binary version.
    Cifar100,
    /// Fashion-MNIST, IDX files.
    FashionMnist,
    /// MNIST, IDX files.
    Mnist,
    /// ImageNet (or any class-per-folder set) with `train/` and `val/`.
    Imagenet,
    /// NAS-Bench-201's ImageNet16-120: the downsampled ImageNet 16x16
    /// pickles, first 120 classes ([`crate::imagenet16`]).
    #[serde(rename = "imagenet16-120")]
    Imagenet16,
    /// Generated data (see [`SyntheticSpec`]).
    Synthetic,
    /// Images a program hands over through the library API (a burn
    /// `Dataset` in a [`crate::DatasetSource`]); see [`CustomSpec`].
    Custom,
}

impl DatasetKind {
    /// All kinds.
    pub const ALL: [DatasetKind; 8] = [
        DatasetKind::Cifar10,
        DatasetKind::Cifar100,
        DatasetKind::FashionMnist,
        DatasetKind::Mnist,
        DatasetKind::Imagenet,
        DatasetKind::Imagenet16,
        DatasetKind::Synthetic,
        DatasetKind::Custom,
    ];

    /// The config name (`cifar10`, `fashion-mnist`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::Cifar100 => "cifar100",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Mnist => "mnist",
            DatasetKind::Imagenet => "imagenet",
            DatasetKind::Imagenet16 => "imagenet16-120",
            DatasetKind::Synthetic => "synthetic",
            DatasetKind::Custom => "custom",
        }
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        DatasetKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = DatasetKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown data set `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Where and how to get a data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Which data set.
    pub dataset: DatasetKind,
    /// Its directory. Default: Fashion-MNIST in Debian's directory, anything
    /// else in the cache directory (`$EDAS_DATA_DIR`, else
    /// `~/.cache/edas/data/<name>`).
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// Download CIFAR-10/100 or Fashion-MNIST into `root` when absent
    /// (MNIST, ImageNet and ImageNet16-120 are placed by hand).
    #[serde(default)]
    pub download: bool,
    /// CIFAR-100 labels.
    #[serde(default)]
    pub cifar100_labels: Cifar100Labels,
    /// What to generate, for `synthetic`.
    #[serde(default)]
    pub synthetic: Option<SyntheticSpec>,
    /// The images' shape and normalisation, for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<CustomSpec>,
}

/// What the pipelines need to know about images a program supplies
/// (`dataset = "custom"`): their shape and per-channel statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSpec {
    /// Channels, height and width (all images share them).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Per-channel mean and standard deviation on the `[0, 1]` scale.
    pub normalization: Normalization,
}

impl DataConfig {
    /// A config for `dataset` with every other setting at its default.
    pub fn new(dataset: DatasetKind) -> DataConfig {
        DataConfig {
            dataset,
            root: None,
            download: false,
            cifar100_labels: Cifar100Labels::Fine,
            synthetic: None,
            custom: None,
        }
    }

    /// The config for images of `source` handed over through the library
    /// (`dataset = "custom"`): their shape, and normalisation constants
    /// computed from its pixels (one pass over its images).
    pub fn custom(source: &dyn ImageSource) -> Result<DataConfig> {
        let shape = source.fixed_shape().ok_or_else(|| {
            DataError::Config(format!(
                "{}: its images differ in size; a custom source needs one shape",
                source.describe()
            ))
        })?;
        let stats = crate::dataset::channel_stats(source)?.unwrap_or_default();
        Ok(DataConfig {
            custom: Some(CustomSpec {
                channels: shape.channels,
                height: shape.height,
                width: shape.width,
                normalization: Normalization {
                    mean: stats.iter().map(|s| s.0 as f32).collect(),
                    // A constant channel would divide by zero.
                    std: stats.iter().map(|s| (s.1 as f32).max(1e-3)).collect(),
                },
            }),
            ..DataConfig::new(DatasetKind::Custom)
        })
    }

    /// The directory the data set is read from.
    pub fn root(&self) -> PathBuf {
        if let Some(r) = &self.root {
            return r.clone();
        }
        match self.dataset {
            DatasetKind::FashionMnist
                if Path::new(DEBIAN_FASHION_MNIST_DIR).is_dir() || !self.download =>
            {
                PathBuf::from(DEBIAN_FASHION_MNIST_DIR)
            }
            kind => download::default_cache_dir().join(kind.name()),
        }
    }

    /// Downloads the data set into `root` unless its files are there in a
    /// layout the loader reads (then nothing is fetched, online or not).
    fn fetch_if_asked(&self, root: &Path, options: &DownloadOptions) -> Result<()> {
        let present = match self.dataset {
            DatasetKind::Cifar10 => cifar10_present(root),
            DatasetKind::Cifar100 => cifar100_present(root),
            DatasetKind::FashionMnist => idx_present(root),
            DatasetKind::Imagenet16 => imagenet16_present(root),
            _ => false,
        };
        if present {
            return Ok(());
        }
        match self.dataset {
            DatasetKind::Cifar10 => download::ensure_archive(
                &download::CIFAR10_BINARY,
                root,
                "cifar-10-batches-bin/data_batch_1.bin",
                options,
            ),
            DatasetKind::Cifar100 => download::ensure_archive(
                &download::CIFAR100_BINARY,
                root,
                "cifar-100-binary/train.bin",
                options,
            ),
            DatasetKind::FashionMnist => {
                download::ensure_files(&download::FASHION_MNIST, root, options)
            }
            DatasetKind::Mnist | DatasetKind::Imagenet | DatasetKind::Imagenet16 => {
                Err(DataError::Config(format!(
                    "{} cannot be downloaded by edas; place its files in {}",
                    self.dataset.name(),
                    root.display()
                )))
            }
            DatasetKind::Synthetic | DatasetKind::Custom => Ok(()),
        }
    }

    /// Opens the `split` part, downloading first when allowed and needed.
    pub fn open(&self, split: Split, options: &DownloadOptions) -> Result<Arc<dyn ImageSource>> {
        let root = self.root();
        if self.download && self.dataset != DatasetKind::Synthetic {
            self.fetch_if_asked(&root, options)?;
        }
        Ok(match self.dataset {
            DatasetKind::Cifar10 => Arc::new(cifar10(&root, split)?),
            DatasetKind::Cifar100 => Arc::new(cifar100(&root, split, self.cifar100_labels)?),
            DatasetKind::FashionMnist => Arc::new(fashion_mnist(Some(&root), split)?),
            DatasetKind::Mnist => Arc::new(mnist(&root, split)?),
            DatasetKind::Imagenet => Arc::new(ImageFolder::imagenet(&root, split)?),
            DatasetKind::Imagenet16 => Arc::new(imagenet16(&root, split, IMAGENET16_120_CLASSES)?),
            DatasetKind::Synthetic => {
                let spec = self
                    .synthetic
                    .clone()
                    .unwrap_or_else(|| SyntheticSpec::cifar(1000, 200));
                Arc::new(synthetic(&spec, split)?)
            }
            DatasetKind::Custom => {
                return Err(DataError::Config(
                    "dataset = \"custom\": the images come from the program that started the \
                     run (edas_search::run_search_on, edas_train::run_train_on with a \
                     DatasetSource); the edas command cannot open them"
                        .into(),
                ));
            }
        })
    }

    /// Checks that `source` is what this config describes, for a program
    /// that hands its own images over: a `custom` config with its
    /// [`CustomSpec`] whose shape is the source's ([`DataConfig::custom`]
    /// makes one).
    pub fn check_source(&self, source: &dyn ImageSource) -> Result<()> {
        let err = |m: String| Err(DataError::Config(format!("{}: {m}", source.describe())));
        if self.dataset != DatasetKind::Custom {
            return err(format!(
                "the config's data set is `{}`; images handed over need dataset = \"custom\" \
                 (DataConfig::custom(source))",
                self.dataset.name()
            ));
        }
        let Some(spec) = &self.custom else {
            return err(
                "the config has no [data.custom] (DataConfig::custom(source) makes it)".into(),
            );
        };
        let want = ImageShape::new(spec.channels, spec.height, spec.width);
        match source.fixed_shape() {
            Some(shape) if shape == want && spec.normalization.mean.len() == shape.channels => {
                Ok(())
            }
            shape => err(format!(
                "images of shape {shape:?}, but [data.custom] says {}x{}x{} with {} normalised \
                 channels",
                spec.channels,
                spec.height,
                spec.width,
                spec.normalization.mean.len()
            )),
        }
    }

    /// The data set's normalisation constants.
    pub fn normalization(&self) -> Normalization {
        match self.dataset {
            DatasetKind::Cifar10 => Normalization::cifar10(),
            DatasetKind::Cifar100 => Normalization::cifar100(),
            DatasetKind::FashionMnist => Normalization::fashion_mnist(),
            DatasetKind::Mnist => Normalization::mnist(),
            DatasetKind::Imagenet => Normalization::imagenet(),
            DatasetKind::Imagenet16 => Normalization::imagenet16(),
            DatasetKind::Synthetic => {
                let c = self.synthetic.as_ref().map_or(3, |s| s.channels);
                Normalization {
                    mean: vec![0.5; c],
                    std: vec![0.25; c],
                }
            }
            DatasetKind::Custom => match &self.custom {
                Some(spec) => spec.normalization.clone(),
                None => Normalization {
                    mean: vec![0.5; 3],
                    std: vec![0.25; 3],
                },
            },
        }
    }

    /// The standard training pipeline: ImageNet's for ImageNet; otherwise a
    /// random crop of the image size with padding 4 (padding 2 below 32
    /// pixels), flip, normalisation and optional cutout (16 at 32 pixels,
    /// half the side below).
    pub fn train_pipeline(&self, cutout: bool) -> Pipeline {
        if self.dataset == DatasetKind::Imagenet {
            return Pipeline::imagenet_train();
        }
        let side = match self.dataset {
            DatasetKind::FashionMnist | DatasetKind::Mnist => 28,
            DatasetKind::Imagenet16 => 16,
            DatasetKind::Synthetic => self.synthetic.as_ref().map_or(32, |s| s.height),
            DatasetKind::Custom => self.custom.as_ref().map_or(32, |s| s.height),
            _ => 32,
        };
        let mut p = Pipeline::cifar_train(self.normalization(), cutout);
        p.augments[0] = crate::augment::Augment::RandomCrop {
            size: side,
            padding: if side >= 32 { 4 } else { 2 },
        };
        if cutout {
            p.cutout = Some(if side >= 32 { 16 } else { side / 2 });
        }
        if self.dataset == DatasetKind::Mnist {
            // A mirrored digit is another glyph; garments survive mirroring.
            p.augments
                .retain(|a| !matches!(a, crate::augment::Augment::HorizontalFlip { .. }));
        }
        p
    }

    /// The standard evaluation pipeline (ImageNet: resize 256, centre crop
    /// 224; otherwise normalisation only).
    pub fn eval_pipeline(&self) -> Pipeline {
        match self.dataset {
            DatasetKind::Imagenet => Pipeline::imagenet_eval(),
            _ => Pipeline::plain(self.normalization()),
        }
    }
}
