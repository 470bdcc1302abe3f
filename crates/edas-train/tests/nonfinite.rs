//! Non-finite outputs are never counted as correct: a network whose
//! classifier holds NaN scores 0% top-1 and top-5 and a NaN loss (which
//! `run_train` and `edas eval` then refuse), where NaN logits, which compare
//! false with everything, used to rank the true class first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use burn::module::Param;
use burn::prelude::*;
use edas_data::{
    ImageSource, Loader, LoaderConfig, Normalization, Pipeline, Split, SyntheticSpec, synthetic,
};
use edas_genotype::published::DARTS_V2;
use edas_nn::{Network, NetworkConfig};
use edas_train::evaluate;

#[test]
fn nan_logits_are_misses() {
    let device = Device::flex().autodiff();
    let config = NetworkConfig {
        in_channels: 1,
        image_size: 28,
        classes: 10,
        channels: 4,
        layers: 3,
        auxiliary: false,
    };
    let mut net = Network::cifar(&DARTS_V2, &config, &device).unwrap();
    let spec = SyntheticSpec {
        seed: 1,
        ..SyntheticSpec::mnist(32, 32)
    };
    let source: Arc<dyn ImageSource> = Arc::new(synthetic(&spec, Split::Test).unwrap());
    let loader = Loader::new(
        source,
        None,
        Pipeline::plain(Normalization::identity(1)),
        LoaderConfig {
            batch_size: 16,
            workers: 0,
            ..LoaderConfig::default()
        },
    )
    .unwrap();
    let finite = evaluate(&edas_nn::Model::Darts(net.clone()), &loader, &device).unwrap();
    assert!(finite.loss.is_finite() && finite.top5 > 0.0, "{finite:?}");
    let w = net.classifier.weight.val();
    net.classifier.weight = Param::from_tensor(w.mul_scalar(f32::NAN).detach());
    let r = evaluate(&edas_nn::Model::Darts(net), &loader, &device).unwrap();
    assert_eq!(r.examples, 32);
    assert_eq!((r.top1, r.top5), (0.0, 0.0), "{r:?}");
    assert!(r.loss.is_nan(), "{r:?}");
}
