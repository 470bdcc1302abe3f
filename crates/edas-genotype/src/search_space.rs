//! A search space as a value: which named cell space ([`SpaceName`]), and
//! which of its ops an edge may take ([`OpSet`]).
//!
//! A named space fixes the cell's graph (nodes, candidate edges), its op list
//! (the columns of the architecture variables) and how a cell is derived
//! from edge weights ([`Derivation`]). A [`SearchSpace`] is a named space
//! with its op set, possibly restricted: DARTS without `max_pool_3x3` and
//! `skip_connect` keeps the DARTS graph, its 8 columns and its derivation
//! rule, and no excluded op ever runs, gets weight or is derived.
//!
//! In a config (`[space]`) and in JSON, a search space is
//!
//! ```toml
//! [space]
//! name = "darts"            # or "nas-bench-201"
//! ops = ["none", "avg_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
//! ```
//!
//! with `ops` optional (absent: every op of the space), in any order, each
//! op at most once, and `nodes = 3` (1 to 4) optional for DARTS: a cell of
//! fewer intermediate nodes, with the edges into those nodes only (node
//! `k + 2` has `k + 2` candidate edges, so 2, 5, 9 or 14 edges) and all of
//! them concatenated. NAS-Bench-201's cell has a fixed graph (the benchmark
//! numbers its cells), so its node count cannot change.

use std::fmt;

use serde::{Deserialize, Serialize};

use thiserror::Error;

use crate::nb201::{NB201_NUM_EDGES, Nb201Op};
pub use crate::op_set::OpSet;
use crate::primitive::{NUM_OPS, Primitive};
use crate::space::{INPUTS_PER_NODE, NUM_EDGES, NUM_INPUT_STATES, NUM_NODES, first_edge_of};

/// How a cell is derived from its edge weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Derivation {
    /// Each node keeps its `inputs_per_node` strongest incoming edges (by
    /// their largest weight other than `none`), each with its arg-max op
    /// other than `none` (DARTS).
    TopInputs {
        /// Edges kept per node (DARTS: 2).
        inputs_per_node: usize,
    },
    /// Every edge is kept, with its arg-max op, `none` included
    /// (NAS-Bench-201).
    EveryEdge,
}

/// A named cell space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SpaceName {
    /// DARTS' cell: 2 inputs, 4 nodes, 14 edges, 8 ops, top-2 inputs per node.
    #[default]
    #[serde(rename = "darts")]
    Darts,
    /// NAS-Bench-201's cell: 1 input, 3 nodes, 6 edges, 5 ops, every edge kept.
    #[serde(rename = "nas-bench-201")]
    NasBench201,
}

impl SpaceName {
    /// Both spaces.
    pub const ALL: [SpaceName; 2] = [SpaceName::Darts, SpaceName::NasBench201];

    /// The name in configs (`"darts"`, `"nas-bench-201"`).
    pub const fn name(self) -> &'static str {
        match self {
            SpaceName::Darts => "darts",
            SpaceName::NasBench201 => "nas-bench-201",
        }
    }

    /// The space's ops by name, in column order.
    pub fn op_names(self) -> Vec<&'static str> {
        match self {
            SpaceName::Darts => Primitive::ALL.map(Primitive::name).to_vec(),
            SpaceName::NasBench201 => Nb201Op::ALL.map(Nb201Op::name).to_vec(),
        }
    }

    /// Number of ops (columns of the architecture variables).
    pub fn num_ops(self) -> usize {
        match self {
            SpaceName::Darts => NUM_OPS,
            SpaceName::NasBench201 => Nb201Op::ALL.len(),
        }
    }

    /// Number of intermediate nodes of a cell.
    pub const fn nodes(self) -> usize {
        match self {
            SpaceName::Darts => NUM_NODES,
            SpaceName::NasBench201 => 3,
        }
    }

    /// Number of candidate edges (rows of the architecture variables).
    pub const fn edges(self) -> usize {
        match self {
            SpaceName::Darts => NUM_EDGES,
            SpaceName::NasBench201 => NB201_NUM_EDGES,
        }
    }

    /// How a cell of this space is derived.
    pub const fn derivation(self) -> Derivation {
        match self {
            SpaceName::Darts => Derivation::TopInputs {
                inputs_per_node: INPUTS_PER_NODE,
            },
            SpaceName::NasBench201 => Derivation::EveryEdge,
        }
    }

    /// The column of op `name`, if the space has it.
    pub fn column(self, name: &str) -> Option<usize> {
        self.op_names().iter().position(|n| *n == name)
    }
}

