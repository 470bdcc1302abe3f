//! Cells and genotypes: the discrete architecture that a search derives.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::{CellError, GenotypeError};
use crate::primitive::{CellKind, NUM_OPS, Primitive};
use crate::space::{Edge, INPUTS_PER_NODE, NUM_INPUT_STATES, NUM_NODES, NUM_STATES};

/// Number of entries in a cell's edge list (2 per intermediate node).
pub const NUM_KEPT_EDGES: usize = NUM_NODES * INPUTS_PER_NODE;

/// One kept edge of a cell: `op` applied to state `input`. DARTS writes it as
/// the tuple `('sep_conv_3x3', 0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeInput {
    /// The operation on the edge.
    pub op: Primitive,
    /// The sending state (0 and 1 are the cell inputs, 2..=5 the nodes).
    pub input: usize,
}

impl NodeInput {
    /// `op` applied to state `input`.
    pub const fn new(op: Primitive, input: usize) -> NodeInput {
        NodeInput { op, input }
    }
}

/// The nodes whose outputs are concatenated into the cell output: a non-empty
/// subset of the intermediate nodes 2..=5, kept in ascending order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Concat(u8);

impl Concat {
    /// All four intermediate nodes, `[2, 3, 4, 5]` (what DARTS uses).
    pub const ALL: Concat = Concat(0b1111);

    /// The concat list `states`, which must be strictly ascending intermediate
    /// nodes.
    pub fn from_states(states: &[usize]) -> Result<Concat, CellError> {
        let mut bits = 0u8;
        let mut previous: Option<usize> = None;
        for &state in states {
            if !crate::space::is_node(state) {
                return Err(CellError::ConcatOutOfRange { state });
            }
            if let Some(previous) = previous.filter(|&p| state <= p) {
                return Err(CellError::ConcatOrder { previous, state });
            }
            bits |= 1 << (state - NUM_INPUT_STATES);
            previous = Some(state);
        }
        if bits == 0 {
            return Err(CellError::ConcatEmpty);
        }
        Ok(Concat(bits))
    }

    /// The concatenated nodes in ascending order.
    pub fn states(self) -> impl Iterator<Item = usize> {
        (NUM_INPUT_STATES..NUM_STATES).filter(move |&s| self.contains(s))
    }

    /// Whether node `state` is concatenated.
    pub fn contains(self, state: usize) -> bool {
        crate::space::is_node(state) && self.0 & (1 << (state - NUM_INPUT_STATES)) != 0
    }

    /// Number of concatenated nodes (the cell output has `len * C` channels).
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Always false: a concat list names at least one node.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The list as a vector, e.g. `[2, 3, 4, 5]`.
    pub fn to_vec(self) -> Vec<usize> {
        self.states().collect()
    }
}

impl fmt::Debug for Concat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.states()).finish()
    }
}

impl fmt::Display for Concat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states: Vec<String> = self.states().map(|s| s.to_string()).collect();
        write!(f, "[{}]", states.join(", "))
    }
}

/// A discrete DARTS cell: two kept incoming edges for each intermediate
/// node (four in DARTS' space; 1 to 4 in a space restricted to fewer nodes,
/// [`crate::SearchSpace::with_nodes`]), and the list of nodes concatenated
/// into the output.
///
/// A `Cell` is valid by construction: every input precedes its node, the two
/// inputs of a node differ, no kept edge is `none`, and the concat list is a
/// non-empty ascending subset of its nodes (2..=5 with four).
///
/// Equality compares the network a cell describes: the order of a node's two
/// edges does not matter (a node sums its inputs), so `('sep_conv_3x3', 1),
/// ('skip_connect', 0)` equals `('skip_connect', 0), ('sep_conv_3x3', 1)`. The
/// stored order is kept for display and for writing texts back unchanged.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    nodes: [[NodeInput; INPUTS_PER_NODE]; NUM_NODES],
    /// How many of `nodes` the cell has (1..=4); the rest hold a fixed
    /// filler and are never read.
    len: u8,
    concat: Concat,
}

/// What an absent node's entries hold (so that equality and hashing, which
/// compare whole arrays, see equal fillers).
const FILLER: NodeInput = NodeInput::new(Primitive::SkipConnect, 0);

