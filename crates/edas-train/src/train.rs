//! Training a discrete network from scratch with DARTS' recipes, evaluating
//! it, and the training run directory (`docs/train.md`).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use edas_data::download::DownloadOptions;
use edas_data::{DataConfig, DatasetKind, ImageSource, Loader, LoaderConfig, Split};
use edas_genotype::{Format, Genotype};
use edas_nn::{Network, NetworkConfig, check_layers};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use crate::config::{invalid, to_toml};
use crate::error::{Result as RunResult, RunError};
use crate::optim::{SgdSettings, clip_global_norm, cosine_lr, sgd};
use crate::plot::{Chart, Series, figure};
use crate::progress::{Progress, fmt_duration};
use crate::run::{OpenMode, RESULTS_FILE, RunDir, RunOptions, latest_checkpoint, stage_checkpoint};
use crate::sys::{mib, peak_rss_bytes, reset_peak_rss};

/// Errors of a training or evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Run directory, config, checkpoint.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Data.
    #[error(transparent)]
    Data(#[from] edas_data::DataError),
    /// The network cannot be built.
    #[error(transparent)]
    Nn(#[from] edas_nn::NnError),
    /// A genotype file.
    #[error(transparent)]
    Genotype(#[from] edas_genotype::Error),
    /// The training or test loss became NaN or infinite.
    #[error(
        "the {what} became {value} at epoch {epoch}, step {step}; the run stopped and {checkpoint} \
         (lower optim.lr or clip gradients harder with optim.grad_clip, then start over)"
    )]
    Diverged {
        /// Which loss (`training loss`, `test loss`).
        what: &'static str,
        /// The value.
        value: f64,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step.
        step: usize,
        /// What is left on disk.
        checkpoint: String,
    },
}

/// Which network a genotype builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetKind {
    /// DARTS' `NetworkCIFAR` (3x3 stem; any image size and channels).
    #[default]
    Cifar,
    /// DARTS' `NetworkImageNet` (stride-8 stem).
    Imagenet,
}

/// The network section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetSection {
    /// `cifar` or `imagenet`.
    pub kind: NetKind,
    /// Initial channels (CIFAR: 36, ImageNet: 48).
    pub channels: usize,
    /// Cells (CIFAR: 20, ImageNet: 14).
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

impl TrainConfig {
    /// A config for `dataset` with defaults elsewhere.
    pub fn new(dataset: DatasetKind, epochs: usize) -> TrainConfig {
        TrainConfig {
            name: default_name(),
            seed: 0,
            gradient_checkpointing: false,
            epochs,
            data: DataConfig::new(dataset),
            loader: TrainLoader::default(),
            network: NetSection::default(),
            optim: OptimSection::default(),
        }
    }

    /// Range checks naming the key.
    pub fn validate(&self, origin: &str) -> RunResult<()> {
        let err = |key: &str, msg: String| Err(invalid(origin, key, msg));
        crate::config::check_run_name(origin, &self.name)?;
        if self.epochs == 0 {
            return err("epochs", "must be at least 1".into());
        }
        if self.loader.batch_size == 0 {
            return err("loader.batch_size", "must be at least 1".into());
        }
        if let Err(e) = check_layers(self.network.layers, 2) {
            return err("network.layers", e.to_string());
        }
        if let Err(e) = check_layers(3, self.network.channels) {
            return err("network.channels", e.to_string());
        }
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return err("optim.lr", format!("must be positive, got {}", o.lr));
        }
        for (key, v) in [
            ("optim.lr_min", o.lr_min),
            ("optim.momentum", o.momentum),
            ("optim.weight_decay", o.weight_decay),
            ("optim.grad_clip", o.grad_clip),
            ("network.auxiliary_weight", self.network.auxiliary_weight),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return err(key, format!("must be zero or positive, got {v}"));
            }
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

/// Test-set accuracy and loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Examples.
    pub examples: usize,
    /// Top-1 accuracy.
    pub top1: f64,
    /// Top-5 accuracy.
    pub top5: f64,
    /// Mean cross-entropy.
    pub loss: f64,
}

/// One line of a training run's `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Drop-path probability.
    pub drop_prob: f64,
    /// Mean training loss (main head).
    pub train_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Test evaluation.
    pub test: EvalResult,
    /// Images per second in training.
    pub images_per_s: f64,
    /// Seconds for the epoch including evaluation.
    pub epoch_time_s: f64,
    /// Peak resident memory (MiB).
    pub peak_memory_mib: Option<f64>,
}

