//! The search supernet (DARTS' `model_search.py`) driven by per-step edge
//! weightings, so that EDAS, DARTS and GDAS share one forward.
//!
//! Each of a cell's 14 edges holds all 8 ops (or the ops of a restricted
//! search space, [`SearchNetworkConfig::ops`]). A forward takes, per cell kind
//! and per edge, an [`EdgeWeighting`]: `Off` (the edge is skipped), `Clamped`
//! (one op, weight exactly 1: only that op runs), `Relaxed` (a weight tensor
//! over the 8 ops: every op with a non-`none` weight runs, with gradient to the
//! weights) or `Sampled` (GDAS: one op runs, scaled by its entry of a weight
//! tensor that carries the straight-through gradient). A mostly clamped
//! supernet therefore costs about what the discrete network costs.

use crate::kernels::relu;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use edas_genotype::space::{Edge, NUM_INPUT_STATES, NUM_NODES, first_edge_of};
use edas_genotype::{CellKind, Genotype, Nb201Cell, OpSet, Primitive, SpaceName};

use crate::ops::{Bn, ConvSpec, Op, OpMode, ReluConvBn, drop_path_seed, drop_path_seeded};
use crate::scaffold::{CellShape, Preprocess, cell_shapes, edge_stride, is_reduction, pre0, pre1};

/// Adds `t` to the running sum in `slot` (which starts empty).
pub(crate) fn accumulate<const D: usize>(slot: &mut Option<Tensor<D>>, t: Tensor<D>) {
    *slot = Some(match slot.take() {
        Some(sum) => sum.add(t),
        None => t,
    });
}

/// Drop-path on the clamped edges of the supernet (an EDAS regulariser):
/// the output of every clamped edge whose op is not `skip_connect` is
/// dropped per example with probability `prob`, masks drawn from `seed`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropPath {
    /// Drop probability.
    pub prob: f64,
    /// Seed of this forward pass's masks.
    pub seed: u64,
}

/// How one edge takes part in a forward pass.
#[derive(Clone, Debug)]
pub enum EdgeWeighting {
    /// Not computed.
    Off,
    /// One op, by its column in the space's op list (DARTS:
    /// [`Primitive::index`]), with weight exactly 1 (the clamp); no
    /// gradient to any weight.
    Clamped(usize),
    /// A `[8]` weight tensor: output = sum over ops of weight * op(x). `none`
    /// contributes zeros and is not computed.
    Relaxed(Tensor<1>),
    /// Only `op` runs, scaled by `weights[op]` (GDAS' hard one-hot with a
    /// straight-through gradient).
    Sampled {
        /// The op that runs (its column).
        op: usize,
        /// `[8]` weights; entry `op` scales the output and carries the gradient.
        weights: Tensor<1>,
    },
    /// PC-DARTS' edge: the `ops`-weighted mixture as in `Relaxed`, and the
    /// whole edge output (with a partial-channel edge's bypassed channels)
    /// scaled by `edge`, a `[1]` tensor (edge normalisation).
    RelaxedEdge {
        /// `[8]` op weights.
        ops: Tensor<1>,
        /// `[1]` edge weight.
        edge: Tensor<1>,
    },
}

impl EdgeWeighting {
    /// Whether the edge is computed at all.
    pub fn is_on(&self) -> bool {
        !matches!(self, EdgeWeighting::Off)
    }
}

/// The weightings of all 14 edges of one cell kind.
pub type CellWeights = Vec<EdgeWeighting>;

/// The weightings of both cell kinds for one forward pass.
#[derive(Clone, Debug)]
pub struct NetworkWeights {
    /// Normal cells' edges.
    pub normal: CellWeights,
    /// Reduction cells' edges.
    pub reduce: CellWeights,
}

impl NetworkWeights {
    /// Every edge clamped to `genotype` (edges it does not keep are off).
    pub fn clamped(genotype: &Genotype) -> NetworkWeights {
        let cell = |kind: CellKind| {
            Edge::all()
                .map(|e| match genotype.cell(kind).op_on(e) {
                    Some(op) => EdgeWeighting::Clamped(op.index()),
                    None => EdgeWeighting::Off,
                })
                .collect()
        };
        NetworkWeights {
            normal: cell(CellKind::Normal),
            reduce: cell(CellKind::Reduce),
        }
    }

