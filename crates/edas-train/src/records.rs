//! What a training run writes down: one [`TrainRecord`] per epoch
//! (`metrics.jsonl`), the [`TrainResults`] of a finished run
//! (`results.json`) and the state its checkpoints add to the driver's.

use edas_run::EpochRecord;
use serde::{Deserialize, Serialize};

use crate::evaluate::EvalResult;

/// One line of a training run's `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    /// The epoch's 0-based index (1-based in the file: `edas_run::epoch_number`).
    #[serde(with = "edas_run::epoch_number")]
    pub epoch: usize,
    /// Learning rate.
    pub lr: f64,
    /// Drop-path probability.
    pub drop_prob: f64,
    /// Mean training loss (main head).
    pub train_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Test evaluation; `None` in epochs that `test_every` skips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<EvalResult>,
    /// Images per second in training.
    pub images_per_s: f64,
    /// Seconds for the epoch including evaluation and checkpoint.
    pub epoch_time_s: f64,
    /// Peak resident memory (MiB).
    pub peak_memory_mib: Option<f64>,
}

impl EpochRecord for TrainRecord {
    fn set_cost(&mut self, epoch_time_s: f64, peak_memory_mib: Option<f64>) {
        self.epoch_time_s = epoch_time_s;
        self.peak_memory_mib = peak_memory_mib;
    }
}

/// What a training run returns.
pub type TrainOutcome = edas_run::Outcome<TrainRecord>;

/// `results.json` of a training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainResults {
    /// Config name.
    pub name: String,
    /// The architecture: DARTS text, or a NAS-Bench-201 architecture
    /// string.
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

/// A training checkpoint's state besides the driver's fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TrainState {
    /// The architecture the weights belong to (DARTS text or architecture
    /// string); absent in
    /// checkpoints written before it was recorded.
    #[serde(default)]
    pub(crate) genotype: Option<String>,
    /// The weights file the run started from (`edas import`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) imported: Option<String>,
}
