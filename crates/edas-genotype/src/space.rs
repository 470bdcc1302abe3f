//! The DARTS cell search space and its edge indexing.
//!
//! A cell has 6 *states*: states 0 and 1 are the cell's inputs (the outputs of
//! the two previous cells, `c_{k-2}` and `c_{k-1}`) and states 2..=5 are the 4
//! intermediate nodes. Intermediate node `j` (a state index, 2..=5) has one
//! candidate edge from every earlier state `0..j`, so node 2 has 2 edges, node 3
//! has 3, node 4 has 4 and node 5 has 5: 14 edges in all.
//!
//! Edges are numbered node by node, and by input within a node, which is the
//! row order of DARTS' `alpha` tensors:
//!
//! | node | inputs | edge indices |
//! |------|--------|--------------|
//! | 2    | 0, 1   | 0, 1         |
//! | 3    | 0..=2  | 2, 3, 4      |
//! | 4    | 0..=3  | 5..=8        |
//! | 5    | 0..=4  | 9..=13       |

use std::fmt;

/// Number of input states of a cell (`c_{k-2}`, `c_{k-1}`).
pub const NUM_INPUT_STATES: usize = 2;
/// Number of intermediate nodes in a cell.
pub const NUM_NODES: usize = 4;
/// Number of states in a cell: inputs plus intermediate nodes.
pub const NUM_STATES: usize = NUM_INPUT_STATES + NUM_NODES;
/// Number of kept incoming edges per intermediate node in a genotype.
pub const INPUTS_PER_NODE: usize = 2;
/// Number of candidate edges in a cell (rows of `alpha`).
pub const NUM_EDGES: usize = 14;

/// One candidate edge of the cell: from state `input` into node `node`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edge {
    /// The receiving intermediate node, as a state index (2..=5).
    pub node: usize,
    /// The sending state (0..node).
    pub input: usize,
}

impl Edge {
    /// All 14 edges in index order.
    pub fn all() -> impl Iterator<Item = Edge> {
        (NUM_INPUT_STATES..NUM_STATES)
            .flat_map(|node| (0..node).map(move |input| Edge { node, input }))
    }

    /// The edge at row `index` of `alpha`, if `index < 14`.
    pub fn from_index(index: usize) -> Option<Edge> {
        Edge::all().nth(index)
    }

    /// The edge from `input` into `node`, if that edge exists in the space.
    pub fn new(node: usize, input: usize) -> Option<Edge> {
        (is_node(node) && input < node).then_some(Edge { node, input })
    }

    /// The row of this edge in `alpha`.
    pub fn index(self) -> usize {
        first_edge_of(self.node) + self.input
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.input, self.node)
    }
}

/// Whether `state` is an intermediate node (2..=5).
pub fn is_node(state: usize) -> bool {
    (NUM_INPUT_STATES..NUM_STATES).contains(&state)
}

/// Index of the first edge into intermediate node `node` (2..=5).
///
/// Nodes before `node` own `2 + 3 + ... + (node - 1)` edges.
pub fn first_edge_of(node: usize) -> usize {
    (NUM_INPUT_STATES..node).sum()
}

/// The edge indices into intermediate node `node` (2..=5).
pub fn edges_of(node: usize) -> std::ops::Range<usize> {
    let first = first_edge_of(node);
    first..first + node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourteen_edges_in_darts_row_order() {
        let edges: Vec<Edge> = Edge::all().collect();
        assert_eq!(edges.len(), NUM_EDGES);
        for (i, e) in edges.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Edge::from_index(i), Some(*e));
        }
        assert_eq!(edges[0], Edge { node: 2, input: 0 });
        assert_eq!(edges[4], Edge { node: 3, input: 2 });
        assert_eq!(edges[5], Edge { node: 4, input: 0 });
        assert_eq!(edges[13], Edge { node: 5, input: 4 });
        assert_eq!(Edge::from_index(14), None);
    }

    #[test]
    fn node_edge_ranges() {
        assert_eq!(edges_of(2), 0..2);
        assert_eq!(edges_of(3), 2..5);
        assert_eq!(edges_of(4), 5..9);
        assert_eq!(edges_of(5), 9..14);
        assert_eq!(Edge::new(3, 3), None);
        assert_eq!(Edge::new(6, 0), None);
        assert_eq!(Edge::new(1, 0), None);
    }
}
