//! PC-DARTS (Xu et al., ICLR 2020): DARTS (first order) on a supernet with
//! partial channel connections (each edge's ops see `1/K` of its channels,
//! the rest bypass them and the channels are shuffled; `pc_darts.partial_channels`,
//! K = 4 on CIFAR; `edas_nn::MixedEdge`) and edge normalisation: per cell
//! kind, variables `beta` (one per edge) whose softmax over each node's
//! input edges scales the edges' outputs. `beta` is trained with `alpha`
//! (same Adam settings) and enters the derivation: an edge's op weights are
//! `softmax(alpha[e]) * softmax_node(beta)[e]`.
//!
//! `beta` starts at zero (PC-DARTS: `1e-3 * N(0, 1)`, which softmax turns
//! into practically the same uniform weights).

// burn's `slice` takes an array of ranges, one per dimension.
#![allow(clippy::single_range_in_vec_init)]

use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::softmax;
use edas_genotype::space::{NUM_INPUT_STATES, edges_of};
use edas_genotype::{Architecture, CellKind, DeriveOptions, SearchSpace, SpaceName};
use edas_nn::{EdgeWeighting, NetworkWeights, to_host};

use super::{ArchStep, Draw, SearchStrategy};
use crate::adam::{AdamConfig, RowAdam};
use crate::arch::{ArchVars, host_softmax};
use crate::error::SearchError;

/// PC-DARTS' edge-normalisation variables and their optimiser state.
#[derive(Clone, Debug)]
pub struct PcDarts {
    /// The cell space (its edges and nodes).
    space: SearchSpace,
    /// `beta` per cell kind (normal, reduce), one value per edge (the
    /// reduce values unused in NAS-Bench-201).
    beta: [Vec<f32>; 2],
    /// Adam state of `beta` (one row of 1 per edge).
    adam: [RowAdam; 2],
    /// This architecture step's `beta` leaves, whose gradients
    /// [`SearchStrategy::arch_update`] reads.
    leaves: Option<[Tensor<1>; 2]>,
}

impl PcDarts {
    /// PC-DARTS on `space`'s cell, `beta` at zero.
    pub fn new(space: SearchSpace) -> PcDarts {
        let edges = space.edges();
        PcDarts {
            space,
            beta: [vec![0.0; edges], vec![0.0; edges]],
            adam: [RowAdam::with_shape(edges, 1), RowAdam::with_shape(edges, 1)],
            leaves: None,
        }
    }
}

/// Each node's input edges, in the space's row order (DARTS: nodes 2..=5
/// of `edas_genotype::space`, or the first ones in a space of fewer nodes;
/// NAS-Bench-201: nodes 1, 2, 3).
fn node_edges(space: SearchSpace) -> Vec<std::ops::Range<usize>> {
    match space.name() {
        SpaceName::Darts => (NUM_INPUT_STATES..NUM_INPUT_STATES + space.nodes())
            .map(edges_of)
            .collect(),
        SpaceName::NasBench201 => vec![0..1, 1..3, 3..6],
    }
}

/// `softmax` of `beta` over each node's input edges (host).
pub fn normalised_beta(space: SearchSpace, beta: &[f32]) -> Vec<f32> {
    node_edges(space)
        .into_iter()
        .flat_map(|r| host_softmax(&beta[r]))
        .collect()
}

/// The weightings of every edge: `softmax(alpha[e])` over the ops, the
/// whole edge scaled by `softmax_node(beta)[e]`.
fn weightings(arch: &ArchVars, beta: &[Tensor<1>; 2]) -> NetworkWeights {
    let space = arch.space;
    let [edges, n] = arch.shape();
    let cell = |kind: CellKind, beta: &Tensor<1>| {
        let ops = softmax(arch.logits(kind), 1);
        let edge = Tensor::cat(
            node_edges(space)
                .into_iter()
                .map(|r| softmax(beta.clone().slice([r]), 0))
                .collect(),
            0,
        );
        (0..edges)
            .map(|e| EdgeWeighting::RelaxedEdge {
                ops: ops.clone().slice([e..e + 1, 0..n]).reshape([n]),
                edge: edge.clone().slice([e..e + 1]),
            })
            .collect()
    };
    NetworkWeights {
        normal: cell(CellKind::Normal, &beta[0]),
        reduce: if arch.kinds().contains(&CellKind::Reduce) {
            cell(CellKind::Reduce, &beta[1])
        } else {
            Vec::new()
        },
    }
}

