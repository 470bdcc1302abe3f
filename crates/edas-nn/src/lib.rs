//! `edas-nn`: the DARTS operations, the EDAS search supernet and the discrete
//! CIFAR/ImageNet networks on burn, with parameter and mult-add counting.
//!
//! Library code takes a `&Device` and never names a backend.

pub mod error;
pub mod network;
pub mod ops;
pub mod search;

pub use error::NnError;
pub use network::{Logits, Network, NetworkConfig, check_layers};
pub use ops::{Op, OpMode};
pub use search::{EdgeWeighting, NetworkWeights, SearchNetwork, SearchNetworkConfig};
pub mod count;
