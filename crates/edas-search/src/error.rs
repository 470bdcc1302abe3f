//! Errors of the search crate.

use edas_genotype::CellKind;
use thiserror::Error;

/// Errors of the architecture search.
#[derive(Debug, Error)]
pub enum SearchError {
    /// Architecture variables of the wrong size (a checkpoint of another
    /// search space).
    #[error(
        "{kind} alpha has {values} values, expected {expected} (edges x ops of the search space)"
    )]
    AlphaSize {
        /// The cell kind.
        kind: CellKind,
        /// How many values were given.
        values: usize,
        /// How many the space has (DARTS: 112, 14 edges x 8 ops).
        expected: usize,
    },
    /// The derivation rule failed (e.g. NaN architecture weights).
    #[error(transparent)]
    Derive(#[from] edas_genotype::DeriveError),
    /// The run directory, config, checkpoint, metrics, or a diverged loss.
    #[error(transparent)]
    Run(#[from] edas_run::RunError),
    /// Reading the data.
    #[error(transparent)]
    Data(#[from] edas_data::DataError),
    /// Building the network, reading a tensor back.
    #[error(transparent)]
    Nn(#[from] edas_nn::NnError),
    /// A gradient or value that must be finite is not (the caller adds
    /// where).
    #[error("{0}")]
    NonFinite(String),
    /// A checkpoint or state that does not fit the run (the caller says
    /// what).
    #[error("{0}")]
    Invalid(String),
    /// A genotype that cannot be built or written.
    #[error(transparent)]
    Genotype(#[from] edas_genotype::Error),
}

impl From<edas_genotype::GenotypeError> for SearchError {
    fn from(e: edas_genotype::GenotypeError) -> SearchError {
        SearchError::Genotype(e.into())
    }
}
