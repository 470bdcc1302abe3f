//! DARTS, first order (Liu et al. 2019): every edge a softmax mixture of
//! its ops in both steps; the architecture step updates every row.

use edas_genotype::Genotype;
use edas_nn::NetworkWeights;

use super::{ALL_ROWS, ArchStep, Draw, SearchStrategy};
use crate::error::SearchError;

/// DARTS' continuous relaxation, first order.
#[derive(Clone, Copy, Debug)]
pub struct Darts;

impl SearchStrategy for Darts {
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        Ok(Some(ArchStep {
            weights: draw.arch.darts_weights(1.0),
            rows: [ALL_ROWS.to_vec(), ALL_ROWS.to_vec()],
            relaxed: [Vec::new(), Vec::new()],
        }))
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        _arch: Option<&ArchStep>,
        _epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(draw.arch.darts_weights(1.0))
    }

    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        _genotype: &Genotype,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(draw.arch.darts_weights(1.0))
    }
}
