//! One EDAS iteration on the supernet: sample the relaxed edges, an
//! architecture step on a validation batch that moves only their variables,
//! then a weight step on a training batch with the same relaxed edges
//! (`docs/edas.md`).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use edas_data::Rng;
use edas_genotype::{CellKind, DeriveOptions, Genotype};
use edas_nn::{Network, NetworkWeights, SearchNetwork, SearchNetworkConfig};
use edas_train::optim::{SgdSettings, clip_global_norm, sgd};
use serde::{Deserialize, Serialize};

use crate::adam::{AdamConfig, RowAdam};
use crate::arch::ArchVars;
use crate::error::SearchError;
use crate::sampler::{EdgeDistribution, EdgeSampler};

/// EDAS' settings (this project's design; defaults are DARTS' where DARTS
/// has one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdasSettings {
    /// Relaxed edges per cell kind per step.
    pub relaxed_edges: usize,
    /// How they are drawn.
    pub edge_distribution: EdgeDistribution,
    /// Softmax temperature on the relaxed edge.
    pub tau: f64,
    /// Add Gumbel noise to the relaxed edge's variables.
    pub gumbel: bool,
    /// Cap on `skip_connect` in the derived normal cell.
    pub normal_skip_cap: Option<usize>,
    /// The architecture optimiser.
    pub arch: AdamConfig,
    /// The weight optimiser.
    pub weights: SgdSettings,
}

impl Default for EdasSettings {
    fn default() -> Self {
        EdasSettings {
            relaxed_edges: 1,
            edge_distribution: EdgeDistribution::Uniform,
            tau: 1.0,
            gumbel: false,
            normal_skip_cap: None,
            arch: AdamConfig::default(),
            weights: SgdSettings::default(),
        }
    }
}

/// What one iteration measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepStats {
    /// Relaxed edges per cell kind (normal, reduce).
    pub relaxed: [Vec<usize>; 2],
    /// Validation loss before the architecture step.
    pub val_loss: f64,
    /// Training loss before the weight step.
    pub train_loss: f64,
    /// Training examples classified correctly (before the weight step).
    pub train_correct: usize,
    /// Global gradient norm of the weights before clipping.
    pub grad_norm: f64,
}

/// The supernet, its architecture variables and both optimisers.
pub struct Searcher {
    /// The supernet.
    pub net: SearchNetwork,
    /// `alpha`.
    pub arch: ArchVars,
    arch_adam: [RowAdam; 2],
    optim: ModuleOptimizer,
    sampler: EdgeSampler,
    rng: Rng,
    settings: EdasSettings,
}

fn loss_and_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let correct = logits
        .clone()
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar::<i64>();
    let loss = CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels);
    (loss, correct.max(0) as usize)
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

impl Searcher {
    /// A supernet and variables initialised from `seed` on `device` (an
    /// autodiff device).
    pub fn new(
        config: &SearchNetworkConfig,
        settings: EdasSettings,
        seed: u64,
        device: &Device,
    ) -> Searcher {
        device.seed(seed);
        Searcher {
            net: SearchNetwork::new(config, device),
            arch: ArchVars::init(seed, device),
            arch_adam: [RowAdam::default(), RowAdam::default()],
            optim: sgd(&settings.weights),
            sampler: EdgeSampler::new(settings.relaxed_edges, settings.edge_distribution),
            rng: Rng::for_item(seed, 0x5345_4152, 0),
            settings,
        }
    }

    /// The current clamp `C(alpha)`.
    pub fn genotype(&self) -> Result<Genotype, SearchError> {
        self.arch.derive(DeriveOptions {
            normal_skip_cap: self.settings.normal_skip_cap,
        })
    }

    /// One EDAS iteration at learning rate `lr`: architecture step on
    /// `valid`, then weight step on `train`, both with the same relaxed edges.
    pub fn step(
        &mut self,
        train: (Tensor<4>, Tensor<1, Int>),
        valid: (Tensor<4>, Tensor<1, Int>),
        lr: f64,
    ) -> Result<StepStats, SearchError> {
        let relaxed = [
            self.sampler.draw(&mut self.rng),
            self.sampler.draw(&mut self.rng),
        ];
        let genotype = self.genotype()?;

        // Architecture step: gradient of the validation loss w.r.t. alpha[t][r].
        let weights = self.weightings(&genotype, &relaxed);
        let (val_loss, _) = loss_and_correct(self.net.forward(valid.0, &weights), valid.1);
        let val_loss_value = f64::from(val_loss.clone().into_scalar::<f32>());
        let mut grads = val_loss.backward();
        let arch_grads = GradientsParams::from_module(&mut grads, &self.arch);
        let grad_of = |id| {
            arch_grads
                .get::<2>(id)
                .map(host)
                .unwrap_or_else(|| vec![0.0; 112])
        };
        let (g_normal, g_reduce) = (grad_of(self.arch.normal.id), grad_of(self.arch.reduce.id));
        let mut normal = self.arch.values(CellKind::Normal);
        let mut reduce = self.arch.values(CellKind::Reduce);
        self.arch_adam[0].step(&self.settings.arch, &mut normal, &g_normal, &relaxed[0]);
        self.arch_adam[1].step(&self.settings.arch, &mut reduce, &g_reduce, &relaxed[1]);
        self.arch.set_values(&normal, &reduce)?;

        // Weight step with the same relaxed edges, on the updated clamp.
        let genotype = self.genotype()?;
        let weights = self.weightings(&genotype, &relaxed);
        let (train_loss, train_correct) =
            loss_and_correct(self.net.forward(train.0, &weights), train.1);
        let train_loss_value = f64::from(train_loss.clone().into_scalar::<f32>());
        let mut grads = GradientsParams::from_grads(train_loss.backward(), &self.net);
        let grad_norm = clip_global_norm(&self.net, &mut grads, self.settings.weights.grad_clip);
        // Module clones share their tensors; the old handles go when replaced.
        self.net = self.optim.step(lr, self.net.clone(), grads);
        Ok(StepStats {
            relaxed,
            val_loss: val_loss_value,
            train_loss: train_loss_value,
            train_correct,
            grad_norm,
        })
    }

    fn weightings(&mut self, genotype: &Genotype, relaxed: &[Vec<usize>; 2]) -> NetworkWeights {
        let gumbel = if self.settings.gumbel {
            Some(&mut self.rng)
        } else {
            None
        };
        self.arch
            .edas_weights(genotype, relaxed, self.settings.tau, gumbel)
    }

    /// Validation accuracy of the derived network with inherited weights and
    /// of the supernet with every edge clamped (equal by construction) and
    /// with one relaxed edge per kind as in training: `(derived, searched)`
    /// correct counts over `batches`.
    pub fn evaluate(
        &mut self,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
    ) -> Result<(usize, usize), SearchError> {
        let genotype = self.genotype()?;
        let derived = Network::from_search(&self.net, &genotype)
            .map_err(|e| SearchError::Shape(e.to_string()))?;
        let (mut d, mut s) = (0, 0);
        for (x, y) in batches {
            let x = x.clone().detach();
            d += loss_and_correct(derived.forward(x.clone(), 0.0, false).logits, y.clone()).1;
            let relaxed = [
                self.sampler.draw(&mut self.rng),
                self.sampler.draw(&mut self.rng),
            ];
            let weights = self.weightings(&genotype, &relaxed);
            s += loss_and_correct(self.net.forward(x, &weights), y.clone()).1;
        }
        Ok((d, s))
    }
}
