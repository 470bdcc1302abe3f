//! The search strategies that share the supernet and the loop: each one
//! is a [`SearchStrategy`] in a file of its own, which says which
//! weightings the architecture step, the weight step and the evaluation
//! use; [`Strategy`] (`crate::strategy_name`) names them in configs, and
//! [`Strategy::build`] builds them. Adding a
//! strategy is a new file and a line in [`Strategy::build`].

pub mod darts;
pub mod darts2;
pub mod edas;
pub mod gdas;
pub mod pc_darts;
pub mod random;

use burn::prelude::*;
use edas_genotype::{Architecture, DeriveOptions, Genotype, NUM_OPS};
use edas_nn::{NetworkWeights, Supernet};
use edas_rng::Rng;

use crate::adam::AdamConfig;
use crate::arch::ArchVars;
use crate::error::SearchError;
use crate::sampler::EdgeSampler;
use crate::settings::EdasSettings;
pub use crate::strategy_name::Strategy;

impl Strategy {
    /// The strategy's behaviour, set up from `settings`.
    pub fn build(self, settings: &EdasSettings) -> Box<dyn SearchStrategy> {
        match self {
            Strategy::Edas => Box::new(edas::Edas::new(settings)),
            Strategy::Darts => Box::new(darts::Darts),
            Strategy::Darts2 => Box::new(darts2::Darts2 {
                r: settings.darts2.r,
            }),
            Strategy::PcDarts => Box::new(pc_darts::PcDarts::new(settings.space)),
            Strategy::Gdas => Box::new(gdas::Gdas),
            Strategy::Random => Box::new(random::RandomSearch::new(
                settings.random.candidates,
                settings.space,
            )),
        }
    }
}

/// What a strategy draws its weightings from at a step: `alpha` (live in
/// the architecture step, where gradients reach it; frozen in the weight
/// step and the evaluation), the searcher's random generator and edge
/// sampler, the settings and the temperature.
pub struct Draw<'a> {
    /// The architecture variables.
    pub arch: &'a ArchVars,
    /// The search's random generator (checkpointed).
    pub rng: &'a mut Rng,
    /// Which edges EDAS relaxes (checkpointed).
    pub sampler: &'a mut EdgeSampler,
    /// The settings.
    pub settings: &'a EdasSettings,
    /// Softmax temperature of this epoch.
    pub tau: f64,
}

impl Draw<'_> {
    /// The clamp `C(alpha)` with the configured skip cap.
    pub fn clamp(&self) -> Result<Architecture, SearchError> {
        self.arch.derive(self.settings.derive_options())
    }
}

/// The weightings of an architecture step and the rows of `alpha` it
/// updates.
pub struct ArchStep {
    /// The network's weightings (gradients reach `alpha` through them).
    pub weights: NetworkWeights,
    /// Rows of `alpha` Adam updates, per cell kind (normal, reduce); the
    /// others stay bit-identical.
    pub rows: [Vec<usize>; 2],
    /// The relaxed edges per cell kind, for the step's statistics (empty
    /// when every edge is relaxed or none is).
    pub relaxed: [Vec<usize>; 2],
}

impl ArchStep {
    /// A step that relaxes every edge and updates every row of `arch`'s
    /// cell kinds (DARTS, GDAS).
    pub fn every_row(weights: NetworkWeights, arch: &ArchVars) -> ArchStep {
        ArchStep {
            weights,
            rows: all_rows(arch),
            relaxed: [Vec::new(), Vec::new()],
        }
    }
}

/// Every row of `alpha` per cell kind (normal, reduce): all edges of the
/// kinds the space has, none of the others.
pub fn all_rows(arch: &ArchVars) -> [Vec<usize>; 2] {
    let [edges, _] = arch.shape();
    let has = |kind| arch.kinds().contains(&kind);
    [
        (0..edges).collect(),
        if has(edas_genotype::CellKind::Reduce) {
            (0..edges).collect()
        } else {
            Vec::new()
        },
    ]
}

