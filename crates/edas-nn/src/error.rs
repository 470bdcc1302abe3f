//! Errors of the network crate.

use thiserror::Error;

/// A network that cannot be built as asked.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NnError {
    /// A configuration value out of range.
    #[error("invalid network configuration: {0}")]
    Config(String),
    /// A genotype that does not fit the network it is applied to.
    #[error("genotype does not fit the network: {0}")]
    Mismatch(String),
    /// An architecture of another search space than the network's.
    #[error(transparent)]
    Space(#[from] edas_genotype::SpaceMismatch),
    /// A tensor could not be read back from the device.
    #[error("cannot read {0} back from the device")]
    Read(String),
}
