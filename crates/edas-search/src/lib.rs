//! `edas-search`: the clamped-variable optimizer of EDAS (this project's
//! design of arXiv:1912.01237, `docs/edas.md`) and the DARTS, GDAS and
//! random-search baselines, on the `edas-nn` supernet.
//!
//! - [`arch`]: architecture variables, the clamp `C(alpha)`, EDAS' and
//!   DARTS' edge weightings;
//! - [`sampler`]: which edges are relaxed at a step;
//! - [`adam`]: per-edge Adam that leaves every clamped edge bit-identical;
//! - [`strategy`]: the strategies, GDAS' straight-through weightings,
//!   random single paths, epsilon-exploration;
//! - [`searcher`]: one iteration (architecture step, weight step), the
//!   pruning-gap evaluation, checkpoint state;
//! - [`config`]: the TOML search config and its checks;
//! - [`run`]: the epoch loop with metrics, plots, checkpoints and resume.

pub mod adam;
pub mod arch;
pub mod bench;
pub mod config;
pub mod error;
pub mod run;
pub mod sampler;
pub mod searcher;
pub mod strategy;

pub use adam::{AdamConfig, RowAdam};
pub use arch::{ArchVars, mean_entropy, softmax_rows};
pub use config::SearchConfig;
pub use edas_train::run::RunOptions;
pub use error::SearchError;
pub use run::{EpochRecord, SearchOutcome, SearchResults, run_search};
pub use sampler::{EdgeDistribution, EdgeSampler};
pub use searcher::{EdasSettings, Evaluation, Searcher, StepContext, StepStats};
pub use strategy::Strategy;
