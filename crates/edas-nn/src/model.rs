//! A trainable network of either search space: one of DARTS' networks
//! ([`Network`]) built from a genotype, or the NAS-Bench-201 network
//! ([`Nb201Network`]) built from a cell, chosen by [`NetKind`] and checked
//! against the architecture's space.

use burn::prelude::*;
use edas_genotype::Architecture;

use crate::count::{self, NetworkCosts, Shape3};
use crate::error::NnError;
use crate::nb201::{Nb201Config, Nb201Network};
use crate::network::{Logits, NetKind, Network, NetworkConfig};

/// A discrete network of either space.
#[derive(Module, Debug)]
pub enum Model {
    /// DARTS' `NetworkCIFAR` or `NetworkImageNet`.
    Darts(Network),
    /// The NAS-Bench-201 network.
    Nb201(Nb201Network),
}

impl Model {
    /// The network of `kind` for `arch`. For `nas-bench-201`,
    /// `config.layers` counts the searched cells (3 stages of `layers / 3`),
    /// and there is no auxiliary head.
    pub fn new(
        kind: NetKind,
        arch: &Architecture,
        config: &NetworkConfig,
        device: &Device,
    ) -> Result<Model, NnError> {
        match kind {
            NetKind::Cifar | NetKind::Imagenet => {
                let genotype = arch.darts(&format!("network kind `{kind}`"))?;
                Ok(Model::Darts(Network::of_kind(
                    kind, genotype, config, device,
                )?))
            }
            NetKind::Nb201 => {
                let cell = arch.nb201(&format!("network kind `{kind}`"))?;
                Ok(Model::Nb201(Nb201Network::new(
                    cell,
                    &nb201_config(config)?,
                    device,
                )?))
            }
        }
    }

    /// `[N, C_in, H, W] -> logits`; `drop_prob` is DARTS' drop-path
    /// probability and `aux` asks for the auxiliary logits (neither exists
    /// in the NAS-Bench-201 network: it takes `drop_prob = 0`).
    pub fn forward_seeded(
        &self,
        x: Tensor<4>,
        drop_prob: f64,
        aux: bool,
        seed: Option<u64>,
    ) -> Logits {
        match self {
            Model::Darts(n) => n.forward_seeded(x, drop_prob, aux, seed),
            Model::Nb201(n) => Logits {
                logits: n.forward(x),
                aux: None,
            },
        }
    }

    /// Parameters, mult-adds and layer shapes on `[C, H, W]` inputs.
    pub fn costs(&self, input: Shape3) -> NetworkCosts {
        match self {
            Model::Darts(n) => count::network(n, input),
            Model::Nb201(n) => count::nb201_network(n, input),
        }
    }

    /// The DARTS network, if this is one.
    pub fn darts(&self) -> Option<&Network> {
        match self {
            Model::Darts(n) => Some(n),
            Model::Nb201(_) => None,
        }
    }

    /// The DARTS network, mutably, if this is one.
    pub fn darts_mut(&mut self) -> Option<&mut Network> {
        match self {
            Model::Darts(n) => Some(n),
            Model::Nb201(_) => None,
        }
    }
}

/// The NAS-Bench-201 network of a [`NetworkConfig`]: `layers` searched
/// cells in 3 stages, no auxiliary head.
pub fn nb201_config(config: &NetworkConfig) -> Result<Nb201Config, NnError> {
    if config.layers == 0 || !config.layers.is_multiple_of(3) {
        return Err(NnError::Config(format!(
            "a nas-bench-201 network has 3 stages of equally many cells: layers must be a \
             positive multiple of 3 (the benchmark: 15), got {}",
            config.layers
        )));
    }
    if config.auxiliary {
        return Err(NnError::Config(
            "a nas-bench-201 network has no auxiliary head (set network.auxiliary = false)".into(),
        ));
    }
    let c = Nb201Config {
        in_channels: config.in_channels,
        image_size: config.image_size,
        classes: config.classes,
        channels: config.channels,
        cells_per_stage: config.layers / 3,
    };
    c.check()?;
    Ok(c)
}
