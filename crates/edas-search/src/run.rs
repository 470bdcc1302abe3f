//! The search loop: data, epochs, metrics, plots, checkpoints and resume,
//! and the files a finished search leaves in its run directory
//! (`docs/search.md`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use edas_data::download::DownloadOptions;
use edas_data::{Loader, LoaderConfig, Split, search_split};
use edas_genotype::{CellKind, Format, Genotype, NUM_EDGES, NUM_OPS, Primitive, diff};
use edas_nn::SearchNetworkConfig;
use edas_train::config::to_toml;
use edas_train::optim::cosine_lr;
use edas_train::plot::{Chart, Series, figure};
use edas_train::progress::{Progress, fmt_duration};
use edas_train::run::{OpenMode, RESULTS_FILE, RunDir, RunOptions, stage_checkpoint};
use edas_train::sys::{mib, peak_rss_bytes, reset_peak_rss};
use serde::{Deserialize, Serialize};

use crate::arch::mean_entropy;
use crate::config::SearchConfig;
use crate::error::SearchError;
use crate::searcher::{Evaluation, Searcher, SearcherState, StepContext};
use crate::strategy::{Strategy, op_histogram};

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// The strategy.
    pub strategy: Strategy,
    /// Whether this was a warm-up epoch.
    pub warmup: bool,
    /// Weight learning rate.
    pub lr: f64,
    /// Temperature.
    pub tau: f64,
    /// Exploration probability.
    pub epsilon: f64,
    /// Steps run.
    pub steps: usize,
    /// Mean training loss (weight steps, before each update).
    pub train_loss: f64,
    /// Training accuracy of those batches.
    pub train_acc: f64,
    /// Mean validation loss of the architecture steps (none without one).
    pub val_loss: Option<f64>,
    /// Validation accuracy of those batches.
    pub val_acc: Option<f64>,
    /// End-of-epoch evaluation on held-out validation examples.
    pub eval: Evaluation,
    /// Accuracy of the network as searched.
    pub searched_acc: f64,
    /// Accuracy of the derived network with inherited weights.
    pub derived_acc: f64,
    /// `searched_acc - derived_acc`.
    pub pruning_gap: f64,
    /// The derived genotype, DARTS text.
    pub genotype: String,
    /// Kept edges (of 16) whose op or input changed since the last epoch.
    pub changed_edges: usize,
    /// Mean entropy of `softmax(alpha)` per edge (nats), normal and reduce.
    pub entropy: [f64; 2],
    /// Ops of the derived cells.
    pub ops: BTreeMap<String, BTreeMap<String, usize>>,
    /// `softmax(alpha)` per kind, row-major 14 x 8 (for the alpha plot).
    pub alpha: [Vec<f32>; 2],
    /// Mean seconds per step.
    pub step_time_s: f64,
    /// Seconds for the epoch including evaluation and checkpoint.
    pub epoch_time_s: f64,
    /// Peak resident memory during the epoch (MiB), where measurable.
    pub peak_memory_mib: Option<f64>,
}

/// The JSON state of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CheckpointState {
    /// Epochs completed.
    epochs_done: usize,
    /// The resolved config the run was started with.
    config: String,
    /// Seconds of search so far.
    elapsed_s: f64,
    /// The searcher.
    searcher: SearcherState,
}

/// What a search returns.
#[derive(Clone, Debug)]
pub struct SearchOutcome {
    /// The genotype the search stands at.
    pub genotype: Genotype,
    /// Epochs completed in total.
    pub epochs_done: usize,
    /// Whether all epochs are done (the run directory holds `results.json`).
    pub finished: bool,
    /// The last epoch's record.
    pub last: Option<EpochRecord>,
}

/// Final results (`results.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchResults {
    /// Config name.
    pub name: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Epochs.
    pub epochs: usize,
    /// The final genotype, DARTS text.
    pub genotype: String,
    /// Final accuracy of the network as searched (validation split).
    pub searched_acc: f64,
    /// Final accuracy of the derived network with inherited weights.
    pub derived_acc: f64,
    /// The pruning gap.
    pub pruning_gap: f64,
    /// Seconds of search.
    pub search_time_s: f64,
    /// Highest per-epoch peak memory (MiB).
    pub peak_memory_mib: Option<f64>,
}

type Batches = Vec<(Tensor<4>, Tensor<1, Int>)>;

