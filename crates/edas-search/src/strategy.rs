//! The search strategies that share the supernet and the loop, and the
//! weightings each one uses.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use edas_data::Rng;
use edas_genotype::space::{Edge, NUM_INPUT_STATES, NUM_STATES};
use edas_genotype::{CellKind, Genotype, NUM_EDGES, NUM_OPS, NodeInput, Primitive};
use edas_nn::{EdgeWeighting, NetworkWeights};
use serde::{Deserialize, Serialize};

use crate::arch::{ArchVars, gumbel_noise};

/// How the architecture is searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Clamped variables with one relaxed edge per cell kind (this project).
    #[default]
    Edas,
    /// Every edge a softmax mixture, first order (Liu et al. 2019).
    Darts,
    /// Every edge a hard Gumbel one-hot with straight-through gradients
    /// (Dong & Yang 2019), tau annealed.
    Gdas,
    /// Weight sharing with uniformly sampled genotypes; the best of sampled
    /// candidates on validation data is kept (Li & Talwalkar 2019).
    Random,
}

impl Strategy {
    /// All strategies.
    pub const ALL: [Strategy; 4] = [
        Strategy::Edas,
        Strategy::Darts,
        Strategy::Gdas,
        Strategy::Random,
    ];

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Edas => "edas",
            Strategy::Darts => "darts",
            Strategy::Gdas => "gdas",
            Strategy::Random => "random",
        }
    }

    /// Whether the strategy has an architecture step.
    pub fn has_arch_step(self) -> bool {
        !matches!(self, Strategy::Random)
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A uniformly sampled single path: each node takes two distinct inputs
/// among its predecessors, each edge a uniformly drawn op other than `none`;
/// all four nodes are concatenated.
pub fn random_genotype(rng: &mut Rng) -> Genotype {
    let mut cell = || {
        let mut edges = Vec::with_capacity(8);
        for node in NUM_INPUT_STATES..NUM_STATES {
            let mut inputs: Vec<usize> = (0..node).collect();
            rng.shuffle(&mut inputs);
            for &input in &inputs[..2] {
                let op = Primitive::ALL[1 + rng.index(NUM_OPS - 1)];
                edges.push(NodeInput::new(op, input));
            }
        }
        edges
    };
    let (normal, reduce) = (cell(), cell());
    let concat = [2, 3, 4, 5];
    // Valid by construction: distinct inputs, no `none`, ascending concat.
    Genotype::from_lists(&normal, &concat, &reduce, &concat)
        .unwrap_or(edas_genotype::published::DARTS_V2)
}

/// Epsilon-exploration: each clamped edge takes a uniformly drawn op other
/// than `none` with probability `epsilon` (the edge's input stays).
pub fn explore(weights: &mut NetworkWeights, epsilon: f64, rng: &mut Rng) {
    if epsilon <= 0.0 {
        return;
    }
    for kind in CellKind::ALL {
        for w in weights.cell_mut(kind).iter_mut() {
            if let EdgeWeighting::Clamped(op) = w
                && rng.bernoulli(epsilon)
            {
                *op = Primitive::ALL[1 + rng.index(NUM_OPS - 1)];
            }
        }
    }
}

/// The clamped weightings of a genotype as a strategy would search it.
pub fn clamped(genotype: &Genotype) -> NetworkWeights {
    NetworkWeights::clamped(genotype)
}

/// GDAS' weightings: per edge, `p = softmax((alpha + g) / tau)` with Gumbel
/// noise `g`, the op `argmax p` runs, scaled by `1 - p.detach() + p` (value
/// 1, gradient of `p`): the straight-through estimator.
pub fn gdas_weights(arch: &ArchVars, tau: f64, rng: &mut Rng) -> NetworkWeights {
    let cell = |kind: CellKind, rng: &mut Rng| -> Vec<EdgeWeighting> {
        let alpha = arch.alpha(kind);
        let device = alpha.device();
        let host_alpha = arch.values(kind);
        (0..NUM_EDGES)
            .map(|e| {
                let noise = gumbel_noise(rng, &device);
                let host_noise: Vec<f32> = noise
                    .clone()
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default();
                let row = alpha
                    .clone()
                    .slice([e..e + 1, 0..NUM_OPS])
                    .reshape([NUM_OPS]);
                let p = softmax(row.add(noise).div_scalar(tau), 0);
                let k = (0..NUM_OPS)
                    .map(|k| {
                        host_alpha.get(e * NUM_OPS + k).copied().unwrap_or(0.0)
                            + host_noise.get(k).copied().unwrap_or(0.0)
                    })
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (k, v)| {
                        if v > best.1 { (k, v) } else { best }
                    })
                    .0;
                let mut hot = vec![0f32; NUM_OPS];
                hot[k] = 1.0;
                let hot: Tensor<1> = Tensor::from_data(TensorData::new(hot, [NUM_OPS]), &device);
                let weights = hot.sub(p.clone().detach()).add(p);
                EdgeWeighting::Sampled {
                    op: Primitive::ALL[k],
                    weights,
                }
            })
            .collect()
    };
    NetworkWeights {
        normal: cell(CellKind::Normal, rng),
        reduce: cell(CellKind::Reduce, rng),
    }
}

/// Ops of the derived genotype per cell kind, in [`Primitive::ALL`] order.
pub fn op_histogram(genotype: &Genotype) -> [[usize; NUM_OPS]; 2] {
    [genotype.normal.op_counts(), genotype.reduce.op_counts()]
}

/// Whether `edge` of `kind` is kept by `genotype`.
pub fn is_kept(genotype: &Genotype, kind: CellKind, edge: usize) -> bool {
    Edge::from_index(edge).is_some_and(|e| genotype.cell(kind).op_on(e).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_genotypes_are_valid_and_varied() {
        let mut rng = Rng::new(4);
        let gs: Vec<Genotype> = (0..50).map(|_| random_genotype(&mut rng)).collect();
        let distinct: std::collections::HashSet<_> = gs.iter().map(|g| g.canonical()).collect();
        assert!(distinct.len() >= 49);
        let mut counts = [0usize; NUM_OPS];
        for g in &gs {
            assert_ne!(*g, edas_genotype::published::DARTS_V2);
            for (k, c) in g.normal.op_counts().into_iter().enumerate() {
                counts[k] += c;
            }
        }
        assert_eq!(counts[0], 0, "never none");
        // 400 draws over 7 ops: each between 30 and 90 (mean 57).
        assert!(
            counts[1..].iter().all(|&c| (30..=90).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn exploration_changes_about_epsilon_of_the_clamped_edges() {
        let g = edas_genotype::published::DARTS_V2;
        let mut rng = Rng::new(9);
        let mut changed = 0;
        for _ in 0..200 {
            let mut w = NetworkWeights::clamped(&g);
            explore(&mut w, 0.25, &mut rng);
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
