//! Uniformly sampled genotypes: the single paths of random search and
//! warm-up, and the random-cell baseline (Li & Talwalkar 2019).

use edas_rng::Rng;

use crate::error::GenotypeError;
use crate::genotype::{Genotype, NodeInput};
use crate::primitive::{NUM_OPS, Primitive};
use crate::space::{NUM_INPUT_STATES, NUM_STATES};

/// A uniformly sampled genotype: each node takes two distinct inputs among
/// its predecessors, each edge a uniformly drawn op other than `none`; all
/// four nodes are concatenated.
///
/// Valid by construction; the `Result` carries the validation of
/// [`Genotype::from_lists`] rather than hiding it.
pub fn random_genotype(rng: &mut Rng) -> Result<Genotype, GenotypeError> {
    let mut cell = || {
        let mut edges = Vec::with_capacity(8);
        for node in NUM_INPUT_STATES..NUM_STATES {
            let mut inputs: Vec<usize> = (0..node).collect();
            rng.shuffle(&mut inputs);
            for &input in &inputs[..2] {
                let op = Primitive::ALL[1 + rng.index(NUM_OPS - 1)];
                edges.push(NodeInput::new(op, input));
            }
        }
        edges
    };
    let (normal, reduce) = (cell(), cell());
    let concat = [2, 3, 4, 5];
    Genotype::from_lists(&normal, &concat, &reduce, &concat)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
