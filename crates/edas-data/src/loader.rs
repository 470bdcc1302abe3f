//! Batching with parallel workers, seeded shuffling and augmentation, and the
//! search split.
//!
//! Every random choice is a function of `(seed, epoch, example index)`, so the
//! same seed gives the same batches whatever the number of workers and however
//! the threads are scheduled. Worker `w` of `W` builds batches `w, w + W, ...`
//! into its own bounded queue; the consumer takes batch `b` from queue
//! `b mod W`, so batches arrive in order and at most `W * prefetch` are held.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use burn::prelude::{Device, Int, Tensor, TensorData};

use crate::augment::Pipeline;
use crate::dataset::{ImageShape, ImageSource};
use crate::error::{DataError, Result};
use edas_rng::Rng;

/// Random streams, so that shuffling and augmentation never share numbers.
const SHUFFLE_STREAM: u64 = 0x5348_5546;
const AUGMENT_STREAM: u64 = 0x4155_474d;
const SPLIT_STREAM: u64 = 0x5350_4c54;

/// Splits `0..n` into weight-training and architecture-validation indices:
/// a seeded permutation, the first `round(n * train_portion)` of it for
/// training (DARTS' search split, `train_portion` 0.5 by default).
pub fn search_split(n: usize, train_portion: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(train_portion > 0.0 && train_portion < 1.0) {
        return Err(DataError::Config(format!(
            "train_portion must be strictly between 0 and 1, got {train_portion}"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::for_item(seed, SPLIT_STREAM, 0).shuffle(&mut order);
    let cut = ((n as f64) * train_portion).round() as usize;
    let valid = order.split_off(cut);
    Ok((order, valid))
}

/// One batch: normalised images (`N x C x H x W`, row-major) and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// `N * C * H * W` values.
    pub images: Vec<f32>,
    /// `N` labels.
    pub labels: Vec<usize>,
    /// The source indices of the examples.
    pub indices: Vec<usize>,
}

impl Batch {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The batch as tensors on `device`: images `[N, C, H, W]` and labels `[N]`.
    pub fn to_tensors(&self, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let images =
            Tensor::<4>::from_data(TensorData::new(self.images.clone(), self.shape), device);
        let labels: Vec<i64> = self.labels.iter().map(|&l| l as i64).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [self.len()]), device);
        (images, labels)
    }
}

/// How batches are formed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoaderConfig {
    /// Examples per batch.
    pub batch_size: usize,
    /// Reshuffle every epoch.
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size`.
    pub drop_last: bool,
    /// Seed of shuffling and augmentation.
    pub seed: u64,
    /// Worker threads (0: build batches on the calling thread).
    pub workers: usize,
    /// Batches each worker may have ready ahead of the consumer.
    pub prefetch: usize,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 64,
            shuffle: true,
            drop_last: false,
            seed: 0,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            prefetch: 2,
        }
    }
}

/// Batches of a source (or of a subset of it) through a pipeline.
#[derive(Clone)]
pub struct Loader {
    source: Arc<dyn ImageSource>,
    indices: Arc<Vec<usize>>,
    pipeline: Arc<Pipeline>,
    config: LoaderConfig,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("source", &self.source.describe())
            .field("examples", &self.indices.len())
            .field("config", &self.config)
            .finish()
    }
}

impl Loader {
    /// A loader over `indices` of `source` (all of it when `None`).
    pub fn new(
        source: Arc<dyn ImageSource>,
        indices: Option<Vec<usize>>,
        pipeline: Pipeline,
        config: LoaderConfig,
    ) -> Result<Loader> {
        if config.batch_size == 0 {
            return Err(DataError::Config(
                "batch_size must be at least 1".to_owned(),
            ));
        }
        let indices = indices.unwrap_or_else(|| (0..source.len()).collect());
        if let Some(&bad) = indices.iter().find(|&&i| i >= source.len()) {
            return Err(DataError::Config(format!(
                "index {bad} out of range for {}",
                source.describe()
            )));
        }
        if indices.is_empty() {
            return Err(DataError::Config(format!(
                "no examples to load from {}",
                source.describe()
            )));
        }
        Ok(Loader {
            source,
            indices: Arc::new(indices),
            pipeline: Arc::new(pipeline),
            config,
        })
    }

    /// Number of examples per epoch (before `drop_last`).
    pub fn num_examples(&self) -> usize {
        self.indices.len()
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        let (n, b) = (self.indices.len(), self.config.batch_size);
        if self.config.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// Examples in an epoch's first `batches` batches (what a paused epoch
    /// has seen after that many steps).
    pub fn examples_in_batches(&self, batches: usize) -> usize {
        batches
            .saturating_mul(self.config.batch_size)
            .min(self.indices.len())
    }

    /// The output image shape, when the source's images share one.
    pub fn image_shape(&self) -> Option<ImageShape> {
        self.source
            .fixed_shape()
            .map(|s| self.pipeline.output_shape(s))
    }

    /// The source.
    pub fn source(&self) -> &Arc<dyn ImageSource> {
        &self.source
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// The example order of `epoch`.
    fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order = (*self.indices).clone();
        if self.config.shuffle {
            Rng::for_item(self.config.seed, SHUFFLE_STREAM, epoch).shuffle(&mut order);
        }
        order
    }

    /// The batches of `epoch`, in order.
    pub fn epoch(&self, epoch: u64) -> Batches {
        self.epoch_from(epoch, 0)
    }

    /// The batches of `epoch` from batch `start` on (a run resumed in the
    /// middle of an epoch): the same batches as [`Loader::epoch`]'s from
    /// `start`, without building the ones before it.
    pub fn epoch_from(&self, epoch: u64, start: usize) -> Batches {
        let order = Arc::new(self.order(epoch));
        let total = self.num_batches();
        let job = Arc::new(Job {
            source: Arc::clone(&self.source),
            pipeline: Arc::clone(&self.pipeline),
            order,
            batch_size: self.config.batch_size,
            seed: self.config.seed,
            epoch,
        });
        let start = start.min(total);
        let workers = self.config.workers.min(total - start);
        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx): (SyncSender<Result<Batch>>, Receiver<Result<Batch>>) =
                sync_channel(self.config.prefetch.max(1));
            let job = Arc::clone(&job);
            let handle = std::thread::Builder::new()
                .name(format!("edas-data-{w}"))
                .spawn(move || {
                    for b in (start + w..total).step_by(workers) {
                        if tx.send(job.build(b)).is_err() {
                            break; // the consumer is gone
                        }
                    }
                });
            match handle {
                Ok(h) => {
                    queues.push(rx);
                    handles.push(Some(h));
                }
                Err(_) => {
                    // Every worker's share of the batches assumes all
                    // `workers` run: with fewer, batches would come out of
                    // order. Build them on this thread instead (closing the
                    // queues stops the workers already started).
                    queues.clear();
                    for h in handles.drain(..).flatten() {
                        let _ = h.join();
                    }
                    break;
                }
            }
        }
        Batches {
            job,
            queues,
            handles,
            start,
            next: start,
            total,
        }
    }

    /// One batch of `epoch` built on the calling thread (for tests and tools).
    pub fn batch(&self, epoch: u64, b: usize) -> Result<Batch> {
        Job {
            source: Arc::clone(&self.source),
            pipeline: Arc::clone(&self.pipeline),
            order: Arc::new(self.order(epoch)),
            batch_size: self.config.batch_size,
            seed: self.config.seed,
            epoch,
        }
        .build(b)
    }
}

struct Job {
    source: Arc<dyn ImageSource>,
    pipeline: Arc<Pipeline>,
    order: Arc<Vec<usize>>,
    batch_size: usize,
    seed: u64,
    epoch: u64,
}

impl Job {
    fn build(&self, b: usize) -> Result<Batch> {
        let start = b * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        let indices = self.order[start..end].to_vec();
        let mut images = Vec::new();
        let mut labels = Vec::with_capacity(indices.len());
        let mut shape: Option<ImageShape> = None;
        for &i in &indices {
            let mut rng = Rng::for_item(self.seed ^ AUGMENT_STREAM, self.epoch, i as u64);
            let (s, values) = self.pipeline.apply(self.source.image(i)?, &mut rng)?;
            match shape {
                None => shape = Some(s),
                Some(first) if first != s => {
                    return Err(DataError::Config(format!(
                        "example {i} of {} comes out {}x{}x{}, the batch's first {}x{}x{}: add a crop or resize to the pipeline",
                        self.source.describe(),
                        s.channels,
                        s.height,
                        s.width,
                        first.channels,
                        first.height,
                        first.width
                    )));
                }
                Some(_) => {}
            }
            images.extend_from_slice(&values);
            labels.push(self.source.label(i));
        }
        let s = shape.unwrap_or(ImageShape::new(0, 0, 0));
        Ok(Batch {
            shape: [labels.len(), s.channels, s.height, s.width],
            images,
            labels,
            indices,
        })
    }
}

/// The batches of one epoch, in order (an iterator of `Result<Batch>`).
pub struct Batches {
    job: Arc<Job>,
    queues: Vec<Receiver<Result<Batch>>>,
    /// The workers, by queue (taken when one is found dead).
    handles: Vec<Option<JoinHandle<()>>>,
    /// The first batch (worker `w` builds `start + w`, `start + w + workers`, ...).
    start: usize,
    next: usize,
    total: usize,
}

impl Iterator for Batches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.next >= self.total {
            return None;
        }
        let b = self.next;
        self.next += 1;
        if self.queues.is_empty() {
            return Some(self.job.build(b));
        }
        let w = (b - self.start) % self.queues.len();
        Some(self.queues[w].recv().unwrap_or_else(|_| {
            let message = match self.handles[w].take().map(JoinHandle::join) {
                Some(Err(panic)) => panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .map_or_else(|| "it panicked".to_owned(), |m| format!("it panicked: {m}")),
                Some(Ok(())) => "it ended without sending the batch".to_owned(),
                None => "it had stopped already".to_owned(),
            };
            Err(DataError::Worker { batch: b, message })
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        // Closing the queues makes blocked workers' sends fail, so they stop.
        self.queues.clear();
        for h in self.handles.drain(..).flatten() {
            let _ = h.join();
        }
    }
}
