//! Uniformly sampled genotypes: the single paths of random search and
//! warm-up, and the random-cell baseline (Li & Talwalkar 2019).

use edas_rng::Rng;

use crate::error::GenotypeError;
use crate::genotype::{Genotype, NodeInput};
use crate::primitive::Primitive;
use crate::search_space::OpSet;
use crate::space::{NUM_INPUT_STATES, NUM_NODES};

/// A uniformly sampled genotype: each node takes two distinct inputs among
/// its predecessors, each edge a uniformly drawn op other than `none`; all
/// four nodes are concatenated.
///
/// Valid by construction; the `Result` carries the validation of
/// [`Genotype::from_lists`] rather than hiding it.
pub fn random_genotype(rng: &mut Rng) -> Result<Genotype, GenotypeError> {
    random_genotype_in(OpSet::DARTS, rng)
}

/// [`random_genotype`] with each edge's op drawn uniformly from the ops of
/// `ops` other than `none`. With every op it draws exactly what
/// [`random_genotype`] draws, from the same generator state. A set with no
/// op other than `none` is a [`GenotypeError`] (a kept edge cannot be
/// `none`).
pub fn random_genotype_in(ops: OpSet, rng: &mut Rng) -> Result<Genotype, GenotypeError> {
    random_genotype_of(ops, NUM_NODES, rng)
}

/// [`random_genotype_in`] for cells of `nodes` intermediate nodes (1..=4; a
/// space restricted to fewer nodes), all of them concatenated. With 4 nodes
/// it draws exactly what [`random_genotype_in`] draws. Any other count is a
/// [`GenotypeError`].
pub fn random_genotype_of(
    ops: OpSet,
    nodes: usize,
    rng: &mut Rng,
) -> Result<Genotype, GenotypeError> {
    let choices = ops.darts_ops();
    let last = NUM_INPUT_STATES + nodes.min(NUM_NODES);
    let mut cell = || {
        let mut edges = Vec::with_capacity(8);
        for node in NUM_INPUT_STATES..last {
            let mut inputs: Vec<usize> = (0..node).collect();
            rng.shuffle(&mut inputs);
            for &input in &inputs[..2] {
                let op = if choices.is_empty() {
                    Primitive::None
                } else {
                    choices[rng.index(choices.len())]
                };
                edges.push(NodeInput::new(op, input));
            }
        }
        edges
    };
    let (normal, reduce) = (cell(), cell());
    let concat: Vec<usize> = (NUM_INPUT_STATES..NUM_INPUT_STATES + nodes).collect();
    Genotype::from_lists(&normal, &concat, &reduce, &concat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitive::NUM_OPS;

    #[test]
    fn random_genotypes_are_valid_and_varied() {
        let mut rng = Rng::new(4);
        let gs: Vec<Genotype> = (0..50)
            .map(|_| random_genotype(&mut rng).unwrap())
            .collect();
        let distinct: std::collections::HashSet<_> = gs.iter().map(|g| g.canonical()).collect();
        assert!(distinct.len() >= 49);
        let mut counts = [0usize; NUM_OPS];
        for g in &gs {
            assert_ne!(*g, crate::published::DARTS_V2);
            for (k, c) in g.normal.op_counts().into_iter().enumerate() {
                counts[k] += c;
            }
        }
        assert_eq!(counts[0], 0, "never none");
        // 400 draws over 7 ops: each between 30 and 90 (mean 57).
        assert!(
            counts[1..].iter().all(|&c| (30..=90).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_restricted_op_set_draws_only_its_ops_and_the_full_one_draws_as_before() {
        let (mut a, mut b) = (Rng::new(11), Rng::new(11));
        for _ in 0..20 {
            assert_eq!(
                random_genotype(&mut a).unwrap(),
                random_genotype_in(OpSet::DARTS, &mut b).unwrap()
            );
        }
        let ops = OpSet::DARTS
            .without(Primitive::MaxPool3x3.index())
            .without(Primitive::SkipConnect.index());
        let mut rng = Rng::new(5);
        let mut counts = [0usize; NUM_OPS];
        for _ in 0..50 {
            let g = random_genotype_in(ops, &mut rng).unwrap();
            for kind in crate::CellKind::ALL {
                for (k, c) in g.cell(kind).op_counts().into_iter().enumerate() {
                    counts[k] += c;
                }
            }
        }
        // 800 edges over 5 ops (mean 160); none, max_pool and skip never.
        assert_eq!([counts[0], counts[1], counts[3]], [0, 0, 0], "{counts:?}");
        assert!(
            [2, 4, 5, 6, 7]
                .iter()
                .all(|&k| (110..=210).contains(&counts[k])),
            "{counts:?}"
        );
        let only_none = OpSet::EMPTY.with(0);
        assert!(random_genotype_in(only_none, &mut rng).is_err());
    }

    #[test]
    fn fewer_nodes_draw_cells_of_that_many_nodes() {
        let (mut a, mut b) = (Rng::new(3), Rng::new(3));
        assert_eq!(
            random_genotype_in(OpSet::DARTS, &mut a).unwrap(),
            random_genotype_of(OpSet::DARTS, 4, &mut b).unwrap()
        );
        for nodes in 1..=3 {
            let g = random_genotype_of(OpSet::DARTS, nodes, &mut a).unwrap();
            for kind in crate::CellKind::ALL {
                assert_eq!(g.cell(kind).num_nodes(), nodes);
                assert_eq!(g.cell(kind).concat().len(), nodes);
            }
        }
        assert!(random_genotype_of(OpSet::DARTS, 0, &mut a).is_err());
        assert!(random_genotype_of(OpSet::DARTS, 5, &mut a).is_err());
    }
}