    /// Every edge of a NAS-Bench-201 cell clamped to `cell` (the space has
    /// one cell kind: `reduce` is empty).
    pub fn clamped_nb201(cell: &Nb201Cell) -> NetworkWeights {
        NetworkWeights {
            normal: cell
                .0
                .iter()
                .map(|op| EdgeWeighting::Clamped(op.index()))
                .collect(),
            reduce: Vec::new(),
        }
    }

    /// Every edge clamped to `arch`, in either space.
    pub fn clamped_arch(arch: &edas_genotype::Architecture) -> NetworkWeights {
        match arch {
            edas_genotype::Architecture::Darts(g) => NetworkWeights::clamped(g),
            edas_genotype::Architecture::Nb201(c) => NetworkWeights::clamped_nb201(c),
        }
    }

    /// The weightings of `kind`.
    pub fn cell(&self, kind: CellKind) -> &CellWeights {
        match kind {
            CellKind::Normal => &self.normal,
            CellKind::Reduce => &self.reduce,
        }
    }

    /// Mutable weightings of `kind`.
    pub fn cell_mut(&mut self, kind: CellKind) -> &mut CellWeights {
        match kind {
            CellKind::Normal => &mut self.normal,
            CellKind::Reduce => &mut self.reduce,
        }
    }
}

/// One edge of the supernet: `none` and the ops of its op set (all 8 in
/// DARTS' space, in [`Primitive`] order; `ops[0]` is always `none`, which
/// also gives a node with no active input its zeros).
///
/// With partial channel connections (PC-DARTS, `partial = K > 1`) the ops
/// see the first `C/K` channels of the input; the other channels bypass
/// them (max-pooled 2x2 on a stride-2 edge), are concatenated after the
/// ops' output, and the channels are shuffled in `K` groups.
#[derive(Module, Debug)]
pub struct MixedEdge {
    /// The candidate ops (on `C / partial` channels), `none` first.
    pub ops: Vec<Op>,
    /// The primitive of each entry of `ops` (ascending).
    #[module(skip)]
    pub primitives: Vec<Primitive>,
    /// `K`: 1 = every channel goes through the ops.
    pub partial: usize,
    /// The edge's stride (the bypass pools when 2).
    pub stride: usize,
}

/// An edge's output under `weighting`: `ops(x, w)` (the ops' weighted
/// output on the channels they see) through [`partial_forward`], and for
/// [`EdgeWeighting::RelaxedEdge`] the whole output (bypassed channels
/// included) scaled by its edge weight, `ops` then seeing the op weights as
/// [`EdgeWeighting::Relaxed`]. Shared by DARTS' and NAS-Bench-201's
/// supernet edges.
pub(crate) fn edge_forward(
    x: Tensor<4>,
    weighting: &EdgeWeighting,
    partial: usize,
    stride: usize,
    ops: impl FnOnce(Tensor<4>, &EdgeWeighting) -> Option<Tensor<4>>,
) -> Option<Tensor<4>> {
    if let EdgeWeighting::RelaxedEdge { ops: weights, edge } = weighting {
        let relaxed = EdgeWeighting::Relaxed(weights.clone());
        let y = partial_forward(x, partial, stride, |x| ops(x, &relaxed))?;
        return Some(y.mul(edge.clone().reshape([1, 1, 1, 1])));
    }
    partial_forward(x, partial, stride, |x| ops(x, weighting))
}

/// `y` scaled by `weights[k]` (sliced, so that the gradient reaches entry
/// `k` of the weights).
pub(crate) fn scale_by(y: Tensor<4>, weights: &Tensor<1>, k: usize) -> Tensor<4> {
    y.mul(weights.clone().slice([k..k + 1]).reshape([1, 1, 1, 1]))
}

