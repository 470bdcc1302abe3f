//! The search config (`configs/search/*.toml`): every key, its default and
//! its checks. `docs/search.md` lists the keys.

use edas_data::{DataConfig, DatasetKind};
use edas_genotype::{SearchSpace, SpaceName};
use edas_run::config::{check_run_name, invalid};
use edas_run::optim::SgdSettings;
use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::settings::{Darts2Section, EdasSection, EdasSettings, RandomSection, Regularizers};
use crate::strategy::Strategy;

/// How the search reads its data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoaderSection {
    /// Share of the (used) training set for weight steps; the rest feeds
    /// architecture steps and the per-epoch evaluation (DARTS: 0.5).
    pub train_portion: f64,
    /// Use only the first this many training examples (CPU-sized runs).
    pub train_examples: Option<usize>,
    /// Evaluate the pruning gap on at most this many validation examples.
    pub eval_examples: Option<usize>,
    /// Batch size of both steps (DARTS: 64).
    pub batch_size: usize,
    /// Data-loading threads.
    pub workers: usize,
    /// Random crop and flip on the weight-step batches (DARTS: yes).
    pub augment: bool,
}

impl Default for LoaderSection {
    fn default() -> Self {
        LoaderSection {
            train_portion: 0.5,
            train_examples: None,
            eval_examples: Some(5000),
            batch_size: 64,
            workers: 2,
            augment: true,
        }
    }
}

/// The supernet's size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Initial channels `C` (16).
    pub channels: usize,
    /// Cells `L` (EDAS: 20, as deep as the evaluation network; DARTS: 8).
    pub layers: usize,
    /// Stem multiplier (3).
    pub stem_multiplier: usize,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            channels: 16,
            layers: 20,
            stem_multiplier: 3,
        }
    }
}

/// GDAS' temperature schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GdasSection {
    /// At the first epoch (GDAS: 10).
    pub tau_start: f64,
    /// At the last (GDAS: 0.1).
    pub tau_end: f64,
}

impl Default for GdasSection {
    fn default() -> Self {
        GdasSection {
            tau_start: 10.0,
            tau_end: 0.1,
        }
    }
}

/// PC-DARTS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PcDartsSection {
    /// Partial channel connections `K`: each edge's ops see `1/K` of its
    /// channels (PC-DARTS: 4 on CIFAR, 2 on ImageNet).
    pub partial_channels: usize,
}

impl Default for PcDartsSection {
    fn default() -> Self {
        PcDartsSection {
            partial_channels: 4,
        }
    }
}

/// A whole search run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// A label for logs and reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// Seed of everything random in the run.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// `edas`, `darts`, `darts2`, `pc-darts`, `gdas` or `random`
    /// ([`Strategy::ALL`]).
    #[serde(default)]
    pub strategy: Strategy,
    /// burn's balanced gradient checkpointing: memory-bound activations are
    /// recomputed in backward (on the CPU: about -22% memory, +3-8% time;
    /// `docs/performance.md`).
    #[serde(default)]
    pub gradient_checkpointing: bool,
    /// Search epochs (including warm-up).
    pub epochs: usize,
    /// The data set.
    pub data: DataConfig,
    /// Splitting and batching.
    #[serde(default)]
    pub loader: LoaderSection,
    /// The search space: `name` (`darts`) and the `ops` its edges may take
    /// (every op of the space when absent).
    #[serde(default)]
    pub space: SearchSpace,
    /// The supernet.
    #[serde(default)]
    pub network: NetworkSection,
    /// EDAS' relaxed edges.
    #[serde(default)]
    pub edas: EdasSection,
    /// Regularisers.
    #[serde(default)]
    pub regularizers: Regularizers,
    /// GDAS.
    #[serde(default)]
    pub gdas: GdasSection,
    /// Random search.
    #[serde(default)]
    pub random: RandomSection,
    /// Second-order DARTS.
    #[serde(default)]
    pub darts2: Darts2Section,
    /// PC-DARTS.
    #[serde(default)]
    pub pc_darts: PcDartsSection,
    /// Architecture optimiser (Adam).
    #[serde(default)]
    pub arch: AdamConfig,
    /// Weight optimiser (SGD, cosine schedule over the epochs).
    #[serde(default)]
    pub weights: SgdSettings,
    /// A NAS-Bench-201 or NATS-Bench topology file (or NATS' simple
    /// directory): each epoch's record then holds the derived cell's
    /// benchmark test accuracies (`edas search --benchmark PATH`; a
    /// `nas-bench-201` space only). Written only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<std::path::PathBuf>,
}

