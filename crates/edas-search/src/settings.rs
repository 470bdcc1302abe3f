//! The search's settings as the searcher and the strategies read them: the
//! sections of the search config (`configs/search/*.toml`) that steer a
//! step. `SearchConfig` holds them as its `[space]`, `[edas]`, `[regularizers]`,
//! `[random]`, `[darts2]`, `[arch]` and `[weights]` tables and
//! `SearchConfig::settings` hands them over; each key and its default is
//! written once, here.

use edas_genotype::{DeriveOptions, SearchSpace};
use edas_run::optim::SgdSettings;
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::sampler::EdgeDistribution;
use crate::strategy_name::Strategy;

/// What the searcher and its strategy read: the strategy and the config
/// sections that steer a step (this project's design; defaults are DARTS'
/// where DARTS has one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EdasSettings {
    /// The strategy.
    pub strategy: Strategy,
    /// The search space and its op set (`[space]`).
    pub space: SearchSpace,
    /// EDAS' relaxed edges (`[edas]`).
    pub edas: EdasSection,
    /// Regularisers (`[regularizers]`; the searcher reads the skip cap).
    pub regularizers: Regularizers,
    /// Random search (`[random]`).
    pub random: RandomSection,
    /// Second-order DARTS (`[darts2]`).
    pub darts2: Darts2Section,
    /// The architecture optimiser (`[arch]`).
    pub arch: AdamConfig,
    /// The weight optimiser (`[weights]`).
    pub weights: SgdSettings,
}

impl EdasSettings {
    /// `strategy` with every section at its default.
    pub fn for_strategy(strategy: Strategy) -> EdasSettings {
        EdasSettings {
            strategy,
            ..EdasSettings::default()
        }
    }

    /// The derivation rule of the clamp `C(alpha)`: the configured skip cap
    /// over the search space's ops and nodes.
    pub fn derive_options(&self) -> DeriveOptions {
        DeriveOptions::new(self.regularizers.normal_skip_cap, self.space.ops())
            .with_nodes(self.space.nodes())
    }
}

/// EDAS' relaxed edges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdasSection {
    /// Relaxed edges per cell kind per step (1..=14).
    pub relaxed_edges: usize,
    /// `uniform` or `permutation`.
    pub edge_distribution: EdgeDistribution,
    /// Softmax temperature on the relaxed edge at the first search epoch.
    pub tau_start: f64,
    /// ... and at the last (linear in between).
    pub tau_end: f64,
    /// Gumbel noise on the relaxed edge.
    pub gumbel: bool,
    /// Recompute the relaxed edges' ops in backward instead of keeping
    /// their activations (same gradients, less memory, a little more time).
    pub recompute: bool,
}

impl Default for EdasSection {
    fn default() -> Self {
        EdasSection {
            relaxed_edges: 1,
            edge_distribution: EdgeDistribution::Uniform,
            tau_start: 1.0,
            tau_end: 1.0,
            gumbel: false,
            recompute: true,
        }
    }
}

/// Regularisers (each off by default; `docs/edas.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Regularizers {
    /// Weight-only epochs first (alpha still).
    pub warmup_epochs: usize,
    /// What the warm-up epochs train: uniformly sampled single paths (the
    /// default) or the strategy's own supernet.
    pub warmup_network: WarmupNetwork,
    /// Exploration probability on clamped edges at the first search epoch,
    /// annealed linearly to 0 at the last.
    pub epsilon: f64,
    /// Drop-path probability on clamped edges in weight steps.
    pub drop_path: f64,
    /// Cap on `skip_connect` in the derived normal cell (P-DARTS: 2).
    pub normal_skip_cap: Option<usize>,
}

impl Default for Regularizers {
    fn default() -> Self {
        Regularizers {
            warmup_epochs: 0,
            warmup_network: WarmupNetwork::SinglePath,
            epsilon: 0.0,
            drop_path: 0.0,
            normal_skip_cap: None,
        }
    }
}

/// Second-order DARTS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Darts2Section {
    /// The Hessian-vector product's step `r` in `eps = r / ||grad_w'
    /// L_val||` (DARTS: 0.01).
    pub r: f64,
}

impl Default for Darts2Section {
    fn default() -> Self {
        Darts2Section { r: 0.01 }
    }
}

/// Random search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomSection {
    /// Fresh candidates scored at the end of each epoch.
    pub candidates: usize,
}

impl Default for RandomSection {
    fn default() -> Self {
        RandomSection { candidates: 8 }
    }
}

/// What a warm-up step trains (`regularizers.warmup_network`). Alpha stays
/// where it is either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarmupNetwork {
    /// A uniformly sampled single path per step: each node two distinct
    /// random inputs, each edge a random op other than `none` (the default).
    #[default]
    SinglePath,
    /// The strategy's own weight-step network with alpha still: DARTS' and
    /// PC-DARTS' mixtures (at the initial, near-uniform alpha: PC-DARTS'
    /// warm-up), EDAS' clamped network, GDAS' sampled paths.
    Supernet,
}
