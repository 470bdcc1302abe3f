//! The data of a search: the seeded split of the training set into
//! weight-step and architecture-step halves, their loaders, and the held-out
//! evaluation batches of the pruning gap.

use burn::prelude::*;
use edas_data::download::DownloadOptions;
use std::sync::Arc;

use edas_data::{DataError, ImageSource, Loader, LoaderConfig, Split, search_split};
use edas_nn::SearchNetworkConfig;

use crate::config::SearchConfig;
use crate::error::SearchError;

/// Batches on the device.
pub type Batches = Vec<(Tensor<4>, Tensor<1, Int>)>;

/// What a search reads: the weight-step and architecture-step loaders,
/// the evaluation batches (on the device) and the supernet's shape.
pub struct SearchData {
    /// Weight-step batches.
    pub train: Loader,
    /// Architecture-step batches.
    pub valid: Loader,
    /// The held-out evaluation batches of the pruning gap.
    pub eval: Batches,
    /// The supernet for these images.
    pub net: SearchNetworkConfig,
    /// One line on the data.
    pub describe: String,
}

/// Opens the data of `config`: its seeded split of the training set into
/// weight-step and architecture-step halves, and the evaluation batches.
pub fn open(config: &SearchConfig, device: &Device) -> Result<SearchData, SearchError> {
    let source = config.data.open(
        Split::Train,
        &DownloadOptions {
            progress: true,
            ..DownloadOptions::default()
        },
    )?;
    open_source(config, source, device)
}

/// [`open`] on the training images of `source` instead of the config's
/// data set.
pub fn open_source(
    config: &SearchConfig,
    source: Arc<dyn ImageSource>,
    device: &Device,
) -> Result<SearchData, SearchError> {
    let shape = source.fixed_shape().ok_or_else(|| {
        DataError::Config(format!(
            "{}: search needs images of one size (set a crop or resize in data)",
            source.describe()
        ))
    })?;
    let l = &config.loader;
    let n = l
        .train_examples
        .map_or(source.len(), |k| k.min(source.len()));
    let (train_idx, valid_idx) = search_split(n, l.train_portion, config.seed)?;
    let pipeline = if l.augment {
        config.data.train_pipeline(false)
    } else {
        config.data.eval_pipeline()
    };
    let loader = |idx: Vec<usize>, stream: u64, pipeline| {
        Loader::new(
            source.clone(),
            Some(idx),
            pipeline,
            LoaderConfig {
                batch_size: l.batch_size,
                shuffle: true,
                drop_last: true,
                seed: config.seed.wrapping_add(stream),
                workers: l.workers,
                prefetch: 2,
            },
        )
    };
    let eval_idx: Vec<usize> = valid_idx
        .iter()
        .copied()
        .take(l.eval_examples.unwrap_or(usize::MAX))
        .collect();
    let eval_loader = Loader::new(
        source.clone(),
        Some(eval_idx),
        config.data.eval_pipeline(),
        LoaderConfig {
            batch_size: l.batch_size.max(64),
            shuffle: false,
            drop_last: false,
            seed: config.seed,
            workers: l.workers,
            prefetch: 2,
        },
    )?;
    let eval = eval_loader
        .epoch(0)
        .map(|b| b.map(|b| b.to_tensors(device)))
        .collect::<Result<Vec<_>, _>>()?;
    let describe = format!(
        "{} ({} used: {} weight-step, {} architecture-step, {} evaluation examples)",
        source.describe(),
        n,
        train_idx.len(),
        valid_idx.len(),
        eval.iter().map(|b| b.1.dims()[0]).sum::<usize>()
    );
    Ok(SearchData {
        train: loader(train_idx, 0, pipeline.clone())?,
        valid: loader(valid_idx, 1, pipeline)?,
        eval,
        net: SearchNetworkConfig {
            in_channels: shape.channels,
            classes: source.num_classes(),
            channels: config.network.channels,
            layers: config.network.layers,
            stem_multiplier: config.network.stem_multiplier,
            partial_channels: config.partial_channels(),
            ops: config.space.ops(),
            space: config.space.name(),
            image_size: shape.height,
            nodes: config.space.nodes(),
        },
        describe,
    })
}