impl fmt::Display for SpaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A search space: a named cell space and the ops its edges may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawSpace", into = "RawSpace")]
pub struct SearchSpace {
    name: SpaceName,
    ops: OpSet,
    /// Intermediate nodes of a cell (the space's own count unless
    /// restricted).
    nodes: u8,
}

impl Default for SearchSpace {
    /// DARTS with all 8 ops.
    fn default() -> Self {
        SearchSpace::DARTS
    }
}

impl SearchSpace {
    /// DARTS' space, all 8 ops.
    pub const DARTS: SearchSpace = SearchSpace {
        name: SpaceName::Darts,
        ops: OpSet::DARTS,
        nodes: NUM_NODES as u8,
    };

    /// Every op of space `name`.
    pub fn full(name: SpaceName) -> SearchSpace {
        SearchSpace {
            name,
            ops: OpSet::first(name.num_ops()),
            nodes: name.nodes() as u8,
        }
    }

    /// The same space with cells of `nodes` intermediate nodes: 1 to 4 for
    /// DARTS; NAS-Bench-201 keeps its 3.
    pub fn with_nodes(self, nodes: usize) -> Result<SearchSpace, SpaceError> {
        let allowed = match self.name {
            SpaceName::Darts => 1..=NUM_NODES,
            SpaceName::NasBench201 => 3..=3,
        };
        if !allowed.contains(&nodes) {
            return Err(SpaceError::Nodes {
                space: self.name,
                nodes,
                allowed: format!("{}..={}", allowed.start(), allowed.end()),
            });
        }
        Ok(SearchSpace {
            nodes: nodes as u8,
            ..self
        })
    }

    /// Intermediate nodes of a cell.
    pub const fn nodes(&self) -> usize {
        self.nodes as usize
    }

    /// Whether the cell has the named space's own number of nodes.
    pub fn has_all_nodes(&self) -> bool {
        self.nodes() == self.name.nodes()
    }

    /// Candidate edges of a cell (rows of the architecture variables): the
    /// named space's, or for a DARTS cell of fewer nodes the edges into
    /// those nodes (the first rows of DARTS' order).
    pub fn edges(&self) -> usize {
        match self.name {
            SpaceName::Darts => first_edge_of(NUM_INPUT_STATES + self.nodes()),
            SpaceName::NasBench201 => self.name.edges(),
        }
    }

    /// Space `name` with only the ops named in `ops` (each once).
    ///
    /// Refused: a name the space does not have, a name given twice, and a
    /// set with no op other than `none` (no cell could be derived).
    pub fn with_ops<S: AsRef<str>>(name: SpaceName, ops: &[S]) -> Result<SearchSpace, SpaceError> {
        let mut set = OpSet::EMPTY;
        for op in ops {
            let op = op.as_ref();
            let k = name.column(op).ok_or_else(|| SpaceError::UnknownOp {
                space: name,
                op: op.to_owned(),
                known: name.op_names().join(", "),
            })?;
            if set.contains(k) {
                return Err(SpaceError::Repeated { op: op.to_owned() });
            }
            set = set.with(k);
        }
        if set.without(0).is_empty() {
            return Err(SpaceError::NoOp { space: name });
        }
        Ok(SearchSpace {
            ops: set,
            ..SearchSpace::full(name)
        })
    }

    /// The named space.
    pub const fn name(&self) -> SpaceName {
        self.name
    }

    /// The ops an edge may take (columns of the space's op list).
    pub const fn ops(&self) -> OpSet {
        self.ops
    }

