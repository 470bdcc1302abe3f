//! The DARTS derivation rule (edge weights -> genotype) and its inverse, the
//! clamp (genotype -> 0/1 edge weights).
//!
//! Derivation, for each intermediate node: rank its incoming edges by their
//! largest non-`none` weight and keep the top 2; on each kept edge take the
//! arg-max non-`none` op. Ties go to the lower index (edge, then op). The two
//! kept edges are listed in rank order, as DARTS does. Callers pass the weights
//! DARTS ranks by, `softmax(alpha)` per edge.
//!
//! The clamp writes a cell as weights: the kept edge's op gets 1, every other
//! entry 0. With ties broken by lower index, `derive(clamp(c)) == c` for every
//! valid cell `c`, with each node's edges in input order ([`Cell::canonical`]).

use std::cmp::Ordering;

use crate::error::DeriveError;
use crate::genotype::{Cell, Genotype, NodeInput};
use crate::primitive::{CellKind, NUM_OPS, Primitive};
use crate::search_space::OpSet;
use crate::space::{
    INPUTS_PER_NODE, NUM_EDGES, NUM_INPUT_STATES, NUM_NODES, NUM_STATES, edges_of, first_edge_of,
};

/// Per-edge op weights of one cell: 14 rows (edges, in [`crate::space`] order)
/// of 8 columns (ops, in [`Primitive`] order).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeWeights(pub [[f32; NUM_OPS]; NUM_EDGES]);

impl EdgeWeights {
    /// All zeros (every edge off).
    pub const ZERO: EdgeWeights = EdgeWeights([[0.0; NUM_OPS]; NUM_EDGES]);

    /// From 112 values in row-major order (edge by edge), as a `[14, 8]`
    /// tensor's data comes out; or from the first rows only, for a cell of
    /// fewer nodes (`[2, 8]`, `[5, 8]`, `[9, 8]`: the edges into its nodes),
    /// the other rows 0.
    pub fn from_flat(kind: CellKind, values: &[f32]) -> Result<EdgeWeights, DeriveError> {
        let prefix = (NUM_INPUT_STATES..=NUM_STATES)
            .any(|end| first_edge_of(end) * NUM_OPS == values.len() && !values.is_empty());
        if !prefix {
            return Err(DeriveError::Shape {
                kind,
                expected: NUM_EDGES * NUM_OPS,
                found: values.len(),
            });
        }
        let mut w = EdgeWeights::ZERO;
        for (row, chunk) in w.0.iter_mut().zip(values.chunks_exact(NUM_OPS)) {
            row.copy_from_slice(chunk);
        }
        Ok(w)
    }

    /// The 112 values in row-major order.
    pub fn to_flat(&self) -> Vec<f32> {
        self.0.iter().flatten().copied().collect()
    }

    /// The row of edge `edge` (0..14).
    pub fn row(&self, edge: usize) -> &[f32; NUM_OPS] {
        &self.0[edge]
    }