impl Cell {
    /// Builds a cell from DARTS' flat edge list (entries 2k and 2k+1 feed node
    /// k + 2) and its concat list, checking every rule of the search space.
    /// The list has 2 entries per node: 8 for DARTS' four nodes, fewer for a
    /// cell of fewer nodes (2, 4 or 6).
    pub fn new(edges: &[NodeInput], concat: &[usize]) -> Result<Cell, CellError> {
        if edges.is_empty()
            || edges.len() > NUM_KEPT_EDGES
            || !edges.len().is_multiple_of(INPUTS_PER_NODE)
        {
            return Err(CellError::EdgeCount {
                expected: NUM_KEPT_EDGES,
                found: edges.len(),
            });
        }
        let len = edges.len() / INPUTS_PER_NODE;
        let mut nodes = [[FILLER; INPUTS_PER_NODE]; NUM_NODES];
        for (entry, &edge) in edges.iter().enumerate() {
            let node = NUM_INPUT_STATES + entry / INPUTS_PER_NODE;
            if edge.input >= node {
                return Err(CellError::InputOutOfRange {
                    entry,
                    node,
                    input: edge.input,
                });
            }
            if edge.op == Primitive::None {
                return Err(CellError::NoneOp { entry, node });
            }
            let slot = entry % INPUTS_PER_NODE;
            if slot == 1 && nodes[entry / INPUTS_PER_NODE][0].input == edge.input {
                return Err(CellError::DuplicateInput {
                    entry,
                    node,
                    input: edge.input,
                });
            }
            nodes[entry / INPUTS_PER_NODE][slot] = edge;
        }
        let concat = Concat::from_states(concat)?;
        if let Some(state) = concat.states().find(|&s| s >= NUM_INPUT_STATES + len) {
            return Err(CellError::ConcatOutOfRange { state });
        }
        Ok(Cell {
            nodes,
            // At most 4 (checked above).
            len: u8::try_from(len).unwrap_or(u8::MAX),
            concat,
        })
    }

    /// A cell from parts known to be valid (published constants; checked in
    /// tests).
    pub(crate) const fn from_parts(
        nodes: [[NodeInput; INPUTS_PER_NODE]; NUM_NODES],
        concat: Concat,
    ) -> Cell {
        Cell {
            nodes,
            len: NUM_NODES as u8,
            concat,
        }
    }

    /// Number of intermediate nodes (4 in DARTS' space).
    pub fn num_nodes(&self) -> usize {
        usize::from(self.len)
    }

    /// The two kept edges into node `node` (a state index, 2..=5 with four
    /// nodes), or `None` for any other state.
    pub fn node(&self, node: usize) -> Option<&[NodeInput; INPUTS_PER_NODE]> {
        node.checked_sub(NUM_INPUT_STATES)
            .and_then(|i| self.present().get(i))
    }

    /// The entries of the nodes the cell has.
    fn present(&self) -> &[[NodeInput; INPUTS_PER_NODE]] {
        &self.nodes[..self.num_nodes()]
    }

    /// `(node, its two kept edges)` for nodes 2..=5 (2..2 + nodes).
    pub fn nodes(&self) -> impl Iterator<Item = (usize, &[NodeInput; INPUTS_PER_NODE])> {
        self.present()
            .iter()
            .enumerate()
            .map(|(i, pair)| (i + NUM_INPUT_STATES, pair))
    }

    /// The flat edge list in DARTS order (2 entries per node).
    pub fn edges(&self) -> impl Iterator<Item = NodeInput> + '_ {
        self.present().iter().flatten().copied()
    }

    /// The concat list.
    pub fn concat(&self) -> Concat {
        self.concat
    }

    /// The op kept on search-space edge `edge`, or `None` if the edge is not kept.
    pub fn op_on(&self, edge: Edge) -> Option<Primitive> {
        self.node(edge.node)?
            .iter()
            .find(|e| e.input == edge.input)
            .map(|e| e.op)
    }

    /// How many kept edges use each primitive (indexed by `Primitive::index`).
    pub fn op_counts(&self) -> [usize; NUM_OPS] {
        let mut counts = [0; NUM_OPS];
        for edge in self.edges() {
            counts[edge.op.index()] += 1;
        }
        counts
    }

    /// The same cell with each node's two edges sorted by input, the form the
    /// clamp and derivation produce for equal weights.
    pub fn canonical(&self) -> Cell {
        let mut cell = *self;
        let len = cell.num_nodes();
        for pair in &mut cell.nodes[..len] {
            pair.sort_by_key(|e| e.input);
        }
        cell
    }
}

impl PartialEq for Cell {
    fn eq(&self, other: &Cell) -> bool {
        let (a, b) = (self.canonical(), other.canonical());
        a.len == b.len && a.nodes == b.nodes && a.concat == b.concat
    }
}

impl Eq for Cell {}

