//! A search as an epoch task of the shared driver (`edas_run::driver`):
//! the steps of an epoch, the pruning-gap evaluation, the metrics record,
//! and the files a finished search leaves in its run directory
//! (`docs/search.md`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::prelude::*;
use edas_data::ImageSource;
use edas_genotype::graphviz::{self, RenderError};
use edas_genotype::{Architecture, CellKind, Format, Nb201Op, Primitive, diff};
use edas_run::config::to_toml;
use edas_run::files::RESULTS_FILE;
use edas_run::files::{CELL_DOTS, GENOTYPE_JSON, GENOTYPE_TXT, NB201_CELL_DOT};
use edas_run::optim::cosine_lr;
use edas_run::progress::{count_of, fmt_duration};
use edas_run::{Epoch, EpochEnd, EpochTask, RunDir, RunOptions, driver};
use serde::{Deserialize, Serialize};

use crate::arch::mean_entropy;
use crate::config::SearchConfig;
use crate::data::SearchData;
use crate::error::SearchError;
use crate::records::{SearchRecord, SearchResults};
use crate::searcher::{Searcher, SearcherState, StepContext};
use crate::strategy::op_histogram;

/// A search checkpoint's state besides the driver's fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchState {
    /// The searcher.
    searcher: SearcherState,
}

impl SearchState {
    /// The searcher's host-side state.
    pub fn searcher(&self) -> &SearcherState {
        &self.searcher
    }
}

/// What a search returns: the driver's outcome and the genotype the search
/// stands at.
#[derive(Clone, Debug)]
pub struct SearchOutcome {
    /// The architecture the search stands at.
    pub genotype: Architecture,
    /// Epochs completed in total.
    pub epochs_done: usize,
    /// Whether all epochs are done (the run directory holds `results.json`).
    pub finished: bool,
    /// Whether a signal stopped the run at a step boundary (checkpointed).
    pub interrupted: bool,
    /// The last epoch's record.
    pub last: Option<SearchRecord>,
}

/// A search epoch's running sums and where it started (checkpointed when it
/// pauses).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SearchSums {
    train_loss: f64,
    train_correct: usize,
    seen: usize,
    val_loss: f64,
    val_correct: usize,
    val_seen: usize,
    step_time_s: f64,
    /// The genotype at the epoch's start (DARTS text), for `changed_edges`.
    previous: Option<String>,
}

/// A search run: its data and its searcher.
struct Search<'a> {
    config: &'a SearchConfig,
    data: SearchData,
    searcher: Searcher,
    device: &'a Device,
    /// The benchmark the config names, opened.
    benchmark: Option<edas_benchmark::Benchmark>,
}

