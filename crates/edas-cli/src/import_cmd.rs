//! `edas import`: weights of a PyTorch DARTS network (DARTS' `train.py`
//! `model.pt`, a checkpoint dict holding its state dict, or safetensors with
//! DARTS' names) into a training run directory that `edas eval`, `edas
//! export` and `edas train --resume` accept.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;
use edas_data::DatasetKind;
use edas_nn::NetKind;
use edas_run::RunOptions;
use edas_run::config::{Loaded, apply_override, from_table, load, to_toml};
use edas_train::{DartsShape, DartsWeights, TrainConfig, import_run};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The weights: a `.pt`/`.pth` file saved by PyTorch (a state dict of
    /// DARTS' NetworkCIFAR or NetworkImageNet, or a checkpoint dict holding
    /// one), or `.safetensors` with DARTS' names.
    #[arg(long)]
    weights: PathBuf,
    /// The genotype the network was built from: a published name, a file,
    /// a run directory, `-` or DARTS text.
    #[arg(long)]
    genotype: String,
    /// The training config (data set and recipe for `edas train --resume`;
    /// its network section is taken from the weights). Default: DARTS'
    /// CIFAR recipe on CIFAR-10, CIFAR-100 or Fashion-MNIST, chosen by the
    /// weights' classes and input channels.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Override a config key: `--set data.root=/data/cifar` (TOML values).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// The run directory (default: runs/import-<genotype>).
    #[arg(short, long, alias = "output")]
    out: Option<PathBuf>,
    /// Overwrite the run directory if it holds a run.
    #[arg(long)]
    force: bool,
    /// Print only errors.
    #[arg(long, short)]
    quiet: bool,
    /// Print what was imported as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// The data set DARTS' CIFAR recipe applies to for weights of `shape`.
fn default_dataset(shape: &DartsShape) -> Result<DatasetKind> {
    Ok(match (shape.kind, shape.in_channels, shape.classes) {
        (NetKind::Cifar, 3, 10) => DatasetKind::Cifar10,
        (NetKind::Cifar, 3, 100) => DatasetKind::Cifar100,
        (NetKind::Cifar, 1, 10) => DatasetKind::FashionMnist,
        (kind, c, k) => bail!(
            "weights of a {kind} network with {c} input channels and {k} classes: no default \
             data set; pass --config with the training config they belong to (see \
             configs/train/)"
        ),
    })
}

/// The config: `--config` (or DARTS' CIFAR recipe) with `--set`, and the
/// network section the weights dictate.
fn config(args: &ImportArgs, shape: &DartsShape, quiet: bool) -> Result<Loaded<TrainConfig>> {
    let mut loaded = match &args.config {
        Some(path) => load::<TrainConfig>(path, &args.sets)?,
        None => {
            let base = TrainConfig {
                name: "import".into(),
                ..TrainConfig::new(default_dataset(shape)?, 600)
            };
            let mut table: toml::Table = to_toml(&base)?.parse()?;
            for s in &args.sets {
                apply_override(&mut table, s)?;
            }
            let origin = "DARTS' CIFAR recipe (no --config)".to_owned();
            Loaded {
                config: from_table(table, &origin)?,
                origin,
            }
        }
    };
    let net = &mut loaded.config.network;
    let taken = [
        ("kind", net.kind.to_string(), shape.kind.to_string()),
        (
            "channels",
            net.channels.to_string(),
            shape.channels.to_string(),
        ),
        ("layers", net.layers.to_string(), shape.layers.to_string()),
        (
            "auxiliary",
            net.auxiliary.to_string(),
            shape.auxiliary.to_string(),
        ),
    ];
    if args.config.is_some() && !quiet {
        for (key, said, has) in taken.iter().filter(|(_, a, b)| a != b) {
            eprintln!(
                "note: network.{key} = {has} from the weights ({} said {said})",
                loaded.origin
            );
        }
    }
    net.kind = shape.kind;
    net.channels = shape.channels;
    net.layers = shape.layers;
    net.auxiliary = shape.auxiliary;
    Ok(loaded)
}

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let source = crate::source::resolve(&args.genotype)?;
    let weights = DartsWeights::read(&args.weights)?;
    let shape = weights.shape()?;
    let loaded = config(&args, &shape, args.quiet)?;
    let config = &loaded.config;
    config.validate(&loaded.origin)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("import-{}", source.label)));
    let mode = if args.force {
        edas_run::OpenMode::Force
    } else {
        edas_run::OpenMode::New
    };
    let options = RunOptions {
        command_line: std::env::args().collect(),
        build_commit: Some(crate::BUILD_COMMIT.to_owned()),
        verbose: !args.quiet,
        ..RunOptions::new(out, mode)
    };
    let device = crate::device::parse("cpu", true)?;
    let report = import_run(config, &source.arch, &weights, &options, &device)?;
    if args.json {
        let v = serde_json::json!({
            "run_dir": options.out,
            "weights": args.weights,
            "network": {
                "kind": shape.kind.to_string(),
                "in_channels": shape.in_channels,
                "channels": shape.channels,
                "layers": shape.layers,
                "classes": shape.classes,
                "auxiliary": shape.auxiliary,
            },
            "tensors": report.loaded,
            "state_dict_prefix": report.prefix,
            "skipped_counters": report.counters,
            "outside_state_dict": report.outside,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(ExitCode::SUCCESS)
}
