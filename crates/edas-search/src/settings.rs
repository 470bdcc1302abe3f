//! The search's settings as the searcher and the strategies read them
//! (`SearchConfig::settings` makes them from a config file).

use edas_run::optim::SgdSettings;
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::sampler::EdgeDistribution;
use crate::strategy_name::Strategy;

/// The settings of the optimiser (this project's design; defaults are
/// DARTS' where DARTS has one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdasSettings {
    /// The strategy.
    pub strategy: Strategy,
    /// Relaxed edges per cell kind per step (EDAS).
    pub relaxed_edges: usize,
    /// How they are drawn (EDAS).
    pub edge_distribution: EdgeDistribution,
    /// Add Gumbel noise to the relaxed edge's variables (EDAS).
    pub gumbel: bool,
    /// Compute the relaxed edges' ops again during backward instead of
    /// keeping their activations (EDAS; same gradients up to summation
    /// order, less memory: `edas_nn::recompute`).
    pub recompute_relaxed: bool,
    /// Cap on `skip_connect` in the derived normal cell.
    pub normal_skip_cap: Option<usize>,
    /// Random search: genotypes scored per epoch.
    pub random_candidates: usize,
    /// Second-order DARTS: the Hessian-vector product's step `r`.
    pub darts2_r: f64,
    /// The architecture optimiser.
    pub arch: AdamConfig,
    /// The weight optimiser.
    pub weights: SgdSettings,
}

impl Default for EdasSettings {
    fn default() -> Self {
        EdasSettings {
            strategy: Strategy::Edas,
            relaxed_edges: 1,
            edge_distribution: EdgeDistribution::Uniform,
            gumbel: false,
            recompute_relaxed: true,
            normal_skip_cap: None,
            random_candidates: 8,
            darts2_r: 0.01,
            arch: AdamConfig::default(),
            weights: SgdSettings::default(),
        }
    }
}
