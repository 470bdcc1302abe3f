//! Evaluating a discrete network on a test set: top-1, top-5 and loss.

use std::sync::Arc;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use edas_data::{Batch, ImageSource, Loader, LoaderConfig};
use edas_nn::{Model, to_host};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::TrainError;

/// Test-set accuracy and loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Examples.
    pub examples: usize,
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-5 accuracy.
    pub top5: f64,
    /// Mean cross-entropy.
    pub loss: f64,
}

/// The test loader of `config` over `source`: unshuffled, unaugmented,
/// `loader.test_examples` at most.
pub fn test_loader(
    config: &TrainConfig,
    source: Arc<dyn ImageSource>,
) -> Result<Loader, TrainError> {
    let n = config
        .loader
        .test_examples
        .map_or(source.len(), |k| k.min(source.len()));
    Ok(Loader::new(
        source,
        Some((0..n).collect()),
        config.data.eval_pipeline(),
        LoaderConfig {
            batch_size: config.loader.batch_size.max(64),
            shuffle: false,
            drop_last: false,
            seed: config.seed,
            workers: config.loader.workers,
            prefetch: 2,
        },
    )?)
}

/// One evaluated batch on the host: what the network saw and said.
pub struct Predictions<'a> {
    /// The batch: images after the evaluation pipeline, labels.
    pub batch: &'a Batch,
    /// The logits, `[N, classes]` row-major.
    pub logits: &'a [f32],
}

/// What to do with each evaluated batch's [`Predictions`].
pub type Observer<'o> = &'o mut dyn FnMut(Predictions<'_>) -> Result<(), TrainError>;

/// Top-1, top-5 and loss of `net` over `loader` (inference mode: running
/// BatchNorm statistics, no drop-path, on the non-autodiff device).
pub fn evaluate(net: &Model, loader: &Loader, device: &Device) -> Result<EvalResult, TrainError> {
    evaluate_observed(net, loader, device, None)
}

/// [`evaluate`], handing each batch's inputs and logits to `observe`
/// (`edas eval --dump` writes them out).
pub fn evaluate_observed(
    net: &Model,
    loader: &Loader,
    device: &Device,
    mut observe: Option<Observer<'_>>,
) -> Result<EvalResult, TrainError> {
    let net = net.valid();
    let inner = device.clone().inner();
    let loss_fn = CrossEntropyLossConfig::new().init(&inner);
    let (mut n, mut top1, mut top5, mut loss) = (0usize, 0usize, 0usize, 0.0);
    for batch in loader.epoch(0) {
        let batch = batch?;
        let (x, y) = batch.to_tensors(&inner);
        let logits = net.forward_seeded(x, 0.0, false, None).logits;
        let b = batch.len();
        loss += f64::from(loss_fn.forward(logits.clone(), y).into_scalar::<f32>()) * b as f64;
        let classes = logits.dims()[1];
        let values = to_host(logits)?;
        if let Some(f) = observe.as_mut() {
            f(Predictions {
                batch: &batch,
                logits: &values,
            })?;
        }
        for (row, &label) in values.chunks(classes).zip(&batch.labels) {
            // A row with a NaN or infinite logit is a miss (NaN compares
            // false, so it would otherwise rank first).
            if !row.iter().all(|v| v.is_finite()) {
                continue;
            }
            let target = row.get(label).copied().unwrap_or(f32::NEG_INFINITY);
            let above = row.iter().filter(|&&v| v > target).count();
            top1 += usize::from(above == 0);
            top5 += usize::from(above < 5);
        }
        n += b;
    }
    Ok(EvalResult {
        examples: n,
        top1: top1 as f64 / n.max(1) as f64,
        top5: top5 as f64 / n.max(1) as f64,
        loss: loss / n.max(1) as f64,
    })
}