    fn check_finite(&self, kind: CellKind) -> Result<(), DeriveError> {
        for (edge, row) in self.0.iter().enumerate() {
            for (op, &value) in Primitive::ALL.into_iter().zip(row) {
                if !value.is_finite() {
                    return Err(DeriveError::NonFinite {
                        kind,
                        edge,
                        op,
                        value,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Options of the derivation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeriveOptions {
    /// At most this many `skip_connect` edges in the derived normal cell
    /// (P-DARTS uses 2). `None`: no cap.
    pub normal_skip_cap: Option<usize>,
    /// The ops a derived edge may take (a restricted search space,
    /// [`crate::SearchSpace`]); an op outside it is never kept, whatever
    /// its weight. Default: all 8.
    pub ops: OpSet,
    /// Intermediate nodes of the derived cells (a space of fewer nodes,
    /// [`crate::SearchSpace::with_nodes`]): the edges into the first `nodes`
    /// nodes are read, and all of them are concatenated. Default: 4.
    pub nodes: usize,
}

impl Default for DeriveOptions {
    /// DARTS' rule: no skip cap, all 8 ops, 4 nodes.
    fn default() -> Self {
        DeriveOptions {
            normal_skip_cap: None,
            ops: OpSet::DARTS,
            nodes: NUM_NODES,
        }
    }
}

impl DeriveOptions {
    /// The default rule with the skip cap `normal_skip_cap` over op set `ops`.
    pub fn new(normal_skip_cap: Option<usize>, ops: OpSet) -> DeriveOptions {
        DeriveOptions {
            normal_skip_cap,
            ops,
            ..DeriveOptions::default()
        }
    }

    /// The same rule for cells of `nodes` intermediate nodes.
    pub fn with_nodes(self, nodes: usize) -> DeriveOptions {
        DeriveOptions { nodes, ..self }
    }
}

/// The arg-max non-`none` op of a row and its weight; ties to the lower op.
/// Ops whose entry in `masked` is set are not candidates.
fn best_op(row: &[f32; NUM_OPS], masked: &[bool; NUM_OPS]) -> Option<(Primitive, f32)> {
    let mut best: Option<(Primitive, f32)> = None;
    for op in Primitive::ALL.into_iter().skip(1) {
        let w = row[op.index()];
        if masked[op.index()] {
            continue;
        }
        if best.is_none_or(|(_, b)| w > b) {
            best = Some((op, w));
        }
    }
    best
}

/// Derivation with some (edge, op) pairs masked out. Returns `None` when
/// masking leaves a node with fewer than 2 candidate edges.
fn derive_masked(
    kind: CellKind,
    weights: &EdgeWeights,
    masked: &[[bool; NUM_OPS]; NUM_EDGES],
    nodes: usize,
) -> Result<Cell, DeriveError> {
    let last = NUM_INPUT_STATES + nodes.min(NUM_NODES);
    let mut edges = Vec::with_capacity(2 * (last - NUM_INPUT_STATES));
    for node in NUM_INPUT_STATES..last {
        let mut candidates: Vec<(usize, Primitive, f32)> = edges_of(node)
            .enumerate()
            .filter_map(|(input, e)| {
                best_op(&weights.0[e], &masked[e]).map(|(op, w)| (input, op, w))
            })
            .collect();
        // Stable sort: equal weights keep the lower input first.
        candidates.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(Ordering::Equal));
        if candidates.len() < INPUTS_PER_NODE {
            return Err(DeriveError::NoCell {
                kind,
                message: format!(
                    "node {node} has {} input(s) with an op other than none left",
                    candidates.len()
                ),
            });
        }
        edges.extend(
            candidates[..INPUTS_PER_NODE]
                .iter()
                .map(|&(input, op, _)| NodeInput::new(op, input)),
        );
    }
    let concat: Vec<usize> = (NUM_INPUT_STATES..NUM_INPUT_STATES + nodes).collect();
    Cell::new(&edges, &concat).map_err(|e| DeriveError::NoCell {
        kind,
        message: e.to_string(),
    })
}

/// Derives one cell from its edge weights by the DARTS rule, with an optional
/// cap on `skip_connect` edges.
///
/// The cap follows P-DARTS: while the cell has more skip connections than
/// allowed, the kept skip edge with the smallest skip weight loses its skip
/// candidate (ties: the later edge) and the cell is derived again.
pub fn derive_cell(
    kind: CellKind,
    weights: &EdgeWeights,
    skip_cap: Option<usize>,
) -> Result<Cell, DeriveError> {
    derive_cell_in(kind, weights, skip_cap, OpSet::DARTS)
}

/// [`derive_cell`] over the op set `ops`: an op outside it is never a
/// candidate. With all 8 ops this is [`derive_cell`].
pub fn derive_cell_in(
    kind: CellKind,
    weights: &EdgeWeights,
    skip_cap: Option<usize>,
    ops: OpSet,
) -> Result<Cell, DeriveError> {
    derive_cell_of(kind, weights, skip_cap, ops, NUM_NODES)
}

/// [`derive_cell_in`] for a cell of `nodes` intermediate nodes (1..=4): the
/// rows of the edges into them are read, the rest ignored. With 4 nodes this
/// is [`derive_cell_in`].
pub fn derive_cell_of(
    kind: CellKind,
    weights: &EdgeWeights,
    skip_cap: Option<usize>,
    ops: OpSet,
    nodes: usize,
) -> Result<Cell, DeriveError> {
    weights.check_finite(kind)?;
    let excluded: [bool; NUM_OPS] = std::array::from_fn(|k| !ops.contains(k));
    let mut masked = [excluded; NUM_EDGES];
    let skip = Primitive::SkipConnect.index();
    loop {
        // Besides the excluded ops, only skip candidates are ever masked.
        let cell = derive_masked(kind, weights, &masked, nodes)?;
        let Some(cap) = skip_cap else { return Ok(cell) };
        let skips: Vec<usize> = cell
            .nodes()
            .flat_map(|(node, pair)| {
                pair.iter()
                    .filter(|e| e.op == Primitive::SkipConnect)
                    .map(move |e| edges_of(node).start + e.input)
            })
            .collect();
        if skips.len() <= cap {
            return Ok(cell);
        }
        // `skips` is longer than the cap, so it has a weakest edge.
        let Some(weakest) = skips.iter().copied().min_by(|&a, &b| {
            weights.0[a][skip]
                .partial_cmp(&weights.0[b][skip])
                .unwrap_or(Ordering::Equal)
                .then(b.cmp(&a))
        }) else {
            return Ok(cell);
        };
        masked[weakest][skip] = true;
    }
}

/// Derives a genotype from both cells' edge weights.
pub fn derive(
    normal: &EdgeWeights,
    reduce: &EdgeWeights,
    options: DeriveOptions,
) -> Result<Genotype, DeriveError> {
    Ok(Genotype {
        normal: derive_cell_of(
            CellKind::Normal,
            normal,
            options.normal_skip_cap,
            options.ops,
            options.nodes,
        )?,
        reduce: derive_cell_of(CellKind::Reduce, reduce, None, options.ops, options.nodes)?,
    })
}

/// The clamp of a cell: its kept edges as one-hot rows, every other edge 0.
pub fn clamp(cell: &Cell) -> EdgeWeights {
    let mut w = EdgeWeights::ZERO;
    for (node, pair) in cell.nodes() {
        for edge in pair {
            w.0[edges_of(node).start + edge.input][edge.op.index()] = 1.0;
        }
    }
    w
}

impl Cell {
    /// This cell as 0/1 edge weights (see [`clamp`]).
    pub fn clamp(&self) -> EdgeWeights {
        clamp(self)
    }
}

impl Genotype {
    /// Both cells as 0/1 edge weights, normal first.
    pub fn clamp(&self) -> [EdgeWeights; 2] {
        [clamp(&self.normal), clamp(&self.reduce)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::published::{DARTS_V1, DARTS_V2};

    #[test]
    fn clamp_is_one_hot_on_kept_edges() {
        let w = DARTS_V2.normal.clamp();
        let total: f32 = w.to_flat().iter().sum();
        assert_eq!(total, 8.0);
        // Node 5 keeps ('skip_connect', 0) and ('dil_conv_3x3', 2): edges 9 and 11.
        assert_eq!(w.row(9)[Primitive::SkipConnect.index()], 1.0);
        assert_eq!(w.row(11)[Primitive::DilConv3x3.index()], 1.0);
        assert_eq!(w.row(10), &[0.0; 8]);
        for g in [DARTS_V1, DARTS_V2] {
            let [n, r] = g.clamp();
            let back = derive(&n, &r, DeriveOptions::default()).unwrap();
            assert_eq!(back, g);
            assert_eq!(format!("{back:?}"), format!("{:?}", g.canonical()));
        }
    }

    #[test]
    fn fewer_nodes_read_only_the_edges_into_them() {
        let options = DeriveOptions::default().with_nodes(3);
        let cut = |g: &Genotype| {
            let cell =
                |c: &Cell| Cell::new(&c.edges().take(6).collect::<Vec<_>>(), &[2, 3, 4]).unwrap();
            Genotype {
                normal: cell(&g.normal),
                reduce: cell(&g.reduce),
            }
        };
        // DARTS_V2's first three nodes: its clamp derives them back, from
        // 14 rows or from the 9 rows of a 3-node cell's variables.
        let [n, r] = DARTS_V2.clamp();
        let want = cut(&DARTS_V2);
        assert_eq!(derive(&n, &r, options).unwrap(), want);
        let rows = |w: &EdgeWeights| w.to_flat()[..9 * NUM_OPS].to_vec();
        let (n9, r9) = (
            EdgeWeights::from_flat(CellKind::Normal, &rows(&n)).unwrap(),
            EdgeWeights::from_flat(CellKind::Reduce, &rows(&r)).unwrap(),
        );
        assert_eq!(derive(&n9, &r9, options).unwrap(), want);
        // The cut cell's clamp is those 9 rows, the rest 0.
        assert_eq!(want.clamp(), [n9, r9]);
        // Other row counts are refused.
        assert!(EdgeWeights::from_flat(CellKind::Normal, &[0.0; 3 * NUM_OPS]).is_err());
        assert!(EdgeWeights::from_flat(CellKind::Normal, &[]).is_err());
        let one = derive(&n, &r, DeriveOptions::default().with_nodes(1)).unwrap();
        assert_eq!(one.normal.num_nodes(), 1);
        assert_eq!(one.normal.concat().to_vec(), [2]);
    }

    #[test]
    fn top_two_by_largest_non_none_weight_and_ties_to_lower_index() {
        let mut w = EdgeWeights::ZERO;
        // Node 2: only edges 0 and 1, op ties -> lowest non-none op (max_pool).
        // Node 3 (edges 2..5): `none` is ignored even when largest.
        w.0[2] = [9.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        w.0[3] = [0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0];
        w.0[4] = [0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0];
        let cell = derive_cell(CellKind::Normal, &w, None).unwrap();
        let n2 = cell.node(2).unwrap();
        assert_eq!(
            n2,
            &[
                NodeInput::new(Primitive::MaxPool3x3, 0),
                NodeInput::new(Primitive::MaxPool3x3, 1)
            ]
        );
        let n3 = cell.node(3).unwrap();
        // Rank order: input 1 (0.5) then input 2 (0.3); input 0 (0.1) dropped.
        assert_eq!(
            n3,
            &[
                NodeInput::new(Primitive::SepConv3x3, 1),
                NodeInput::new(Primitive::SkipConnect, 2)
            ]
        );
        // All-zero nodes 4 and 5 keep inputs 0 and 1.
        assert_eq!(cell.node(5).unwrap().map(|e| e.input), [0, 1]);
    }

    #[test]
    fn skip_cap_drops_the_weakest_skip() {
        let mut w = EdgeWeights::ZERO;
        let skip = Primitive::SkipConnect.index();
        let sep = Primitive::SepConv3x3.index();
        // Every kept edge prefers skip, with distinct strengths; second choice sep.
        for (e, row) in w.0.iter_mut().enumerate() {
            row[skip] = 1.0 + e as f32 * 0.01;
            row[sep] = 0.5;
        }
        let free = derive_cell(CellKind::Normal, &w, None).unwrap();
        assert_eq!(free.op_counts()[skip], 8);
        let capped = derive_cell(CellKind::Normal, &w, Some(2)).unwrap();
        assert_eq!(capped.op_counts()[skip], 2);
        // The two strongest skip weights are on edges 13 and 12 (node 5).
        assert_eq!(
            capped.node(5).unwrap().map(|e| e.op),
            [Primitive::SkipConnect; 2]
        );
        let none = derive_cell(CellKind::Normal, &w, Some(0)).unwrap();
        assert_eq!(none.op_counts()[skip], 0);
        // The cap applies to the normal cell only.
        let g = derive(
            &w,
            &w,
            DeriveOptions {
                normal_skip_cap: Some(1),
                ..DeriveOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            (g.normal.op_counts()[skip], g.reduce.op_counts()[skip]),
            (1, 8)
        );
    }

    #[test]
    fn excluded_ops_are_never_derived_whatever_their_weight() {
        let mut w = EdgeWeights::ZERO;
        let (pool, skip, sep, avg) = (
            Primitive::MaxPool3x3.index(),
            Primitive::SkipConnect.index(),
            Primitive::SepConv3x3.index(),
            Primitive::AvgPool3x3.index(),
        );
        for (e, row) in w.0.iter_mut().enumerate() {
            row[pool] = 0.9;
            row[skip] = 0.8;
            row[sep] = 0.1 + e as f32 * 0.01;
            row[avg] = 0.05;
        }
        let full = derive(&w, &w, DeriveOptions::default()).unwrap();
        assert_eq!(full.normal.op_counts()[pool], 8);
        let ops = OpSet::DARTS.without(pool).without(skip);
        let g = derive(&w, &w, DeriveOptions::new(None, ops)).unwrap();
        for kind in CellKind::ALL {
            let counts = g.cell(kind).op_counts();
            assert_eq!(
                (counts[pool], counts[skip], counts[sep]),
                (0, 0, 8),
                "{kind}"
            );
            // Node 5 ranks its inputs by the sep weight alone now: 4 and 3.
            assert_eq!(g.cell(kind).node(5).unwrap().map(|e| e.input), [4, 3]);
        }
        // An edge whose only allowed ops weigh 0 still gets one of them.
        let only_avg = OpSet::EMPTY.with(0).with(avg);
        let g = derive(&w, &w, DeriveOptions::new(None, only_avg)).unwrap();
        assert_eq!(g.normal.op_counts()[avg], 8);
        // With every op the rule is the old one.
        assert_eq!(
            derive(&w, &w, DeriveOptions::new(None, OpSet::DARTS)).unwrap(),
            full
        );
    }

    #[test]
    fn bad_weights_are_errors() {
        let mut w = EdgeWeights::ZERO;
        w.0[7][2] = f32::NAN;
        let e = derive_cell(CellKind::Reduce, &w, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "reduce weights: edge 7, op avg_pool_3x3: weight NaN is not finite"
        );
        let e = EdgeWeights::from_flat(CellKind::Normal, &[0.0; 111]).unwrap_err();
        assert!(e.to_string().contains("expected 112 values"));
        let flat: Vec<f32> = (0..112).map(|i| i as f32).collect();
        let w = EdgeWeights::from_flat(CellKind::Normal, &flat).unwrap();
        assert_eq!(w.row(13)[7], 111.0);
        assert_eq!(w.to_flat(), flat);
    }
}
