//! One forward and backward pass of the search network that keeps no
//! activations of its relaxed edges.
//!
//! An EDAS step trains the derived network plus one relaxed edge per cell
//! kind, and that edge runs all its ops other than `none` (7 in the DARTS
//! space) in every cell of its kind.
//! Kept for backward the usual way, their activations cost about as much as
//! the rest of the cell (`docs/performance.md`). Here the relaxed edges run
//! without autodiff in the forward pass (their output enters the graph as a
//! constant) and run again when the backward pass reaches them, one op at a
//! time, each op differentiated before the next one runs, so that only one
//! op's activations are alive at once.
//!
//! The backward pass is taken in segments: every cell state (preprocessed
//! inputs, the nodes that later edges or a relaxed edge use, cell output) is
//! a leaf of the segments that consume it, and the segments are
//! differentiated in reverse order, each seeded with the gradient its output
//! has collected from the later segments. A state is the same buffer as its
//! leaf (no copy), but the tape holds it until the backward pass reaches it,
//! where the ordinary graph lets go of what no op keeps. So a node that only
//! the cell's concatenation uses is not a state: its graph ends in the
//! concatenation and is differentiated with it (`NodeValue::Inline`). The
//! memory added is then the states that no op keeps, such as a node that
//! only `skip_connect` reads, or the node a relaxed edge feeds.
//!
//! The result equals an ordinary `loss.backward()` up to floating-point
//! summation order (tests: `crates/edas-nn/tests/recompute.rs`). BatchNorm
//! running statistics of a relaxed edge are updated once per pass, by the
//! recomputation, with the same batch statistics.

use burn::module::{Flag, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use edas_genotype::CellKind;
use edas_genotype::space::{Edge, NUM_INPUT_STATES};

use crate::supernet::{DropPath, EdgeWeighting, NetworkWeights, SearchNetwork, accumulate};

/// `module` on the inner (non-autodiff) device with its training flags kept
/// on: BatchNorm normalises with batch statistics, as during search, and
/// touches no running statistics; no autodiff bookkeeping.
pub fn on_inner<M: Module>(module: &M) -> M {
    struct FlagsOn;
    impl ModuleMapper for FlagsOn {
        fn map_flag(&mut self, flag: Param<Flag>) -> Param<Flag> {
            flag.with_value(true)
        }
    }
    module.valid().map(&mut FlagsOn)
}

/// A copy of `module` whose parameters neither belong to a graph nor require
/// a gradient (the original keeps its own): forwards through it record no
/// graph for them. `Tensor::detach` alone is not enough: in burn 0.22 it
/// keeps a tensor requiring a gradient, so a backward would still compute
/// one for every detached parameter. (`Module::no_grad` on a clone is not
/// enough either: a clone shares a lazily initialised parameter's state
/// with the original.)
pub fn untracked<M: Module>(module: &M) -> M {
    struct Detach;
    impl ModuleMapper for Detach {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, _) = param.consume();
            Param::initialized(id, tensor.detach().set_require_grad(false))
        }
    }
    module.clone().map(&mut Detach)
}

/// What [`SearchNetwork::backward_recomputing`] returns.
#[derive(Debug)]
pub struct Recomputed {
    /// The logits, detached.
    pub logits: Tensor<2>,
    /// The loss, detached.
    pub loss: Tensor<1>,
    /// Gradients of the network's tracked parameters.
    pub params: GradientsParams,
    /// Gradient of every tracked edge-weight tensor of the weightings
    /// (`Relaxed` and `Sampled` weights that carry a gradient), per cell kind
    /// and edge; `None` where the weighting has no tracked tensor.
    pub weights: WeightGrads,
}

/// Gradients of the weightings' tensors, per cell kind and edge.
#[derive(Debug, Default)]
pub struct WeightGrads {
    /// Normal cells' edges.
    pub normal: Vec<Option<Tensor<1>>>,
    /// Reduction cells' edges.
    pub reduce: Vec<Option<Tensor<1>>>,
}

impl WeightGrads {
    /// The gradients of `kind`'s edges.
    pub fn cell(&self, kind: CellKind) -> &[Option<Tensor<1>>] {
        match kind {
            CellKind::Normal => &self.normal,
            CellKind::Reduce => &self.reduce,
        }
    }

    /// Mutable gradients of `kind`'s edges.
    pub fn cell_mut(&mut self, kind: CellKind) -> &mut [Option<Tensor<1>>] {
        match kind {
            CellKind::Normal => &mut self.normal,
            CellKind::Reduce => &mut self.reduce,
        }
    }

