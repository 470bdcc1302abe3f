//! A supernet of either search space ([`Supernet`]): DARTS' cell supernet
//! ([`SearchNetwork`]) or NAS-Bench-201's ([`Nb201SearchNetwork`]), with
//! what the search loop asks of it: forward passes under per-edge
//! weightings, and the derived discrete network with inherited weights.

use burn::prelude::*;
use edas_genotype::{Architecture, SpaceName};

use crate::error::NnError;
use crate::model::Model;
use crate::nb201::{Nb201Config, Nb201Network};
use crate::nb201_search::Nb201SearchNetwork;
use crate::network::Network;
use crate::supernet::{DropPath, NetworkWeights, SearchNetwork, SearchNetworkConfig};

/// A supernet of either space.
#[derive(Module, Debug)]
pub enum Supernet {
    /// DARTS' supernet.
    Darts(SearchNetwork),
    /// NAS-Bench-201's supernet.
    Nb201(Nb201SearchNetwork),
}

impl Supernet {
    /// The supernet of `config.space`. For NAS-Bench-201, `config.layers`
    /// counts the searched cells (3 stages of `layers / 3`) and
    /// `config.image_size` must be a multiple of 4 (0: not checked).
    pub fn new(config: &SearchNetworkConfig, device: &Device) -> Result<Supernet, NnError> {
        match config.space {
            SpaceName::Darts => Ok(Supernet::Darts(SearchNetwork::new(config, device))),
            SpaceName::NasBench201 => {
                if config.layers == 0 || !config.layers.is_multiple_of(3) {
                    return Err(NnError::Config(format!(
                        "a nas-bench-201 supernet has 3 stages of equally many cells: layers \
                         must be a positive multiple of 3, got {}",
                        config.layers
                    )));
                }
                let nb = Nb201Config {
                    in_channels: config.in_channels,
                    // 0: the caller does not know the size; any multiple of 4
                    // passes the check.
                    image_size: if config.image_size == 0 {
                        4
                    } else {
                        config.image_size
                    },
                    classes: config.classes,
                    channels: config.channels,
                    cells_per_stage: config.layers / 3,
                };
                Ok(Supernet::Nb201(Nb201SearchNetwork::new(
                    &nb,
                    config.ops,
                    config.partial_channels,
                    device,
                )?))
            }
        }
    }

    /// The space it searches.
    pub fn space(&self) -> SpaceName {
        match self {
            Supernet::Darts(_) => SpaceName::Darts,
            Supernet::Nb201(_) => SpaceName::NasBench201,
        }
    }

    /// DARTS' supernet, if this is one.
    pub fn darts(&self) -> Option<&SearchNetwork> {
        match self {
            Supernet::Darts(n) => Some(n),
            Supernet::Nb201(_) => None,
        }
    }

    /// The partial channel connections `K` of its edges.
    pub fn partial_channels(&self) -> usize {
        match self {
            Supernet::Darts(n) => n.partial_channels(),
            Supernet::Nb201(n) => n.partial_channels(),
        }
    }

    /// `[N, C_in, H, W] -> logits` under `weights`.
    pub fn forward(&self, x: Tensor<4>, weights: &NetworkWeights) -> Tensor<2> {
        self.forward_with(x, weights, None)
    }

    /// [`Supernet::forward`] with optional drop-path on clamped edges.
    pub fn forward_with(
        &self,
        x: Tensor<4>,
        weights: &NetworkWeights,
        drop: Option<DropPath>,
    ) -> Tensor<2> {
        match self {
            Supernet::Darts(n) => n.forward_with(x, weights, drop),
            Supernet::Nb201(n) => n.forward_with(x, weights, drop),
        }
    }

    /// The derived discrete network of `arch` with the supernet's weights,
    /// or `None` for a partial-channel supernet (whose derived network is
    /// the supernet clamped to `arch`).
    pub fn derived(&self, arch: &Architecture) -> Result<Option<Model>, NnError> {
        if self.partial_channels() > 1 {
            return Ok(None);
        }
        Ok(Some(match self {
            Supernet::Darts(n) => {
                Model::Darts(Network::from_search(n, arch.darts("DARTS' supernet")?)?)
            }
            Supernet::Nb201(n) => Model::Nb201(Nb201Network::from_search(
                n,
                arch.nb201("the nas-bench-201 supernet")?,
            )?),
        }))
    }
}