    /// Whether every op of the space is allowed.
    pub fn is_full(&self) -> bool {
        self.ops == OpSet::first(self.name.num_ops())
    }

    /// The allowed ops by name, in column order.
    pub fn op_names(&self) -> Vec<&'static str> {
        let names = self.name.op_names();
        self.ops
            .columns()
            .filter_map(|k| names.get(k).copied())
            .collect()
    }

    /// The excluded ops by name, in column order.
    pub fn excluded_op_names(&self) -> Vec<&'static str> {
        let names = self.name.op_names();
        (0..names.len())
            .filter(|&k| !self.ops.contains(k))
            .filter_map(|k| names.get(k).copied())
            .collect()
    }
}

impl fmt::Display for SearchSpace {
    /// `darts`, `darts without max_pool_3x3, skip_connect`, `darts with 3
    /// nodes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.is_full() {
            write!(f, " without {}", self.excluded_op_names().join(", "))?;
        }
        if !self.has_all_nodes() {
            write!(
                f,
                " with {} node{}",
                self.nodes,
                if self.nodes == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// The serde form: `{ name = "darts", ops = [..] }`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    #[serde(default)]
    name: SpaceName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ops: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nodes: Option<usize>,
}

impl TryFrom<RawSpace> for SearchSpace {
    type Error = SpaceError;
    fn try_from(raw: RawSpace) -> Result<Self, Self::Error> {
        let space = match raw.ops {
            None => SearchSpace::full(raw.name),
            Some(ops) => SearchSpace::with_ops(raw.name, &ops)?,
        };
        match raw.nodes {
            None => Ok(space),
            Some(nodes) => space.with_nodes(nodes),
        }
    }
}

impl From<SearchSpace> for RawSpace {
    fn from(space: SearchSpace) -> Self {
        RawSpace {
            name: space.name,
            ops: (!space.is_full())
                .then(|| space.op_names().into_iter().map(str::to_owned).collect()),
            nodes: (!space.has_all_nodes()).then_some(space.nodes()),
        }
    }
}

/// Why a search space (`[space]`, [`crate::search_space`]) cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SpaceError {
    /// An op name the space does not have.
    #[error("the {space} space has no op `{op}` (its ops: {known})")]
    UnknownOp {
        /// The space.
        space: SpaceName,
        /// The name as written.
        op: String,
        /// The space's ops, comma-separated.
        known: String,
    },
    /// An op listed twice.
    #[error("op `{op}` is listed twice")]
    Repeated {
        /// The op.
        op: String,
    },
    /// A node count the space does not allow.
    #[error("the {space} space's cells take {allowed} intermediate nodes, not {nodes}")]
    Nodes {
        /// The space.
        space: SpaceName,
        /// The count asked for.
        nodes: usize,
        /// The counts allowed, `1..=4`.
        allowed: String,
    },
    /// Only `none` (or nothing) left.
    #[error("the {space} space needs at least one op other than `none` (no cell could be derived)")]
    NoOp {
        /// The space.
        space: SpaceName,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_darts_space_is_the_default_and_holds_every_op() {
        let s = SearchSpace::default();
        assert_eq!(s, SearchSpace::DARTS);
        assert!(s.is_full());
        assert_eq!(s.ops().len(), 8);
        assert_eq!(s.ops().darts_ops(), Primitive::ALL[1..].to_vec());
        assert_eq!(s.to_string(), "darts");
        assert_eq!(
            SpaceName::Darts.derivation(),
            Derivation::TopInputs { inputs_per_node: 2 }
        );
        assert_eq!(
            (SpaceName::Darts.nodes(), SpaceName::Darts.edges()),
            (4, 14)
        );
        assert_eq!(
            (
                SpaceName::NasBench201.nodes(),
                SpaceName::NasBench201.edges(),
                SpaceName::NasBench201.num_ops()
            ),
            (3, 6, 5)
        );
        assert_eq!(SpaceName::NasBench201.derivation(), Derivation::EveryEdge);
    }

    #[test]
    fn a_restricted_op_set_reads_writes_and_names_what_it_drops() {
        let s: SearchSpace = toml::from_str(
            r#"name = "darts"
ops = ["sep_conv_3x3", "none", "avg_pool_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]"#,
        )
        .unwrap();
        assert!(!s.is_full());
        assert_eq!(s.ops().len(), 6);
        assert!(!s.ops().has(Primitive::MaxPool3x3) && !s.ops().has(Primitive::SkipConnect));
        assert_eq!(s.to_string(), "darts without max_pool_3x3, skip_connect");
        assert_eq!(
            s.ops().darts_ops(),
            [
                Primitive::AvgPool3x3,
                Primitive::SepConv3x3,
                Primitive::SepConv5x5,
                Primitive::DilConv3x3,
                Primitive::DilConv5x5
            ]
        );
        // Written in column order, read back equal.
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"name":"darts","ops":["none","avg_pool_3x3","sep_conv_3x3","sep_conv_5x5","dil_conv_3x3","dil_conv_5x5"]}"#
        );
        assert_eq!(serde_json::from_str::<SearchSpace>(&json).unwrap(), s);
        // The full space is written without an op list.
        assert_eq!(
            serde_json::to_string(&SearchSpace::DARTS).unwrap(),
            r#"{"name":"darts"}"#
        );
        let nb: SearchSpace = toml::from_str(r#"name = "nas-bench-201""#).unwrap();
        assert_eq!(nb, SearchSpace::full(SpaceName::NasBench201));
        assert_eq!(nb.op_names().len(), 5);
    }

    #[test]
    fn bad_op_lists_are_refused_by_name() {
        let e = SearchSpace::with_ops(SpaceName::Darts, &["nor_conv_3x3"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the darts space has no op `nor_conv_3x3` (its ops: none, max_pool_3x3, avg_pool_3x3, \
             skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)"
        );
        let e =
            SearchSpace::with_ops(SpaceName::Darts, &["sep_conv_3x3", "sep_conv_3x3"]).unwrap_err();
        assert_eq!(e.to_string(), "op `sep_conv_3x3` is listed twice");
        let e = SearchSpace::with_ops(SpaceName::NasBench201, &["none"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the nas-bench-201 space needs at least one op other than `none` (no cell could be derived)"
        );
        assert!(toml::from_str::<SearchSpace>(r#"name = "nasbench""#).is_err());
        assert!(toml::from_str::<SearchSpace>("name = \"darts\"\nnode = 3").is_err());
    }

    #[test]
    fn a_darts_space_of_fewer_nodes_has_the_edges_into_them() {
        let s: SearchSpace = toml::from_str("name = \"darts\"\nnodes = 3").unwrap();
        assert_eq!((s.nodes(), s.edges()), (3, 9));
        assert!(s.is_full() && !s.has_all_nodes());
        assert_eq!(s.to_string(), "darts with 3 nodes");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"name":"darts","nodes":3}"#
        );
        assert_eq!(
            [1, 2, 4].map(|n| SearchSpace::DARTS.with_nodes(n).unwrap().edges()),
            [2, 5, 14]
        );
        assert_eq!(
            SearchSpace::DARTS.with_nodes(4).unwrap(),
            SearchSpace::DARTS
        );
        let s = SearchSpace::with_ops(SpaceName::Darts, &["sep_conv_3x3"])
            .unwrap()
            .with_nodes(1)
            .unwrap();
        assert_eq!(
            s.to_string(),
            "darts without none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5 with 1 node"
        );
        let back: SearchSpace = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            SearchSpace::DARTS.with_nodes(5).unwrap_err().to_string(),
            "the darts space's cells take 1..=4 intermediate nodes, not 5"
        );
        assert_eq!(
            toml::from_str::<SearchSpace>("name = \"nas-bench-201\"\nnodes = 2")
                .unwrap_err()
                .message(),
            "the nas-bench-201 space's cells take 3..=3 intermediate nodes, not 2"
        );
        let nb = SearchSpace::full(SpaceName::NasBench201);
        assert_eq!((nb.nodes(), nb.edges()), (3, 6));
    }
}