    /// Pushes these gradients on to whatever `weights` (the weightings they
    /// are the gradients of) were computed from, such as alpha: one backward
    /// of `sum over edges of sum(w * grad)`. `None` when no weighting has a
    /// gradient.
    pub fn backward(&self, weights: &NetworkWeights) -> Option<Gradients> {
        let mut total: Option<Tensor<1>> = None;
        for kind in CellKind::ALL {
            for (w, g) in weights.cell(kind).iter().zip(self.cell(kind)) {
                let (
                    EdgeWeighting::Relaxed(w) | EdgeWeighting::Sampled { weights: w, .. },
                    Some(g),
                ) = (w, g)
                else {
                    continue;
                };
                accumulate(&mut total, w.clone().mul(g.clone()).sum());
            }
        }
        total.map(|t| t.backward())
    }
}

/// Which parameters a segment's graph can reach.
enum Part {
    Stem,
    Pre0(usize),
    Pre1(usize),
    /// Edges of a cell.
    Edges(usize, Vec<usize>),
}

/// How a state was computed from earlier states.
enum Producer {
    /// Backward through `out`'s graph (whose leaves include `inputs`).
    Graph {
        out: Tensor<4>,
        inputs: Vec<usize>,
        part: Part,
    },
    /// A relaxed edge of cell `cell` on state `input`, run again in backward.
    Relaxed {
        input: usize,
        cell: usize,
        edge: usize,
    },
    /// The channel-wise concatenation of equal parts, the states `inputs`
    /// (`None` for a part that needs no gradient).
    Cat { inputs: Vec<Option<usize>> },
}

/// A node of a cell in the forward pass.
enum NodeValue {
    /// A state of the tape (a leaf of the segments that use it).
    State(usize),
    /// A node that only the cell's concatenation uses, kept as its graph
    /// (from the states `inputs` through the edges `edges`) and
    /// differentiated with the concatenation. Were it a state, the tape
    /// would keep it until the backward pass reaches it, where an ordinary
    /// graph lets it go after the concatenation.
    Inline {
        value: Tensor<4>,
        inputs: Vec<usize>,
        edges: Vec<usize>,
    },
}

impl NodeValue {
    /// The state, for a node that later edges use.
    fn state(&self) -> usize {
        match self {
            NodeValue::State(id) => *id,
            NodeValue::Inline { .. } => {
                unreachable!("an edge that is on reads a node kept as a state")
            }
        }
    }
}

struct State {
    leaf: Option<Tensor<4>>,
    grad: Option<Tensor<4>>,
    producers: Vec<Producer>,
}

/// The weightings with every tracked tensor replaced by a leaf (shared by
/// all cells of the kind), so that each segment's backward stops there.
struct Leaves {
    weights: NetworkWeights,
    /// `(kind, edge, leaf)` of every tracked tensor.
    tracked: Vec<(CellKind, usize, Tensor<1>)>,
}

impl Leaves {
    fn new(weights: &NetworkWeights) -> Leaves {
        let mut out = weights.clone();
        let mut tracked = Vec::new();
        for kind in CellKind::ALL {
            for (e, w) in out.cell_mut(kind).iter_mut().enumerate() {
                let tensor = match w {
                    EdgeWeighting::Relaxed(t) | EdgeWeighting::Sampled { weights: t, .. } => t,
                    // PC-DARTS' edges run with a graph (the strategy does
                    // not recompute): nothing to make a leaf of.
                    EdgeWeighting::Off
                    | EdgeWeighting::Clamped(_)
                    | EdgeWeighting::RelaxedEdge { .. } => continue,
                };
                if tensor.is_tracked() {
                    *tensor = tensor.clone().detach().require_grad();
                    tracked.push((kind, e, tensor.clone()));
                }
            }
        }
        Leaves {
            weights: out,
            tracked,
        }
    }

    fn is_tracked(&self, kind: CellKind, edge: usize) -> bool {
        self.tracked
            .iter()
            .any(|(k, e, _)| *k == kind && *e == edge)
    }

    /// Moves the leaves' gradients out of `grads` into `into`.
    fn collect(&self, grads: &mut Gradients, into: &mut WeightGrads) {
        for (kind, e, leaf) in &self.tracked {
            if let Some(g) = leaf.grad_remove(grads) {
                accumulate(&mut into.cell_mut(*kind)[*e], g);
            }
        }
    }
}

/// Adds a module's parameter gradients found in `grads` into `into`.
struct Collect<'a> {
    grads: &'a mut Gradients,
    into: &'a mut GradientsParams,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        if let Some(g) = param.val().grad_remove(self.grads) {
            let g = match self.into.remove::<D>(param.id) {
                Some(prev) => prev.add(g),
                None => g,
            };
            self.into.register(param.id, g);
        }
    }
}

