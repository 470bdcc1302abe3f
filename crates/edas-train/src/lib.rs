//! `edas-train`: training and evaluation of discrete networks from scratch
//! with DARTS' recipes, on the run machinery of `edas-run`.
//!
//! - [`config`]: the training config (`configs/train/`) and its checks;
//! - [`train`]: [`run_train`], a training run as an epoch task of the
//!   shared driver (resume, stop-after, divergence stop, checkpoints);
//! - [`evaluate`]: top-1, top-5 and loss on a test set;
//! - [`trained`]: a trained run directory rebuilt (config, genotype,
//!   network with its weights);
//! - [`export`]: weights as safetensors with DARTS' PyTorch names;
//! - [`onnx`]: the network as an ONNX model for inference;
//! - [`import`]: weights of a PyTorch DARTS network (`model.pt`) into a
//!   network, and [`import_run`] into a run directory.

pub mod config;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod import;
pub mod onnx;
pub mod records;
pub mod train;
pub mod trained;

pub use config::TrainConfig;
pub use error::TrainError;
pub use evaluate::{EvalResult, Predictions, evaluate, evaluate_observed};
pub use import::{DartsShape, DartsWeights, ImportError, ImportReport};
pub use records::{TrainOutcome, TrainRecord, TrainResults};
pub use train::{import_run, run_train, run_train_on};
pub use trained::{TrainedRun, build_network, load_run};

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
