//! The training config (`configs/train/`): data, loading, the discrete
//! network and DARTS' optimiser recipes for CIFAR and ImageNet, with range
//! checks that name the key.

use edas_data::{DataConfig, DatasetKind};
use edas_nn::{NetKind, check_layers};
use edas_run::Result as RunResult;
use edas_run::config::{check_run_name, invalid};
use edas_run::optim::{SgdSettings, cosine_lr};
use serde::{Deserialize, Serialize};

/// The network section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetSection {
    /// `cifar`, `imagenet` or `nas-bench-201`.
    pub kind: NetKind,
    /// Initial channels (CIFAR: 36, ImageNet: 48, NAS-Bench-201: 16).
    pub channels: usize,
    /// Cells (CIFAR: 20, ImageNet: 14, NAS-Bench-201: 15, 5 per stage).
    pub layers: usize,
    /// Auxiliary head.
    pub auxiliary: bool,
    /// Weight of the auxiliary loss (0.4).
    pub auxiliary_weight: f64,
    /// Final drop-path probability, ramped linearly from 0 over the epochs
    /// (CIFAR: 0.2; ImageNet: 0).
    pub drop_path: f64,
}

impl Default for NetSection {
    fn default() -> Self {
        NetSection {
            kind: NetKind::Cifar,
            channels: 36,
            layers: 20,
            auxiliary: true,
            auxiliary_weight: 0.4,
            drop_path: 0.2,
        }
    }
}

/// How the learning rate falls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Cosine from `lr` to `lr_min` over the epochs (CIFAR).
    #[default]
    Cosine,
    /// `lr * gamma^(epoch / step_every)` (ImageNet: 0.97 every epoch).
    Step,
}

/// The optimiser section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimSection {
    /// Initial learning rate (CIFAR: 0.025, ImageNet: 0.1).
    pub lr: f64,
    /// Final learning rate of the cosine schedule (0).
    pub lr_min: f64,
    /// Momentum without dampening (0.9).
    pub momentum: f64,
    /// L2 weight decay (CIFAR: 3e-4, ImageNet: 3e-5).
    pub weight_decay: f64,
    /// Global gradient-norm clip (5); 0 disables.
    pub grad_clip: f64,
    /// Schedule.
    pub schedule: Schedule,
    /// Step schedule: factor.
    pub gamma: f64,
    /// Step schedule: epochs per factor.
    pub step_every: usize,
    /// Label smoothing (ImageNet: 0.1).
    pub label_smoothing: f64,
    /// Nesterov momentum (NAS-Bench-201: on). Written only when on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nesterov: bool,
}

impl Default for OptimSection {
    fn default() -> Self {
        OptimSection {
            lr: 0.025,
            lr_min: 0.0,
            momentum: 0.9,
            weight_decay: 3e-4,
            grad_clip: 5.0,
            schedule: Schedule::Cosine,
            gamma: 0.97,
            step_every: 1,
            label_smoothing: 0.0,
            nesterov: false,
        }
    }
}

impl OptimSection {
    /// The SGD settings.
    pub fn sgd(&self) -> SgdSettings {
        SgdSettings {
            lr: self.lr,
            lr_min: self.lr_min,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            grad_clip: self.grad_clip,
            nesterov: self.nesterov,
        }
    }
}

/// Loading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainLoader {
    /// Batch size (CIFAR: 96, ImageNet: 128).
    pub batch_size: usize,
    /// Data threads.
    pub workers: usize,
    /// Train on the first N training examples only.
    pub train_examples: Option<usize>,
    /// Test on the first N test examples only.
    pub test_examples: Option<usize>,
    /// Cutout (16 at 32 pixels, half the side below; not for ImageNet).
    pub cutout: bool,
}

impl Default for TrainLoader {
    fn default() -> Self {
        TrainLoader {
            batch_size: 96,
            workers: 2,
            train_examples: None,
            test_examples: None,
            cutout: true,
        }
    }
}

/// A training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Label; the default run directory is `runs/<name>`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Seed of everything random.
    #[serde(default)]
    pub seed: u64,
    /// burn's balanced gradient checkpointing (less memory, a little more
    /// time; `docs/performance.md`).
    #[serde(default)]
    pub gradient_checkpointing: bool,
    /// Epochs (CIFAR: 600, ImageNet: 250).
    pub epochs: usize,
    /// Test every this many epochs (1: every epoch). The last epoch is
    /// always tested: its result is the run's, whatever this is.
    #[serde(default = "every_epoch")]
    pub test_every: usize,
    /// The data set.
    pub data: DataConfig,
    /// Loading.
    #[serde(default)]
    pub loader: TrainLoader,
    /// The network.
    #[serde(default)]
    pub network: NetSection,
    /// The optimiser.
    #[serde(default)]
    pub optim: OptimSection,
}

fn default_name() -> String {
    "train".into()
}

fn every_epoch() -> usize {
    1
}