/// What a training run returns.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// Epochs done.
    pub epochs_done: usize,
    /// All epochs done.
    pub finished: bool,
    /// The last epoch's record.
    pub last: Option<TrainRecord>,
}

/// `results.json` of a training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainResults {
    /// Config name.
    pub name: String,
    /// The genotype, DARTS text.
    pub genotype: String,
    /// Trainable parameters (without the auxiliary head).
    pub params: u64,
    /// Epochs.
    pub epochs: usize,
    /// Final test result.
    pub test: EvalResult,
    /// Mean seconds per epoch.
    pub epoch_time_s: f64,
    /// Total seconds.
    pub train_time_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TrainState {
    epochs_done: usize,
    config: String,
    elapsed_s: f64,
    /// The genotype the weights belong to (DARTS text); absent in
    /// checkpoints written before it was recorded.
    #[serde(default)]
    genotype: Option<String>,
}

/// Checks that `genotype` (the run's `genotype.json`) is the genotype its
/// weights were trained for, as `results.json` (a finished run) or the
/// checkpoint's state records it: weights of the same shapes load into
/// another wiring without complaint and give a plausible, wrong accuracy.
fn check_weights_genotype(dir: &Path, finished: bool, genotype: &Genotype) -> RunResult<()> {
    let results = dir.join(RESULTS_FILE);
    let (recorded, source) = if finished && results.is_file() {
        let r: TrainResults = crate::run::read_json(&results)?;
        (Some(r.genotype), results)
    } else if let Some(checkpoint) = latest_checkpoint(dir) {
        let state_path = checkpoint.join("state.json");
        let state: TrainState = crate::run::read_json(&state_path)?;
        (state.genotype, state_path)
    } else {
        (None, results)
    };
    let Some(text) = recorded else {
        return Ok(());
    };
    let trained = edas_genotype::darts_text::parse_darts(&text).map_err(|e| RunError::RunDir {
        path: source.clone(),
        message: format!("records an unreadable genotype: {e}"),
    })?;
    let d = edas_genotype::diff::diff(&trained, genotype);
    if d.is_empty() {
        return Ok(());
    }
    Err(RunError::RunDir {
        path: dir.join("genotype.json"),
        message: format!(
            "is not the genotype the weights were trained for ({} records another; from it to \
             genotype.json: {}); restore genotype.json",
            source.display(),
            d.to_string().replace('\n', "; ")
        ),
    })
}

/// The network `config` builds for `genotype` on images of `source`.
pub fn build_network(
    config: &TrainConfig,
    genotype: &Genotype,
    source: &dyn ImageSource,
    device: &Device,
) -> Result<Network, TrainError> {
    let shape = source
        .fixed_shape()
        .unwrap_or(edas_data::ImageShape::new(3, 224, 224));
    let net = NetworkConfig {
        in_channels: shape.channels,
        image_size: match config.network.kind {
            NetKind::Imagenet => 224,
            NetKind::Cifar => shape.height,
        },
        classes: source.num_classes(),
        channels: config.network.channels,
        layers: config.network.layers,
        auxiliary: config.network.auxiliary,
    };
    Ok(match config.network.kind {
        NetKind::Cifar => Network::cifar(genotype, &net, device)?,
        NetKind::Imagenet => Network::imagenet(genotype, &net, device)?,
    })
}

fn test_loader(config: &TrainConfig, source: Arc<dyn ImageSource>) -> Result<Loader, TrainError> {
    let n = config
        .loader
        .test_examples
        .map_or(source.len(), |k| k.min(source.len()));
    Ok(Loader::new(
        source,
        Some((0..n).collect()),
        config.data.eval_pipeline(),
        LoaderConfig {
            batch_size: config.loader.batch_size.max(64),
            shuffle: false,
            drop_last: false,
            seed: config.seed,
            workers: config.loader.workers,
            prefetch: 2,
        },
    )?)
}