/// A partial-channel edge (PC-DARTS): `ops` on the first `C / partial`
/// channels of `x`, the others bypassing them (max-pooled 2x2 when
/// `stride` is 2), concatenated after the ops' output and shuffled in
/// `partial` groups; `ops(x)` itself when `partial` is 1. `None` when the
/// ops give none.
fn partial_forward(
    x: Tensor<4>,
    partial: usize,
    stride: usize,
    ops: impl FnOnce(Tensor<4>) -> Option<Tensor<4>>,
) -> Option<Tensor<4>> {
    if partial <= 1 {
        return ops(x);
    }
    let [n, c, h, w] = x.dims();
    let part = c / partial;
    let through = x.clone().slice([0..n, 0..part, 0..h, 0..w]);
    let bypass = x.slice([0..n, part..c, 0..h, 0..w]);
    let y = ops(through)?;
    let bypass = if stride == 2 {
        // Ceil mode: odd sizes give ceil(H/2), as the stride-2 ops do.
        max_pool2d(
            bypass,
            MaxPoolOptions::new([2, 2])
                .with_stride([2, 2])
                .with_ceil_mode(true),
        )
    } else {
        bypass
    };
    Some(channel_shuffle(Tensor::cat(vec![y, bypass], 1), partial))
}

/// `x` with its channels shuffled in `groups` groups (ShuffleNet's
/// `[N, g, C/g, H, W] -> [N, C/g, g, H, W]`, as PC-DARTS' `channel_shuffle`).
pub fn channel_shuffle(x: Tensor<4>, groups: usize) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, groups, c / groups, h * w])
        .swap_dims(1, 2)
        .reshape([n, c, h, w])
}

/// A part of a mixed edge's output that can be computed and differentiated
/// on its own ([`MixedEdge::parts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgePart {
    /// The whole edge ([`MixedEdge::forward`]).
    Whole,
    /// One op's weighted output, by its entry in [`MixedEdge::ops`].
    Op(usize),
}

impl MixedEdge {
    /// All 8 ops on `c` channels at `stride`, in search mode.
    pub fn new_search(c: usize, stride: usize, device: &Device) -> MixedEdge {
        MixedEdge::new_partial(c, stride, 1, OpSet::DARTS, device)
    }

    /// `none` and the ops of `ops` on `c / partial` of the `c` channels at
    /// `stride`, in search mode (`c` must be a multiple of `partial`).
    pub fn new_partial(
        c: usize,
        stride: usize,
        partial: usize,
        ops: OpSet,
        device: &Device,
    ) -> MixedEdge {
        let primitives: Vec<Primitive> = Primitive::ALL
            .into_iter()
            .filter(|p| *p == Primitive::None || ops.has(*p))
            .collect();
        MixedEdge {
            ops: primitives
                .iter()
                .map(|&p| Op::new(p, c / partial, stride, OpMode::Search, device))
                .collect(),
            primitives,
            partial,
            stride,
        }
    }

    /// The edge's module for `op`; panics if the edge's op set lacks it (the
    /// strategies draw only from the search space's ops).
    pub fn op(&self, op: Primitive) -> &Op {
        match self.primitives.iter().position(|p| *p == op) {
            Some(k) => &self.ops[k],
            None => panic!("op {op} is not in this supernet's search space"),
        }
    }

    /// The edge's module for the op of column `column` ([`MixedEdge::op`]).
    pub fn op_at(&self, column: usize) -> &Op {
        match Primitive::ALL.get(column) {
            Some(&p) => self.op(p),
            None => panic!("op column {column} is not in the DARTS space"),
        }
    }

    /// The edge's output under `weighting` (`None` when it is off or `none`).
    pub fn forward(&self, x: Tensor<4>, weighting: &EdgeWeighting) -> Option<Tensor<4>> {
        edge_forward(x, weighting, self.partial, self.stride, |x, w| {
            self.forward_ops(x, w)
        })
    }

    /// The parts whose outputs sum to the edge's output under `weighting`:
    /// each op other than `none` of a `Relaxed` edge on all its channels,
    /// else the whole edge. Differentiating the parts one after the other
    /// keeps one op's activations alive at a time instead of all of them
    /// (`backward_recomputing`).
    pub fn parts(&self, weighting: &EdgeWeighting) -> Vec<EdgePart> {
        match weighting {
            EdgeWeighting::Relaxed(_) if self.partial <= 1 => (0..self.ops.len())
                .filter(|&k| !self.ops[k].is_zero())
                .map(EdgePart::Op)
                .collect(),
            _ => vec![EdgePart::Whole],
        }
    }

