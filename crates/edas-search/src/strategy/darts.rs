//! DARTS, first order (Liu et al. 2019): every edge a softmax mixture of
//! its ops in both steps; the architecture step updates every row.

use edas_genotype::Architecture;
use edas_nn::NetworkWeights;

use super::{ArchStep, Draw, SearchStrategy};
use crate::error::SearchError;

/// DARTS' continuous relaxation, first order.
#[derive(Clone, Copy, Debug)]
pub struct Darts;

impl SearchStrategy for Darts {
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        Ok(Some(ArchStep::every_row(
            draw.arch.darts_weights(1.0),
            draw.arch,
        )))
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
        _genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(draw.arch.darts_weights(1.0))
    }
}