/// Top-1, top-5 and loss of `net` over `loader` (inference mode: running
/// BatchNorm statistics, no drop-path, on the non-autodiff device).
pub fn evaluate(net: &Network, loader: &Loader, device: &Device) -> Result<EvalResult, TrainError> {
    let net = net.valid();
    let inner = device.clone().inner();
    let loss_fn = CrossEntropyLossConfig::new().init(&inner);
    let (mut n, mut top1, mut top5, mut loss) = (0usize, 0usize, 0usize, 0.0);
    for batch in loader.epoch(0) {
        let batch = batch?;
        let (x, y) = batch.to_tensors(&inner);
        let logits = net.forward(x, 0.0, false).logits;
        let b = batch.len();
        loss += f64::from(loss_fn.forward(logits.clone(), y).into_scalar::<f32>()) * b as f64;
        let classes = logits.dims()[1];
        let values = logits
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        for (row, &label) in values.chunks(classes).zip(&batch.labels) {
            // A row with a NaN or infinite logit is a miss (NaN compares
            // false, so it would otherwise rank first).
            if !row.iter().all(|v| v.is_finite()) {
                continue;
            }
            let target = row.get(label).copied().unwrap_or(f32::NEG_INFINITY);
            let above = row.iter().filter(|&&v| v > target).count();
            top1 += usize::from(above == 0);
            top5 += usize::from(above < 5);
        }
        n += b;
    }
    Ok(EvalResult {
        examples: n,
        top1: top1 as f64 / n.max(1) as f64,
        top5: top5 as f64 / n.max(1) as f64,
        loss: loss / n.max(1) as f64,
    })
}

fn nonfinite(
    what: &'static str,
    value: f64,
    epoch: usize,
    step: usize,
    run: &RunDir,
) -> TrainError {
    TrainError::Diverged {
        what,
        value,
        epoch: epoch + 1,
        step: step + 1,
        checkpoint: run.checkpoint_status(),
    }
}

