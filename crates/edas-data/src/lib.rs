//! `edas-data`: the data sets and input pipelines of edas.
//!
//! - Readers for the real distributions, never downloading at run time unless
//!   asked: CIFAR-10/100 binary ([`cifar`]), IDX files for MNIST and
//!   Fashion-MNIST ([`idx`], by default from Debian's
//!   `/usr/share/datasets/fashion-mnist`), class-per-folder image sets such as
//!   ImageNet ([`folder`]), NAS-Bench-201's ImageNet16-120 ([`imagenet16`]),
//!   and synthetic data in the same shapes ([`synthetic`]).
//! - Optional download with checksum verification ([`download`]).
//! - Augmentation and normalisation ([`augment`]): random crop with padding,
//!   flip, cutout, per-channel normalisation; random resized crop, colour
//!   jitter, resize + centre crop for ImageNet.
//! - burn's `Dataset` both ways ([`burn_dataset`]): edas' data sets are burn
//!   datasets of [`LabelledImage`]s, and a burn dataset is an edas source
//!   ([`DatasetSource`]) that search and training read.
//! - Batching ([`loader`]): the seeded search split, seeded shuffling and
//!   augmentation, worker threads, batches as burn tensors.
//!
//! Every failure is a [`DataError`] naming the path and what was expected.
//!
//! ```
//! use std::sync::Arc;
//! use edas_data::{Loader, LoaderConfig, Normalization, Pipeline, Split, SyntheticSpec, search_split, synthetic};
//!
//! let train = Arc::new(synthetic(&SyntheticSpec::cifar(200, 0), Split::Train)?);
//! let (weights, arch) = search_split(200, 0.5, 0)?;
//! let config = LoaderConfig { batch_size: 32, workers: 2, ..LoaderConfig::default() };
//! let loader = Loader::new(train, Some(weights), Pipeline::cifar_train(Normalization::cifar10(), false), config)?;
//! let batch = loader.epoch(0).next().unwrap()?;
//! assert_eq!(batch.shape, [32, 3, 32, 32]);
//! assert_eq!(arch.len(), 100);
//! # Ok::<(), edas_data::DataError>(())
//! ```

pub mod augment;
pub mod burn_dataset;
pub mod cifar;
pub mod dataset;
pub mod download;
pub mod error;
pub mod folder;
pub mod idx;
pub mod imagenet16;
pub mod loader;
pub mod spec;
pub mod synthetic;

pub use augment::{Augment, Normalization, Pipeline};
pub use burn_dataset::{DatasetSource, LabelledImage};
pub use cifar::{Cifar100Labels, Split, cifar10, cifar10_present, cifar100, cifar100_present};
pub use dataset::{Image, ImageShape, ImageSource, InMemoryDataset, check_splits};
pub use edas_rng::Rng;
pub use error::{DataError, Result};
pub use folder::ImageFolder;
pub use idx::{fashion_mnist, idx_present, mnist};
pub use imagenet16::{imagenet16, imagenet16_present};
pub use loader::{Batch, Batches, Loader, LoaderConfig, search_split};
pub use spec::{CustomSpec, DataConfig, DatasetKind};
pub use synthetic::{SyntheticSpec, synthetic};

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
