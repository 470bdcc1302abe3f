//! One search iteration on the supernet, for every strategy: an
//! architecture step on a validation batch (EDAS: only the relaxed edges'
//! variables move), then a weight step on a training batch (`docs/edas.md`).

use std::path::Path;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Gradients;
use edas_genotype::{Architecture, CellKind};
use edas_nn::loss::{correct_count, cross_entropy};
use edas_nn::{
    DropPath, NetworkWeights, SearchNetworkConfig, Supernet, on_inner, to_host, untracked,
};
use edas_rng::Rng;
use edas_run::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use edas_run::files::{SGD_FILE, STATE_FILE, SUPERNET_FILE};
use edas_run::optim::{clip_global_norm, sgd};
use serde::{Deserialize, Serialize};

use crate::adam::RowAdam;
use crate::arch::ArchVars;
use crate::error::SearchError;
use crate::sampler::EdgeSampler;
use crate::settings::{EdasSettings, WarmupNetwork};
use crate::strategy::{ArchStep, Draw, SearchStrategy, Unrolled};

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
    /// Warm-up (`Some`): a weight step only, no architecture step, on the
    /// network it names.
    pub warmup: Option<WarmupNetwork>,
}

impl StepContext {
    /// Learning rate `lr`, every regulariser off.
    pub fn plain(lr: f64) -> StepContext {
        StepContext {
            lr,
            tau: 1.0,
            epsilon: 0.0,
            drop_path: 0.0,
            warmup: None,
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
    /// The strategy's own state (random search: the best candidate so far).
    #[serde(default)]
    pub strategy: serde_json::Value,
}

/// The supernet, its architecture variables and both optimisers.
pub struct Searcher {
    /// The supernet.
    pub net: Supernet,
    /// `alpha`.
    pub arch: ArchVars,
    arch_adam: [RowAdam; 2],
    optim: ModuleOptimizer,
    sampler: EdgeSampler,
    rng: Rng,
    settings: EdasSettings,
    strategy: Box<dyn SearchStrategy>,
}

fn loss_and_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let correct = correct_count(logits.clone(), labels.clone());
    (cross_entropy(logits, labels), correct)
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

impl Searcher {
    /// A supernet and variables initialised from `seed` on `device` (an
    /// autodiff device). The supernet is of `settings.space` and its edges
    /// hold that space's ops (whatever `config.space` and `config.ops`
    /// say).
    pub fn new(
        config: &SearchNetworkConfig,
        settings: EdasSettings,
        seed: u64,
        device: &Device,
    ) -> Result<Searcher, SearchError> {
        device.seed(seed);
        let space = settings.space;
        let [edges, ops] = crate::arch::shape_of(space);
        Ok(Searcher {
            net: Supernet::new(
                &SearchNetworkConfig {
                    ops: space.ops(),
                    space: space.name(),
                    nodes: space.nodes(),
                    ..config.clone()
                },
                device,
            )?,
            arch: ArchVars::init_in(space, seed, device),
            arch_adam: [
                RowAdam::with_shape(edges, ops),
                RowAdam::with_shape(edges, ops),
            ],
            optim: sgd(&settings.weights),
            sampler: EdgeSampler::new(
                settings.edas.relaxed_edges,
                settings.edas.edge_distribution,
                edges,
            ),
            rng: Rng::for_item(seed, 0x5345_4152, 0),
            strategy: settings.strategy.build(&settings),
            settings,
        })
    }

    /// The supernet being searched.
    pub fn network(&self) -> &Supernet {
        &self.net
    }

    /// The settings.
    pub fn settings(&self) -> &EdasSettings {
        &self.settings
    }

    /// The architecture the search stands at: the clamp `C(alpha)`, or for
    /// random search the best candidate so far.
    pub fn genotype(&self) -> Result<Architecture, SearchError> {
        self.strategy
            .genotype(&self.arch, self.settings.derive_options())
    }

    /// One iteration: an architecture step on `valid` (unless warming up or
    /// the strategy has none), then a weight step on `train`. The strategy
    /// chooses the weightings of both; warm-up trains a uniformly sampled
    /// single path.
    pub fn step(
        &mut self,
        train: (Tensor<4>, Tensor<1, Int>),
        valid: (Tensor<4>, Tensor<1, Int>),
        ctx: &StepContext,
    ) -> Result<StepStats, SearchError> {
        // Recomputation is DARTS' supernet's (`edas_nn::recompute`).
        let recomputes = self.strategy.recomputes() && self.net.darts().is_some();
        let arch_step = if ctx.warmup.is_some() {
            None
        } else {
            let mut draw = Draw {
                arch: &self.arch,
                rng: &mut self.rng,
                sampler: &mut self.sampler,
                settings: &self.settings,
                tau: ctx.tau,
            };
            self.strategy.arch_step(&mut draw)?
        };
        let mut stats = StepStats {
            relaxed: arch_step
                .as_ref()
                .map(|a| a.relaxed.clone())
                .unwrap_or_default(),
            val_loss: None,
            val_correct: None,
            train_loss: f64::NAN,
            train_correct: 0,
            grad_norm: f64::NAN,
        };

        if let Some(step) = &arch_step {
            let mut rest_grads = None;
            let own = self.strategy.arch_gradient(&mut Unrolled {
                net: &self.net,
                arch: &self.arch,
                train: &train,
                valid: &valid,
                lr: ctx.lr,
                weight_decay: self.settings.weights.weight_decay,
            })?;
            let (value, g_normal, g_reduce) = match own {
                Some(g) => {
                    stats.val_loss = Some(g.val_loss);
                    stats.val_correct = Some(g.val_correct);
                    (g.val_loss, g.normal, g.reduce)
                }
                None => {
                    let (value, correct, g) =
                        self.first_order_gradient(step, &valid, recomputes)?;
                    stats.val_loss = Some(value);
                    stats.val_correct = Some(correct);
                    match g {
                        Some((n, r, rest)) => {
                            rest_grads = rest;
                            (value, n, r)
                        }
                        // Stop before a non-finite loss moves alpha.
                        None => return Ok(stats),
                    }
                }
            };
            if !value.is_finite() {
                return Ok(stats);
            }
            if let Some(bad) = g_normal.iter().chain(&g_reduce).find(|g| !g.is_finite()) {
                return Err(SearchError::NonFinite(format!(
                    "architecture gradient became {bad} (the validation loss was {value})"
                )));
            }
            let mut normal = self.arch.values(CellKind::Normal)?;
            let mut reduce = self.arch.values(CellKind::Reduce)?;
            self.arch_adam[0].step(&self.settings.arch, &mut normal, &g_normal, &step.rows[0]);
            self.arch_adam[1].step(&self.settings.arch, &mut reduce, &g_reduce, &step.rows[1]);
            self.arch.set_values(&normal, &reduce)?;
            if let Some(mut grads) = rest_grads {
                self.strategy.arch_update(&mut grads, &self.settings.arch)?;
            }
        }

        // Weight step (alpha detached: it is not trained here).
        let frozen = untracked(&self.arch);
        let weights = if ctx.warmup == Some(WarmupNetwork::SinglePath) {
            let space = self.settings.space;
            NetworkWeights::clamped_arch(&Architecture::random(
                space.name(),
                space.ops(),
                &mut self.rng,
            )?)
        } else {
            let mut draw = Draw {
                arch: &frozen,
                rng: &mut self.rng,
                sampler: &mut self.sampler,
                settings: &self.settings,
                tau: ctx.tau,
            };
            self.strategy
                .weight_step(&mut draw, arch_step.as_ref(), ctx.epsilon)?
        };
        let drop = (ctx.drop_path > 0.0).then(|| DropPath {
            prob: ctx.drop_path,
            seed: self.rng.next_u64(),
        });
        let darts_net = self.net.darts().filter(|_| recomputes);
        let (train_loss, train_correct, mut grads) = if let Some(net) = darts_net {
            let labels = train.1.clone();
            let out = net.backward_recomputing(train.0, &weights, drop, |logits| {
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
        stats.train_loss = train_loss;
        stats.train_correct = train_correct;
        if !train_loss.is_finite() {
            // Do not let a non-finite loss move the weights.
            return Ok(stats);
        }
        stats.grad_norm = clip_global_norm(&self.net, &mut grads, self.settings.weights.grad_clip);
        // Module clones share their tensors; the old handles go when replaced.
        self.net = self.optim.step(ctx.lr, self.net.clone(), grads);
        Ok(stats)
    }

    /// The gradient of the validation loss on `step`'s weightings with
    /// respect to `alpha` (weights untracked): the loss, the correct
    /// count and `(normal, reduce)`, or no gradient when the loss is not
    /// finite.
    #[allow(clippy::type_complexity)]
    fn first_order_gradient(
        &self,
        step: &ArchStep,
        valid: &(Tensor<4>, Tensor<1, Int>),
        recomputes: bool,
    ) -> Result<(f64, usize, Option<(Vec<f32>, Vec<f32>, Option<Gradients>)>), SearchError> {
        // Only alpha is trained here: an untracked copy of the weights
        // saves their gradients.
        let net = untracked(&self.net);
        // Gradients first; nothing is updated before the checks.
        let darts_net = net.darts().filter(|_| recomputes);
        let (value, correct, grads) = if let Some(darts) = darts_net {
            let labels = valid.1.clone();
            let out = darts.backward_recomputing(valid.0.clone(), &step.weights, None, |logits| {
                cross_entropy(logits, labels)
            });
            (
                scalar(out.loss),
                correct_count(out.logits, valid.1.clone()),
                out.weights.backward(&step.weights),
            )
        } else {
            let logits = net.forward(valid.0.clone(), &step.weights);
            let (loss, correct) = loss_and_correct(logits, valid.1.clone());
            // A relaxed edge whose output cannot reach the cell's output (a
            // NAS-Bench-201 node that only `none` edges leave) gives the
            // loss no path to alpha: no gradient, not an error.
            let grads = loss.is_tracked().then(|| loss.backward());
            (scalar(loss), correct, grads)
        };
        if !value.is_finite() {
            return Ok((value, correct, None));
        }
        let g = match grads {
            Some(mut grads) => {
                let [normal, reduce] = self.arch.take_grads(&mut grads);
                (to_host(normal)?, to_host(reduce)?, Some(grads))
            }
            // No weighting carried a gradient (every edge clamped).
            None => {
                let [edges, ops] = self.arch.shape();
                (vec![0.0; edges * ops], vec![0.0; edges * ops], None)
            }
        };
        Ok((value, correct, Some(g)))
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
        // A partial-channel supernet (PC-DARTS) has no discrete network to
        // hand its weights to: its derived network is the supernet clamped
        // to the genotype.
        let derived = net.derived(&genotype)?;
        let clamped = NetworkWeights::clamped_arch(&genotype);
        let mut eval = Evaluation::default();
        for (x, y) in batches {
            let (x, y) = (x.clone().inner(), y.clone().inner());
            let n = y.dims()[0];
            eval.examples += n;
            let logits = match &derived {
                Some(d) => d.forward_seeded(x.clone(), 0.0, false, None).logits,
                None => net.forward(x.clone(), &clamped),
            };
            let (loss, c) = loss_and_correct(logits, y.clone());
            eval.derived_correct += c;
            eval.derived_loss += scalar(loss) * n as f64;
            let mut draw = Draw {
                arch: &arch,
                rng: &mut self.rng,
                sampler: &mut self.sampler,
                settings: &self.settings,
                tau,
            };
            let weights = self.strategy.searched(&mut draw, &genotype)?;
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
        genotype: &Architecture,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
    ) -> f64 {
        score_on(&on_inner(&self.net), genotype, batches)
    }

    /// The end of a search epoch (not warm-up): the strategy's own work on
    /// the evaluation `batches` (random search scores its candidates).
    pub fn end_epoch(
        &mut self,
        batches: &[(Tensor<4>, Tensor<1, Int>)],
    ) -> Result<(), SearchError> {
        let net = on_inner(&self.net);
        let mut score = |g: &Architecture| score_on(&net, g, batches);
        self.strategy.end_epoch(&mut self.rng, &mut score)
    }

    /// The host-side state (see [`SearcherState`]).
    pub fn state(&self) -> Result<SearcherState, SearchError> {
        Ok(SearcherState {
            alpha_normal: self.arch.values(CellKind::Normal)?,
            alpha_reduce: self.arch.values(CellKind::Reduce)?,
            adam: self.arch_adam.clone(),
            rng: self.rng.state(),
            sampler_queue: self.sampler.queue().to_vec(),
            strategy: self.strategy.state(),
        })
    }

    /// Writes weights (`supernet.bpk`) and SGD state (`sgd.bpk`) into `dir`
    /// and returns the host-side state for the caller to store.
    pub fn save(&self, dir: &Path) -> Result<SearcherState, SearchError> {
        // The inner network's record: DARTS' supernet file is what it was
        // before supernets of other spaces existed.
        match &self.net {
            Supernet::Darts(n) => save_module(n, &dir.join(SUPERNET_FILE))?,
            Supernet::Nb201(n) => save_module(n, &dir.join(SUPERNET_FILE))?,
        }
        save_optimizer(&self.optim, &dir.join(SGD_FILE))?;
        self.state()
    }

    /// Restores what [`Searcher::save`] wrote and `state`.
    pub fn load(&mut self, dir: &Path, state: &SearcherState) -> Result<(), SearchError> {
        match &mut self.net {
            Supernet::Darts(n) => load_module(n, &dir.join(SUPERNET_FILE))?,
            Supernet::Nb201(n) => load_module(n, &dir.join(SUPERNET_FILE))?,
        }
        let optim = std::mem::replace(&mut self.optim, sgd(&self.settings.weights));
        self.optim = load_optimizer(optim, &dir.join(SGD_FILE))?;
        self.arch
            .set_values(&state.alpha_normal, &state.alpha_reduce)
            .map_err(|e| {
                SearchError::Invalid(format!(
                    "{}: the architecture variables do not fit this search space: {e}",
                    dir.join(STATE_FILE).display()
                ))
            })?;
        self.arch_adam = state.adam.clone();
        self.rng = Rng::from_state(state.rng).map_err(|e| {
            SearchError::Invalid(format!(
                "{}: searcher.rng: {e}; the checkpoint was damaged or edited (start over with --force)",
                dir.join(STATE_FILE).display()
            ))
        })?;
        self.sampler.set_queue(state.sampler_queue.clone());
        self.strategy.load_state(&state.strategy)
    }
}

/// Accuracy over `batches` of `net` (the inner supernet) clamped to
/// `genotype`.
fn score_on(
    net: &Supernet,
    genotype: &Architecture,
    batches: &[(Tensor<4>, Tensor<1, Int>)],
) -> f64 {
    let weights = NetworkWeights::clamped_arch(genotype);
    let (mut correct, mut n) = (0, 0);
    for (x, y) in batches {
        n += y.dims()[0];
        let logits = net.forward(x.clone().inner(), &weights);
        correct += loss_and_correct(logits, y.clone()).1;
    }
    correct as f64 / n.max(1) as f64
}
