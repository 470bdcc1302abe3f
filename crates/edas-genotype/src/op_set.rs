//! A set of op columns of a search space ([`OpSet`]): which ops an edge
//! may take, by their column in the space's op list.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::primitive::{NUM_OPS, Primitive};

/// A set of op columns of a space (bit `k`: column `k` may be chosen).
///
/// It knows columns, not names: [`SearchSpace`] pairs it with its space.
/// Its serde form is the ascending list of its columns (`[0, 2, 4]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<usize>", into = "Vec<usize>")]
pub struct OpSet(u16);

impl TryFrom<Vec<usize>> for OpSet {
    type Error = String;
    fn try_from(columns: Vec<usize>) -> Result<Self, Self::Error> {
        columns.into_iter().try_fold(OpSet::EMPTY, |set, k| {
            if k >= 16 {
                Err(format!("op column {k} out of range (at most 15)"))
            } else {
                Ok(set.with(k))
            }
        })
    }
}

impl From<OpSet> for Vec<usize> {
    fn from(set: OpSet) -> Self {
        set.columns().collect()
    }
}

impl OpSet {
    /// Every column of a DARTS edge (`0..8`).
    pub const DARTS: OpSet = OpSet::first(NUM_OPS);

    /// The first `n` columns (`n <= 16`).
    pub const fn first(n: usize) -> OpSet {
        OpSet(((1u32 << n) - 1) as u16)
    }

    /// The empty set.
    pub const EMPTY: OpSet = OpSet(0);

    /// This set with column `k` added (`k < 16`).
    #[must_use]
    pub const fn with(self, k: usize) -> OpSet {
        OpSet(self.0 | (1 << k))
    }

    /// This set without column `k`.
    #[must_use]
    pub const fn without(self, k: usize) -> OpSet {
        OpSet(self.0 & !(1 << k))
    }

    /// Whether column `k` is in the set.
    pub const fn contains(self, k: usize) -> bool {
        k < 16 && self.0 & (1 << k) != 0
    }

    /// Whether DARTS primitive `p` is in the set.
    pub const fn has(self, p: Primitive) -> bool {
        self.contains(p.index())
    }

    /// The columns in the set, ascending.
    pub fn columns(self) -> impl Iterator<Item = usize> {
        (0..16).filter(move |&k| self.contains(k))
    }

    /// Number of columns in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The DARTS primitives in the set other than `none`, in column order:
    /// the ops an edge may run and a derived cell may keep.
    pub fn darts_ops(self) -> Vec<Primitive> {
        Primitive::ALL
            .into_iter()
            .skip(1)
            .filter(|p| self.has(*p))
            .collect()
    }
}

impl Default for OpSet {
    /// Every DARTS op.
    fn default() -> Self {
        OpSet::DARTS
    }
}

impl fmt::Debug for OpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.columns()).finish()
    }
}