impl PcDarts {
    /// `beta` as tensors on `device`, tracked (leaves) or not.
    fn beta_tensors(&self, device: &Device, tracked: bool) -> [Tensor<1>; 2] {
        self.beta.clone().map(|b| {
            let edges = b.len();
            let t = Tensor::from_data(TensorData::new(b, [edges]), device);
            if tracked { t.require_grad() } else { t }
        })
    }

    /// Weightings from `arch` with `beta` constant.
    fn frozen(&self, arch: &ArchVars) -> NetworkWeights {
        let device = arch.alpha(CellKind::Normal).device();
        weightings(arch, &self.beta_tensors(&device, false))
    }
}

impl SearchStrategy for PcDarts {
    fn arch_step(&mut self, draw: &mut Draw<'_>) -> Result<Option<ArchStep>, SearchError> {
        let device = draw.arch.alpha(CellKind::Normal).device();
        let leaves = self.beta_tensors(&device, true);
        let weights = weightings(draw.arch, &leaves);
        self.leaves = Some(leaves);
        Ok(Some(ArchStep::every_row(weights, draw.arch)))
    }

    fn arch_update(&mut self, grads: &mut Gradients, adam: &AdamConfig) -> Result<(), SearchError> {
        let Some(leaves) = self.leaves.take() else {
            return Ok(());
        };
        for (k, leaf) in leaves.into_iter().enumerate() {
            let Some(g) = leaf.grad_remove(grads) else {
                continue;
            };
            let g = to_host(g)?;
            if let Some(bad) = g.iter().find(|g| !g.is_finite()) {
                return Err(SearchError::NonFinite(format!(
                    "edge-normalisation gradient became {bad}"
                )));
            }
            let rows: Vec<usize> = (0..self.beta[k].len()).collect();
            self.adam[k].step(adam, &mut self.beta[k], &g, &rows);
        }
        Ok(())
    }

    fn weight_step(
        &mut self,
        draw: &mut Draw<'_>,
        _arch: Option<&ArchStep>,
        _epsilon: f64,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(self.frozen(draw.arch))
    }

    fn searched(
        &mut self,
        draw: &mut Draw<'_>,
        _genotype: &Architecture,
    ) -> Result<NetworkWeights, SearchError> {
        Ok(self.frozen(draw.arch))
    }

    fn genotype(
        &self,
        arch: &ArchVars,
        options: DeriveOptions,
    ) -> Result<Architecture, SearchError> {
        let [_, n] = arch.shape();
        let weights = |k: usize, kind: CellKind| -> Result<Vec<f32>, SearchError> {
            let mut w = arch.softmax_values(kind)?;
            for (row, b) in w
                .chunks_mut(n)
                .zip(normalised_beta(self.space, &self.beta[k]))
            {
                row.iter_mut().for_each(|v| *v *= b);
            }
            Ok(w)
        };
        Ok(Architecture::derive(
            self.space.name(),
            &weights(0, CellKind::Normal)?,
            &weights(1, CellKind::Reduce)?,
            options,
        )?)
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "beta": self.beta, "beta_adam": self.adam })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), SearchError> {
        let field = |name: &str| {
            state.get(name).cloned().ok_or_else(|| {
                SearchError::Invalid(format!("PC-DARTS' checkpoint state has no `{name}`"))
            })
        };
        let parse =
            |e: serde_json::Error| SearchError::Invalid(format!("PC-DARTS' checkpoint state: {e}"));
        let beta: [Vec<f32>; 2] = serde_json::from_value(field("beta")?).map_err(parse)?;
        let edges = self.space.edges();
        if beta.iter().any(|b| b.len() != edges) {
            return Err(SearchError::Invalid(format!(
                "PC-DARTS' checkpoint state: beta needs {edges} values per cell kind"
            )));
        }
        self.adam = serde_json::from_value(field("beta_adam")?).map_err(parse)?;
        self.beta = beta;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_is_normalised_per_node() {
        let mut beta = vec![0.0f32; 14];
        beta[0] = 1.0; // node 2's first input
        beta[13] = -2.0; // node 5's last input
        let n = normalised_beta(SearchSpace::DARTS, &beta);
        let sums: Vec<f32> = node_edges(SearchSpace::DARTS)
            .into_iter()
            .map(|r| n[r].iter().sum())
            .collect();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6), "{sums:?}");
        assert_eq!(
            node_edges(SearchSpace::DARTS)
                .into_iter()
                .map(|r| r.len())
                .collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        assert_eq!(
            node_edges(SearchSpace::full(SpaceName::NasBench201))
                .into_iter()
                .map(|r| r.len())
                .collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert!(n[0] > n[1] && (n[2] - 1.0 / 3.0).abs() < 1e-6 && n[13] < n[12]);
    }
}
