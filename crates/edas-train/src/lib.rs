//! `edas-train`: training and evaluation of discrete networks from scratch,
//! and the run machinery that search and training share.
//!
//! - [`optim`]: the DARTS weight optimiser set up as PyTorch behaves (SGD
//!   without dampening, global-norm clipping, cosine schedule);
//! - [`config`]: TOML configs with `--set key=value` overrides and errors
//!   naming the file and key;
//! - [`run`]: run directories (provenance, log, `metrics.jsonl`, atomic
//!   checkpoints, the finished marker);
//! - [`checkpoint`]: module and optimiser state in burnpack files;
//! - [`plot`]: self-contained SVG charts;
//! - [`progress`]: step and epoch progress for terminals and logs;
//! - [`sys`]: peak memory.
//!
//! - [`train`]: training a discrete network from scratch with DARTS'
//!   recipes, evaluation (top-1/top-5), rebuilding a trained run.

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod export;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod run;
pub mod sys;
pub mod train;

pub use error::{Result, RunError};