/// Trains `genotype` as `config` says (or resumes), on `device` (autodiff).
pub fn run_train(
    config: &TrainConfig,
    genotype: &Genotype,
    options: &RunOptions,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    let mut run = RunDir::open(&options.out, options.mode)?;
    run.set_echo(options.verbose);
    let config_toml = to_toml(config)?;
    let download = DownloadOptions {
        progress: true,
        ..DownloadOptions::default()
    };
    let train_source = config.data.open(Split::Train, &download)?;
    let test_source = config.data.open(Split::Test, &download)?;
    let n_train = config
        .loader
        .train_examples
        .map_or(train_source.len(), |k| k.min(train_source.len()));
    let train = Loader::new(
        train_source.clone(),
        Some((0..n_train).collect()),
        config.data.train_pipeline(config.loader.cutout),
        LoaderConfig {
            batch_size: config.loader.batch_size,
            shuffle: true,
            drop_last: false,
            seed: config.seed,
            workers: config.loader.workers,
            prefetch: 2,
        },
    )?;
    let test = test_loader(config, test_source)?;
    device.seed(config.seed);
    let mut net = build_network(config, genotype, train_source.as_ref(), device)?;
    let mut optim = sgd(&config.optim.sgd());
    let params = edas_nn::count::network(&net, {
        let s = train_source
            .fixed_shape()
            .unwrap_or(edas_data::ImageShape::new(3, 224, 224));
        [s.channels, s.height, s.width]
    })
    .main
    .params;
    let mut start = 0;
    let mut elapsed = 0.0;
    if options.mode == OpenMode::Resume {
        let (dir, state): (_, TrainState) = run.read_checkpoint()?;
        if state.config != config_toml {
            return Err(RunError::RunDir {
                path: run.path().to_owned(),
                message: "the config differs from the one the run started with".into(),
            }
            .into());
        }
        load_module(&mut net, &dir.join("model.bpk"))?;
        optim = load_optimizer(optim, &dir.join("sgd.bpk"))?;
        start = state.epochs_done;
        elapsed = state.elapsed_s;
        run.resume_metrics(start, config.epochs)?;
        run.line(&format!(
            "resuming {} after epoch {start}/{}",
            run.path().display(),
            config.epochs
        ));
    } else {
        run.write_provenance(&config_toml, &options.command_line)?;
        edas_genotype::save(genotype, &run.file("genotype.json"), Format::Json)?;
        run.line(&format!(
            "train `{}`: {} on {} ({} training, {} test images), C={} L={}, {} parameters, {} epochs x {} steps, batch {}",
            config.name,
            edas_genotype::darts_text::to_darts(genotype),
            train.source().describe(),
            n_train,
            test.num_examples(),
            config.network.channels,
            config.network.layers,
            params,
            config.epochs,
            train.num_batches(),
            config.loader.batch_size
        ));
    }
    let loss_fn = CrossEntropyLossConfig::new()
        .with_smoothing(
            (config.optim.label_smoothing > 0.0).then_some(config.optim.label_smoothing as f32),
        )
        .init(device);
    let mut last = None;
    let mut epoch = start;
    while epoch < config.epochs {
        if options.stop_after.is_some_and(|s| epoch >= s) {
            break;
        }
        let t0 = Instant::now();
        let measured = reset_peak_rss();
        let (lr, drop_prob) = (config.lr(epoch), config.drop_prob(epoch));
        let steps = train.num_batches();
        let mut progress = Progress::new(format!("epoch {}/{}", epoch + 1, config.epochs), steps);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (s, batch) in train.epoch(epoch as u64).enumerate() {
            let batch = batch?;
            let (x, y) = batch.to_tensors(device);
            let seed = edas_nn::ops::drop_path_seed(config.seed, epoch, s);
            let out = net.forward_seeded(x, drop_prob, config.network.auxiliary, Some(seed));
            let hits = out
                .logits
                .clone()
                .argmax(1)
                .flatten::<1>(0, 1)
                .equal(y.clone())
                .int()
                .sum()
                .into_scalar::<i64>();
            let main = loss_fn.forward(out.logits, y.clone());
            let main_value = f64::from(main.clone().into_scalar::<f32>());
            if !main_value.is_finite() {
                progress.finish();
                let e = nonfinite("training loss", main_value, epoch, s, &run);
                run.line(&format!("error: {e}"));
                return Err(e);
            }
            let loss = match out.aux {
                Some(aux) => main.add(
                    loss_fn
                        .forward(aux, y)
                        .mul_scalar(config.network.auxiliary_weight),
                ),
                None => main,
            };
            let mut grads = GradientsParams::from_grads(loss.backward(), &net);
            clip_global_norm(&net, &mut grads, config.optim.grad_clip);
            net = optim.step(lr, net.clone(), grads);
            tracing::debug!(epoch, step = s, loss = main_value, lr, "training step");
            loss_sum += main_value * batch.len() as f64;
            correct += hits.max(0) as usize;
            seen += batch.len();
            if options.verbose {
                progress.step(&format!(
                    "loss {:.3} acc {:.1}%",
                    loss_sum / seen as f64,
                    100.0 * correct as f64 / seen as f64
                ));
            }
        }
        progress.finish();
        let train_time = t0.elapsed().as_secs_f64();
        let result = evaluate(&net, &test, device)?;
        // Weights whose test outputs are not finite are not a checkpoint.
        if !result.loss.is_finite() {
            let e = nonfinite(
                "test loss",
                result.loss,
                epoch,
                steps.saturating_sub(1),
                &run,
            );
            run.line(&format!("error: {e}"));
            return Err(e);
        }
        let staged = stage_checkpoint(run.path())?;
        save_module(&net, &staged.join("model.bpk"))?;
        save_optimizer(&optim, &staged.join("sgd.bpk"))?;
        run.commit_checkpoint_with(&TrainState {
            epochs_done: epoch + 1,
            config: config_toml.clone(),
            elapsed_s: elapsed + t0.elapsed().as_secs_f64(),
            genotype: Some(edas_genotype::darts_text::to_darts(genotype)),
        })?;
        elapsed += t0.elapsed().as_secs_f64();
        let record = TrainRecord {
            epoch,
            lr,
            drop_prob,
            train_loss: loss_sum / seen.max(1) as f64,
            train_acc: correct as f64 / seen.max(1) as f64,
            test: result,
            images_per_s: seen as f64 / train_time.max(1e-9),
            epoch_time_s: t0.elapsed().as_secs_f64(),
            peak_memory_mib: if measured {
                peak_rss_bytes().map(mib)
            } else {
                None
            },
        };
        run.append_metrics(&record)?;
        run.line(&format!(
            "epoch {}/{} lr {:.4} drop {:.3} | train {:.3}/{:.2}% | test {:.3} top1 {:.2}% top5 {:.2}% | {:.0} img/s{} | {}",
            epoch + 1,
            config.epochs,
            lr,
            drop_prob,
            record.train_loss,
            100.0 * record.train_acc,
            result.loss,
            100.0 * result.top1,
            100.0 * result.top5,
            record.images_per_s,
            record.peak_memory_mib.map_or(String::new(), |m| format!(", peak {m:.0} MiB")),
            fmt_duration(record.epoch_time_s)
        ));
        write_curves(&run, config)?;
        last = Some(record);
        epoch += 1;
    }
    let finished = epoch >= config.epochs;
    if finished {
        save_module(&net, &run.file("model.bpk"))?;
        let records = train_records(&run)?;
        let test = records.last().map(|r| r.test).unwrap_or_default();
        let results = TrainResults {
            name: config.name.clone(),
            genotype: edas_genotype::darts_text::to_darts(genotype),
            params,
            epochs: config.epochs,
            test,
            epoch_time_s: records.iter().map(|r| r.epoch_time_s).sum::<f64>()
                / records.len().max(1) as f64,
            train_time_s: elapsed,
        };
        run.write_json(RESULTS_FILE, &results)?;
        run.line(&format!(
            "done in {}: test top1 {:.2}% top5 {:.2}% ({} examples); weights in {}",
            fmt_duration(elapsed),
            100.0 * test.top1,
            100.0 * test.top5,
            test.examples,
            run.file("model.bpk").display()
        ));
    } else {
        run.line(&format!(
            "stopped after epoch {epoch}/{}; continue with: edas train --resume {}",
            config.epochs,
            run.path().display()
        ));
    }
    Ok(TrainOutcome {
        epochs_done: epoch,
        finished,
        last,
    })
}

