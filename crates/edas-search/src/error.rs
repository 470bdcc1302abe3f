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
        "the {what} at epoch {epoch}, step {step}; the run stopped and {checkpoint} \
         (lower weights.lr or arch.lr, or clip gradients harder with weights.grad_clip, then start over)"
    )]
    Diverged {
        /// What became non-finite (`training loss became NaN`).
        what: String,
        /// The value (`NaN`, `inf`).
        value: f64,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step in the epoch.
        step: usize,
        /// What is left on disk.
        checkpoint: String,
    },
    /// A gradient or value that must be finite is not (the caller adds
    /// where).
    #[error("{0}")]
    NonFinite(String),
    /// An argument out of its range (an unknown benchmark case, zero steps).
    #[error("{0}")]
    Invalid(String),
    /// The backend reported a failure while running queued work (a GPU
    /// kernel, an out-of-memory).
    #[error("the device failed: {0}")]
    Device(String),
    /// A file the run writes at its end.
    #[error(transparent)]
    Genotype(#[from] edas_genotype::Error),
}
