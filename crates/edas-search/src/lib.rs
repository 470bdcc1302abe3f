//! `edas-search`: the clamped-variable optimizer of EDAS (this project's
//! design of arXiv:1912.01237, `docs/edas.md`) and the DARTS, GDAS and
//! random-search baselines, on the `edas-nn` supernet.
//!
//! - [`arch`]: architecture variables, the clamp `C(alpha)`, EDAS' and
//!   DARTS' edge weightings;
//! - [`sampler`]: which edges are relaxed at a step;
//! - [`adam`]: per-edge Adam that leaves every clamped edge bit-identical;
//! - [`strategy`]: the [`SearchStrategy`] trait and one file per strategy
//!   (EDAS, DARTS, GDAS, random search), each giving the weightings of its
//!   architecture step, weight step and evaluation;
//! - [`searcher`]: one iteration (architecture step, weight step) for any
//!   strategy, the pruning-gap evaluation, checkpoint state;
//! - [`config`]: the TOML search config and its checks;
//! - [`data`]: the search split, loaders and evaluation batches;
//! - [`run`]: a search as an epoch task of `edas_run`'s driver (metrics,
//!   checkpoints, resume), [`charts`] and the final files;
//! - [`bench`]: timed step cases on any device.

pub mod adam;
pub mod arch;
pub mod charts;
pub mod config;
pub mod data;
pub mod error;
pub mod records;
pub mod run;
pub mod sampler;
pub mod score;
pub mod searcher;
pub mod settings;
pub mod strategy;
pub mod strategy_name;

pub use adam::{AdamConfig, RowAdam};
pub use arch::{ArchVars, mean_entropy, softmax_rows};
pub use config::SearchConfig;
pub use edas_run::RunOptions;
pub use error::SearchError;
pub use records::{SearchRecord, SearchResults};
pub use run::{SearchOutcome, run_search, run_search_on};
pub use sampler::{EdgeDistribution, EdgeSampler};
pub use score::RunScorer;
pub use searcher::{Evaluation, Searcher, StepContext, StepStats};
pub use settings::{
    Darts2Section, EdasSection, EdasSettings, RandomSection, Regularizers, WarmupNetwork,
};
pub use strategy::{SearchStrategy, Strategy};

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