    /// The output of one part ([`MixedEdge::parts`]) of the edge under
    /// `weighting`: for [`EdgePart::Op`], the op's output scaled by its
    /// weight, as [`MixedEdge::forward`] adds it (`None` unless
    /// `weighting` is `Relaxed`).
    pub fn forward_part(
        &self,
        x: Tensor<4>,
        weighting: &EdgeWeighting,
        part: EdgePart,
    ) -> Option<Tensor<4>> {
        match (part, weighting) {
            (EdgePart::Whole, _) => self.forward(x, weighting),
            (EdgePart::Op(k), EdgeWeighting::Relaxed(weights)) => {
                let op = self.ops.get(k)?;
                Some(scale_by(op.forward(x), weights, self.primitives[k].index()))
            }
            (EdgePart::Op(_), _) => None,
        }
    }

    /// Visits the parameters of one part ([`MixedEdge::parts`]).
    pub fn visit_part<V: burn::module::ModuleVisitor>(&self, part: EdgePart, visitor: &mut V) {
        match part {
            EdgePart::Whole => self.visit(visitor),
            EdgePart::Op(k) => {
                if let Some(op) = self.ops.get(k) {
                    op.visit(visitor);
                }
            }
        }
    }

    /// The ops' weighted output on `x` (all of an edge's input channels, or
    /// the partial edge's share).
    fn forward_ops(&self, x: Tensor<4>, weighting: &EdgeWeighting) -> Option<Tensor<4>> {
        match weighting {
            EdgeWeighting::Off => None,
            EdgeWeighting::Clamped(op) => {
                (*op != Primitive::None.index()).then(|| self.op_at(*op).forward(x))
            }
            EdgeWeighting::Sampled { op, weights } => {
                Some(scale_by(self.op_at(*op).forward(x), weights, *op))
            }
            EdgeWeighting::Relaxed(weights) | EdgeWeighting::RelaxedEdge { ops: weights, .. } => {
                // The convolutions (and the stride-2 skip) all begin with
                // ReLU(x): compute it once, so that backward keeps one copy
                // instead of one per op (same values, less memory), except
                // where the ReLU is fused into the op's depthwise
                // convolution and never stored ([`Op::fuses_relu`]).
                let fused = crate::kernels::fuses_relu(&x.device());
                let shares = |op: &Op| op.starts_with_relu() && !(fused && op.fuses_relu());
                let activated = self.ops.iter().skip(1).any(shares).then(|| relu(x.clone()));
                self.ops
                    .iter()
                    .zip(&self.primitives)
                    .skip(1)
                    .map(|(op, p)| {
                        let y = match &activated {
                            Some(r) if shares(op) => op.forward_activated(r.clone()),
                            _ => op.forward(x.clone()),
                        };
                        scale_by(y, weights, p.index())
                    })
                    .reduce(|a, b| a.add(b))
            }
        }
    }
}

/// A supernet cell: preprocessing and 14 mixed edges (fewer in a cell of
/// fewer nodes: the edges into its nodes).
#[derive(Module, Debug)]
pub struct SearchCell {
    /// Preprocessing of `s0` (the cell two back).
    pub pre0: Preprocess,
    /// Preprocessing of `s1` (the previous cell).
    pub pre1: ReluConvBn,
    /// The 14 edges in [`edas_genotype::space`] order (the first 2, 5 or
    /// 9 in a cell of 1, 2 or 3 nodes).
    pub edges: Vec<MixedEdge>,
    /// Whether this is a reduction cell.
    pub reduction: bool,
}

impl SearchCell {
    fn new(shape: &CellShape, partial: usize, ops: OpSet, nodes: usize, device: &Device) -> Self {
        SearchCell {
            pre0: pre0(shape, false, device),
            pre1: pre1(shape, false, device),
            edges: Edge::all()
                .take(first_edge_of(NUM_INPUT_STATES + nodes))
                .map(|e| {
                    let stride = edge_stride(shape.reduction, e.input);
                    MixedEdge::new_partial(shape.c, stride, partial, ops, device)
                })
                .collect(),
            reduction: shape.reduction,
        }
    }