fn default_name() -> String {
    "search".into()
}

fn default_seed() -> u64 {
    2
}

impl SearchConfig {
    /// A config for `dataset` with every other key at its default.
    pub fn new(dataset: DatasetKind, epochs: usize) -> SearchConfig {
        SearchConfig {
            name: default_name(),
            seed: default_seed(),
            strategy: Strategy::Edas,
            gradient_checkpointing: false,
            epochs,
            data: DataConfig::new(dataset),
            loader: LoaderSection::default(),
            space: SearchSpace::DARTS,
            network: NetworkSection::default(),
            edas: EdasSection::default(),
            regularizers: Regularizers::default(),
            gdas: GdasSection::default(),
            random: RandomSection::default(),
            darts2: Darts2Section::default(),
            pc_darts: PcDartsSection::default(),
            arch: AdamConfig::default(),
            weights: SgdSettings::default(),
            benchmark: None,
        }
    }

    /// Range and consistency checks, naming the key; `origin` is the file.
    pub fn validate(&self, origin: &str) -> edas_run::Result<()> {
        let err = |key: &str, msg: String| Err(invalid(origin, key, msg));
        check_run_name(origin, &self.name)?;
        if self.epochs == 0 {
            return err("epochs", "must be at least 1".into());
        }
        let l = &self.loader;
        if !(l.train_portion > 0.0 && l.train_portion < 1.0) {
            return err(
                "loader.train_portion",
                format!("must be strictly between 0 and 1, got {}", l.train_portion),
            );
        }
        if l.batch_size == 0 {
            return err("loader.batch_size", "must be at least 1".into());
        }
        if l.train_examples.is_some_and(|n| n < 2 * l.batch_size) {
            return err(
                "loader.train_examples",
                format!(
                    "must allow one batch in each half: at least {}",
                    2 * l.batch_size
                ),
            );
        }
        if l.eval_examples == Some(0) {
            return err(
                "loader.eval_examples",
                "must be at least 1 (or absent for all)".into(),
            );
        }
        let space = self.space.name();
        if self.benchmark.is_some() && space != SpaceName::NasBench201 {
            return err(
                "benchmark",
                format!(
                    "the benchmark files hold NAS-Bench-201 cells; this search's space is {space}"
                ),
            );
        }
        let n = &self.network;
        if n.channels == 0 {
            return err("network.channels", "must be at least 1".into());
        }
        match space {
            SpaceName::Darts if n.layers < 3 => {
                return err(
                    "network.layers",
                    format!(
                        "must be at least 3 (two reduction cells at L/3 and 2L/3), got {}",
                        n.layers
                    ),
                );
            }
            SpaceName::NasBench201 if n.layers == 0 || !n.layers.is_multiple_of(3) => {
                return err(
                    "network.layers",
                    format!(
                        "a nas-bench-201 supernet has 3 stages of equally many cells: a \
                         positive multiple of 3 (the benchmark: 15), got {}",
                        n.layers
                    ),
                );
            }
            _ => {}
        }
        if n.stem_multiplier == 0 {
            return err("network.stem_multiplier", "must be at least 1".into());
        }
        if space == SpaceName::NasBench201 && self.regularizers.normal_skip_cap.is_some() {
            return err(
                "regularizers.normal_skip_cap",
                "caps skip_connect in DARTS' derivation; a nas-bench-201 cell keeps every \
                 edge (leave it out)"
                    .into(),
            );
        }
        let e = &self.edas;
        let edges = self.space.edges();
        if !(1..=edges).contains(&e.relaxed_edges) {
            return err(
                "edas.relaxed_edges",
                format!(
                    "must be between 1 and {edges} (the {space} cell's edges), got {}",
                    e.relaxed_edges
                ),
            );
        }
        for (key, v) in [
            ("edas.tau_start", e.tau_start),
            ("edas.tau_end", e.tau_end),
            ("gdas.tau_start", self.gdas.tau_start),
            ("gdas.tau_end", self.gdas.tau_end),
            ("arch.lr", self.arch.lr),
            ("darts2.r", self.darts2.r),
            ("weights.lr", self.weights.lr),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return err(key, format!("must be positive, got {v}"));
            }
        }
        for (key, v) in [
            ("arch.weight_decay", self.arch.weight_decay),
            ("weights.weight_decay", self.weights.weight_decay),
            ("weights.lr_min", self.weights.lr_min),
            ("weights.grad_clip", self.weights.grad_clip),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return err(key, format!("must be zero or positive, got {v}"));
            }
        }
        if self.weights.lr_min > self.weights.lr {
            return err(
                "weights.lr_min",
                format!(
                    "must not exceed weights.lr ({}), got {} (the cosine schedule would rise)",
                    self.weights.lr, self.weights.lr_min
                ),
            );
        }
        for (key, v) in [
            ("arch.beta1", self.arch.beta1),
            ("arch.beta2", self.arch.beta2),
            // SGD's momentum: 1 or more makes the velocity grow without
            // bound (a loss of 1e5 after a few epochs, not an error).
            ("weights.momentum", self.weights.momentum),
        ] {
            if !(0.0..1.0).contains(&v) {
                return err(key, format!("must be in [0, 1), got {v}"));
            }
        }
        let r = &self.regularizers;
        if !(0.0..=1.0).contains(&r.epsilon) {
            return err(
                "regularizers.epsilon",
                format!("must be in [0, 1], got {}", r.epsilon),
            );
        }
        if !(0.0..1.0).contains(&r.drop_path) {
            return err(
                "regularizers.drop_path",
                format!("must be in [0, 1), got {}", r.drop_path),
            );
        }
        if r.warmup_epochs >= self.epochs && self.strategy.has_arch_step() {
            return err(
                "regularizers.warmup_epochs",
                format!(
                    "leaves no search epoch: {} warm-up of {} epochs \
                     (for a shorter search, also --set regularizers.warmup_epochs=N below {})",
                    r.warmup_epochs, self.epochs, self.epochs
                ),
            );
        }
        let k = self.pc_darts.partial_channels;
        if self.strategy == Strategy::PcDarts
            && (k == 0 || !self.network.channels.is_multiple_of(k))
        {
            return err(
                "pc_darts.partial_channels",
                format!(
                    "must divide network.channels ({}) and be at least 1, got {k}",
                    self.network.channels
                ),
            );
        }
        if self.strategy == Strategy::Random && self.random.candidates == 0 {
            return err("random.candidates", "must be at least 1".into());
        }
        Ok(())
    }

    /// The supernet's partial channel connections: `pc_darts.partial_channels`
    /// for PC-DARTS, 1 (every channel) for the others.
    pub fn partial_channels(&self) -> usize {
        if self.strategy == Strategy::PcDarts {
            self.pc_darts.partial_channels
        } else {
            1
        }
    }

    /// The optimiser settings this config implies.
    pub fn settings(&self) -> EdasSettings {
        EdasSettings {
            strategy: self.strategy,
            space: self.space,
            edas: self.edas.clone(),
            regularizers: self.regularizers.clone(),
            random: self.random.clone(),
            darts2: self.darts2.clone(),
            arch: self.arch,
            weights: self.weights,
        }
    }

    /// Temperature at `epoch` (0-based): EDAS' or GDAS' schedule, linear
    /// from the first to the last search epoch.
    pub fn tau(&self, epoch: usize) -> f64 {
        let (a, b) = match self.strategy {
            Strategy::Gdas => (self.gdas.tau_start, self.gdas.tau_end),
            _ => (self.edas.tau_start, self.edas.tau_end),
        };
        a + (b - a) * self.search_progress(epoch)
    }

    /// Exploration probability at `epoch`: `epsilon` at the first search
    /// epoch, linearly to 0 at the last.
    pub fn epsilon(&self, epoch: usize) -> f64 {
        self.regularizers.epsilon * (1.0 - self.search_progress(epoch))
    }

    /// Whether `epoch` is a warm-up epoch.
    pub fn is_warmup(&self, epoch: usize) -> bool {
        epoch < self.regularizers.warmup_epochs
    }

    /// 0 at the first search epoch after warm-up, 1 at the last.
    fn search_progress(&self, epoch: usize) -> f64 {
        let w = self.regularizers.warmup_epochs;
        let span = self.epochs.saturating_sub(w + 1);
        if span == 0 {
            0.0
        } else {
            (epoch.saturating_sub(w) as f64 / span as f64).min(1.0)
        }
    }
}