impl Hash for Cell {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let c = self.canonical();
        c.len.hash(state);
        c.nodes.hash(state);
        c.concat.hash(state);
    }
}

/// A DARTS genotype: the discrete normal and reduction cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawGenotype", into = "RawGenotype")]
pub struct Genotype {
    /// The cell that keeps resolution and channels.
    pub normal: Cell,
    /// The cell that halves resolution and doubles channels.
    pub reduce: Cell,
}

impl Genotype {
    /// The cell of kind `kind`.
    pub fn cell(&self, kind: CellKind) -> &Cell {
        match kind {
            CellKind::Normal => &self.normal,
            CellKind::Reduce => &self.reduce,
        }
    }

    /// Mutable access to the cell of kind `kind`.
    pub fn cell_mut(&mut self, kind: CellKind) -> &mut Cell {
        match kind {
            CellKind::Normal => &mut self.normal,
            CellKind::Reduce => &mut self.reduce,
        }
    }

    /// Builds a genotype from both cells' flat edge lists and concat lists,
    /// naming the cell at fault on error.
    pub fn from_lists(
        normal: &[NodeInput],
        normal_concat: &[usize],
        reduce: &[NodeInput],
        reduce_concat: &[usize],
    ) -> Result<Genotype, GenotypeError> {
        let cell = |kind, edges, concat| {
            Cell::new(edges, concat).map_err(|error| GenotypeError { kind, error })
        };
        Ok(Genotype {
            normal: cell(CellKind::Normal, normal, normal_concat)?,
            reduce: cell(CellKind::Reduce, reduce, reduce_concat)?,
        })
    }

    /// Both cells in canonical edge order (see [`Cell::canonical`]).
    pub fn canonical(&self) -> Genotype {
        Genotype {
            normal: self.normal.canonical(),
            reduce: self.reduce.canonical(),
        }
    }
}

/// The serde form of a cell: `{ "edges": [{"op": .., "input": ..}, ..], "concat": [..] }`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCell {
    pub(crate) edges: Vec<NodeInput>,
    pub(crate) concat: Vec<usize>,
}

impl From<Cell> for RawCell {
    fn from(cell: Cell) -> RawCell {
        RawCell {
            edges: cell.edges().collect(),
            concat: cell.concat.to_vec(),
        }
    }
}

/// The serde form of a genotype: `{ "normal": RawCell, "reduce": RawCell }`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGenotype {
    normal: RawCell,
    reduce: RawCell,
}

impl From<Genotype> for RawGenotype {
    fn from(g: Genotype) -> RawGenotype {
        RawGenotype {
            normal: g.normal.into(),
            reduce: g.reduce.into(),
        }
    }
}