    /// Its intermediate nodes (4, unless built for fewer): the nodes whose
    /// incoming edges it holds.
    pub fn num_nodes(&self) -> usize {
        (1..=NUM_NODES)
            .find(|&n| first_edge_of(NUM_INPUT_STATES + n) >= self.edges.len())
            .unwrap_or(NUM_NODES)
    }

    /// `(s0, s1) -> concat of nodes 2..=5`, `[N, 4C, H', W']` (of its
    /// `nodes` nodes, `[N, nodes * C, H', W']`).
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, weights: &CellWeights) -> Tensor<4> {
        self.forward_with(s0, s1, weights, None)
    }

    /// [`SearchCell::forward`] with drop-path on clamped edges; `drop` holds
    /// the settings and this cell's index.
    pub fn forward_with(
        &self,
        s0: Tensor<4>,
        s1: Tensor<4>,
        weights: &CellWeights,
        drop: Option<(DropPath, usize)>,
    ) -> Tensor<4> {
        let mut states = vec![self.pre0.forward(s0), self.pre1.forward(s1)];
        for node in NUM_INPUT_STATES..NUM_INPUT_STATES + self.num_nodes() {
            let mut sum: Option<Tensor<4>> = None;
            for (input, state) in states.iter().enumerate().take(node) {
                let e = Edge { node, input }.index();
                if let Some(y) = self.edge_output(e, state.clone(), &weights[e], drop) {
                    accumulate(&mut sum, y);
                }
            }
            let value = sum.unwrap_or_else(|| self.zero_node(node, states[0].clone()));
            states.push(value);
        }
        Tensor::cat(states.split_off(NUM_INPUT_STATES), 1)
    }

    /// Edge `e`'s output on `x` under `weighting`, with drop-path on a
    /// clamped edge that is not `skip_connect` (`None`: off or `none`).
    pub(crate) fn edge_output(
        &self,
        e: usize,
        x: Tensor<4>,
        weighting: &EdgeWeighting,
        drop: Option<(DropPath, usize)>,
    ) -> Option<Tensor<4>> {
        let y = self.edges[e].forward(x, weighting)?;
        Some(match (drop, weighting) {
            (Some((d, cell)), EdgeWeighting::Clamped(op))
                if *op != Primitive::SkipConnect.index() =>
            {
                drop_path_seeded(y, d.prob, drop_path_seed(d.seed, cell, e))
            }
            _ => y,
        })
    }

    /// The value of a node with no active input: zeros of the node shape
    /// (`s0` is the cell's first preprocessed input).
    pub(crate) fn zero_node(&self, node: usize, s0: Tensor<4>) -> Tensor<4> {
        let zero_edge = Edge { node, input: 0 }.index();
        // `none` keeps its input's channels (all of them, also on a
        // partial-channel edge) and applies the edge's stride.
        self.edges[zero_edge].ops[0].forward(s0)
    }
}

/// Configuration of the search network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SearchNetworkConfig {
    /// Input channels (1 grayscale, 3 RGB).
    pub in_channels: usize,
    /// Number of classes.
    pub classes: usize,
    /// Initial channels `C`.
    pub channels: usize,
    /// Number of cells `L`; reductions at `L/3` and `2L/3`.
    pub layers: usize,
    /// Stem multiplier (DARTS: 3).
    pub stem_multiplier: usize,
    /// Partial channel connections `K` (PC-DARTS: 4 on CIFAR): each edge's
    /// ops see `1/K` of its channels ([`MixedEdge`]); 1 = all (DARTS).
    #[serde(default = "one")]
    pub partial_channels: usize,
    /// The ops each edge holds besides `none` (a restricted DARTS space,
    /// [`edas_genotype::SearchSpace`]); every op by default.
    #[serde(default)]
    pub ops: OpSet,
    /// The cell space ([`crate::Supernet::new`] builds its supernet;
    /// [`SearchNetwork`] is DARTS').
    #[serde(default)]
    pub space: SpaceName,
    /// Input height and width, when known (0: unknown); the NAS-Bench-201
    /// supernet needs a multiple of 4.
    #[serde(default)]
    pub image_size: usize,
    /// Intermediate nodes of a DARTS cell (4; 1 to 4 in a space restricted
    /// to fewer nodes, [`edas_genotype::SearchSpace::with_nodes`]): the
    /// cell has the edges into them and concatenates them all. Not written
    /// when 4.
    #[serde(default = "four", skip_serializing_if = "is_four")]
    pub nodes: usize,
}