impl Search<'_> {
    /// `genotype`'s benchmark test accuracy per data set, when the config
    /// names a benchmark and it holds the cell.
    fn benchmark_accuracy(
        &self,
        genotype: &Architecture,
    ) -> Result<Option<BTreeMap<String, f64>>, SearchError> {
        let (Some(bench), Architecture::Nb201(cell)) = (&self.benchmark, genotype) else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for d in edas_benchmark::Dataset::ALL {
            let acc = bench
                .test_accuracy(cell, d)
                .map_err(|e| SearchError::Invalid(edas_run::error::chain(&e)))?;
            if let Some(a) = acc {
                out.insert(d.name().to_owned(), a);
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }

    fn steps_per_epoch(&self) -> usize {
        self.data
            .train
            .num_batches()
            .min(self.data.valid.num_batches())
    }
}

impl EpochTask for Search<'_> {
    type Record = SearchRecord;
    type State = SearchState;
    type Error = SearchError;
    const COMMAND: &'static str = "search";
    const ADVICE: &'static str = "lower weights.lr or arch.lr, or clip gradients harder with \
                                  weights.grad_clip, then start over";

    fn epochs(&self) -> usize {
        self.config.epochs
    }

    fn steps(&self) -> usize {
        self.steps_per_epoch()
    }

    fn start(&mut self, _run: &mut RunDir) -> Result<String, SearchError> {
        let c = self.config;
        Ok(format!(
            "search `{}`: {} on {}, C={} L={}, {} x {}, batch {}, seed {}",
            c.name,
            c.strategy,
            self.data.describe,
            c.network.channels,
            c.network.layers,
            count_of(c.epochs, "epoch"),
            count_of(self.steps_per_epoch(), "step"),
            c.loader.batch_size,
            c.seed
        ))
    }

    fn resume(&mut self, dir: &Path, state: SearchState) -> Result<(), SearchError> {
        self.searcher.load(dir, &state.searcher)
    }

    fn epoch(&mut self, cx: &mut Epoch<'_>) -> Result<EpochEnd<SearchRecord>, SearchError> {
        let (config, epoch) = (self.config, cx.index);
        let mut sums: SearchSums = cx.partial()?.unwrap_or_default();
        // The genotype at the epoch's start: now, or the paused epoch's.
        let previous = match &sums.previous {
            Some(text) => {
                Architecture::parse_any(text)
                    .map_err(|e| {
                        SearchError::Invalid(format!("the checkpoint's epoch-start genotype: {e}"))
                    })?
                    .1
            }
            None => self.searcher.genotype()?,
        };
        sums.previous = Some(previous.to_string());
        let ctx = StepContext {
            lr: cosine_lr(&config.weights, epoch, config.epochs),
            tau: config.tau(epoch),
            epsilon: config.epsilon(epoch),
            drop_path: config.regularizers.drop_path,
            warmup: config
                .is_warmup(epoch)
                .then_some(config.regularizers.warmup_network),
        };
        let steps = self.steps_per_epoch();
        let start = cx.start_step;
        cx.check_partial(
            "seen",
            sums.seen,
            self.data.train.examples_in_batches(start),
        )?;
        let mut valid = self.data.valid.epoch_from(epoch as u64, start);
        let train = self.data.train.epoch_from(epoch as u64, start);
        for (s, tb) in (start..steps).zip(train) {
            let tb = tb?;
            let vb = valid.next().ok_or_else(|| {
                SearchError::Invalid("the validation loader ran out of batches".into())
            })??;
            let ts = Instant::now();
            let step =
                self.searcher
                    .step(tb.to_tensors(self.device), vb.to_tensors(self.device), &ctx);
            let stats = match step {
                Err(SearchError::NonFinite(what)) => return Err(cx.diverged(what, s).into()),
                other => other?,
            };
            sums.step_time_s += ts.elapsed().as_secs_f64();
            tracing::debug!(
                epoch,
                step = s,
                train_loss = stats.train_loss,
                val_loss = ?stats.val_loss,
                grad_norm = stats.grad_norm,
                relaxed = ?stats.relaxed,
                "search step"
            );
            if let Some(v) = stats.val_loss {
                cx.check_finite("validation loss", v, s)?;
            }
            cx.check_finite("training loss", stats.train_loss, s)?;
            sums.train_loss += stats.train_loss * tb.len() as f64;
            sums.train_correct += stats.train_correct;
            sums.seen += tb.len();
            if let (Some(l), Some(c)) = (stats.val_loss, stats.val_correct) {
                sums.val_loss += l * vb.len() as f64;
                sums.val_correct += c;
                sums.val_seen += vb.len();
            }
            cx.step_done(|| {
                format!(
                    "loss {:.3} acc {:.1}%",
                    sums.train_loss / sums.seen as f64,
                    100.0 * sums.train_correct as f64 / sums.seen as f64
                )
            });
            if cx.pause_after(s + 1) {
                return Ok(EpochEnd::paused(s + 1, &sums)?);
            }
        }
        cx.steps_done();
        if ctx.warmup.is_none() {
            self.searcher.end_epoch(&self.data.eval)?;
        }
        let eval = self.searcher.evaluate(&self.data.eval, ctx.tau)?;
        let genotype = self.searcher.genotype()?;
        let changed = changed_edges(&previous, &genotype);
        let arch = &self.searcher.arch;
        let [_, n] = arch.shape();
        let mut entropy = Vec::new();
        let mut alpha = Vec::new();
        for &kind in arch.kinds() {
            entropy.push(mean_entropy(&arch.logit_values(kind)?, n));
            alpha.push(arch.softmax_values(kind)?);
        }
        let (seen, val_seen) = (sums.seen.max(1) as f64, sums.val_seen as f64);
        Ok(EpochEnd::Done(SearchRecord {
            epoch,
            strategy: config.strategy,
            warmup: ctx.warmup.is_some(),
            lr: ctx.lr,
            tau: ctx.tau,
            epsilon: ctx.epsilon,
            steps,
            train_loss: sums.train_loss / seen,
            train_acc: sums.train_correct as f64 / seen,
            val_loss: (sums.val_seen > 0).then(|| sums.val_loss / val_seen),
            val_acc: (sums.val_seen > 0).then(|| sums.val_correct as f64 / val_seen),
            eval,
            searched_acc: eval.searched_accuracy(),
            derived_acc: eval.derived_accuracy(),
            pruning_gap: eval.gap(),
            genotype: genotype.to_string(),
            changed_edges: changed,
            entropy,
            ops: ops_table(&genotype),
            alpha,
            step_time_s: sums.step_time_s / steps.max(1) as f64,
            epoch_time_s: 0.0,
            peak_memory_mib: None,
            benchmark: self.benchmark_accuracy(&genotype)?,
        }))
    }

    fn save(&mut self, dir: &Path) -> Result<SearchState, SearchError> {
        Ok(SearchState {
            searcher: self.searcher.save(dir)?,
        })
    }

    fn epoch_line(&self, r: &SearchRecord) -> String {
        epoch_line(self.config, r)
    }

    fn plots(&self, run: &RunDir, records: &[SearchRecord]) -> Result<(), SearchError> {
        crate::charts::write(run, self.config, records)
    }

    fn finish(
        &mut self,
        run: &mut RunDir,
        records: &[SearchRecord],
        elapsed_s: f64,
    ) -> Result<String, SearchError> {
        let genotype = self.searcher.genotype()?;
        write_final(run, self.config, &genotype, records, elapsed_s)
    }
}

