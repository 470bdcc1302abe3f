//! The NAS-Bench-201 supernet, driven by the same per-edge weightings as
//! DARTS' ([`EdgeWeighting`]), so that every strategy searches it: the
//! benchmark's skeleton (`crate::nb201`) whose cells hold, on each of their 6
//! edges, `none` and the ops of the search space's op set.
//!
//! As in the searches the benchmark's authors ran (AutoDL-Projects'
//! `TinyNetworkDarts` and kin), the edges' BatchNorms are non-affine, the
//! stem, the residual blocks and the final BN are the trained network's.
//! One cell kind: every cell reads the `normal` weightings of a
//! [`NetworkWeights`].

use crate::kernels::relu;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use edas_genotype::OpSet;
use edas_genotype::nb201::{NB201_NUM_EDGES, Nb201Cell, Nb201Op};

use crate::conv::conv_forward;
use crate::error::NnError;
use crate::nb201::{
    LayerShape, Nb201CellModule, Nb201Config, Nb201Edge, Nb201Layer, Nb201Network, ResBlock,
    cell_flow,
};
use crate::ops::{Bn, ConvSpec, drop_path_seed, drop_path_seeded};
use crate::supernet::{
    CellWeights, DropPath, EdgeWeighting, NetworkWeights, edge_forward, scale_by,
};

/// One edge of the supernet: `none` and the allowed ops, in column order
/// (`ops[0]` is `none`), on `C / partial` of the channels.
#[derive(Module, Debug)]
pub struct Nb201MixedEdge {
    /// The candidate ops, `none` first.
    pub ops: Vec<Nb201Edge>,
    /// The column of each entry of `ops` (ascending).
    #[module(skip)]
    pub columns: Vec<usize>,
    /// `K`: 1 = every channel goes through the ops (PC-DARTS: more).
    pub partial: usize,
}

impl Nb201MixedEdge {
    /// `none` and the ops of `ops` on `c / partial` of `c` channels.
    pub fn new(c: usize, partial: usize, ops: OpSet, device: &Device) -> Nb201MixedEdge {
        let columns: Vec<usize> = Nb201Op::ALL
            .into_iter()
            .filter(|op| *op == Nb201Op::None || ops.contains(op.index()))
            .map(Nb201Op::index)
            .collect();
        Nb201MixedEdge {
            ops: columns
                .iter()
                .map(|&k| Nb201Edge::new(Nb201Op::ALL[k], c / partial, false, device))
                .collect(),
            columns,
            partial,
        }
    }

    /// The module of the op of column `column`; panics if the edge lacks
    /// it (the strategies draw only from the search space's ops).
    pub fn op_at(&self, column: usize) -> &Nb201Edge {
        match self.columns.iter().position(|&k| k == column) {
            Some(i) => &self.ops[i],
            None => panic!("op column {column} is not in this supernet's search space"),
        }
    }

    /// The edge's output under `weighting` (`None`: off, or `none`).
    pub fn forward(&self, x: Tensor<4>, weighting: &EdgeWeighting) -> Option<Tensor<4>> {
        edge_forward(x, weighting, self.partial, 1, |x, w| self.forward_ops(x, w))
    }

    fn forward_ops(&self, x: Tensor<4>, weighting: &EdgeWeighting) -> Option<Tensor<4>> {
        match weighting {
            EdgeWeighting::Off => None,
            EdgeWeighting::Clamped(k) => {
                (*k != Nb201Op::None.index()).then(|| self.op_at(*k).forward(x))
            }
            EdgeWeighting::Sampled { op, weights } => {
                Some(scale_by(self.op_at(*op).forward(x), weights, *op))
            }
            EdgeWeighting::Relaxed(weights) | EdgeWeighting::RelaxedEdge { ops: weights, .. } => {
                self.ops
                    .iter()
                    .zip(&self.columns)
                    .skip(1)
                    .map(|(op, &k)| scale_by(op.forward(x.clone()), weights, k))
                    .reduce(|a, b| a.add(b))
            }
        }
    }
}

/// A supernet cell: 6 mixed edges in the cell's row order.
#[derive(Module, Debug)]
pub struct Nb201SearchCell {
    /// The edges.
    pub edges: Vec<Nb201MixedEdge>,
}

impl Nb201SearchCell {
    /// `[N, C, H, W] -> [N, C, H, W]` under `weights` (6 weightings); a node
    /// without a computed edge is zeros. Drop-path, when given, drops the
    /// output of each clamped edge that is not `skip_connect`.
    pub fn forward(
        &self,
        x: Tensor<4>,
        weights: &CellWeights,
        drop: Option<(DropPath, usize)>,
    ) -> Tensor<4> {
        let none = Nb201Op::None.index();
        let runs = |e: usize| match &weights[e] {
            EdgeWeighting::Off => false,
            EdgeWeighting::Clamped(k) => *k != none,
            _ => true,
        };
        cell_flow(x, runs, |e, from| {
            let y = self.edges[e].forward(from, &weights[e])?;
            Some(match (drop, &weights[e]) {
                (Some((d, cell)), EdgeWeighting::Clamped(k))
                    if *k != Nb201Op::SkipConnect.index() =>
                {
                    drop_path_seeded(y, d.prob, drop_path_seed(d.seed, cell, e))
                }
                _ => y,
            })
        })
    }
}

