//! Training a discrete network from scratch with DARTS' recipes, as an
//! [`EpochTask`] of the shared epoch driver (`docs/train.md`).

use std::path::Path;
use std::sync::Arc;

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use edas_data::download::DownloadOptions;
use edas_data::{ImageSource, Loader, LoaderConfig, Split};
use edas_genotype::{Architecture, Format};
use edas_nn::Model;
use edas_nn::loss::{correct_count, with_auxiliary};
use edas_run::checkpoint::{load_optimizer, save_optimizer};
use edas_run::config::to_toml;
use edas_run::files::{CURVES_SVG, GENOTYPE_JSON, MODEL_FILE, SGD_FILE};
use edas_run::files::{METRICS_FILE, RESULTS_FILE};
use edas_run::optim::{clip_global_norm, sgd};
use edas_run::plot::{Chart, Series, figure};
use edas_run::progress::{count_of, fmt_duration};
use edas_run::{Epoch, EpochEnd, EpochTask, RunDir, RunError, RunOptions, driver};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::evaluate::{evaluate, test_loader};
use crate::import::{DartsWeights, ImportReport};
use crate::records::{TrainOutcome, TrainRecord, TrainResults, TrainState};
use crate::trained::{build_network, input_shape, load_model, save_model};

/// A training epoch's running sums (checkpointed when it pauses).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TrainSums {
    loss_sum: f64,
    correct: usize,
    seen: usize,
    /// Seconds of training steps (for the throughput).
    train_time_s: f64,
}

/// A training run: data, network, optimiser.
struct Trainer<'a> {
    config: &'a TrainConfig,
    genotype: &'a Architecture,
    train: Loader,
    test: Loader,
    net: Model,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    params: u64,
    device: &'a Device,
    /// The weights file the run started from, when imported.
    imported: Option<String>,
}