fn train_records(run: &RunDir) -> RunResult<Vec<TrainRecord>> {
    run.records()
}

fn write_curves(run: &RunDir, config: &TrainConfig) -> RunResult<()> {
    let rs = train_records(run)?;
    let series = |name: &str, f: &dyn Fn(&TrainRecord) -> f64| Series {
        name: name.into(),
        points: rs.iter().map(|r| ((r.epoch + 1) as f64, f(r))).collect(),
    };
    let charts = [
        Chart {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![
                series("train", &|r| r.train_loss),
                series("test", &|r| r.test.loss),
            ],
            y_range: None,
        },
        Chart {
            title: "accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: vec![
                series("train", &|r| r.train_acc),
                series("test top-1", &|r| r.test.top1),
                series("test top-5", &|r| r.test.top5),
            ],
            y_range: None,
        },
    ];
    run.write("curves.svg", figure(&config.name, &charts, 2).as_bytes())
}

/// A trained run directory, rebuilt: its config, genotype and network with
/// the final weights (or the last checkpoint's when unfinished).
pub struct TrainedRun {
    /// The config it was trained with.
    pub config: TrainConfig,
    /// The genotype.
    pub genotype: Genotype,
    /// The network with the trained weights.
    pub net: Network,
    /// Whether the weights are the final ones.
    pub finished: bool,
}

/// Rebuilds the network of run directory `dir` from its stored genotype and
/// config, then loads its weights; `data` replaces the data config (another
/// root, for example).
pub fn load_run(
    dir: &Path,
    data: Option<DataConfig>,
    device: &Device,
) -> Result<(TrainedRun, Loader), TrainError> {
    let config_path = dir.join("config.toml");
    let loaded = match crate::config::load::<TrainConfig>(&config_path, &[]) {
        Ok(loaded) => loaded,
        // A search run's config has a `strategy`: say so instead of naming
        // its first key a training config lacks.
        Err(e) => {
            let is_search = edas_genotype::read::read_text(&config_path)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .is_some_and(|t| t.contains_key("strategy"));
            if !is_search {
                return Err(e.into());
            }
            return Err(RunError::RunDir {
                path: dir.to_owned(),
                message: format!(
                    "is a search run, not a training run; train its genotype first: \
                     edas train --genotype {} --config <training config>",
                    dir.display()
                ),
            }
            .into());
        }
    };
    let mut config = loaded.config;
    if let Some(d) = data {
        config.data = d;
    }
    let (_, genotype) = edas_genotype::load(&dir.join("genotype.json"))?;
    let source = config.data.open(Split::Test, &DownloadOptions::default())?;
    let mut net = build_network(&config, &genotype, source.as_ref(), device)?;
    let finished = dir.join("model.bpk").is_file();
    let weights = if finished {
        dir.join("model.bpk")
    } else {
        latest_checkpoint(dir)
            .map(|c| c.join("model.bpk"))
            .ok_or_else(|| RunError::RunDir {
                path: dir.to_owned(),
                message: "holds no trained weights (no model.bpk, no checkpoint)".into(),
            })?
    };
    check_weights_genotype(dir, finished, &genotype)?;
    load_module(&mut net, &weights)?;
    let test = test_loader(&config, source)?;
    Ok((
        TrainedRun {
            config,
            genotype,
            net,
            finished,
        },
        test,
    ))
}
