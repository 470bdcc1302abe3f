//! Random search with weight sharing (Li & Talwalkar 2019): each weight
//! step trains a uniformly sampled single path; at the end of every search
//! epoch `random.candidates` fresh genotypes and the best so far are scored
//! on the evaluation batches and the best is kept. No architecture step.

use edas_genotype::{Architecture, DeriveOptions, SearchSpace};
use edas_nn::NetworkWeights;
use edas_rng::Rng;

use super::{ArchStep, Draw, SearchStrategy};
use crate::arch::ArchVars;
use crate::error::SearchError;

/// Random search's state: the best candidate so far and its score.
#[derive(Clone, Debug)]
pub struct RandomSearch {
    candidates: usize,
    space: SearchSpace,
    best: Option<(Architecture, f64)>,
}

impl RandomSearch {
    /// Random search scoring `candidates` architectures per epoch, drawn
    /// uniformly from `space` (its op set).
    pub fn new(candidates: usize, space: SearchSpace) -> RandomSearch {
        RandomSearch {
            candidates,
            space,
            best: None,
        }
    }

    fn draw(&self, rng: &mut Rng) -> Result<Architecture, SearchError> {
        Ok(Architecture::random_in(self.space, rng)?)
    }
}

impl SearchStrategy for RandomSearch {
    fn arch_step(&mut self, _draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        Ok(None)
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        _arch: Option<&ArchStep>,
        _epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(NetworkWeights::clamped_arch(&self.draw(draw.rng)?))
    }

    fn searched(
        &mut self,
        _draw: &mut Draw<'_>,
        genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(NetworkWeights::clamped_arch(genotype))
    }

    fn genotype(
        &self,
        arch: &ArchVars,
        options: DeriveOptions,
    ) -> Result<Architecture, SearchError> {
        match &self.best {
            Some((g, _)) => Ok(g.clone()),
            None => arch.derive(options),
        }
    }

    fn end_epoch(
        &mut self,
        rng: &mut Rng,
        score: &mut dyn FnMut(&Architecture) -> f64,
    ) -> Result<(), SearchError> {
        // The best so far is scored again: the shared weights moved.
        let mut best = self.best.take().map(|(g, _)| {
            let s = score(&g);
            (g, s)
        });
        for _ in 0..self.candidates {
            let g = self.draw(rng)?;
            let s = score(&g);
            if best.as_ref().is_none_or(|(_, b)| s > *b) {
                best = Some((g, s));
            }
        }
        if best.is_some() {
            self.best = best;
        }
        Ok(())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "best_random": self.best })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), SearchError> {
        self.best = match state.get("best_random") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
                SearchError::Invalid(format!("random search's checkpoint state: {e}"))
            })?),
        };
        Ok(())
    }
}