struct Data {
    train: Loader,
    valid: Loader,
    eval: Batches,
    net: SearchNetworkConfig,
    describe: String,
}

fn open_data(config: &SearchConfig, device: &Device) -> Result<Data, SearchError> {
    let source = config.data.open(
        Split::Train,
        &DownloadOptions {
            progress: true,
            ..DownloadOptions::default()
        },
    )?;
    let shape = source.fixed_shape().ok_or_else(|| {
        SearchError::Shape(format!(
            "{}: search needs images of one size",
            source.describe()
        ))
    })?;
    let l = &config.loader;
    let n = l
        .train_examples
        .map_or(source.len(), |k| k.min(source.len()));
    let (train_idx, valid_idx) = search_split(n, l.train_portion, config.seed)?;
    let pipeline = if l.augment {
        config.data.train_pipeline(false)
    } else {
        config.data.eval_pipeline()
    };
    let loader = |idx: Vec<usize>, stream: u64, pipeline| {
        Loader::new(
            source.clone(),
            Some(idx),
            pipeline,
            LoaderConfig {
                batch_size: l.batch_size,
                shuffle: true,
                drop_last: true,
                seed: config.seed.wrapping_add(stream),
                workers: l.workers,
                prefetch: 2,
            },
        )
    };
    let eval_idx: Vec<usize> = valid_idx
        .iter()
        .copied()
        .take(l.eval_examples.unwrap_or(usize::MAX))
        .collect();
    let eval_loader = Loader::new(
        source.clone(),
        Some(eval_idx),
        config.data.eval_pipeline(),
        LoaderConfig {
            batch_size: l.batch_size.max(64),
            shuffle: false,
            drop_last: false,
            seed: config.seed,
            workers: l.workers,
            prefetch: 2,
        },
    )?;
    let eval = eval_loader
        .epoch(0)
        .map(|b| b.map(|b| b.to_tensors(device)))
        .collect::<Result<Vec<_>, _>>()?;
    let describe = format!(
        "{} ({} used: {} weight-step, {} architecture-step, {} evaluation examples)",
        source.describe(),
        n,
        train_idx.len(),
        valid_idx.len(),
        eval.iter().map(|b| b.1.dims()[0]).sum::<usize>()
    );
    Ok(Data {
        train: loader(train_idx, 0, pipeline.clone())?,
        valid: loader(valid_idx, 1, pipeline)?,
        eval,
        net: SearchNetworkConfig {
            in_channels: shape.channels,
            classes: source.num_classes(),
            channels: config.network.channels,
            layers: config.network.layers,
            stem_multiplier: config.network.stem_multiplier,
        },
        describe,
    })
}

fn ops_table(genotype: &Genotype) -> BTreeMap<String, BTreeMap<String, usize>> {
    let hist = op_histogram(genotype);
    CellKind::ALL
        .into_iter()
        .zip(hist)
        .map(|(kind, counts)| {
            let per_op = Primitive::ALL
                .into_iter()
                .zip(counts)
                .filter(|&(_, c)| c > 0)
                .map(|(p, c)| (p.name().to_owned(), c))
                .collect();
            (kind.name().to_owned(), per_op)
        })
        .collect()
}

fn nonfinite(what: &str, value: f64, epoch: usize, step: usize, run: &RunDir) -> SearchError {
    SearchError::Diverged {
        what: what.to_owned(),
        value,
        epoch: epoch + 1,
        step: step + 1,
        checkpoint: run.checkpoint_status(),
    }
}

