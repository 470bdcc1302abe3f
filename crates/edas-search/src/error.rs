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
}