impl EpochTask for Trainer<'_> {
    type Record = TrainRecord;
    type State = TrainState;
    type Error = TrainError;
    const COMMAND: &'static str = "train";
    const ADVICE: &'static str =
        "lower optim.lr or clip gradients harder with optim.grad_clip, then start over";

    fn epochs(&self) -> usize {
        self.config.epochs
    }

    fn steps(&self) -> usize {
        self.train.num_batches()
    }

    fn start(&mut self, run: &mut RunDir) -> Result<String, TrainError> {
        self.genotype.save(&run.file(GENOTYPE_JSON), Format::Json)?;
        let c = self.config;
        Ok(format!(
            "train `{}`: {} on {} ({} training, {} test images), C={} L={}, {} parameters, {} x {}, batch {}",
            c.name,
            self.genotype,
            self.train.source().describe(),
            self.train.num_examples(),
            self.test.num_examples(),
            c.network.channels,
            c.network.layers,
            self.params,
            count_of(c.epochs, "epoch"),
            count_of(self.train.num_batches(), "step"),
            c.loader.batch_size
        ))
    }

    fn resume(&mut self, dir: &Path, state: TrainState) -> Result<(), TrainError> {
        self.imported = state.imported;
        load_model(&mut self.net, &dir.join(MODEL_FILE))?;
        let optim = std::mem::replace(&mut self.optim, sgd(&self.config.optim.sgd()));
        self.optim = load_optimizer(optim, &dir.join(SGD_FILE))?;
        Ok(())
    }

    fn epoch(&mut self, cx: &mut Epoch<'_>) -> Result<EpochEnd<TrainRecord>, TrainError> {
        let (config, epoch) = (self.config, cx.index);
        let (lr, drop_prob) = (config.lr(epoch), config.drop_prob(epoch));
        let mut sums: TrainSums = cx.partial()?.unwrap_or_default();
        let mut t0 = std::time::Instant::now();
        let start = cx.start_step;
        cx.check_partial("seen", sums.seen, self.train.examples_in_batches(start))?;
        for (s, batch) in (start..).zip(self.train.epoch_from(epoch as u64, start)) {
            let batch = batch?;
            let (x, y) = batch.to_tensors(self.device);
            let seed = edas_nn::ops::drop_path_seed(config.seed, epoch, s);
            let out = self
                .net
                .forward_seeded(x, drop_prob, config.network.auxiliary, Some(seed));
            let hits = correct_count(out.logits.clone(), y.clone());
            let (main, loss) =
                with_auxiliary(&self.loss_fn, out, y, config.network.auxiliary_weight);
            let main_value = f64::from(main.into_scalar::<f32>());
            cx.check_finite("training loss", main_value, s)?;
            let mut grads = GradientsParams::from_grads(loss.backward(), &self.net);
            clip_global_norm(&self.net, &mut grads, config.optim.grad_clip);
            self.net = self.optim.step(lr, self.net.clone(), grads);
            tracing::debug!(epoch, step = s, loss = main_value, lr, "training step");
            sums.loss_sum += main_value * batch.len() as f64;
            sums.correct += hits;
            sums.seen += batch.len();
            cx.step_done(|| {
                format!(
                    "loss {:.3} acc {:.1}%",
                    sums.loss_sum / sums.seen as f64,
                    100.0 * sums.correct as f64 / sums.seen as f64
                )
            });
            if cx.pause_after(s + 1) {
                sums.train_time_s += t0.elapsed().as_secs_f64();
                return Ok(EpochEnd::paused(s + 1, &sums)?);
            }
        }
        cx.steps_done();
        sums.train_time_s += t0.elapsed().as_secs_f64();
        t0 = std::time::Instant::now();
        let test = if config.tests_epoch(epoch) {
            let test = evaluate(&self.net, &self.test, self.device)?;
            tracing::debug!(epoch, eval_s = t0.elapsed().as_secs_f64(), "test pass");
            // Weights whose test outputs are not finite are not a checkpoint.
            cx.check_finite("test loss", test.loss, self.steps().saturating_sub(1))?;
            Some(test)
        } else {
            None
        };
        Ok(EpochEnd::Done(TrainRecord {
            epoch,
            lr,
            drop_prob,
            train_loss: sums.loss_sum / sums.seen.max(1) as f64,
            train_acc: sums.correct as f64 / sums.seen.max(1) as f64,
            test,
            images_per_s: sums.seen as f64 / sums.train_time_s.max(1e-9),
            epoch_time_s: 0.0,
            peak_memory_mib: None,
        }))
    }

    fn save(&mut self, dir: &Path) -> Result<TrainState, TrainError> {
        save_model(&self.net, &dir.join(MODEL_FILE))?;
        save_optimizer(&self.optim, &dir.join(SGD_FILE))?;
        Ok(TrainState {
            genotype: Some(self.genotype.to_string()),
            imported: self.imported.clone(),
        })
    }

    fn epoch_line(&self, r: &TrainRecord) -> String {
        let test = r.test.map_or_else(
            || "not tested (test_every)".to_owned(),
            |t| {
                format!(
                    "test {:.3} top1 {:.2}% top5 {:.2}%",
                    t.loss,
                    100.0 * t.top1,
                    100.0 * t.top5
                )
            },
        );
        format!(
            "epoch {}/{} lr {:.4} drop {:.3} | train {:.3}/{:.2}% | {test} | {:.0} img/s{} | {}",
            r.epoch + 1,
            self.config.epochs,
            r.lr,
            r.drop_prob,
            r.train_loss,
            100.0 * r.train_acc,
            r.images_per_s,
            r.peak_memory_mib
                .map_or(String::new(), |m| format!(", peak {m:.0} MiB")),
            fmt_duration(r.epoch_time_s)
        )
    }

    fn plots(&self, run: &RunDir, rs: &[TrainRecord]) -> Result<(), TrainError> {
        // Epochs without a value (untested) have no point.
        let series = |name: &str, f: &dyn Fn(&TrainRecord) -> Option<f64>| Series {
            name: name.into(),
            points: rs
                .iter()
                .filter_map(|r| f(r).map(|v| ((r.epoch + 1) as f64, v)))
                .collect(),
        };
        let chart = |title: &str, y_label: &str, series| Chart {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: y_label.into(),
            series,
            y_range: None,
            hide_legend: false,
        };
        let charts = [
            chart(
                "loss",
                "cross-entropy",
                vec![
                    series("train", &|r| Some(r.train_loss)),
                    series("test", &|r| r.test.map(|t| t.loss)),
                ],
            ),
            chart(
                "accuracy",
                "accuracy",
                vec![
                    series("train", &|r| Some(r.train_acc)),
                    series("test top-1", &|r| r.test.map(|t| t.top1)),
                    series("test top-5", &|r| r.test.map(|t| t.top5)),
                ],
            ),
        ];
        Ok(run.write(
            CURVES_SVG,
            figure(&self.config.name, &charts, 2)?.as_bytes(),
        )?)
    }

    fn finish(
        &mut self,
        run: &mut RunDir,
        records: &[TrainRecord],
        elapsed_s: f64,
    ) -> Result<String, TrainError> {
        let test = records
            .last()
            .and_then(|r| r.test)
            .ok_or_else(|| RunError::RunDir {
                path: run.file(METRICS_FILE),
                message: "holds no tested last epoch of this training; its final test result \
                      is unknown (start over with --force)"
                    .into(),
            })?;
        save_model(&self.net, &run.file(MODEL_FILE))?;
        let results = TrainResults {
            name: self.config.name.clone(),
            genotype: self.genotype.to_string(),
            params: self.params,
            epochs: self.config.epochs,
            test,
            epoch_time_s: records.iter().map(|r| r.epoch_time_s).sum::<f64>()
                / records.len().max(1) as f64,
            train_time_s: elapsed_s,
        };
        run.write_json(RESULTS_FILE, &results)?;
        Ok(format!(
            "done in {}: test top1 {:.2}% top5 {:.2}% ({} examples); weights in {}",
            fmt_duration(elapsed_s),
            100.0 * test.top1,
            100.0 * test.top5,
            test.examples,
            run.file(MODEL_FILE).display()
        ))
    }
}