/// Whether any parameter of a module requires a gradient.
struct AnyTracked(bool);

impl ModuleVisitor for AnyTracked {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0 |= param.is_require_grad();
    }
}

struct Tape {
    states: Vec<State>,
}

impl Tape {
    fn leaf(&self, id: usize) -> Tensor<4> {
        match &self.states[id].leaf {
            Some(leaf) => leaf.clone(),
            None => unreachable!("state {id} is used after its backward"),
        }
    }

    fn requires_grad(&self, id: usize) -> bool {
        self.states[id]
            .leaf
            .as_ref()
            .is_some_and(|l| l.is_require_grad())
    }

    /// Adds a state whose value is `value`; its leaf requires a gradient
    /// when `needs_grad`.
    fn push(&mut self, value: Tensor<4>, needs_grad: bool, producers: Vec<Producer>) -> usize {
        let leaf = value.detach().set_require_grad(needs_grad);
        self.states.push(State {
            leaf: Some(leaf),
            grad: None,
            producers,
        });
        self.states.len() - 1
    }

    fn push_graph(&mut self, out: Tensor<4>, inputs: Vec<usize>, part: Part) -> usize {
        let tracked = out.is_tracked();
        self.push(
            out.clone(),
            tracked,
            vec![Producer::Graph { out, inputs, part }],
        )
    }

    fn add_grad(&mut self, id: usize, g: Tensor<4>) {
        accumulate(&mut self.states[id].grad, g);
    }

    /// Moves the input leaves' gradients out of `grads`.
    fn collect_inputs(&mut self, inputs: &[usize], grads: &mut Gradients) {
        for &id in inputs {
            if let Some(g) = self.states[id]
                .leaf
                .as_ref()
                .and_then(|l| l.grad_remove(grads))
            {
                self.add_grad(id, g);
            }
        }
    }
}

/// One recomputing pass: the network, the weightings' leaves, the tape and
/// the gradients collected so far.
struct Pass<'a> {
    net: &'a SearchNetwork,
    leaves: Leaves,
    /// Whether the network's parameters require gradients (weight steps).
    net_tracked: bool,
    tape: Tape,
    params: GradientsParams,
    weight_grads: WeightGrads,
}

