//! `edas train` (a genotype from scratch) and `edas eval` (a trained run on
//! the test set).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

use edas_data::DataConfig;
use edas_run::config::load;
use edas_run::files::{CONFIG_FILE, GENOTYPE_JSON, ONNX_FILE, SAFETENSORS_FILE};
use edas_train::{TrainConfig, TrainedRun, load_run, run_train};

use crate::run_args::RunArgs;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The genotype: a published name, a file, a search run directory, `-`,
    /// DARTS text, or a NAS-Bench-201 architecture string (with a config
    /// whose network.kind is nas-bench-201).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    genotype: Option<String>,
    /// The training config (TOML; see configs/train/).
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    if args.run.check {
        // The genotype may not exist yet (a matrix checks its training
        // configs before the searches that write them).
        let plan = args
            .run
            .plan::<TrainConfig>("training", args.config.as_deref(), |_| PathBuf::new())?;
        plan.loaded.config.validate(&plan.loaded.origin)?;
        println!("config ok: {}", plan.loaded.origin);
        return Ok(ExitCode::SUCCESS);
    }
    // A new run's genotype first: its label names the default directory.
    let source = match (&args.run.resume, &args.genotype) {
        (None, Some(g)) => Some(crate::source::resolve(g)?),
        _ => None,
    };
    let plan = args
        .run
        .plan::<TrainConfig>("training", args.config.as_deref(), |c| {
            let label = source.as_ref().map_or("genotype", |g| g.label.as_str());
            PathBuf::from("runs").join(format!("{}-{label}", c.name))
        })?;
    let genotype = match source {
        Some(g) => g.arch,
        None => edas_genotype::Architecture::load(&plan.out.join(GENOTYPE_JSON))?.1,
    };
    let config = &plan.loaded.config;
    config.validate(&plan.loaded.origin)?;
    let device = args.run.device(config.gradient_checkpointing)?;
    let options = args.run.options(plan.out, plan.mode)?;
    let outcome = run_train(config, &genotype, &options, &device)?;
    if args.run.json {
        let v = serde_json::json!({
            "run_dir": options.out,
            "finished": outcome.finished,
            "interrupted": outcome.interrupted,
            "epochs_done": outcome.epochs_done,
            "last": outcome.last,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    if outcome.interrupted {
        return Ok(ExitCode::from(edas_run::INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A training run directory.
    #[arg(long)]
    run: PathBuf,
    /// Read the test set from this directory instead of the run's.
    #[arg(long = "data", alias = "data-root", value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// Evaluate at most this many test examples.
    #[arg(long)]
    limit: Option<usize>,
    /// Device: cpu, or with a GPU build cuda[:N], vulkan[:N], wgpu[:N|:cpu],
    /// tch, tch-cuda[:N].
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also write the evaluated images (after the evaluation pipeline), the
    /// logits and the labels into this directory as NumPy .npy files.
    #[arg(long, value_name = "DIR")]
    dump: Option<PathBuf>,
    /// Replace the .npy files of an earlier --dump in DIR.
    #[arg(long, requires = "dump")]
    force: bool,
}

pub fn eval(args: EvalArgs) -> Result<ExitCode> {
    let config_path = args.run.join(CONFIG_FILE);
    if !config_path.is_file() {
        bail!(
            "{}: not a training run directory (no config.toml)",
            args.run.display()
        );
    }
    let data = match &args.data_root {
        Some(root) => {
            let c = load::<TrainConfig>(&config_path, &[])?.config;
            Some(DataConfig {
                root: Some(root.clone()),
                ..c.data
            })
        }
        None => None,
    };
    if let Some(dir) = &args.dump {
        crate::dump::check(dir, args.force)?;
    }
    let device = crate::device::parse(&args.device, false)?;
    let (mut trained, mut test) = load_run(&args.run, data, &device)?;
    if let Some(limit) = args.limit {
        trained.config.loader.test_examples = Some(limit);
        let source = test.source().clone();
        let n = limit.min(source.len());
        test = edas_data::Loader::new(
            source,
            Some((0..n).collect()),
            trained.config.data.eval_pipeline(),
            test.config().clone(),
        )?;
    }
    let mut dump = crate::dump::Dump::default();
    let mut observe = |p: edas_train::Predictions<'_>| {
        dump.add(p);
        Ok(())
    };
    let result = edas_train::evaluate_observed(
        &trained.net,
        &test,
        &device,
        args.dump
            .is_some()
            .then_some(&mut observe as edas_train::evaluate::Observer<'_>),
    )?;
    if let Some(dir) = &args.dump {
        dump.write(dir)?;
    }
    if !result.loss.is_finite() {
        bail!(
            "{}: the network's test outputs are not finite (loss {}): its weights diverged; \
             no accuracy to report",
            args.run.display(),
            result.loss
        );
    }
    if args.json {
        let v = serde_json::json!({
            "run_dir": args.run,
            "genotype": trained.genotype.to_string(),
            "final_weights": trained.finished,
            "imported_from": trained.imported,
            "test": result,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: {} test examples, top-1 {:.2}%, top-5 {:.2}%, loss {:.4}{}",
            args.run.display(),
            result.examples,
            100.0 * result.top1,
            100.0 * result.top5,
            result.loss,
            weights_note(&trained)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `edas export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    /// The weights with DARTS' PyTorch names (`model.safetensors`).
    Safetensors,
    /// The network for inference, weights included (`model.onnx`, opset 17).
    Onnx,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A training run directory.
    #[arg(long)]
    run: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value = "safetensors")]
    format: ExportFormat,
    /// The output file (default: RUN_DIR/model.safetensors or model.onnx).
    #[arg(short = 'o', long = "out", alias = "output")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

/// `edas export`: the trained weights as safetensors with PyTorch names, or
/// the network as ONNX.
pub fn export(args: ExportArgs) -> Result<ExitCode> {
    if !args.run.join(CONFIG_FILE).is_file() {
        bail!(
            "{}: not a training run directory (no config.toml)",
            args.run.display()
        );
    }
    let default_name = match args.format {
        ExportFormat::Safetensors => SAFETENSORS_FILE,
        ExportFormat::Onnx => ONNX_FILE,
    };
    let out = args.output.unwrap_or_else(|| args.run.join(default_name));
    refuse_run_file(&args.run, &out)?;
    edas_fs::check_output(&out, args.force)?;
    let device = crate::device::parse("cpu", false)?;
    let (trained, test) = load_run(&args.run, None, &device)?;
    let what = match args.format {
        ExportFormat::Safetensors => {
            edas_train::export::export_safetensors(&trained.net, &out)?;
            format!(
                "{} tensors with PyTorch ({}) names",
                edas_train::export::burn_paths(&trained.net).len(),
                match trained.net {
                    edas_nn::Model::Darts(_) => "DARTS model.py",
                    edas_nn::Model::Nb201(_) => "NAS-Bench-201 TinyNetwork",
                }
            )
        }
        ExportFormat::Onnx => {
            let shape = edas_train::trained::input_shape(test.source().as_ref());
            let image = [shape.channels, shape.height, shape.width];
            edas_train::onnx::export_onnx(&trained.net, image, &out)?;
            format!(
                "ONNX (opset {}) for inference on [batch, {}, {}, {}] images, auxiliary head left out",
                edas_train::onnx::OPSET,
                image[0],
                image[1],
                image[2]
            )
        }
    };
    println!("{}: {what}{}", out.display(), weights_note(&trained));
    Ok(ExitCode::SUCCESS)
}

/// Refuses an export output that is one of the run directory's own files
/// (`RUN/config.toml`, `RUN/checkpoint`...) other than the exports
/// themselves: `--force` replaces an earlier export, never the run.
fn refuse_run_file(run: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let (Some(parent), Some(name)) = (out.parent(), out.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        parent
    };
    let same_dir = match (std::fs::canonicalize(parent), std::fs::canonicalize(run)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_dir
        && edas_run::files::RUN_OUTPUTS.contains(&name)
        && ![SAFETENSORS_FILE, ONNX_FILE].contains(&name)
    {
        bail!(
            "{} is the run's own {name}; an export may replace only model.safetensors or \
             model.onnx in a run directory (choose another --out)",
            out.display()
        );
    }
    Ok(())
}

/// Where a run's weights come from, when not from its finished training.
fn weights_note(trained: &TrainedRun) -> String {
    match (&trained.imported, trained.finished) {
        (Some(file), _) => format!(" (weights imported from {file})"),
        (None, true) => String::new(),
        (None, false) => " (unfinished run: last checkpoint's weights)".into(),
    }
}