impl TrainConfig {
    /// A config for `dataset` with defaults elsewhere.
    pub fn new(dataset: DatasetKind, epochs: usize) -> TrainConfig {
        TrainConfig {
            name: default_name(),
            seed: 0,
            gradient_checkpointing: false,
            epochs,
            test_every: every_epoch(),
            data: DataConfig::new(dataset),
            loader: TrainLoader::default(),
            network: NetSection::default(),
            optim: OptimSection::default(),
        }
    }

    /// Range checks naming the key.
    pub fn validate(&self, origin: &str) -> RunResult<()> {
        let err = |key: &str, msg: String| Err(invalid(origin, key, msg));
        check_run_name(origin, &self.name)?;
        if self.epochs == 0 {
            return err("epochs", "must be at least 1".into());
        }
        if self.test_every == 0 {
            return err("test_every", "must be at least 1".into());
        }
        if self.loader.batch_size == 0 {
            return err("loader.batch_size", "must be at least 1".into());
        }
        for (key, n) in [
            ("loader.train_examples", self.loader.train_examples),
            ("loader.test_examples", self.loader.test_examples),
        ] {
            if n == Some(0) {
                return err(
                    key,
                    "must be at least 1 (leave it out for every example)".into(),
                );
            }
        }
        self.validate_network(origin)?;
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return err("optim.lr", format!("must be positive, got {}", o.lr));
        }
        for (key, v) in [
            ("optim.lr_min", o.lr_min),
            ("optim.weight_decay", o.weight_decay),
            ("optim.grad_clip", o.grad_clip),
            ("network.auxiliary_weight", self.network.auxiliary_weight),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return err(key, format!("must be zero or positive, got {v}"));
            }
        }
        if o.lr_min > o.lr {
            return err(
                "optim.lr_min",
                format!(
                    "must not exceed optim.lr ({}), got {} (the cosine schedule would rise)",
                    o.lr, o.lr_min
                ),
            );
        }
        // SGD's momentum: 1 or more makes the velocity grow without bound
        // (a loss of 1e5, not an error).
        if !(0.0..1.0).contains(&o.momentum) {
            return err(
                "optim.momentum",
                format!("must be in [0, 1), got {}", o.momentum),
            );
        }
        if !(0.0..1.0).contains(&o.label_smoothing) {
            return err(
                "optim.label_smoothing",
                format!("must be in [0, 1), got {}", o.label_smoothing),
            );
        }
        if !(o.gamma > 0.0 && o.gamma <= 1.0) {
            return err("optim.gamma", format!("must be in (0, 1], got {}", o.gamma));
        }
        if o.step_every == 0 {
            return err("optim.step_every", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.network.drop_path) {
            return err(
                "network.drop_path",
                format!("must be in [0, 1), got {}", self.network.drop_path),
            );
        }
        Ok(())
    }

    /// The network section's checks, which depend on the network kind.
    fn validate_network(&self, origin: &str) -> RunResult<()> {
        let err = |key: &str, msg: String| Err(invalid(origin, key, msg));
        let n = &self.network;
        if n.kind != NetKind::Nb201 {
            if let Err(e) = check_layers(n.layers, 2) {
                return err("network.layers", e.to_string());
            }
            if let Err(e) = check_layers(3, n.channels) {
                return err("network.channels", e.to_string());
            }
            return Ok(());
        }
        // The NAS-Bench-201 skeleton: 3 stages of layers / 3 cells, no
        // auxiliary head, no drop-path (the benchmark trains without).
        if n.layers == 0 || !n.layers.is_multiple_of(3) {
            return err(
                "network.layers",
                format!(
                    "a nas-bench-201 network has 3 stages of equally many cells: a positive \
                     multiple of 3 (the benchmark: 15), got {}",
                    n.layers
                ),
            );
        }
        if n.channels == 0 {
            return err("network.channels", "must be at least 1".into());
        }
        if n.auxiliary {
            return err(
                "network.auxiliary",
                "a nas-bench-201 network has no auxiliary head: set it to false".into(),
            );
        }
        if n.drop_path != 0.0 {
            return err(
                "network.drop_path",
                format!(
                    "a nas-bench-201 network has no drop-path: set it to 0, got {}",
                    n.drop_path
                ),
            );
        }
        Ok(())
    }

    /// Whether 0-based `epoch` ends with a test pass: every
    /// `test_every`-th epoch, and the last.
    pub fn tests_epoch(&self, epoch: usize) -> bool {
        (epoch + 1).is_multiple_of(self.test_every.max(1)) || epoch + 1 >= self.epochs
    }

    /// Learning rate of `epoch`.
    pub fn lr(&self, epoch: usize) -> f64 {
        match self.optim.schedule {
            Schedule::Cosine => cosine_lr(&self.optim.sgd(), epoch, self.epochs),
            Schedule::Step => {
                self.optim.lr
                    * self
                        .optim
                        .gamma
                        .powi((epoch / self.optim.step_every) as i32)
            }
        }
    }

    /// Drop-path probability of `epoch` (DARTS: `drop_path * epoch / epochs`).
    pub fn drop_prob(&self, epoch: usize) -> f64 {
        self.network.drop_path * epoch as f64 / self.epochs as f64
    }
}
