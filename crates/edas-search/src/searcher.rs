//! One search iteration on the supernet, for every strategy: an
//! architecture step on a validation batch (EDAS: only the relaxed edges'
//! variables move), then a weight step on a training batch (`docs/edas.md`).

use std::path::Path;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use edas_data::Rng;
use edas_genotype::{CellKind, DeriveOptions, Genotype, NUM_EDGES};
use edas_nn::{
    DropPath, Network, NetworkWeights, SearchNetwork, SearchNetworkConfig, on_inner, untracked,
};
use edas_train::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use edas_train::optim::{SgdSettings, clip_global_norm, sgd};
use serde::{Deserialize, Serialize};

use crate::adam::{AdamConfig, RowAdam};
use crate::arch::ArchVars;
use crate::error::SearchError;
use crate::sampler::{EdgeDistribution, EdgeSampler};
use crate::strategy::{Strategy, explore, gdas_weights, random_genotype};

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
            arch: AdamConfig::default(),
            weights: SgdSettings::default(),
        }
    }
}

/// The scheduled quantities of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepContext {
    /// Weight learning rate.
    pub lr: f64,
    /// Softmax temperature (EDAS' relaxed edge, GDAS' sampling).
    pub tau: f64,
    /// Exploration probability on clamped edges during the weight step (EDAS).
    pub epsilon: f64,
    /// Drop-path probability on clamped edges during the weight step.
    pub drop_path: f64,
    /// Warm-up: a weight step on a uniformly sampled single path, no
    /// architecture step.
    pub warmup: bool,
}

impl StepContext {
    /// Learning rate `lr`, every regulariser off.
    pub fn plain(lr: f64) -> StepContext {
        StepContext {
            lr,
            tau: 1.0,
            epsilon: 0.0,
            drop_path: 0.0,
            warmup: false,
        }
    }
}

/// What one iteration measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepStats {
    /// Relaxed edges per cell kind (normal, reduce); empty unless EDAS.
    pub relaxed: [Vec<usize>; 2],
    /// Validation loss before the architecture step (none without one).
    pub val_loss: Option<f64>,
    /// Validation examples classified correctly in that pass.
    pub val_correct: Option<usize>,
    /// Training loss before the weight step.
    pub train_loss: f64,
    /// Training examples classified correctly (before the weight step).
    pub train_correct: usize,
    /// Global gradient norm of the weights before clipping.
    pub grad_norm: f64,
}

/// Validation accuracy of the network as searched and of the derived
/// network with the inherited weights (the pruning gap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Examples evaluated.
    pub examples: usize,
    /// Correct, supernet as searched.
    pub searched_correct: usize,
    /// Summed loss, supernet as searched.
    pub searched_loss: f64,
    /// Correct, derived discrete network.
    pub derived_correct: usize,
    /// Summed loss, derived discrete network.
    pub derived_loss: f64,
}

impl Evaluation {
    /// Accuracy of the supernet as searched.
    pub fn searched_accuracy(&self) -> f64 {
        self.searched_correct as f64 / self.examples.max(1) as f64
    }

    /// Accuracy of the derived network.
    pub fn derived_accuracy(&self) -> f64 {
        self.derived_correct as f64 / self.examples.max(1) as f64
    }

    /// `searched - derived` accuracy: what pruning loses.
    pub fn gap(&self) -> f64 {
        self.searched_accuracy() - self.derived_accuracy()
    }
}

/// The host-side state a checkpoint holds besides weights and the SGD
/// state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearcherState {
    /// `alpha[normal]`, row-major.
    pub alpha_normal: Vec<f32>,
    /// `alpha[reduce]`, row-major.
    pub alpha_reduce: Vec<f32>,
    /// Architecture Adam state per cell kind.
    pub adam: [RowAdam; 2],
    /// The search's random generator.
    pub rng: [u64; 4],
    /// The edge sampler's pending permutation.
    pub sampler_queue: Vec<usize>,
    /// Random search: the best candidate so far.
    pub best_random: Option<(Genotype, f64)>,
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
    best_random: Option<(Genotype, f64)>,
    steps: u64,
}

fn loss_and_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let correct = correct_count(logits.clone(), labels.clone());
    (cross_entropy(logits, labels), correct)
}

fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels)
}

