//! EDAS (this project's design, `docs/edas.md`): every edge clamped to the
//! current clamp `C(alpha)` except `relaxed_edges` drawn per cell kind,
//! which get `softmax((alpha + gumbel) / tau)`; the weight step keeps this
//! iteration's relaxed edges and may explore on the clamped ones.

use edas_genotype::{Architecture, CellKind, OpSet};
use edas_nn::{EdgeWeighting, NetworkWeights};
use edas_rng::Rng;

use super::{ArchStep, Draw, SearchStrategy};
use crate::arch::ArchVars;
use crate::error::SearchError;
use crate::settings::EdasSettings;

/// EDAS' clamped variables with relaxed edges.
#[derive(Clone, Copy, Debug)]
pub struct Edas {
    recompute: bool,
}

impl Edas {
    /// EDAS as `settings` say (`edas.recompute`).
    pub fn new(settings: &EdasSettings) -> Edas {
        Edas {
            recompute: settings.edas.recompute,
        }
    }
}

/// The weightings with `relaxed` edges relaxed on `arch` and the others
/// clamped to `genotype`; Gumbel noise from the draw's generator when the
/// settings ask for it.
fn weights(
    draw: &mut Draw<'_>,
    arch: &ArchVars,
    genotype: &Architecture,
    relaxed: &[Vec<usize>; 2],
) -> NetworkWeights {
    let gumbel = if draw.settings.edas.gumbel {
        Some(&mut *draw.rng)
    } else {
        None
    };
    arch.edas_weights(genotype, relaxed, draw.tau, gumbel)
}

/// One draw of relaxed edges per cell kind of the space (normal, reduce;
/// NAS-Bench-201 has no reduction cell and draws once).
fn draw_relaxed(draw: &mut Draw<'_>) -> [Vec<usize>; 2] {
    let normal = draw.sampler.draw(draw.rng);
    let reduce = if draw.arch.kinds().contains(&CellKind::Reduce) {
        draw.sampler.draw(draw.rng)
    } else {
        Vec::new()
    };
    [normal, reduce]
}

impl SearchStrategy for Edas {
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        let relaxed = draw_relaxed(draw);
        let genotype = draw.clamp()?;
        let arch = draw.arch;
        Ok(Some(ArchStep {
            weights: weights(draw, arch, &genotype, &relaxed),
            rows: relaxed.clone(),
            relaxed,
        }))
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        arch: Option<&ArchStep>,
        epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        let relaxed = arch.map(|a| a.relaxed.clone()).unwrap_or_default();
        let genotype = draw.clamp()?;
        let vars = draw.arch;
        let mut w = weights(draw, vars, &genotype, &relaxed);
        explore(&mut w, epsilon, draw.settings.space.ops(), draw.rng);
        Ok(w)
    }

    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        let relaxed = draw_relaxed(draw);
        let arch = draw.arch;
        Ok(weights(draw, arch, genotype, &relaxed))
    }

    fn recomputes(&self) -> bool {
        self.recompute
    }
}

/// Epsilon-exploration: each clamped edge takes a uniformly drawn op of
/// `ops` other than `none` (column 0 in every space) with probability
/// `epsilon` (the edge's input stays).
pub fn explore(weights: &mut NetworkWeights, epsilon: f64, ops: OpSet, rng: &mut Rng) {
    let choices: Vec<usize> = ops.columns().filter(|&k| k != 0).collect();
    if epsilon <= 0.0 || choices.is_empty() {
        return;
    }
    for kind in CellKind::ALL {
        for w in weights.cell_mut(kind).iter_mut() {
            if let EdgeWeighting::Clamped(op) = w
                && rng.bernoulli(epsilon)
            {
                *op = choices[rng.index(choices.len())];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exploration_changes_about_epsilon_of_the_clamped_edges() {
        let g = edas_genotype::published::DARTS_V2;
        let mut rng = Rng::new(9);
        let mut changed = 0;
        for _ in 0..200 {
            let mut w = NetworkWeights::clamped(&g);
            explore(&mut w, 0.25, OpSet::DARTS, &mut rng);
            let base = NetworkWeights::clamped(&g);
            for kind in CellKind::ALL {
                for (a, b) in w.cell(kind).iter().zip(base.cell(kind)) {
                    match (a, b) {
                        (EdgeWeighting::Clamped(x), EdgeWeighting::Clamped(y)) => {
                            changed += usize::from(x != y);
                        }
                        (EdgeWeighting::Off, EdgeWeighting::Off) => {}
                        _ => panic!("exploration changed which edges are on"),
                    }
                }
            }
        }
        // 3200 clamped edges, redraw prob 0.25, redraw keeps the op 1/7 of
        // the time: expected 0.25 * 6/7 * 3200 = 686.
        assert!((600..=770).contains(&changed), "{changed}");
    }
}
