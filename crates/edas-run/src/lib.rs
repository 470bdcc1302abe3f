//! `edas-run`: the run machinery that search (`edas-search`) and training
//! (`edas-train`) share, so that neither depends on the other.
//!
//! - [`driver`]: the epoch driver: resume, `--stop-after`, the divergence
//!   stop, a checkpoint after every epoch, the metrics line, plots and the
//!   final results, for any [`EpochTask`];
//! - [`files`]: the run directory's file names, in one place;
//! - [`epoch_number`]: `metrics.jsonl` counts epochs from 1;
//! - [`status`]: a run's state (finished, stopped where, failed why) as
//!   the lab reads it, without taking the run's lock;
//! - [`dir`]: run directories (provenance, lock, log, `metrics.jsonl`,
//!   atomic checkpoints, the finished marker);
//! - [`config`]: TOML configs with `--set key=value` overrides and errors
//!   naming the file and key;
//! - [`checkpoint`]: module and optimiser state in burnpack files;
//! - [`optim`]: the DARTS weight optimiser set up as PyTorch behaves (SGD
//!   without dampening, global-norm clipping, cosine schedule);
//! - [`plot`]: self-contained SVG charts;
//! - [`progress`]: step progress for terminals and logs;
//! - [`signal`]: stopping at a step boundary on SIGTERM/SIGINT;
//! - [`sys`]: peak memory.

pub mod checkpoint;
pub mod config;
pub mod dir;
pub mod driver;
pub mod epoch_number;
pub mod error;
pub mod files;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod signal;
pub mod status;
pub mod sys;

pub use dir::{OpenMode, RunDir, RunOptions};
pub use driver::{CheckpointState, Epoch, EpochEnd, EpochRecord, EpochTask, Outcome, drive};
pub use error::{Result, RunError};
pub use signal::{INTERRUPTED, StopFlag};

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
