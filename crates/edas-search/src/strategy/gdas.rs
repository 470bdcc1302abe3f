//! GDAS (Dong & Yang 2019): every edge a hard Gumbel one-hot sample with
//! straight-through gradients, `tau` annealed (`gdas.tau_start` ->
//! `gdas.tau_end`); the architecture step updates every row.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use edas_genotype::{Architecture, CellKind};
use edas_nn::{EdgeWeighting, NetworkWeights};
use edas_rng::Rng;

use super::{ArchStep, Draw, SearchStrategy};
use crate::arch::{ArchVars, gumbel_values};
use crate::error::SearchError;

/// GDAS' sampled single paths.
#[derive(Clone, Copy, Debug)]
pub struct Gdas;

impl SearchStrategy for Gdas {
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        Ok(Some(ArchStep::every_row(
            gdas_weights(draw.arch, draw.tau, draw.rng)?,
            draw.arch,
        )))
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        _arch: Option<&ArchStep>,
        _epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        gdas_weights(draw.arch, draw.tau, draw.rng)
    }

    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        _genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        gdas_weights(draw.arch, draw.tau, draw.rng)
    }
}

/// GDAS' weightings: per edge, `p = softmax((alpha + g) / tau)` with Gumbel
/// noise `g`, the op `argmax p` runs, scaled by `1 - p.detach() + p` (value
/// 1, gradient of `p`): the straight-through estimator.
pub fn gdas_weights(
    arch: &ArchVars,
    tau: f64,
    rng: &mut Rng,
) -> Result<NetworkWeights, SearchError> {
    let [edges, n] = arch.shape();
    let cell = |kind: CellKind, rng: &mut Rng| -> Result<Vec<EdgeWeighting>, SearchError> {
        let alpha = arch.logits(kind);
        let device = alpha.device();
        let host_alpha = arch.logit_values(kind)?;
        Ok((0..edges)
            .map(|e| {
                let host_noise = gumbel_values(rng, n);
                let noise: Tensor<1> =
                    Tensor::from_data(TensorData::new(host_noise.clone(), [n]), &device);
                let row = alpha.clone().slice([e..e + 1, 0..n]).reshape([n]);
                let p = softmax(row.add(noise).div_scalar(tau), 0);
                let k = (0..n)
                    .map(|k| {
                        host_alpha.get(e * n + k).copied().unwrap_or(0.0)
                            + host_noise.get(k).copied().unwrap_or(0.0)
                    })
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (k, v)| {
                        if v > best.1 { (k, v) } else { best }
                    })
                    .0;
                let mut hot = vec![0f32; n];
                hot[k] = 1.0;
                let hot: Tensor<1> = Tensor::from_data(TensorData::new(hot, [n]), &device);
                let weights = hot.sub(p.clone().detach()).add(p);
                EdgeWeighting::Sampled { op: k, weights }
            })
            .collect())
    };
    let normal = cell(CellKind::Normal, rng)?;
    let reduce = if arch.kinds().contains(&CellKind::Reduce) {
        cell(CellKind::Reduce, rng)?
    } else {
        Vec::new()
    };
    Ok(NetworkWeights { normal, reduce })
}