/// One layer of the supernet's skeleton.
#[derive(Module, Debug)]
pub enum Nb201SearchLayer {
    /// A searched cell.
    Cell(Nb201SearchCell),
    /// A residual block between stages.
    Res(ResBlock),
}

/// The NAS-Bench-201 supernet.
#[derive(Module, Debug)]
pub struct Nb201SearchNetwork {
    /// Stem convolution (input -> `C`).
    pub stem_conv: Conv2d,
    /// Stem BN (affine, as the benchmark's).
    pub stem_bn: Bn,
    /// `N` cells, a block, `N` cells, a block, `N` cells.
    pub layers: Vec<Nb201SearchLayer>,
    /// BN before the final ReLU and pooling.
    pub last_bn: Bn,
    /// The classifier.
    pub classifier: Linear,
}

impl Nb201SearchNetwork {
    /// The supernet of `config` (the NAS-Bench-201 network's sizes) whose
    /// edges hold `none` and `ops`, each on `1 / partial` of the channels.
    pub fn new(
        config: &Nb201Config,
        ops: OpSet,
        partial: usize,
        device: &Device,
    ) -> Result<Nb201SearchNetwork, NnError> {
        config.check()?;
        let partial = partial.max(1);
        let c = config.channels;
        if !c.is_multiple_of(partial) {
            return Err(NnError::Config(format!(
                "partial channel connections K={partial} need channels divisible by K, got C={c}"
            )));
        }
        let layers = config
            .layers()
            .into_iter()
            .map(|layer| match layer {
                LayerShape::Res { c_in, c_out } => {
                    Nb201SearchLayer::Res(ResBlock::new(c_in, c_out, true, device))
                }
                LayerShape::Cell { c } => Nb201SearchLayer::Cell(Nb201SearchCell {
                    edges: (0..NB201_NUM_EDGES)
                        .map(|_| Nb201MixedEdge::new(c, partial, ops, device))
                        .collect(),
                }),
            })
            .collect();
        Ok(Nb201SearchNetwork {
            stem_conv: ConvSpec::new(config.in_channels, c, 3)
                .with_padding(1)
                .init(device),
            stem_bn: Bn::new(c, true, device),
            layers,
            last_bn: Bn::new(4 * c, true, device),
            classifier: LinearConfig::new(4 * c, config.classes).init(device),
        })
    }

    /// The partial channel connections `K` of its edges.
    pub fn partial_channels(&self) -> usize {
        self.layers
            .iter()
            .filter_map(|l| match l {
                Nb201SearchLayer::Cell(c) => c.edges.first().map(|e| e.partial),
                Nb201SearchLayer::Res(_) => None,
            })
            .max()
            .unwrap_or(1)
    }

    /// `[N, C_in, H, W] -> logits`, every cell under `weights.normal`,
    /// with optional drop-path on clamped edges.
    pub fn forward_with(
        &self,
        x: Tensor<4>,
        weights: &NetworkWeights,
        drop: Option<DropPath>,
    ) -> Tensor<2> {
        let mut x = self.stem_bn.forward(conv_forward(&self.stem_conv, x));
        for (i, layer) in self.layers.iter().enumerate() {
            x = match layer {
                Nb201SearchLayer::Cell(cell) => {
                    cell.forward(x, &weights.normal, drop.map(|d| (d, i)))
                }
                Nb201SearchLayer::Res(block) => block.forward(x),
            };
        }
        let x = relu(self.last_bn.forward(x));
        let pooled = x.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.classifier.forward(pooled)
    }
}

impl Nb201Network {
    /// The derived network of a supernet with its weights inherited: stem,
    /// blocks, final BN and classifier copied, each edge the supernet's
    /// module for `cell`'s op (non-affine BN). With every edge clamped to
    /// `cell`, both compute the same function.
    pub fn from_search(
        search: &Nb201SearchNetwork,
        cell: &Nb201Cell,
    ) -> Result<Nb201Network, NnError> {
        let k = search.partial_channels();
        if k > 1 {
            return Err(NnError::Mismatch(format!(
                "the supernet's ops see 1/{k} of the channels (partial channel connections); \
                 a discrete network cannot inherit them"
            )));
        }
        let layers = search
            .layers
            .iter()
            .map(|l| match l {
                Nb201SearchLayer::Cell(c) => Nb201Layer::Cell(Nb201CellModule {
                    edges: c
                        .edges
                        .iter()
                        .zip(cell.0)
                        .map(|(e, op)| e.op_at(op.index()).clone())
                        .collect(),
                }),
                Nb201SearchLayer::Res(b) => Nb201Layer::Res(b.clone()),
            })
            .collect();
        Ok(Nb201Network {
            stem_conv: search.stem_conv.clone(),
            stem_bn: search.stem_bn.clone(),
            layers,
            last_bn: search.last_bn.clone(),
            classifier: search.classifier.clone(),
        })
    }
}
