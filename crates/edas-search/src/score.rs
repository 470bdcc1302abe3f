//! Scoring architectures on a finished (or checkpointed) search's supernet:
//! each architecture's accuracy on the run's evaluation examples with every
//! edge of the supernet clamped to it. This is the weight-sharing estimate
//! random search ranks its candidates by, and the search-time accuracy a
//! ranking study compares with trained accuracy (`edas score`).

use std::path::Path;

use burn::prelude::*;
use edas_genotype::{Architecture, SpaceName};
use edas_run::CheckpointState;
use edas_run::dir::{latest_checkpoint, read_json};
use edas_run::files::{CONFIG_FILE, STATE_FILE};

use crate::config::SearchConfig;
use crate::error::SearchError;
use crate::run::SearchState;
use crate::searcher::Searcher;

/// A search run's supernet with its last checkpointed weights, and the
/// run's evaluation batches.
pub struct RunScorer {
    searcher: Searcher,
    eval: Vec<(Tensor<4>, Tensor<1, Int>)>,
    /// Epochs the checkpoint holds.
    pub epochs_done: usize,
}

impl RunScorer {
    /// Opens search run `dir`: its config, its data (the evaluation
    /// examples it measured the pruning gap on) and its newest checkpoint,
    /// on `device` (an autodiff device, as the search's).
    pub fn open(dir: &Path, device: &Device) -> Result<RunScorer, SearchError> {
        let config = edas_run::config::load::<SearchConfig>(&dir.join(CONFIG_FILE), &[])?.config;
        let checkpoint = latest_checkpoint(dir).ok_or_else(|| {
            SearchError::Invalid(format!(
                "{}: no checkpoint to score on (a search run holds one after its first epoch)",
                dir.display()
            ))
        })?;
        let state: CheckpointState<SearchState> = read_json(&checkpoint.join(STATE_FILE))?;
        let data = crate::data::open(&config, device)?;
        let mut searcher = Searcher::new(&data.net, config.settings(), config.seed, device)?;
        searcher.load(&checkpoint, state.task.searcher())?;
        Ok(RunScorer {
            searcher,
            eval: data.eval,
            epochs_done: state.epochs_done,
        })
    }

    /// The space the run searched.
    pub fn space(&self) -> SpaceName {
        self.searcher.settings().space.name()
    }

    /// The accuracy of `arch` on the evaluation examples with the supernet
    /// clamped to it; an architecture of another space, or with an op the
    /// run's op set excludes, is refused.
    pub fn score(&self, arch: &Architecture) -> Result<f64, SearchError> {
        let space = self.searcher.settings().space;
        if arch.space() != space.name() {
            return Err(edas_genotype::Error::from(
                arch.mismatch("this search run's supernet", space.name()),
            )
            .into());
        }
        let ops = space.ops();
        let used: Vec<usize> = match arch {
            Architecture::Darts(g) => edas_genotype::CellKind::ALL
                .into_iter()
                .flat_map(|k| g.cell(k).edges().map(|e| e.op.index()).collect::<Vec<_>>())
                .collect(),
            Architecture::Nb201(c) => c.0.iter().map(|op| op.index()).collect(),
        };
        if let Some(&k) = used.iter().find(|&&k| !ops.contains(k)) {
            return Err(SearchError::Invalid(format!(
                "`{arch}` uses op `{}`, which the run's search space ({space}) excludes",
                space.name().op_names().get(k).copied().unwrap_or("?")
            )));
        }
        Ok(self.searcher.score_genotype(arch, &self.eval))
    }
}
