//! Rebuilding a trained run directory: its config, genotype and network
//! with the final (or last checkpointed) weights, checked against the
//! genotype they were trained for.

use std::path::Path;

use burn::prelude::*;
use edas_data::download::DownloadOptions;
use edas_data::{DataConfig, ImageShape, ImageSource, Loader, Split};
use edas_genotype::Architecture;
use edas_nn::{Model, NetworkConfig};
use edas_run::checkpoint::{load_module, save_module};
use edas_run::dir::{latest_checkpoint, read_json};
use edas_run::files::RESULTS_FILE;
use edas_run::files::{CONFIG_FILE, GENOTYPE_JSON, MODEL_FILE, STATE_FILE};
use edas_run::{CheckpointState, RunError};

use crate::config::TrainConfig;
use crate::error::TrainError;
use crate::evaluate::test_loader;
use crate::records::{TrainResults, TrainState};

/// The latest checkpoint's state file and state, when there is one.
type Checkpointed = Option<(std::path::PathBuf, CheckpointState<TrainState>)>;

/// Writes `model`'s weights to `path`. A DARTS network is written as it
/// was before networks of other spaces existed (the inner network's
/// record), so older runs keep resuming and evaluating.
pub fn save_model(model: &Model, path: &Path) -> edas_run::Result<()> {
    match model {
        Model::Darts(n) => save_module(n, path),
        Model::Nb201(n) => save_module(n, path),
    }
}

/// Loads [`save_model`]'s file into `model`.
pub fn load_model(model: &mut Model, path: &Path) -> edas_run::Result<()> {
    match model {
        Model::Darts(n) => load_module(n, path),
        Model::Nb201(n) => load_module(n, path),
    }
}

/// Checks that `genotype` (the run's `genotype.json`) is the genotype its
/// weights were trained for, as `results.json` (a finished run) or the
/// checkpoint's state (`checkpoint`) records it: weights of the same shapes
/// load into another wiring without complaint and give a plausible, wrong
/// accuracy.
fn check_weights_genotype(
    dir: &Path,
    finished: bool,
    genotype: &Architecture,
    checkpoint: &Checkpointed,
) -> Result<(), RunError> {
    let results = dir.join(RESULTS_FILE);
    let (recorded, source) = if finished && results.is_file() {
        let r: TrainResults = read_json(&results)?;
        (Some(r.genotype), results)
    } else if let Some((state_path, state)) = checkpoint {
        (state.task.genotype.clone(), state_path.clone())
    } else {
        (None, results)
    };
    let Some(text) = recorded else {
        return Ok(());
    };
    let (_, trained) = Architecture::parse_any(&text).map_err(|e| RunError::RunDir {
        path: source.clone(),
        message: format!("records an unreadable genotype: {e}"),
    })?;
    let d = match (&trained, genotype) {
        _ if trained == *genotype => return Ok(()),
        (Architecture::Darts(a), Architecture::Darts(b)) => {
            let d = edas_genotype::diff::diff(a, b);
            if d.is_empty() {
                return Ok(());
            }
            d.to_string()
        }
        _ => format!("{trained} -> {genotype}"),
    };
    Err(RunError::RunDir {
        path: dir.join(GENOTYPE_JSON),
        message: format!(
            "is not the genotype the weights were trained for ({} records another; from it to \
             genotype.json: {}); restore genotype.json",
            source.display(),
            d.replace('\n', "; ")
        ),
    })
}

/// The shape of the images a network sees from `source`: its fixed shape,
/// or ImageNet's 3x224x224 crops for folders of photos of many sizes.
pub fn input_shape(source: &dyn ImageSource) -> ImageShape {
    source.fixed_shape().unwrap_or(ImageShape::new(3, 224, 224))
}

/// The network `config` builds for `genotype` on images of `source`.
pub fn build_network(
    config: &TrainConfig,
    genotype: &Architecture,
    source: &dyn ImageSource,
    device: &Device,
) -> Result<Model, TrainError> {
    let shape = input_shape(source);
    let net = NetworkConfig {
        in_channels: shape.channels,
        image_size: match config.network.kind {
            edas_nn::NetKind::Imagenet => 224,
            edas_nn::NetKind::Cifar | edas_nn::NetKind::Nb201 => shape.height,
        },
        classes: source.num_classes(),
        channels: config.network.channels,
        layers: config.network.layers,
        auxiliary: config.network.auxiliary,
    };
    Ok(Model::new(config.network.kind, genotype, &net, device)?)
}

/// A trained run directory, rebuilt: its config, genotype and network with
/// the final weights (or the last checkpoint's when unfinished).
pub struct TrainedRun {
    /// The config it was trained with.
    pub config: TrainConfig,
    /// The architecture.
    pub genotype: Architecture,
    /// The network with the trained weights.
    pub net: Model,
    /// Whether the weights are the final ones.
    pub finished: bool,
    /// The weights file they were imported from (`edas import`), while
    /// no epoch has been trained on them here.
    pub imported: Option<String>,
}

/// Rebuilds the network of run directory `dir` from its stored genotype and
/// config, then loads its weights; `data` replaces the data config (another
/// root, for example).
pub fn load_run(
    dir: &Path,
    data: Option<DataConfig>,
    device: &Device,
) -> Result<(TrainedRun, Loader), TrainError> {
    let config_path = dir.join(CONFIG_FILE);
    let loaded = match edas_run::config::load::<TrainConfig>(&config_path, &[]) {
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
    let (_, genotype) = Architecture::load(&dir.join(GENOTYPE_JSON))?;
    let source = config.data.open(Split::Test, &DownloadOptions::default())?;
    let mut net = build_network(&config, &genotype, source.as_ref(), device)?;
    let finished = dir.join(MODEL_FILE).is_file();
    let latest = latest_checkpoint(dir);
    // The checkpoint's state, read once where the weights or their genotype
    // record come from it (a finished run's is in results.json).
    let checkpoint: Checkpointed = match &latest {
        Some(c) if !finished || !dir.join(RESULTS_FILE).is_file() => {
            let path = c.join(STATE_FILE);
            let state = read_json(&path)?;
            Some((path, state))
        }
        _ => None,
    };
    let weights = if finished {
        dir.join(MODEL_FILE)
    } else {
        latest
            .map(|c| c.join(MODEL_FILE))
            .ok_or_else(|| RunError::RunDir {
                path: dir.to_owned(),
                message: "holds no trained weights (no model.bpk, no checkpoint)".into(),
            })?
    };
    check_weights_genotype(dir, finished, &genotype, &checkpoint)?;
    load_model(&mut net, &weights)?;
    let imported = match &checkpoint {
        Some((_, state)) if !finished && state.epochs_done == 0 => state.task.imported.clone(),
        _ => None,
    };
    let test = test_loader(&config, source)?;
    Ok((
        TrainedRun {
            config,
            genotype,
            net,
            finished,
            imported,
        },
        test,
    ))
}