fn correct_count(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let correct = logits
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(labels)
        .int()
        .sum()
        .into_scalar::<i64>();
    correct.max(0) as usize
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

const ALL_ROWS: [usize; NUM_EDGES] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

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
            best_random: None,
            steps: 0,
        }
    }

    /// The supernet being searched.
    pub fn network(&self) -> &SearchNetwork {
        &self.net
    }

    /// The settings.
    pub fn settings(&self) -> &EdasSettings {
        &self.settings
    }

    /// The genotype the search stands at: the clamp `C(alpha)`, or for
    /// random search the best candidate so far.
    pub fn genotype(&self) -> Result<Genotype, SearchError> {
        if self.settings.strategy == Strategy::Random
            && let Some((g, _)) = &self.best_random
        {
            return Ok(*g);
        }
        self.clamp()
    }

    /// The clamp `C(alpha)` (with the configured skip cap).
    pub fn clamp(&self) -> Result<Genotype, SearchError> {
        self.arch.derive(DeriveOptions {
            normal_skip_cap: self.settings.normal_skip_cap,
        })
    }

    /// Whether steps recompute the relaxed edges in backward (EDAS with
    /// `recompute_relaxed`).
    fn recomputes(&self) -> bool {
        self.settings.strategy == Strategy::Edas && self.settings.recompute_relaxed
    }

    /// One iteration: an architecture step on `valid` (unless warming up or
    /// searching randomly), then a weight step on `train`.
    pub fn step(
        &mut self,
        train: (Tensor<4>, Tensor<1, Int>),
        valid: (Tensor<4>, Tensor<1, Int>),
        ctx: &StepContext,
    ) -> Result<StepStats, SearchError> {
        self.steps += 1;
        let strategy = self.settings.strategy;
        let mut relaxed = [Vec::new(), Vec::new()];
        let (mut val_loss, mut val_correct) = (None, None);

        if !ctx.warmup && strategy.has_arch_step() {
            let (weights, rows) = match strategy {
                Strategy::Edas => {
                    relaxed = [
                        self.sampler.draw(&mut self.rng),
                        self.sampler.draw(&mut self.rng),
                    ];
                    let genotype = self.clamp()?;
                    let arch = self.arch.clone();
                    (
                        self.edas_weights(&arch, &genotype, &relaxed, ctx.tau),
                        relaxed.clone(),
                    )
                }
                Strategy::Darts => (
                    self.arch.darts_weights(1.0),
                    [ALL_ROWS.to_vec(), ALL_ROWS.to_vec()],
                ),
                Strategy::Gdas => (
                    gdas_weights(&self.arch, ctx.tau, &mut self.rng),
                    [ALL_ROWS.to_vec(), ALL_ROWS.to_vec()],
                ),
                Strategy::Random => unreachable!("random search has no architecture step"),
            };
            // Only alpha is trained here: an untracked copy of the weights
            // saves their gradients.
            let net = untracked(&self.net);
            // Gradients first; nothing is updated before the checks below.
            let (value, correct, grads) = if self.recomputes() {
                let labels = valid.1.clone();
                let out = net.backward_recomputing(valid.0, &weights, None, |logits| {
                    cross_entropy(logits, labels)
                });
                (
                    scalar(out.loss),
                    correct_count(out.logits, valid.1),
                    out.weights.backward(&weights),
                )
            } else {
                let (loss, correct) = loss_and_correct(net.forward(valid.0, &weights), valid.1);
                (scalar(loss.clone()), correct, Some(loss.backward()))
            };
            val_loss = Some(value);
            val_correct = Some(correct);
            if !value.is_finite() {
                // Stop before a non-finite loss moves alpha.
                return Ok(StepStats {
                    relaxed,
                    val_loss,
                    val_correct,
                    train_loss: f64::NAN,
                    train_correct: 0,
                    grad_norm: f64::NAN,
                });
            }
            let arch_grads = match grads {
                Some(mut grads) => GradientsParams::from_module(&mut grads, &self.arch),
                None => GradientsParams::new(),
            };
            let grad_of = |id| {
                arch_grads
                    .get::<2>(id)
                    .map(host)
                    .unwrap_or_else(|| vec![0.0; 112])
            };
            let (g_normal, g_reduce) = (grad_of(self.arch.normal.id), grad_of(self.arch.reduce.id));
            if let Some(bad) = g_normal.iter().chain(&g_reduce).find(|g| !g.is_finite()) {
                return Err(SearchError::NonFinite(format!(
                    "architecture gradient became {bad} (the validation loss was {value})"
                )));
            }
            let mut normal = self.arch.values(CellKind::Normal);
            let mut reduce = self.arch.values(CellKind::Reduce);
            self.arch_adam[0].step(&self.settings.arch, &mut normal, &g_normal, &rows[0]);
            self.arch_adam[1].step(&self.settings.arch, &mut reduce, &g_reduce, &rows[1]);
            self.arch.set_values(&normal, &reduce)?;
        }

        // Weight step (alpha detached: it is not trained here).
        let frozen = untracked(&self.arch);
        let weights = if ctx.warmup || strategy == Strategy::Random {
            NetworkWeights::clamped(&random_genotype(&mut self.rng))
        } else {
            match strategy {
                Strategy::Edas => {
                    let genotype = self.clamp()?;
                    let mut w = self.edas_weights(&frozen, &genotype, &relaxed, ctx.tau);
                    explore(&mut w, ctx.epsilon, &mut self.rng);
                    w
                }
                Strategy::Darts => frozen.darts_weights(1.0),
                Strategy::Gdas => gdas_weights(&frozen, ctx.tau, &mut self.rng),
                Strategy::Random => unreachable!("handled above"),
            }
        };
        let drop = (ctx.drop_path > 0.0).then(|| DropPath {
            prob: ctx.drop_path,
            seed: self.rng.next_u64(),
        });
        let (train_loss_value, train_correct, mut grads) = if self.recomputes() {
            let labels = train.1.clone();
            let out = self
                .net
                .backward_recomputing(train.0, &weights, drop, |logits| {
                    cross_entropy(logits, labels)
                });
            (
                scalar(out.loss),
                correct_count(out.logits, train.1),
                out.params,
            )
        } else {
            let (loss, correct) =
                loss_and_correct(self.net.forward_with(train.0, &weights, drop), train.1);
            let value = scalar(loss.clone());
            (
                value,
                correct,
                GradientsParams::from_grads(loss.backward(), &self.net),
            )
        };
        if !train_loss_value.is_finite() {
            // Do not let a non-finite loss move the weights.
            return Ok(StepStats {
                relaxed,
                val_loss,
                val_correct,
                train_loss: train_loss_value,
                train_correct,
                grad_norm: f64::NAN,
            });
        }
        let grad_norm = clip_global_norm(&self.net, &mut grads, self.settings.weights.grad_clip);
        // Module clones share their tensors; the old handles go when replaced.
        self.net = self.optim.step(ctx.lr, self.net.clone(), grads);
        Ok(StepStats {
            relaxed,
            val_loss,
            val_correct,
            train_loss: train_loss_value,
            train_correct,
            grad_norm,
        })
    }

    fn edas_weights(
        &mut self,
        arch: &ArchVars,
        genotype: &Genotype,
        relaxed: &[Vec<usize>; 2],
        tau: f64,
    ) -> NetworkWeights {
        let gumbel = if self.settings.gumbel {
            Some(&mut self.rng)
        } else {
            None
        };
        arch.edas_weights(genotype, relaxed, tau, gumbel)
    }

    /// The weightings of the network "as searched" for evaluation: EDAS with
    /// one freshly drawn relaxed edge per kind, DARTS' full mixture, a GDAS
    /// sample, random search's best candidate.
    fn searched_weights(
        &mut self,
        arch: &ArchVars,
        genotype: &Genotype,
        tau: f64,
    ) -> NetworkWeights {
        match self.settings.strategy {
            Strategy::Edas => {
                let relaxed = [
                    self.sampler.draw(&mut self.rng),
                    self.sampler.draw(&mut self.rng),
                ];
                self.edas_weights(arch, genotype, &relaxed, tau)
            }
            Strategy::Darts => arch.darts_weights(1.0),
            Strategy::Gdas => gdas_weights(arch, tau, &mut self.rng),
            Strategy::Random => NetworkWeights::clamped(genotype),
        }
    }

    /// Accuracy and loss over `batches` of the supernet as searched and of
    /// the derived discrete network with inherited weights.
    ///
    /// BatchNorm uses batch statistics, as during search: the running
    /// statistics of an op that runs only when its edge is relaxed are
    /// stale, and with few steps all running statistics lag the weights.
    /// Nothing is learnt from these batches (no gradient step), but the
    /// running statistics do see them.
    pub fn evaluate(
        &mut self,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
        tau: f64,
    ) -> Result<Evaluation, SearchError> {
        let genotype = self.genotype()?;
        let net = on_inner(&self.net);
        let arch = self.arch.valid();
        let derived =
            Network::from_search(&net, &genotype).map_err(|e| SearchError::Shape(e.to_string()))?;
        let mut eval = Evaluation::default();
        for (x, y) in batches {
            let (x, y) = (x.clone().inner(), y.clone().inner());
            let n = y.dims()[0];
            eval.examples += n;
            let logits = derived.forward(x.clone(), 0.0, false).logits;
            let (loss, c) = loss_and_correct(logits, y.clone());
            eval.derived_correct += c;
            eval.derived_loss += scalar(loss) * n as f64;
            let weights = self.searched_weights(&arch, &genotype, tau);
            let logits = net.forward(x, &weights);
            let (loss, c) = loss_and_correct(logits, y.clone());
            eval.searched_correct += c;
            eval.searched_loss += scalar(loss) * n as f64;
        }
        Ok(eval)
    }

    /// Accuracy over `batches` of the supernet clamped to `genotype`
    /// (random search's candidate scoring).
    pub fn score_genotype(
        &self,
        genotype: &Genotype,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
    ) -> f64 {
        let weights = NetworkWeights::clamped(genotype);
        let net = on_inner(&self.net);
        let (mut correct, mut n) = (0, 0);
        for (x, y) in batches {
            n += y.dims()[0];
            let logits = net.forward(x.clone().inner(), &weights);
            correct += loss_and_correct(logits, y.clone()).1;
        }
        correct as f64 / n.max(1) as f64
    }

    /// Random search: scores `candidates` fresh random genotypes (and the
    /// best so far) on `batches` and keeps the best.
    pub fn random_search_round(
        &mut self,
        candidates: usize,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
    ) -> (Genotype, f64) {
        let mut best = self
            .best_random
            .map(|(g, _)| (g, self.score_genotype(&g, batches)));
        for _ in 0..candidates {
            let g = random_genotype(&mut self.rng);
            let s = self.score_genotype(&g, batches);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((g, s));
            }
        }
        let best = best.unwrap_or_else(|| (random_genotype(&mut self.rng), 0.0));
        self.best_random = Some(best);
        best
    }

    /// The host-side state (see [`SearcherState`]).
    pub fn state(&self) -> SearcherState {
        SearcherState {
            alpha_normal: self.arch.values(CellKind::Normal),
            alpha_reduce: self.arch.values(CellKind::Reduce),
            adam: self.arch_adam.clone(),
            rng: self.rng.state(),
            sampler_queue: self.sampler.queue().to_vec(),
            best_random: self.best_random,
        }
    }

    /// Writes weights (`supernet.bpk`) and SGD state (`sgd.bpk`) into `dir`
    /// and returns the host-side state for the caller to store.
    pub fn save(&self, dir: &Path) -> Result<SearcherState, SearchError> {
        save_module(&self.net, &dir.join("supernet.bpk"))?;
        save_optimizer(&self.optim, &dir.join("sgd.bpk"))?;
        Ok(self.state())
    }

    /// Restores what [`Searcher::save`] wrote and `state`.
    pub fn load(&mut self, dir: &Path, state: &SearcherState) -> Result<(), SearchError> {
        load_module(&mut self.net, &dir.join("supernet.bpk"))?;
        let optim = std::mem::replace(&mut self.optim, sgd(&self.settings.weights));
        self.optim = load_optimizer(optim, &dir.join("sgd.bpk"))?;
        self.arch
            .set_values(&state.alpha_normal, &state.alpha_reduce)
            .map_err(|e| {
                SearchError::Invalid(format!(
                    "{}: the architecture variables do not fit this search space: {e}",
                    dir.join("state.json").display()
                ))
            })?;
        self.arch_adam = state.adam.clone();
        self.rng = Rng::from_state(state.rng);
        self.sampler.set_queue(state.sampler_queue.clone());
        self.best_random = state.best_random;
        Ok(())
    }
}
