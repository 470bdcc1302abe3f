//! The NAS-Bench-201 cell (Dong & Yang, "NAS-Bench-201: Extending the Scope
//! of Reproducible Neural Architecture Search", ICLR 2020) and its
//! architecture string.
//!
//! The cell is a densely connected DAG of 4 states: state 0 is the cell's
//! input, states 1, 2, 3 are nodes, and state 3 is the output. Every pair
//! `j < i` has one edge `j -> i` (6 edges), every edge is kept and carries
//! one of 5 ops, so the space holds 5^6 = 15,625 cells. A node sums its
//! incoming edges.
//!
//! The benchmark writes a cell as its architecture string: one `|...|` group
//! per node 1, 2, 3, the groups joined by `+`, each entry `op~j` for the edge
//! from state `j`, inputs in increasing order:
//!
//! ```text
//! |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
//! ```
//!
//! Edges are numbered in that order (row order of the architecture
//! variables): `0->1`, `0->2`, `1->2`, `0->3`, `1->3`, `2->3`. A cell's
//! index in the benchmark (0..15,625) is the benchmark's own numbering, kept
//! in its files, not a function of the string.

use std::fmt;
use std::str::FromStr;

use edas_rng::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ArchStringError, DeriveError};
use crate::op_set::OpSet;

/// One op of the NAS-Bench-201 space, in the benchmark's order
/// (`none`, `skip_connect`, `nor_conv_1x1`, `nor_conv_3x3`, `avg_pool_3x3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Nb201Op {
    /// `none`: the zero op.
    None = 0,
    /// `skip_connect`: identity.
    SkipConnect = 1,
    /// `nor_conv_1x1`: ReLU, 1x1 convolution, BatchNorm.
    NorConv1x1 = 2,
    /// `nor_conv_3x3`: ReLU, 3x3 convolution (padding 1), BatchNorm.
    NorConv3x3 = 3,
    /// `avg_pool_3x3`: 3x3 average pooling, stride 1, padding 1, padding not
    /// counted.
    AvgPool3x3 = 4,
}

/// Number of NAS-Bench-201 ops (columns of its architecture variables).
pub const NB201_NUM_OPS: usize = 5;
/// Number of edges of a NAS-Bench-201 cell (rows).
pub const NB201_NUM_EDGES: usize = 6;
/// Number of cells in the space (`5^6`).
pub const NB201_NUM_CELLS: usize = 15_625;