fn one() -> usize {
    1
}

fn four() -> usize {
    NUM_NODES
}

fn is_four(nodes: &usize) -> bool {
    *nodes == NUM_NODES
}

impl SearchNetworkConfig {
    /// DARTS' CIFAR search network: C=16, L=8.
    pub fn darts_cifar(classes: usize) -> Self {
        SearchNetworkConfig {
            in_channels: 3,
            classes,
            channels: 16,
            layers: 8,
            stem_multiplier: 3,
            partial_channels: 1,
            ops: OpSet::DARTS,
            space: SpaceName::Darts,
            image_size: 32,
            nodes: NUM_NODES,
        }
    }

    /// Whether cell `i` is a reduction cell.
    pub fn is_reduction(&self, i: usize) -> bool {
        is_reduction(self.layers, i)
    }
}

/// The search network: stem, `L` search cells, global pooling, classifier.
#[derive(Module, Debug)]
pub struct SearchNetwork {
    /// Stem convolution (3x3, `in -> 3C`).
    pub stem_conv: Conv2d,
    /// Stem BN (non-affine in search).
    pub stem_bn: Bn,
    /// The cells.
    pub cells: Vec<SearchCell>,
    /// The classifier.
    pub classifier: Linear,
}

impl SearchNetwork {
    /// Builds the network; panics on a config that cannot be built (checked
    /// by [`crate::check_layers`]).
    pub fn new(config: &SearchNetworkConfig, device: &Device) -> SearchNetwork {
        let c_stem = config.stem_multiplier * config.channels;
        let nodes = config.nodes.clamp(1, NUM_NODES);
        let (shapes, c_last) =
            cell_shapes(config.layers, c_stem, config.channels, false, |_| nodes);
        let partial = config.partial_channels.max(1);
        let cells = shapes
            .iter()
            .map(|s| SearchCell::new(s, partial, config.ops, nodes, device))
            .collect();
        SearchNetwork {
            stem_conv: ConvSpec::new(config.in_channels, c_stem, 3)
                .with_padding(1)
                .init(device),
            stem_bn: Bn::new(c_stem, false, device),
            cells,
            classifier: LinearConfig::new(c_last, config.classes).init(device),
        }
    }

    /// The partial channel connections `K` of its edges (1: every channel
    /// goes through the ops; PC-DARTS' supernet: more).
    pub fn partial_channels(&self) -> usize {
        self.cells
            .iter()
            .flat_map(|c| &c.edges)
            .map(|e| e.partial)
            .max()
            .unwrap_or(1)
    }

    /// `[N, C_in, H, W] -> logits [N, classes]`.
    pub fn forward(&self, x: Tensor<4>, weights: &NetworkWeights) -> Tensor<2> {
        self.forward_with(x, weights, None)
    }

    /// [`SearchNetwork::forward`] with optional drop-path on clamped edges.
    pub fn forward_with(
        &self,
        x: Tensor<4>,
        weights: &NetworkWeights,
        drop: Option<DropPath>,
    ) -> Tensor<2> {
        let s = self.stem_bn.forward(self.stem_conv.forward(x));
        let (mut s0, mut s1) = (s.clone(), s);
        for (i, cell) in self.cells.iter().enumerate() {
            let kind = CellKind::of(cell.reduction);
            let out = cell.forward_with(s0, s1.clone(), weights.cell(kind), drop.map(|d| (d, i)));
            s0 = s1;
            s1 = out;
        }
        let pooled = s1.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.classifier.forward(pooled)
    }
}