/// Runs (or resumes) a search as `config` and `options` say, on `device`
/// (an autodiff device).
pub fn run_search(
    config: &SearchConfig,
    options: &RunOptions,
    device: &Device,
) -> Result<SearchOutcome, SearchError> {
    search(config, None, options, device)
}

/// [`run_search`] on the images of `source` (any burn `Dataset` through
/// [`edas_data::DatasetSource`]) instead of a data set the config names;
/// `config.data` must be [`edas_data::DataConfig::custom`] of it (its
/// shape and normalisation). Resuming needs the same source again.
pub fn run_search_on(
    config: &SearchConfig,
    source: Arc<dyn ImageSource>,
    options: &RunOptions,
    device: &Device,
) -> Result<SearchOutcome, SearchError> {
    config.data.check_source(source.as_ref())?;
    search(config, Some(source), options, device)
}

fn search(
    config: &SearchConfig,
    source: Option<Arc<dyn ImageSource>>,
    options: &RunOptions,
    device: &Device,
) -> Result<SearchOutcome, SearchError> {
    // The config and the data are checked before the run directory is
    // made: a bad data root leaves no half-made directory behind.
    let config_toml = to_toml(config)?;
    let data = match source {
        Some(source) => crate::data::open_source(config, source, device)?,
        None => crate::data::open(config, device)?,
    };
    let searcher = Searcher::new(&data.net, config.settings(), config.seed, device)?;
    let benchmark = match &config.benchmark {
        Some(path) => Some(
            edas_benchmark::Benchmark::open(path)
                .map_err(|e| SearchError::Invalid(edas_run::error::chain(&e)))?,
        ),
        None => None,
    };
    let mut search = Search {
        config,
        data,
        searcher,
        device,
        benchmark,
    };
    let mut run = driver::open(options)?;
    driver::logging_errors(&mut run, |run| {
        let outcome = driver::drive(&mut search, run, options, &config_toml)?;
        Ok(SearchOutcome {
            genotype: search.searcher.genotype()?,
            epochs_done: outcome.epochs_done,
            finished: outcome.finished,
            interrupted: outcome.interrupted,
            last: outcome.last,
        })
    })
}

/// Kept edges whose op or input differ between two architectures of one
/// space.
fn changed_edges(a: &Architecture, b: &Architecture) -> usize {
    match (a, b) {
        (Architecture::Darts(a), Architecture::Darts(b)) => diff(a, b)
            .changes
            .iter()
            .filter(|c| matches!(c, edas_genotype::Change::Edge { .. }))
            .count(),
        (Architecture::Nb201(a), Architecture::Nb201(b)) => {
            a.0.iter().zip(b.0).filter(|(x, y)| **x != *y).count()
        }
        _ => 0,
    }
}

/// Ops of the derived cells per cell kind (`normal`, `reduce`; a
/// NAS-Bench-201 cell under `cell`), ops without an edge left out.
fn ops_table(genotype: &Architecture) -> BTreeMap<String, BTreeMap<String, usize>> {
    let table = |kind: &str, names: &[&str], counts: &[usize]| {
        let per_op = names
            .iter()
            .zip(counts)
            .filter(|&(_, &c)| c > 0)
            .map(|(p, &c)| ((*p).to_owned(), c))
            .collect();
        (kind.to_owned(), per_op)
    };
    match genotype {
        Architecture::Darts(g) => CellKind::ALL
            .into_iter()
            .zip(op_histogram(g))
            .map(|(kind, counts)| table(kind.name(), &Primitive::ALL.map(Primitive::name), &counts))
            .collect(),
        Architecture::Nb201(c) => [table(
            "cell",
            &Nb201Op::ALL.map(Nb201Op::name),
            &c.op_counts(),
        )]
        .into_iter()
        .collect(),
    }
}

