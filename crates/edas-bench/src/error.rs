//! Errors of the step benchmarks.

use thiserror::Error;

/// Why a benchmark could not run.
#[derive(Debug, Error)]
pub enum BenchError {
    /// An unknown case, zero steps or a zero batch.
    #[error("{0}")]
    Invalid(String),
    /// The backend reported a failure while running queued work (a GPU
    /// kernel, an out-of-memory).
    #[error("the device failed: {0}")]
    Device(String),
    /// A search step failed.
    #[error(transparent)]
    Search(#[from] edas_search::SearchError),
    /// Building a network failed.
    #[error(transparent)]
    Nn(#[from] edas_nn::NnError),
}