/// Runs (or resumes) a search as `config` and `options` say, on `device`
/// (an autodiff device).
pub fn run_search(
    config: &SearchConfig,
    options: &RunOptions,
    device: &Device,
) -> Result<SearchOutcome, SearchError> {
    let mut run = RunDir::open(&options.out, options.mode)?;
    run.set_echo(options.verbose);
    let config_toml = to_toml(config)?;
    let data = open_data(config, device)?;
    let mut searcher = Searcher::new(&data.net, config.settings(), config.seed, device);
    let mut start_epoch = 0;
    let mut elapsed = 0.0;
    if options.mode == OpenMode::Resume {
        let (dir, state): (_, CheckpointState) = run.read_checkpoint()?;
        if state.config != config_toml {
            return Err(SearchError::Run(edas_train::RunError::RunDir {
                path: run.path().to_owned(),
                message: "the config differs from the one the run started with; resume with the run's own config.toml".into(),
            }));
        }
        searcher.load(&dir, &state.searcher)?;
        start_epoch = state.epochs_done;
        elapsed = state.elapsed_s;
        run.resume_metrics(start_epoch, config.epochs)?;
        run.line(&format!(
            "resuming {} after epoch {start_epoch}/{}",
            run.path().display(),
            config.epochs
        ));
    } else {
        run.write_provenance(&config_toml, &options.command_line)?;
        run.line(&format!(
            "search `{}`: {} on {}, C={} L={}, {} epochs x {} steps, batch {}, seed {}",
            config.name,
            config.strategy,
            data.describe,
            config.network.channels,
            config.network.layers,
            config.epochs,
            data.train.num_batches().min(data.valid.num_batches()),
            config.loader.batch_size,
            config.seed
        ));
    }

    let steps = data.train.num_batches().min(data.valid.num_batches());
    // The genotype at the start of the next epoch (the initial clamp, or
    // the checkpoint's), for `changed_edges`.
    let mut previous = searcher.genotype()?;
    let mut last = records(&run)?.pop();
    let mut epoch = start_epoch;
    while epoch < config.epochs {
        if options.stop_after.is_some_and(|s| epoch >= s) {
            break;
        }
        let t0 = Instant::now();
        let measured = reset_peak_rss();
        let ctx = StepContext {
            lr: cosine_lr(&config.weights, epoch, config.epochs),
            tau: config.tau(epoch),
            epsilon: config.epsilon(epoch),
            drop_path: config.regularizers.drop_path,
            warmup: config.is_warmup(epoch),
        };
        let mut progress = Progress::new(format!("epoch {}/{}", epoch + 1, config.epochs), steps);
        let (mut train_loss, mut train_correct, mut seen) = (0.0, 0usize, 0usize);
        let (mut val_loss, mut val_correct, mut val_seen) = (0.0, 0usize, 0usize);
        let mut valid = data.valid.epoch(epoch as u64);
        let mut step_time = 0.0;
        for (s, tb) in data.train.epoch(epoch as u64).take(steps).enumerate() {
            let tb = tb?;
            let vb = valid.next().ok_or_else(|| {
                SearchError::Shape("the validation loader ran out of batches".into())
            })??;
            let ts = Instant::now();
            let stats = match searcher.step(tb.to_tensors(device), vb.to_tensors(device), &ctx) {
                Err(SearchError::NonFinite(what)) => {
                    progress.finish();
                    let e = nonfinite(&what, f64::NAN, epoch, s, &run);
                    run.line(&format!("error: {e}"));
                    return Err(e);
                }
                other => other?,
            };
            step_time += ts.elapsed().as_secs_f64();
            tracing::debug!(
                epoch,
                step = s,
                train_loss = stats.train_loss,
                val_loss = ?stats.val_loss,
                grad_norm = stats.grad_norm,
                relaxed = ?stats.relaxed,
                "search step"
            );
            if let Some(v) = stats.val_loss
                && !v.is_finite()
            {
                progress.finish();
                let e = nonfinite(&format!("validation loss became {v}"), v, epoch, s, &run);
                run.line(&format!("error: {e}"));
                return Err(e);
            }
            if !stats.train_loss.is_finite() {
                progress.finish();
                let e = nonfinite(
                    &format!("training loss became {}", stats.train_loss),
                    stats.train_loss,
                    epoch,
                    s,
                    &run,
                );
                run.line(&format!("error: {e}"));
                return Err(e);
            }
            train_loss += stats.train_loss * tb.len() as f64;
            train_correct += stats.train_correct;
            seen += tb.len();
            if let (Some(l), Some(c)) = (stats.val_loss, stats.val_correct) {
                val_loss += l * vb.len() as f64;
                val_correct += c;
                val_seen += vb.len();
            }
            if options.verbose {
                progress.step(&format!(
                    "loss {:.3} acc {:.1}%",
                    train_loss / seen as f64,
                    100.0 * train_correct as f64 / seen as f64
                ));
            }
        }
        progress.finish();
        if config.strategy == Strategy::Random && !ctx.warmup {
            searcher.random_search_round(config.random.candidates, &data.eval);
        }
        let eval = searcher.evaluate(&data.eval, ctx.tau)?;
        let genotype = searcher.genotype()?;
        let changed = diff(&previous, &genotype)
            .changes
            .iter()
            .filter(|c| matches!(c, edas_genotype::Change::Edge { .. }))
            .count();
        previous = genotype;
        let alpha = [
            searcher.arch.softmax_values(CellKind::Normal),
            searcher.arch.softmax_values(CellKind::Reduce),
        ];
        let record = EpochRecord {
            epoch,
            strategy: config.strategy,
            warmup: ctx.warmup,
            lr: ctx.lr,
            tau: ctx.tau,
            epsilon: ctx.epsilon,
            steps,
            train_loss: train_loss / seen.max(1) as f64,
            train_acc: train_correct as f64 / seen.max(1) as f64,
            val_loss: (val_seen > 0).then(|| val_loss / val_seen as f64),
            val_acc: (val_seen > 0).then(|| val_correct as f64 / val_seen as f64),
            eval,
            searched_acc: eval.searched_accuracy(),
            derived_acc: eval.derived_accuracy(),
            pruning_gap: eval.gap(),
            genotype: edas_genotype::darts_text::to_darts(&genotype),
            changed_edges: changed,
            entropy: [
                mean_entropy(&searcher.arch.values(CellKind::Normal)),
                mean_entropy(&searcher.arch.values(CellKind::Reduce)),
            ],
            ops: ops_table(&genotype),
            alpha,
            step_time_s: step_time / steps.max(1) as f64,
            epoch_time_s: 0.0,
            peak_memory_mib: if measured {
                peak_rss_bytes().map(mib)
            } else {
                None
            },
        };

        // Checkpoint, then the metrics line: a crash between the two is
        // repaired on resume by truncating metrics to the checkpoint.
        let staged = stage_checkpoint(run.path())?;
        let state = CheckpointState {
            epochs_done: epoch + 1,
            config: config_toml.clone(),
            elapsed_s: elapsed + t0.elapsed().as_secs_f64(),
            searcher: searcher.save(&staged)?,
        };
        run.commit_checkpoint_with(&state)?;
        elapsed += t0.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch_time_s: t0.elapsed().as_secs_f64(),
            ..record
        };
        run.append_metrics(&record)?;
        run.line(&epoch_line(config, &record));
        write_plots(&run, config)?;
        last = Some(record);
        epoch += 1;
    }

    let genotype = searcher.genotype()?;
    let finished = epoch >= config.epochs;
    if finished {
        write_final(&mut run, config, &genotype, last.as_ref(), elapsed)?;
    } else {
        run.line(&format!(
            "stopped after epoch {epoch}/{}; continue with: edas search --resume {}",
            config.epochs,
            run.path().display()
        ));
    }
    Ok(SearchOutcome {
        genotype,
        epochs_done: epoch,
        finished,
        last,
    })
}