fn epoch_line(config: &SearchConfig, r: &SearchRecord) -> String {
    let val = match (r.val_loss, r.val_acc) {
        (Some(l), Some(a)) => format!(" val {l:.3}/{:.1}%", 100.0 * a),
        _ => String::new(),
    };
    // The genotype (400 characters) only when it changed, and after the
    // first epoch.
    let genotype = if r.epoch == 0 || r.changed_edges > 0 {
        format!("\n  genotype {}", r.genotype)
    } else {
        String::new()
    };
    let entropy = match r.entropy.as_slice() {
        [normal, reduce] => format!("{normal:.4}/{reduce:.4} nats (normal/reduce)"),
        values => {
            values
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join("/")
                + " nats"
        }
    };
    format!(
        "epoch {}/{}{} lr {:.4} | train {:.3}/{:.1}%{val} | searched {:.2}% derived {:.2}% gap {:+.2} | alpha entropy {entropy} | {} edges changed | {:.3} s/step{} | {}{genotype}",
        r.epoch + 1,
        config.epochs,
        if r.warmup { " (warm-up)" } else { "" },
        r.lr,
        r.train_loss,
        100.0 * r.train_acc,
        100.0 * r.searched_acc,
        100.0 * r.derived_acc,
        100.0 * r.pruning_gap,
        r.changed_edges,
        r.step_time_s,
        r.peak_memory_mib
            .map_or(String::new(), |m| format!(", peak {m:.0} MiB")),
        fmt_duration(r.epoch_time_s),
    )
}

/// The final files: the genotype (JSON, DARTS text, DOT and, with
/// Graphviz, SVG) and `results.json`; returns the closing line.
fn write_final(
    run: &mut RunDir,
    config: &SearchConfig,
    genotype: &Architecture,
    records: &[SearchRecord],
    elapsed: f64,
) -> Result<String, SearchError> {
    let last = records.last();
    genotype.save(&run.file(GENOTYPE_JSON), Format::Json)?;
    genotype.save(&run.file(GENOTYPE_TXT), Format::Darts)?;
    let mut not_drawn = None;
    let drawings: Vec<(String, String)> = match genotype {
        Architecture::Darts(g) => CellKind::ALL
            .into_iter()
            .zip(CELL_DOTS)
            .map(|(kind, file)| {
                (
                    file.to_owned(),
                    edas_genotype::dot::cell_to_dot(g.cell(kind), kind),
                )
            })
            .collect(),
        Architecture::Nb201(_) => vec![(NB201_CELL_DOT.to_owned(), genotype.write(Format::Dot))],
    };
    let names: Vec<&str> = drawings.iter().map(|(n, _)| n.as_str()).collect();
    let names = names.join("/");
    for (name, text) in &drawings {
        run.write(name, text.as_bytes())?;
        // A picture is a convenience: the search stands without it, and the
        // note says why it is missing.
        if let Err(e) = graphviz::render(&run.file(name), "svg") {
            not_drawn.get_or_insert_with(|| match e {
                RenderError::NotFound => "Graphviz `dot` not found".to_owned(),
                e => edas_run::error::chain(&e),
            });
        }
    }
    if let Some(why) = not_drawn {
        run.line(&format!("note: {why}; cells written as {names} only"));
    }
    let peak = records
        .iter()
        .filter_map(|r| r.peak_memory_mib)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let results = SearchResults {
        name: config.name.clone(),
        strategy: config.strategy,
        epochs: config.epochs,
        genotype: genotype.to_string(),
        searched_acc: last.map_or(f64::NAN, |r| r.searched_acc),
        derived_acc: last.map_or(f64::NAN, |r| r.derived_acc),
        pruning_gap: last.map_or(f64::NAN, |r| r.pruning_gap),
        search_time_s: elapsed,
        peak_memory_mib: peak,
    };
    run.write_json(RESULTS_FILE, &results)?;
    Ok(format!(
        "done in {}: {}\n  written to {}\n  next: edas train --genotype {} --config CONFIG \
         (configs/train/ holds the recipes)",
        fmt_duration(elapsed),
        results.genotype,
        run.path().display(),
        run.path().display()
    ))
}
