//! Errors of the search crate.

use thiserror::Error;

/// Errors of the architecture search.
#[derive(Debug, Error)]
pub enum SearchError {
    /// A tensor or value list of the wrong size.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The derivation rule failed (e.g. NaN architecture weights).
    #[error(transparent)]
    Derive(#[from] edas_genotype::DeriveError),
    /// The run directory, config, checkpoint or metrics.
    #[error(transparent)]
    Run(#[from] edas_train::RunError),
    /// Reading the data.
    #[error(transparent)]
    Data(#[from] edas_data::DataError),
    /// Building the network.
    #[error(transparent)]
    Nn(#[from] edas_nn::NnError),
    /// A loss became NaN or infinite; the run stopped without checkpointing.
    #[error(
        "the {which} loss became {value} at epoch {epoch}, step {step}; the run stopped and {checkpoint} \
         (lower weights.lr or arch.lr, or raise weights.grad_clip's strictness, then --resume or start over)"
    )]
    Diverged {
        /// `training` or `validation`.
        which: &'static str,
        /// The value (`NaN`, `inf`).
        value: f64,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step in the epoch.
        step: usize,
        /// What is left on disk.
        checkpoint: String,
    },
    /// A file the run writes at its end.
    #[error(transparent)]
    Genotype(#[from] edas_genotype::Error),
}