impl TryFrom<RawGenotype> for Genotype {
    type Error = GenotypeError;
    fn try_from(raw: RawGenotype) -> Result<Genotype, GenotypeError> {
        Genotype::from_lists(
            &raw.normal.edges,
            &raw.normal.concat,
            &raw.reduce.edges,
            &raw.reduce.concat,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Primitive::*;

    fn edges(list: &[(Primitive, usize)]) -> Vec<NodeInput> {
        list.iter().map(|&(op, i)| NodeInput::new(op, i)).collect()
    }

    const GOOD: [(Primitive, usize); 8] = [
        (SepConv3x3, 0),
        (SepConv3x3, 1),
        (SkipConnect, 0),
        (SepConv3x3, 2),
        (DilConv3x3, 3),
        (MaxPool3x3, 1),
        (AvgPool3x3, 4),
        (SepConv5x5, 0),
    ];

    #[test]
    fn valid_cell_and_accessors() {
        let cell = Cell::new(&edges(&GOOD), &[2, 3, 4, 5]).unwrap();
        assert_eq!(cell.node(4).unwrap()[0], NodeInput::new(DilConv3x3, 3));
        assert!(cell.node(1).is_none() && cell.node(6).is_none());
        assert_eq!(cell.op_on(Edge { node: 5, input: 4 }), Some(AvgPool3x3));
        assert_eq!(cell.op_on(Edge { node: 5, input: 1 }), Option::None);
        assert_eq!(cell.op_counts(), [0, 1, 1, 1, 3, 1, 1, 0]);
        assert_eq!(cell.concat(), Concat::ALL);
        assert_eq!(cell.edges().count(), 8);
    }

    #[test]
    fn each_rule_is_checked_with_its_place() {
        let mut e = edges(&GOOD);
        assert_eq!(
            Cell::new(&e[..7], &[2, 3, 4, 5]),
            Err(CellError::EdgeCount {
                expected: 8,
                found: 7
            })
        );
        e[3].input = 3;
        assert_eq!(
            Cell::new(&e, &[2, 3, 4, 5]),
            Err(CellError::InputOutOfRange {
                entry: 3,
                node: 3,
                input: 3
            })
        );
        e[3] = NodeInput::new(SkipConnect, 0);
        assert_eq!(
            Cell::new(&e, &[2, 3, 4, 5]),
            Err(CellError::DuplicateInput {
                entry: 3,
                node: 3,
                input: 0
            })
        );
        let mut e = edges(&GOOD);
        e[6].op = Primitive::None;
        assert_eq!(
            Cell::new(&e, &[2, 3, 4, 5]),
            Err(CellError::NoneOp { entry: 6, node: 5 })
        );
        let e = edges(&GOOD);
        assert_eq!(Cell::new(&e, &[]), Err(CellError::ConcatEmpty));
        assert_eq!(
            Cell::new(&e, &[1, 2]),
            Err(CellError::ConcatOutOfRange { state: 1 })
        );
        assert_eq!(
            Cell::new(&e, &[2, 6]),
            Err(CellError::ConcatOutOfRange { state: 6 })
        );
        assert_eq!(
            Cell::new(&e, &[2, 4, 4]),
            Err(CellError::ConcatOrder {
                previous: 4,
                state: 4
            })
        );
        assert_eq!(Cell::new(&e, &[3, 5]).unwrap().concat().to_vec(), [3, 5]);
    }

    #[test]
    fn equality_ignores_order_within_a_node() {
        let a = Cell::new(&edges(&GOOD), &[2, 3, 4, 5]).unwrap();
        let mut swapped = GOOD;
        swapped.swap(0, 1);
        let b = Cell::new(&edges(&swapped), &[2, 3, 4, 5]).unwrap();
        assert_eq!(a, b);
        assert_ne!(format!("{a:?}"), format!("{b:?}"));
        let mut other = GOOD;
        other[0].0 = SepConv5x5;
        assert_ne!(a, Cell::new(&edges(&other), &[2, 3, 4, 5]).unwrap());
        assert_ne!(a, Cell::new(&edges(&GOOD), &[2, 3, 4]).unwrap());
    }

    #[test]
    fn a_cell_of_fewer_nodes_keeps_two_edges_per_node() {
        let three = Cell::new(&edges(&GOOD[..6]), &[2, 3, 4]).unwrap();
        assert_eq!(three.num_nodes(), 3);
        assert_eq!(three.edges().count(), 6);
        assert_eq!(three.nodes().map(|(n, _)| n).collect::<Vec<_>>(), [2, 3, 4]);
        assert!(three.node(5).is_none());
        assert_eq!(three.op_on(Edge { node: 5, input: 4 }), Option::None);
        assert_eq!(three.op_counts().iter().sum::<usize>(), 6);
        // Its concat list stays within its nodes.
        assert_eq!(
            Cell::new(&edges(&GOOD[..6]), &[2, 5]),
            Err(CellError::ConcatOutOfRange { state: 5 })
        );
        let one = Cell::new(&edges(&GOOD[..2]), &[2]).unwrap();
        assert_eq!(one.num_nodes(), 1);
        assert_ne!(one, three);
        assert_eq!(
            Cell::new(&[], &[2]),
            Err(CellError::EdgeCount {
                expected: 8,
                found: 0
            })
        );
        // The four-node cell is unchanged by its first six entries.
        let four = Cell::new(&edges(&GOOD), &[2, 3, 4]).unwrap();
        assert_eq!(four.num_nodes(), 4);
        assert_ne!(four, three);
        let genotype =
            Genotype::from_lists(&edges(&GOOD[..6]), &[2, 3, 4], &edges(&GOOD[..6]), &[4]).unwrap();
        let json = serde_json::to_string(&genotype).unwrap();
        assert_eq!(serde_json::from_str::<Genotype>(&json).unwrap(), genotype);
    }

    #[test]
    fn genotype_errors_name_the_cell() {
        let good = edges(&GOOD);
        let mut bad = good.clone();
        bad[7].input = 9;
        let err = Genotype::from_lists(&good, &[2, 3, 4, 5], &bad, &[2, 3, 4, 5]).unwrap_err();
        assert_eq!(err.kind, CellKind::Reduce);
        assert_eq!(
            err.to_string(),
            "reduce cell: entry 7 (node 5): input 9 out of range, node 5 takes inputs 0..=4"
        );
    }
}