impl Pass<'_> {
    /// Node `node` of cell `i` from the cell's inputs and earlier nodes
    /// `ids`; a state of the tape when later edges or a relaxed edge need
    /// one ([`NodeValue`]).
    fn node(
        &mut self,
        i: usize,
        node: usize,
        ids: &[NodeValue],
        drop: Option<DropPath>,
    ) -> NodeValue {
        let cell = &self.net.cells[i];
        let kind = CellKind::of(cell.reduction);
        let cell_weights = self.leaves.weights.cell(kind);
        // The clamped (and sampled) edges' sum, with a graph, and the
        // relaxed edges' sum, computed without one.
        let mut graph: Option<Tensor<4>> = None;
        let mut constant: Option<Tensor<4>> = None;
        let (mut inputs, mut edges, mut relaxed) = (Vec::new(), Vec::new(), Vec::new());
        for (input, value) in ids.iter().enumerate().take(node) {
            let e = Edge { node, input }.index();
            match &cell_weights[e] {
                EdgeWeighting::Off => {}
                EdgeWeighting::Relaxed(w) => {
                    let id = value.state();
                    let edge = on_inner(&cell.edges[e]);
                    let weighting = EdgeWeighting::Relaxed(w.clone().inner());
                    if let Some(y) = edge.forward(self.tape.leaf(id).inner(), &weighting) {
                        accumulate(&mut constant, y);
                    }
                    relaxed.push((id, e));
                }
                weighting => {
                    let id = value.state();
                    let drop = drop.map(|d| (d, i));
                    if let Some(y) = cell.edge_output(e, self.tape.leaf(id), weighting, drop) {
                        accumulate(&mut graph, y);
                        inputs.push(id);
                        edges.push(e);
                    }
                }
            }
        }
        let later_use = (node + 1..NUM_INPUT_STATES + cell.num_nodes()).any(|later| {
            cell_weights[Edge {
                node: later,
                input: node,
            }
            .index()]
            .is_on()
        });
        if !later_use && relaxed.is_empty() {
            let value = match graph {
                Some(g) => g,
                None => cell.zero_node(node, self.tape.leaf(ids[0].state())),
            };
            return NodeValue::Inline {
                value,
                inputs,
                edges,
            };
        }
        let relaxed_needs_grad = relaxed.iter().any(|&(input, e)| {
            self.net_tracked || self.tape.requires_grad(input) || self.leaves.is_tracked(kind, e)
        });
        let mut producers = Vec::new();
        let value = match (graph, constant) {
            (Some(g), c) => {
                let out = match c {
                    Some(c) => g.add(c.autodiff()),
                    None => g,
                };
                producers.push(Producer::Graph {
                    out: out.clone(),
                    inputs,
                    part: Part::Edges(i, edges),
                });
                out
            }
            (None, Some(c)) => c.autodiff(),
            (None, None) => cell.zero_node(node, self.tape.leaf(ids[0].state())),
        };
        producers.extend(relaxed.into_iter().map(|(input, edge)| Producer::Relaxed {
            input,
            cell: i,
            edge,
        }));
        let needs_grad = value.is_tracked() || relaxed_needs_grad;
        NodeValue::State(self.tape.push(value, needs_grad, producers))
    }

    /// Cell `i`'s output, the concatenation of its nodes; returns its state.
    fn cat(&mut self, i: usize, nodes: Vec<NodeValue>) -> usize {
        let tape = &mut self.tape;
        let inline_tracked = nodes
            .iter()
            .any(|n| matches!(n, NodeValue::Inline { value, .. } if value.is_tracked()));
        if !inline_tracked {
            // Every part is a state or a constant: the backward only splits
            // the gradient.
            let mut parts = Vec::with_capacity(nodes.len());
            let mut inputs = Vec::with_capacity(nodes.len());
            for n in nodes {
                match n {
                    NodeValue::State(id) => {
                        parts.push(tape.leaf(id).inner());
                        inputs.push(Some(id));
                    }
                    NodeValue::Inline { value, .. } => {
                        parts.push(value.inner());
                        inputs.push(None);
                    }
                }
            }
            // Only the states can carry a gradient here.
            let tracked = inputs.iter().flatten().any(|&id| tape.requires_grad(id));
            let out = Tensor::cat(parts, 1);
            return tape.push(out.autodiff(), tracked, vec![Producer::Cat { inputs }]);
        }
        // The inline nodes' graphs end here: one segment differentiates the
        // concatenation and them.
        let mut parts = Vec::with_capacity(nodes.len());
        let (mut inputs, mut edges) = (Vec::new(), Vec::new());
        for n in nodes {
            match n {
                NodeValue::State(id) => {
                    parts.push(tape.leaf(id));
                    inputs.push(id);
                }
                NodeValue::Inline {
                    value,
                    inputs: node_inputs,
                    edges: node_edges,
                } => {
                    parts.push(value);
                    inputs.extend(node_inputs);
                    edges.extend(node_edges);
                }
            }
        }
        inputs.sort_unstable();
        inputs.dedup();
        tape.push_graph(Tensor::cat(parts, 1), inputs, Part::Edges(i, edges))
    }

    /// Differentiates one segment whose output has gradient `grad`: the
    /// backward pass seeded with `grad` at `out`
    /// ([`crate::kernels::backward_seeded`]), whose gradients go to the parameters
    /// `visit` shows to its visitor, the input states and the weightings'
    /// leaves.
    fn segment(
        &mut self,
        out: Tensor<4>,
        grad: &Tensor<4>,
        inputs: &[usize],
        visit: impl FnOnce(&mut Collect<'_>),
    ) {
        let mut grads = crate::kernels::backward_seeded(out, grad.clone());
        visit(&mut Collect {
            grads: &mut grads,
            into: &mut self.params,
        });
        self.tape.collect_inputs(inputs, &mut grads);
        self.leaves.collect(&mut grads, &mut self.weight_grads);
    }

    /// Differentiates everything that produced state `id`, then lets its
    /// leaf go (every consumer of the state came later and is done).
    fn backward_state(&mut self, id: usize) {
        let net = self.net;
        let grad = self.tape.states[id].grad.take();
        for producer in std::mem::take(&mut self.tape.states[id].producers) {
            match producer {
                Producer::Graph { out, inputs, part } => {
                    let Some(grad) = &grad else { continue };
                    if !out.is_tracked() {
                        continue;
                    }
                    self.segment(out, grad, &inputs, |c| match part {
                        Part::Stem => {
                            net.stem_conv.visit(c);
                            net.stem_bn.visit(c);
                        }
                        Part::Pre0(i) => net.cells[i].pre0.visit(c),
                        Part::Pre1(i) => net.cells[i].pre1.visit(c),
                        Part::Edges(i, edges) => {
                            for e in edges {
                                net.cells[i].edges[e].visit(c);
                            }
                        }
                    });
                }
                Producer::Relaxed { input, cell, edge } => {
                    let kind = CellKind::of(net.cells[cell].reduction);
                    let weighting = self.leaves.weights.cell(kind)[edge].clone();
                    let module = &net.cells[cell].edges[edge];
                    // One op at a time, each differentiated before the next
                    // runs, so that only one op's activations are alive.
                    // Run even without a gradient: the forward pass left this
                    // edge's BatchNorm statistics to this run.
                    for part in module.parts(&weighting) {
                        let Some(y) = module.forward_part(self.tape.leaf(input), &weighting, part)
                        else {
                            continue;
                        };
                        let Some(grad) = &grad else { continue };
                        if y.is_tracked() {
                            self.segment(y, grad, &[input], |c| module.visit_part(part, c));
                        }
                    }
                }
                Producer::Cat { inputs } => {
                    let Some(grad) = &grad else { continue };
                    let parts = grad.clone().chunk(inputs.len(), 1);
                    for (id, g) in inputs.into_iter().zip(parts) {
                        if let Some(id) = id.filter(|&id| self.tape.requires_grad(id)) {
                            self.tape.add_grad(id, g);
                        }
                    }
                }
            }
        }
        self.tape.states[id].leaf = None;
    }
}