/// The edges `(input, node)` in row order.
pub const NB201_EDGES: [(usize, usize); NB201_NUM_EDGES] =
    [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

impl Nb201Op {
    /// Every op in the benchmark's order (index = column).
    pub const ALL: [Nb201Op; NB201_NUM_OPS] = [
        Nb201Op::None,
        Nb201Op::SkipConnect,
        Nb201Op::NorConv1x1,
        Nb201Op::NorConv3x3,
        Nb201Op::AvgPool3x3,
    ];

    /// The benchmark's name (`"nor_conv_3x3"`).
    pub const fn name(self) -> &'static str {
        match self {
            Nb201Op::None => "none",
            Nb201Op::SkipConnect => "skip_connect",
            Nb201Op::NorConv1x1 => "nor_conv_1x1",
            Nb201Op::NorConv3x3 => "nor_conv_3x3",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// The op's column.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The op named `name` (exact).
    pub fn from_name(name: &str) -> Option<Nb201Op> {
        Nb201Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the op has weights (the two convolutions).
    pub const fn is_parametric(self) -> bool {
        matches!(self, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3)
    }
}

impl fmt::Display for Nb201Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A NAS-Bench-201 cell: the op of each of its 6 edges, in row order
/// ([`NB201_EDGES`]). Every value is a valid cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nb201Cell(pub [Nb201Op; NB201_NUM_EDGES]);

impl Nb201Cell {
    /// The op on the edge from state `input` into node `node`, if the cell
    /// has that edge.
    pub fn op(&self, input: usize, node: usize) -> Option<Nb201Op> {
        let row = NB201_EDGES.iter().position(|&e| e == (input, node))?;
        Some(self.0[row])
    }

    /// The cell whose edge `r` takes op column `columns[r]`; `None` if a
    /// column is out of range.
    pub fn from_columns(columns: [usize; NB201_NUM_EDGES]) -> Option<Nb201Cell> {
        let mut ops = [Nb201Op::None; NB201_NUM_EDGES];
        for (op, c) in ops.iter_mut().zip(columns) {
            *op = *Nb201Op::ALL.get(c)?;
        }
        Some(Nb201Cell(ops))
    }

    /// Every cell of the space, the first edge's op varying slowest.
    pub fn all() -> impl Iterator<Item = Nb201Cell> {
        (0..NB201_NUM_CELLS).map(|mut n| {
            let mut columns = [0; NB201_NUM_EDGES];
            for c in columns.iter_mut().rev() {
                *c = n % NB201_NUM_OPS;
                n /= NB201_NUM_OPS;
            }
            // Every column is below NB201_NUM_OPS by construction.
            let mut ops = [Nb201Op::None; NB201_NUM_EDGES];
            for (op, c) in ops.iter_mut().zip(columns) {
                *op = Nb201Op::ALL[c];
            }
            Nb201Cell(ops)
        })
    }

    /// A uniformly drawn cell (each edge's op uniform over the 5).
    pub fn random(rng: &mut Rng) -> Nb201Cell {
        let mut ops = [Nb201Op::None; NB201_NUM_EDGES];
        for op in &mut ops {
            *op = Nb201Op::ALL[rng.index(NB201_NUM_OPS)];
        }
        Nb201Cell(ops)
    }

    /// A cell drawn uniformly over the op set `ops` (each edge's op
    /// uniform over the allowed columns; every op when `ops` allows none
    /// of the 5).
    pub fn random_in(ops: OpSet, rng: &mut Rng) -> Nb201Cell {
        let allowed: Vec<Nb201Op> = Nb201Op::ALL
            .into_iter()
            .filter(|op| ops.contains(op.index()))
            .collect();
        if allowed.is_empty() {
            return Nb201Cell::random(rng);
        }
        let mut cell = [Nb201Op::None; NB201_NUM_EDGES];
        for op in &mut cell {
            *op = allowed[rng.index(allowed.len())];
        }
        Nb201Cell(cell)
    }

    /// The cell derived from edge weights (6 rows of 5, row-major): every
    /// edge kept with its arg-max op among `ops`, `none` included (as
    /// NAS-Bench-201's searches derive); ties go to the lower column.
    pub fn derive(weights: &[f32], ops: OpSet) -> Result<Nb201Cell, DeriveError> {
        if weights.len() != NB201_NUM_EDGES * NB201_NUM_OPS {
            return Err(DeriveError::Nb201(format!(
                "expected {} values (6 edges x 5 ops), found {}",
                NB201_NUM_EDGES * NB201_NUM_OPS,
                weights.len()
            )));
        }
        let mut cell = [Nb201Op::None; NB201_NUM_EDGES];
        for (e, row) in weights.chunks_exact(NB201_NUM_OPS).enumerate() {
            let mut best: Option<(usize, f32)> = None;
            for (k, &w) in row.iter().enumerate() {
                if !w.is_finite() {
                    return Err(DeriveError::Nb201(format!(
                        "edge {e}, op {}: weight {w} is not finite",
                        Nb201Op::ALL[k]
                    )));
                }
                if ops.contains(k) && best.is_none_or(|(_, b)| w > b) {
                    best = Some((k, w));
                }
            }
            let (k, _) = best.ok_or_else(|| {
                DeriveError::Nb201("the op set allows none of the 5 ops".to_owned())
            })?;
            cell[e] = Nb201Op::ALL[k];
        }
        Ok(Nb201Cell(cell))
    }

    /// How many edges carry each op (in [`Nb201Op::ALL`] order).
    pub fn op_counts(&self) -> [usize; NB201_NUM_OPS] {
        let mut counts = [0; NB201_NUM_OPS];
        for op in self.0 {
            counts[op.index()] += 1;
        }
        counts
    }

    /// Whether the output (state 3) is reachable from the input through
    /// edges that are not `none`: a cell where it is not outputs zeros.
    pub fn is_connected(&self) -> bool {
        let mut reach = [true, false, false, false];
        for (row, &(input, node)) in NB201_EDGES.iter().enumerate() {
            if reach[input] && self.0[row] != Nb201Op::None {
                reach[node] = true;
            }
        }
        reach[3]
    }

    /// The architecture string.
    pub fn arch_str(&self) -> String {
        self.to_string()
    }

    /// Reads an architecture string; errors name the byte offset.
    pub fn parse(text: &str) -> Result<Nb201Cell, ArchStringError> {
        let err = |offset: usize, message: String| ArchStringError {
            text: text.to_owned(),
            offset,
            message,
        };
        let groups: Vec<&str> = text.split('+').collect();
        if groups.len() != 3 {
            return Err(err(
                0,
                format!(
                    "expected 3 node groups joined by `+` (nodes 1, 2, 3), found {}",
                    groups.len()
                ),
            ));
        }
        let mut ops = [Nb201Op::None; NB201_NUM_EDGES];
        let mut offset = 0;
        let mut row = 0;
        for (g, group) in groups.iter().enumerate() {
            let node = g + 1;
            let inner = group
                .strip_prefix('|')
                .and_then(|s| s.strip_suffix('|'))
                .ok_or_else(|| {
                    err(
                        offset,
                        format!("node {node}'s group `{group}` must start and end with `|`"),
                    )
                })?;
            let entries: Vec<&str> = inner.split('|').collect();
            if entries.len() != node {
                return Err(err(
                    offset,
                    format!(
                        "node {node} takes {node} input(s) (states 0..{node}), found {}",
                        entries.len()
                    ),
                ));
            }
            let mut at = offset + 1;
            for (input, entry) in entries.iter().enumerate() {
                let (name, from) = entry
                    .split_once('~')
                    .ok_or_else(|| err(at, format!("entry `{entry}` must be `op~input`")))?;
                let op = Nb201Op::from_name(name).ok_or_else(|| {
                    err(
                        at,
                        format!(
                            "unknown op `{name}` (expected {})",
                            Nb201Op::ALL.map(Nb201Op::name).join(", ")
                        ),
                    )
                })?;
                if from != input.to_string() {
                    return Err(err(
                        at + name.len() + 1,
                        format!(
                            "node {node}'s entry {} must come from state {input}, found `{from}`",
                            input + 1
                        ),
                    ));
                }
                ops[row] = op;
                row += 1;
                at += entry.len() + 1;
            }
            offset += group.len() + 1;
        }
        Ok(Nb201Cell(ops))
    }
}

impl fmt::Display for Nb201Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut row = 0;
        for node in 1..4 {
            if node > 1 {
                f.write_str("+")?;
            }
            f.write_str("|")?;
            for input in 0..node {
                write!(f, "{}~{input}|", self.0[row].name())?;
                row += 1;
            }
        }
        Ok(())
    }
}

impl FromStr for Nb201Cell {
    type Err = ArchStringError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nb201Cell::parse(s)
    }
}

