//! Errors of training and evaluation.

use edas_run::RunError;

/// Errors of a training or evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Run directory, config, checkpoint, a diverged loss.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Data.
    #[error(transparent)]
    Data(#[from] edas_data::DataError),
    /// The network cannot be built or read.
    #[error(transparent)]
    Nn(#[from] edas_nn::NnError),
    /// Weights from PyTorch that do not fit.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// A genotype file.
    #[error(transparent)]
    Genotype(#[from] edas_genotype::Error),
}
