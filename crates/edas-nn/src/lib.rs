//! `edas-nn`: the DARTS operations, the EDAS search supernet, the discrete
//! CIFAR/ImageNet networks and the NAS-Bench-201 network on burn, with
//! parameter and mult-add counting.
//!
//! Library code takes a `&Device` and never names a backend.

// Module enums hold their modules inline because burn's `Module` derive
// walks them; burn's `slice` takes an array of ranges, one per dimension.
#![allow(clippy::large_enum_variant, clippy::single_range_in_vec_init)]

pub mod any_supernet;
pub mod error;
pub mod host;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod nb201;
pub mod nb201_search;
pub mod network;
pub mod ops;
pub mod pointwise;
pub mod pool;
pub mod recompute;
pub mod scaffold;
pub mod supernet;

pub use any_supernet::Supernet;
pub use error::NnError;
pub use host::to_host;
pub use model::Model;
pub use nb201::{Nb201Config, Nb201Network};
pub use network::{Logits, NetKind, Network, NetworkConfig, check_layers};
pub use ops::{Op, OpMode};
pub use recompute::{Recomputed, WeightGrads, on_inner, untracked};
pub use supernet::{DropPath, EdgeWeighting, NetworkWeights, SearchNetwork, SearchNetworkConfig};
pub mod conv;
pub mod count;

/// The crate README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
