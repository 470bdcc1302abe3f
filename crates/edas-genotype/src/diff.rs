//! Differences between two genotypes, edge by edge.

use std::fmt;

use serde::Serialize;

use crate::genotype::{Concat, Genotype};
use crate::primitive::{CellKind, Primitive};
use crate::space::{Edge, NUM_INPUT_STATES, NUM_STATES};

/// One difference between two genotypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A search-space edge whose op differs, or that is kept in only one of the
    /// two genotypes (`None` on the side where it is not kept).
    Edge {
        /// Which cell.
        cell: CellKind,
        /// Receiving node (2..=5).
        node: usize,
        /// Sending state.
        input: usize,
        /// Op in the first genotype.
        from: Option<Primitive>,
        /// Op in the second genotype.
        to: Option<Primitive>,
    },
    /// The concat lists differ.
    Concat {
        /// Which cell.
        cell: CellKind,
        /// Nodes concatenated in the first genotype.
        #[serde(serialize_with = "ser_concat")]
        from: Concat,
        /// Nodes concatenated in the second genotype.
        #[serde(serialize_with = "ser_concat")]
        to: Concat,
    },
}

fn ser_concat<S: serde::Serializer>(c: &Concat, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(c.states())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Change::Edge {
                cell,
                node,
                input,
                from,
                to,
            } => {
                write!(f, "{cell} node {node}, input {input}: ")?;
                match (from, to) {
                    (Some(a), Some(b)) => write!(f, "{a} -> {b}"),
                    (Some(a), None) => write!(f, "{a} removed"),
                    (None, Some(b)) => write!(f, "{b} added"),
                    (None, None) => f.write_str("unchanged"),
                }
            }
            Change::Concat { cell, from, to } => write!(f, "{cell} concat: {from} -> {to}"),
        }
    }
}

/// All differences between two genotypes, normal cell first, then by node and
/// input. Empty when the genotypes describe the same network (the order of a
/// node's two edges is ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GenotypeDiff {
    /// The differences.
    pub changes: Vec<Change>,
}

impl GenotypeDiff {
    /// Whether the genotypes are the same network.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Number of search-space edges whose kept op differs (the Hamming
    /// distance of the two clamps, counted in edges).
    pub fn edges_changed(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| matches!(c, Change::Edge { .. }))
            .count()
    }

    /// Number of nodes (over both cells) with at least one changed edge.
    pub fn nodes_changed(&self) -> usize {
        let mut nodes: Vec<(CellKind, usize)> = self
            .changes
            .iter()
            .filter_map(|c| match *c {
                Change::Edge { cell, node, .. } => Some((cell, node)),
                Change::Concat { .. } => None,
            })
            .collect();
        nodes.dedup();
        nodes.len()
    }
}

impl fmt::Display for GenotypeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return f.write_str("identical");
        }
        for (i, change) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{change}")?;
        }
        Ok(())
    }
}

/// What changes from `a` to `b`.
pub fn diff(a: &Genotype, b: &Genotype) -> GenotypeDiff {
    let mut changes = Vec::new();
    for cell in CellKind::ALL {
        let (ca, cb) = (a.cell(cell), b.cell(cell));
        for node in NUM_INPUT_STATES..NUM_STATES {
            for input in 0..node {
                let edge = Edge { node, input };
                let (from, to) = (ca.op_on(edge), cb.op_on(edge));
                if from != to {
                    changes.push(Change::Edge {
                        cell,
                        node,
                        input,
                        from,
                        to,
                    });
                }
            }
        }
        if ca.concat() != cb.concat() {
            changes.push(Change::Concat {
                cell,
                from: ca.concat(),
                to: cb.concat(),
            });
        }
    }
    GenotypeDiff { changes }
}

impl Genotype {
    /// What changes from `self` to `other` (see [`diff`]).
    pub fn diff(&self, other: &Genotype) -> GenotypeDiff {
        diff(self, other)
    }
}

#[cfg(test)]
mod tests {
    use crate::published::{DARTS_V1, DARTS_V2};

    #[test]
    fn v1_to_v2() {
        assert!(DARTS_V2.diff(&DARTS_V2).is_empty());
        assert_eq!(DARTS_V2.diff(&DARTS_V2).to_string(), "identical");
        let d = DARTS_V1.diff(&DARTS_V2);
        let text = d.to_string();
        // Normal node 2 is the same pair in another order: no change listed.
        assert!(!text.contains("normal node 2"), "{text}");
        // Normal node 3: V1 (skip 0, sep 1), V2 (sep 0, sep 1).
        assert!(
            text.contains("normal node 3, input 0: skip_connect -> sep_conv_3x3"),
            "{text}"
        );
        // Normal node 4: V1 (skip 0, sep 1), V2 (sep 1, skip 0): same.
        // Normal node 5: V1 (sep 0, skip 2), V2 (skip 0, dil 2).
        assert!(text.contains("normal node 5, input 0: sep_conv_3x3 -> skip_connect"));
        assert!(text.contains("normal node 5, input 2: skip_connect -> dil_conv_3x3"));
        // Reduce node 3: V1 (skip 2, max 0), V2 (skip 2, max 1).
        assert!(text.contains("reduce node 3, input 0: max_pool_3x3 removed"));
        assert!(text.contains("reduce node 3, input 1: max_pool_3x3 added"));
        // Reduce node 5: V1 (skip 2, avg 0), V2 (skip 2, max 1).
        assert!(text.contains("reduce node 5, input 0: avg_pool_3x3 removed"));
        assert_eq!(d.edges_changed(), 7, "{text}");
        assert_eq!(d.nodes_changed(), 4);
    }
}