/// The training and test images of `config`'s data set.
fn open_data(config: &TrainConfig) -> Result<Sources, TrainError> {
    let download = DownloadOptions {
        progress: true,
        ..DownloadOptions::default()
    };
    let train = config.data.open(Split::Train, &download)?;
    let test = config.data.open(Split::Test, &download)?;
    edas_data::check_splits(train.as_ref(), test.as_ref())?;
    Ok(Sources { train, test })
}

/// Training and test images.
struct Sources {
    train: Arc<dyn ImageSource>,
    test: Arc<dyn ImageSource>,
}

/// The trainer of `genotype` with `config`'s network and optimiser on
/// `data`.
fn trainer<'a>(
    config: &'a TrainConfig,
    genotype: &'a Architecture,
    data: Sources,
    device: &'a Device,
) -> Result<Trainer<'a>, TrainError> {
    let train_source = data.train;
    let test = test_loader(config, data.test)?;
    let n_train = config
        .loader
        .train_examples
        .map_or(train_source.len(), |k| k.min(train_source.len()));
    let shape = input_shape(train_source.as_ref());
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
    device.seed(config.seed);
    let net = build_network(config, genotype, train_source.as_ref(), device)?;
    let params = net
        .costs([shape.channels, shape.height, shape.width])
        .main
        .params;
    let smoothing = config.optim.label_smoothing;
    Ok(Trainer {
        config,
        genotype,
        train,
        test,
        net,
        optim: sgd(&config.optim.sgd()),
        loss_fn: CrossEntropyLossConfig::new()
            .with_smoothing((smoothing > 0.0).then_some(smoothing as f32))
            .init(device),
        params,
        device,
        imported: None,
    })
}

/// Trains `genotype` (a DARTS genotype or a NAS-Bench-201 cell, for the
/// config's network kind) as `config` says (or resumes), on `device`
/// (autodiff).
pub fn run_train(
    config: &TrainConfig,
    genotype: &Architecture,
    options: &RunOptions,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    train(config, genotype, None, options, device)
}

/// [`run_train`] on the images of `train` and `test` (any burn `Dataset`
/// through [`edas_data::DatasetSource`]) instead of a data set the config
/// names; `config.data` must be [`edas_data::DataConfig::custom`] of them.
/// Resuming needs the same sources again.
pub fn run_train_on(
    config: &TrainConfig,
    genotype: &Architecture,
    train: Arc<dyn ImageSource>,
    test: Arc<dyn ImageSource>,
    options: &RunOptions,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    config.data.check_source(train.as_ref())?;
    config.data.check_source(test.as_ref())?;
    self::train(
        config,
        genotype,
        Some(Sources { train, test }),
        options,
        device,
    )
}

/// A training run on `data`, or on the config's data set when `None`.
fn train(
    config: &TrainConfig,
    genotype: &Architecture,
    data: Option<Sources>,
    options: &RunOptions,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    // The config and the data are checked before the run directory is
    // made: a bad data root leaves no half-made directory behind.
    let config_toml = to_toml(config)?;
    let data = match data {
        Some(data) => data,
        None => open_data(config)?,
    };
    let mut trainer = trainer(config, genotype, data, device)?;
    let mut run = driver::open(options)?;
    driver::logging_errors(&mut run, |run| {
        driver::drive(&mut trainer, run, options, &config_toml)
    })
}

/// Makes a training run of `genotype` with `config` in `options.out` whose
/// network holds the weights of `weights` (a DARTS `model.pt` or
/// safetensors with DARTS' names), checkpointed before epoch 1: `edas eval`
/// evaluates it and `edas train --resume` trains it on from there (with
/// fresh momentum). Returns what the import loaded.
pub fn import_run(
    config: &TrainConfig,
    genotype: &Architecture,
    weights: &DartsWeights,
    options: &RunOptions,
    device: &Device,
) -> Result<ImportReport, TrainError> {
    // Weights that do not fit leave no run directory behind.
    let config_toml = to_toml(config)?;
    let mut trainer = trainer(config, genotype, open_data(config)?, device)?;
    let net = trainer.net.darts_mut().ok_or_else(|| {
        edas_genotype::Error::from(
            genotype.mismatch("importing DARTS weights", edas_genotype::SpaceName::Darts),
        )
    })?;
    let report = weights.load_into(net)?;
    trainer.imported = Some(weights.path().display().to_string());
    let mut run = driver::open(options)?;
    driver::logging_errors(&mut run, |run| {
        driver::initialise(&mut trainer, run, options, &config_toml)?;
        let dir = run.path().display().to_string();
        let under = if report.prefix.is_empty() {
            String::new()
        } else {
            format!(
                " (state dict under `{}`)",
                report.prefix.trim_end_matches('.')
            )
        };
        run.line(&format!(
            "imported {} tensors from {}{under}; evaluate with: edas eval --run {dir}; \
             train on with: edas train --resume {dir}",
            report.loaded,
            weights.path().display(),
        ));
        Ok(report)
    })
}