impl Serialize for Nb201Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Nb201Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Nb201Cell::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The best CIFAR-10 cell of the space as the NAS-Bench-201 paper and
    /// AutoDL-Projects print it (94.37% test accuracy).
    const BEST: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    /// DARTS' collapsed cell on NAS-Bench-201 (AutoDL-Projects' NATS-Bench
    /// README, "DARTS (V1)" on CIFAR-10).
    const ALL_SKIP: &str = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";

    #[test]
    fn architecture_strings_round_trip() {
        for text in [BEST, ALL_SKIP] {
            let cell = Nb201Cell::parse(text).unwrap();
            assert_eq!(cell.arch_str(), text);
        }
        let best = Nb201Cell::parse(BEST).unwrap();
        assert_eq!(best.op(0, 3), Some(Nb201Op::SkipConnect));
        assert_eq!(best.op(2, 3), Some(Nb201Op::NorConv3x3));
        assert_eq!(best.op(3, 1), None);
        assert_eq!(best.op_counts(), [0, 1, 0, 5, 0]);
        let skip = Nb201Cell::parse(ALL_SKIP).unwrap();
        assert_eq!(skip.op_counts(), [0, 6, 0, 0, 0]);
        let json = serde_json::to_string(&best).unwrap();
        assert_eq!(json, format!("\"{BEST}\""));
        assert_eq!(serde_json::from_str::<Nb201Cell>(&json).unwrap(), best);
    }

    #[test]
    fn the_space_has_15625_distinct_cells_and_each_string_reads_back() {
        let cells: Vec<Nb201Cell> = Nb201Cell::all().collect();
        assert_eq!(cells.len(), NB201_NUM_CELLS);
        let mut sorted = cells.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), NB201_NUM_CELLS);
        for c in &cells {
            assert_eq!(&Nb201Cell::parse(&c.arch_str()).unwrap(), c);
        }
        // Cells whose output the input cannot reach (every path through a
        // `none`): the edge 0->3 is none and so is every path through 1 or 2.
        let dead = cells.iter().filter(|c| !c.is_connected()).count();
        let by_hand = cells
            .iter()
            .filter(|c| {
                let live = |i, n| c.op(i, n) != Some(Nb201Op::None);
                let r1 = live(0, 1);
                let r2 = live(0, 2) || (r1 && live(1, 2));
                !(live(0, 3) || (r1 && live(1, 3)) || (r2 && live(2, 3)))
            })
            .count();
        assert_eq!(dead, by_hand);
        assert!(dead > 0 && dead < NB201_NUM_CELLS);
    }

    #[test]
    fn damaged_strings_are_refused_naming_the_place() {
        let cases = [
            (
                "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|",
                0,
                "3 node groups",
            ),
            (
                "nor_conv_3x3~0|+|a~0|b~1|+|c~0|d~1|e~2|",
                0,
                "start and end with `|`",
            ),
            (
                "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|none~0|none~1|none~2|",
                17,
                "node 2 takes 2 input(s)",
            ),
            (
                "|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                1,
                "unknown op `conv_5x5`",
            ),
            (
                "|none~0|+|none~1|none~0|+|none~0|none~1|none~2|",
                15,
                "must come from state 0, found `1`",
            ),
            (
                "|none0|+|none~0|none~1|+|none~0|none~1|none~2|",
                1,
                "`op~input`",
            ),
        ];
        for (text, offset, expect) in cases {
            let e = Nb201Cell::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}: {e}");
            assert!(e.to_string().contains(expect), "{text}: {e}");
        }
    }

    #[test]
    fn derivation_keeps_every_edge_with_its_arg_max_op() {
        let mut w = vec![0.0f32; 30];
        // Edge 0: nor_conv_3x3; edge 3: none wins; edge 5: a tie, lower op.
        w[3] = 0.9;
        w[3 * 5] = 0.8;
        w[5 * 5 + 1] = 0.5;
        w[5 * 5 + 2] = 0.5;
        let all = OpSet::first(5);
        let c = Nb201Cell::derive(&w, all).unwrap();
        assert_eq!(c.0[0], Nb201Op::NorConv3x3);
        assert_eq!(c.0[3], Nb201Op::None);
        assert_eq!(c.0[5], Nb201Op::SkipConnect);
        // Untouched rows tie at 0: the lowest allowed column.
        assert_eq!(c.0[1], Nb201Op::None);
        let no_none = all.without(0);
        let c = Nb201Cell::derive(&w, no_none).unwrap();
        assert_eq!(c.0[3], Nb201Op::SkipConnect);
        assert_eq!(c.0[1], Nb201Op::SkipConnect);
        w[7] = f32::NAN;
        let e = Nb201Cell::derive(&w, all).unwrap_err();
        assert!(e.to_string().contains("edge 1, op nor_conv_1x1"), "{e}");
        assert!(Nb201Cell::derive(&w[..29], all).is_err());
        // Drawn over a restricted set, only its ops appear.
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let c = Nb201Cell::random_in(no_none.without(4), &mut rng);
            assert!(
                c.0.iter()
                    .all(|op| !matches!(op, Nb201Op::None | Nb201Op::AvgPool3x3))
            );
        }
    }

    #[test]
    fn random_cells_cover_every_op_on_every_edge() {
        let mut rng = Rng::new(7);
        let mut seen = [[false; NB201_NUM_OPS]; NB201_NUM_EDGES];
        for _ in 0..400 {
            let c = Nb201Cell::random(&mut rng);
            for (row, op) in c.0.iter().enumerate() {
                seen[row][op.index()] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&s| s));
    }
}