fn epoch_line(config: &SearchConfig, r: &EpochRecord) -> String {
    let val = match (r.val_loss, r.val_acc) {
        (Some(l), Some(a)) => format!(" val {l:.3}/{:.1}%", 100.0 * a),
        _ => String::new(),
    };
    format!(
        "epoch {}/{}{} lr {:.4} | train {:.3}/{:.1}%{val} | searched {:.2}% derived {:.2}% gap {:+.2} | H {:.4}/{:.4} | {} edges changed | {:.3} s/step{} | {}\n  genotype {}",
        r.epoch + 1,
        config.epochs,
        if r.warmup { " (warm-up)" } else { "" },
        r.lr,
        r.train_loss,
        100.0 * r.train_acc,
        100.0 * r.searched_acc,
        100.0 * r.derived_acc,
        100.0 * r.pruning_gap,
        r.entropy[0],
        r.entropy[1],
        r.changed_edges,
        r.step_time_s,
        r.peak_memory_mib
            .map_or(String::new(), |m| format!(", peak {m:.0} MiB")),
        fmt_duration(r.epoch_time_s),
        r.genotype
    )
}

fn records(run: &RunDir) -> Result<Vec<EpochRecord>, SearchError> {
    Ok(run.records()?)
}

/// `curves.svg` (losses, accuracies, pruning gap) and `alpha.svg`
/// (`softmax(alpha)` of every edge over epochs).
fn write_plots(run: &RunDir, config: &SearchConfig) -> Result<(), SearchError> {
    let rs = records(run)?;
    let x = |r: &EpochRecord| (r.epoch + 1) as f64;
    let series = |name: &str, f: &dyn Fn(&EpochRecord) -> Option<f64>| Series {
        name: name.into(),
        points: rs.iter().filter_map(|r| f(r).map(|y| (x(r), y))).collect(),
    };
    let charts = vec![
        Chart {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![
                series("train", &|r| Some(r.train_loss)),
                series("val (arch steps)", &|r| r.val_loss),
            ],
            y_range: None,
        },
        Chart {
            title: "accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: vec![
                series("train", &|r| Some(r.train_acc)),
                series("as searched", &|r| Some(r.searched_acc)),
                series("derived", &|r| Some(r.derived_acc)),
            ],
            y_range: None,
        },
        Chart {
            title: "pruning gap (searched - derived)".into(),
            x_label: "epoch".into(),
            y_label: "accuracy points".into(),
            series: vec![series("gap", &|r| Some(100.0 * r.pruning_gap))],
            y_range: None,
        },
        Chart {
            title: "alpha entropy".into(),
            x_label: "epoch".into(),
            y_label: "nats per edge".into(),
            series: vec![
                series("normal", &|r| Some(r.entropy[0])),
                series("reduce", &|r| Some(r.entropy[1])),
            ],
            y_range: None,
        },
    ];
    run.write(
        "curves.svg",
        figure(
            &format!("{} ({})", config.name, config.strategy),
            &charts,
            2,
        )
        .as_bytes(),
    )?;
    if config.strategy.has_arch_step() {
        let mut charts = Vec::new();
        for (k, kind) in CellKind::ALL.into_iter().enumerate() {
            for e in 0..NUM_EDGES {
                let edge = edas_genotype::space::Edge::from_index(e);
                charts.push(Chart {
                    title: match edge {
                        Some(ed) => format!("{kind} edge {e}: {} -> node {}", ed.input, ed.node),
                        None => format!("{kind} edge {e}"),
                    },
                    x_label: "epoch".into(),
                    y_label: "softmax(alpha)".into(),
                    series: Primitive::ALL
                        .into_iter()
                        .map(|p| Series {
                            name: p.name().into(),
                            points: rs
                                .iter()
                                .filter_map(|r| {
                                    r.alpha[k]
                                        .get(e * NUM_OPS + p.index())
                                        .map(|&v| (x(r), f64::from(v)))
                                })
                                .collect(),
                        })
                        .collect(),
                    y_range: None,
                });
            }
        }
        run.write(
            "alpha.svg",
            figure("softmax(alpha) per edge over epochs", &charts, 7).as_bytes(),
        )?;
    }
    Ok(())
}