impl SearchNetwork {
    /// The gradients of `loss(logits)` for a forward pass under `weights`
    /// (with optional drop-path on clamped edges), computed without keeping
    /// the activations of `Relaxed` edges: they are recomputed during the
    /// backward pass (module docs). Returns the same gradients as
    /// `loss.backward()` on [`SearchNetwork::forward_with`], up to
    /// floating-point summation order, and updates the same BatchNorm
    /// running statistics.
    ///
    /// Gradients go to the network's tracked parameters
    /// ([`Recomputed::params`]) and to the tracked tensors of `weights`
    /// ([`Recomputed::weights`]; push them on to the variables they came
    /// from with [`WeightGrads::backward`]). PC-DARTS' `RelaxedEdge`
    /// weightings are not supported: their tensors get no gradient here
    /// (that strategy does not recompute).
    pub fn backward_recomputing(
        &self,
        x: Tensor<4>,
        weights: &NetworkWeights,
        drop: Option<DropPath>,
        loss: impl FnOnce(Tensor<2>) -> Tensor<1>,
    ) -> Recomputed {
        let mut any = AnyTracked(false);
        self.visit(&mut any);
        let mut pass = Pass {
            net: self,
            leaves: Leaves::new(weights),
            net_tracked: any.0,
            tape: Tape { states: Vec::new() },
            params: GradientsParams::new(),
            weight_grads: WeightGrads {
                normal: vec![None; weights.normal.len()],
                reduce: vec![None; weights.reduce.len()],
            },
        };

        // Forward: every cell state becomes a leaf of the segments using it.
        let tape = &mut pass.tape;
        let stem = self.stem_bn.forward(self.stem_conv.forward(x));
        let stem = tape.push_graph(stem, Vec::new(), Part::Stem);
        let (mut s0, mut s1) = (stem, stem);
        for (i, cell) in self.cells.iter().enumerate() {
            let tape = &mut pass.tape;
            let p0 = tape.push_graph(cell.pre0.forward(tape.leaf(s0)), vec![s0], Part::Pre0(i));
            let p1 = tape.push_graph(cell.pre1.forward(tape.leaf(s1)), vec![s1], Part::Pre1(i));
            let mut ids = vec![NodeValue::State(p0), NodeValue::State(p1)];
            for node in NUM_INPUT_STATES..NUM_INPUT_STATES + cell.num_nodes() {
                let value = pass.node(i, node, &ids, drop);
                ids.push(value);
            }
            let nodes = ids.split_off(NUM_INPUT_STATES);
            (s0, s1) = (s1, pass.cat(i, nodes));
        }

        // The head, and the start of the backward pass.
        let pooled = pass.tape.leaf(s1).mean_dim(3).mean_dim(2).flatten(1, 3);
        let logits = self.classifier.forward(pooled);
        let loss = loss(logits.clone());
        let loss_value = loss.clone().detach();
        if loss.is_tracked() {
            let mut grads = loss.backward();
            self.classifier.visit(&mut Collect {
                grads: &mut grads,
                into: &mut pass.params,
            });
            pass.tape.collect_inputs(&[s1], &mut grads);
        }

        // Backward, segment by segment, latest state first.
        for id in (0..pass.tape.states.len()).rev() {
            pass.backward_state(id);
        }
        Recomputed {
            logits: logits.detach(),
            loss: loss_value,
            params: pass.params,
            weights: pass.weight_grads,
        }
    }
}
