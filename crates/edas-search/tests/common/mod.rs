//! Shared by the search tests: synthetic batches in loader order.

use std::sync::Arc;

use burn::prelude::*;
use edas_data::{
    ImageSource, Loader, LoaderConfig, Normalization, Pipeline, Split, SyntheticSpec, synthetic,
};

/// One epoch of `spec`'s `split` in batches of 16 (loader seed 3, no
/// normalisation), as tensors on `device`.
pub fn batches(
    device: &Device,
    spec: &SyntheticSpec,
    split: Split,
) -> Vec<(Tensor<4>, Tensor<1, Int>)> {
    let source: Arc<dyn ImageSource> = Arc::new(synthetic(spec, split).unwrap());
    let config = LoaderConfig {
        batch_size: 16,
        workers: 0,
        seed: 3,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(
        source,
        None,
        Pipeline::plain(Normalization::identity(spec.channels)),
        config,
    )
    .unwrap();
    loader
        .epoch(0)
        .map(|b| b.unwrap().to_tensors(device))
        .collect()
}