/// Renders `dot` to SVG with Graphviz when it is installed.
fn render_svg(dot_file: &Path) -> bool {
    let svg = dot_file.with_extension("svg");
    Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(&svg)
        .arg(dot_file)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn write_final(
    run: &mut RunDir,
    config: &SearchConfig,
    genotype: &Genotype,
    last: Option<&EpochRecord>,
    elapsed: f64,
) -> Result<(), SearchError> {
    edas_genotype::save(genotype, &run.file("genotype.json"), Format::Json)?;
    edas_genotype::save(genotype, &run.file("genotype.txt"), Format::Darts)?;
    let mut rendered = true;
    for kind in CellKind::ALL {
        let name = format!("{kind}.dot");
        run.write(
            &name,
            edas_genotype::dot::cell_to_dot(genotype.cell(kind), kind).as_bytes(),
        )?;
        rendered &= render_svg(&run.file(&name));
    }
    if !rendered {
        run.line("note: Graphviz `dot` not found; cells written as normal.dot/reduce.dot only");
    }
    let peak = records(run)?
        .iter()
        .filter_map(|r| r.peak_memory_mib)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let results = SearchResults {
        name: config.name.clone(),
        strategy: config.strategy,
        epochs: config.epochs,
        genotype: edas_genotype::darts_text::to_darts(genotype),
        searched_acc: last.map_or(f64::NAN, |r| r.searched_acc),
        derived_acc: last.map_or(f64::NAN, |r| r.derived_acc),
        pruning_gap: last.map_or(f64::NAN, |r| r.pruning_gap),
        search_time_s: elapsed,
        peak_memory_mib: peak,
    };
    run.write_json(RESULTS_FILE, &results)?;
    run.line(&format!(
        "done in {}: {}\n  written to {}",
        fmt_duration(elapsed),
        results.genotype,
        run.path().display()
    ));
    Ok(())
}
