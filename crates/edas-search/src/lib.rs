//! `edas-search`: the clamped-variable optimizer of EDAS (this project's
//! design of arXiv:1912.01237, `docs/edas.md`), on the `edas-nn` supernet.
//!
//! In place: the architecture variables and their initialisation, the clamp
//! `C(alpha)`, EDAS' per-step edge weightings (one relaxed edge per cell kind,
//! temperature, Gumbel noise), DARTS' all-relaxed weightings, the relaxed-edge
//! sampler, and the per-edge Adam that leaves every clamped edge untouched.
//! `Searcher::step` runs one EDAS iteration (architecture step, then weight
//! step with DARTS' SGD). The epoch loop, metrics, the other baselines,
//! checkpoints and `edas search` are still to come.

pub mod adam;
pub mod arch;
pub mod error;
pub mod sampler;
pub mod searcher;

pub use adam::{AdamConfig, RowAdam};
pub use arch::{ArchVars, mean_entropy, softmax_rows};
pub use error::SearchError;
pub use sampler::{EdgeDistribution, EdgeSampler};
pub use searcher::{EdasSettings, Searcher, StepStats};
