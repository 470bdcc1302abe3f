//! Shared by the search tests: synthetic batches in loader order.

use std::sync::Arc;

use burn::prelude::*;
use edas_data::{
    ImageSource, Loader, LoaderConfig, Normalization, Pipeline, Split, SyntheticSpec, synthetic,
};
use edas_nn::SearchNetworkConfig;

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

/// 10 synthetic MNIST-sized classes (seed 1), `n` examples of `split`, in
/// batches of 16; `Split::Train` and `Split::Test` draw different examples.
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn mnist_batches(device: &Device, n: usize, split: Split) -> Vec<(Tensor<4>, Tensor<1, Int>)> {
    let spec = SyntheticSpec {
        seed: 1,
        ..SyntheticSpec::mnist(n, n)
    };
    batches(device, &spec, split)
}

/// A 3-cell supernet at C=4 for 1-channel, 10-class inputs, every DARTS op.
#[allow(dead_code)] // not every test binary that shares this module uses it
pub fn tiny() -> SearchNetworkConfig {
    SearchNetworkConfig {
        in_channels: 1,
        classes: 10,
        channels: 4,
        layers: 3,
        stem_multiplier: 2,
        partial_channels: 1,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    }
}
