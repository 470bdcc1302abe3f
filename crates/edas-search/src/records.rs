//! What a search writes down: one [`SearchRecord`] per epoch
//! (`metrics.jsonl`) and the [`SearchResults`] of a finished search
//! (`results.json`).

use std::collections::BTreeMap;

use edas_run::EpochRecord;
use serde::{Deserialize, Serialize};

use crate::searcher::Evaluation;
use crate::strategy_name::Strategy;

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// The epoch's 0-based index (1-based in the file: `edas_run::epoch_number`).
    #[serde(with = "edas_run::epoch_number")]
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
    /// The derived architecture: DARTS text, or a NAS-Bench-201
    /// architecture string.
    pub genotype: String,
    /// Kept edges (DARTS: of 16; NAS-Bench-201: of 6) whose op or input
    /// changed since the last epoch.
    pub changed_edges: usize,
    /// Mean entropy of `softmax(alpha)` per edge (nats), per cell kind of
    /// the space (DARTS: normal and reduce; NAS-Bench-201: its cell).
    pub entropy: Vec<f64>,
    /// Ops of the derived cells.
    pub ops: BTreeMap<String, BTreeMap<String, usize>>,
    /// `softmax(alpha)` per cell kind of the space, row-major edges x ops
    /// (DARTS: 14 x 8), for the alpha plot.
    pub alpha: Vec<Vec<f32>>,
    /// Mean seconds per step.
    pub step_time_s: f64,
    /// Seconds for the epoch including evaluation and checkpoint.
    pub epoch_time_s: f64,
    /// Peak resident memory during the epoch (MiB), where measurable.
    pub peak_memory_mib: Option<f64>,
    /// The derived cell's benchmark test accuracy (%) per data set, with
    /// `benchmark` set in the config (absent otherwise, and for a cell the
    /// benchmark does not hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BTreeMap<String, f64>>,
}

impl EpochRecord for SearchRecord {
    fn set_cost(&mut self, epoch_time_s: f64, peak_memory_mib: Option<f64>) {
        self.epoch_time_s = epoch_time_s;
        self.peak_memory_mib = peak_memory_mib;
    }
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
    /// The final architecture, DARTS text or architecture string.
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