/// What a strategy that computes its own architecture gradient sees: the
/// supernet (weights tracked), `alpha` (live), this iteration's batches,
/// and the weight optimiser's learning rate and decay.
pub struct Unrolled<'a> {
    /// The supernet.
    pub net: &'a Supernet,
    /// The architecture variables.
    pub arch: &'a ArchVars,
    /// The weight-step batch.
    pub train: &'a (Tensor<4>, Tensor<1, Int>),
    /// The architecture-step batch.
    pub valid: &'a (Tensor<4>, Tensor<1, Int>),
    /// The weight learning rate of this epoch (DARTS' `xi`).
    pub lr: f64,
    /// The weight decay.
    pub weight_decay: f64,
}

/// An architecture gradient computed by the strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchGradient {
    /// The validation loss it was taken of.
    pub val_loss: f64,
    /// Validation examples classified correctly in that pass.
    pub val_correct: usize,
    /// `d/d alpha[normal]`, row-major (DARTS: 14 x 8).
    pub normal: Vec<f32>,
    /// `d/d alpha[reduce]`.
    pub reduce: Vec<f32>,
}

/// A search strategy's behaviour. The searcher runs the same iteration for
/// all of them: an architecture step on the weightings of
/// [`SearchStrategy::arch_step`], a weight step on those of
/// [`SearchStrategy::weight_step`]; warm-up steps are the searcher's own
/// (uniform single paths, no architecture step).
pub trait SearchStrategy: Send {
    /// The architecture step's weightings, or `None` when the strategy has
    /// no architecture step.
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError>;

    /// The architecture gradient, when the strategy computes it itself
    /// (second-order DARTS); `None`: the searcher takes the gradient of the
    /// validation loss on [`SearchStrategy::arch_step`]'s weightings.
    fn arch_gradient(
        &mut self,
        _cx: &mut Unrolled<'_>,
    ) -> Result<Option<ArchGradient>, SearchError> {
        Ok(None)
    }

    /// The weight step's weightings; `arch` is this iteration's
    /// architecture step (EDAS keeps its relaxed edges).
    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        arch: Option<&ArchStep>,
        epsilon: f64,
    ) -> Result<NetworkWeights, SearchError>;

    /// The weightings of the network "as searched", for the pruning-gap
    /// evaluation; `genotype` is where the search stands.
    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError>;

    /// Whether its steps recompute the relaxed edges during backward
    /// (`edas_nn::recompute`).
    fn recomputes(&self) -> bool {
        false
    }

    /// The genotype the search stands at: the clamp `C(alpha)` by default
    /// (random search: its best candidate; PC-DARTS: derived from alpha and
    /// its edge normalisation).
    fn genotype(
        &self,
        arch: &ArchVars,
        options: DeriveOptions,
    ) -> Result<Architecture, SearchError> {
        arch.derive(options)
    }

    /// After the architecture step's backward (first-order gradient): the
    /// strategy's own variables take their gradients from `grads` and move
    /// (PC-DARTS' edge normalisation), with the architecture optimiser's
    /// settings.
    fn arch_update(
        &mut self,
        _grads: &mut burn::tensor::Gradients,
        _adam: &AdamConfig,
    ) -> Result<(), SearchError> {
        Ok(())
    }

    /// The end of a search epoch (not warm-up); `score` is a genotype's
    /// accuracy on the evaluation batches.
    fn end_epoch(
        &mut self,
        _rng: &mut Rng,
        _score: &mut dyn FnMut(&Architecture) -> f64,
    ) -> Result<(), SearchError> {
        Ok(())
    }

    /// The strategy's own checkpoint state (`null` when it has none).
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores [`SearchStrategy::state`].
    fn load_state(&mut self, _state: &serde_json::Value) -> Result<(), SearchError> {
        Ok(())
    }
}

/// Ops of the derived genotype per cell kind, in [`edas_genotype::Primitive::ALL`] order.
pub fn op_histogram(genotype: &Genotype) -> [[usize; NUM_OPS]; 2] {
    [genotype.normal.op_counts(), genotype.reduce.op_counts()]
}
