//! Property tests over random valid genotypes: every format writes and reads
//! back the same genotype, and derivation inverts the clamp.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use edas_genotype::{
    Cell, CellKind, DeriveOptions, EdgeWeights, Format, Genotype, NodeInput, Primitive, derive,
    derive_cell, diff, dot,
};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Primitive> {
    (1usize..8).prop_map(|i| Primitive::ALL[i])
}

/// Two distinct inputs of node `node`, in either order, each with an op.
fn node(node: usize) -> impl Strategy<Value = [NodeInput; 2]> {
    (
        proptest::sample::subsequence((0..node).collect::<Vec<_>>(), 2),
        any::<bool>(),
        op(),
        op(),
    )
        .prop_map(|(inputs, swap, a, b)| {
            let (i, j) = if swap {
                (inputs[1], inputs[0])
            } else {
                (inputs[0], inputs[1])
            };
            [NodeInput::new(a, i), NodeInput::new(b, j)]
        })
}

fn cell() -> impl Strategy<Value = Cell> {
    let concat = proptest::sample::subsequence(vec![2usize, 3, 4, 5], 1..=4);
    (node(2), node(3), node(4), node(5), concat).prop_map(|(a, b, c, d, concat)| {
        let edges: Vec<NodeInput> = [a, b, c, d].concat();
        Cell::new(&edges, &concat).expect("strategy builds valid cells")
    })
}

fn genotype() -> impl Strategy<Value = Genotype> {
    (cell(), cell()).prop_map(|(normal, reduce)| Genotype { normal, reduce })
}

fn weights() -> impl Strategy<Value = EdgeWeights> {
    proptest::collection::vec(-3.0f32..3.0, 112)
        .prop_map(|v| EdgeWeights::from_flat(CellKind::Normal, &v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_format_round_trips(g in genotype()) {
        for format in Format::ALL {
            let text = format.write(&g);
            let back = format.parse(&text).unwrap();
            prop_assert_eq!(back, g);
            // Not only the same network: the same edge order too.
            prop_assert_eq!(format!("{back:?}"), format!("{g:?}"));
            prop_assert_eq!(Format::sniff(&text), Some(format));
        }
        let (kind, cell) = dot::parse_dot_cell(&dot::cell_to_dot(&g.reduce, CellKind::Reduce)).unwrap();
        prop_assert_eq!((kind, cell), (CellKind::Reduce, g.reduce));
    }

    #[test]
    fn cells_of_fewer_nodes_round_trip_and_derive_back(g in genotype(), nodes in 1usize..=4) {
        // The first `nodes` nodes of each cell, with its concat list cut to
        // them (or the first node, when that leaves none).
        let cut = |c: &Cell| {
            let edges: Vec<NodeInput> = c.edges().take(2 * nodes).collect();
            let mut concat: Vec<usize> = c.concat().states().filter(|&s| s < 2 + nodes).collect();
            if concat.is_empty() {
                concat.push(2);
            }
            Cell::new(&edges, &concat).unwrap()
        };
        let g = Genotype { normal: cut(&g.normal), reduce: cut(&g.reduce) };
        for format in Format::ALL {
            let back = format.parse(&format.write(&g)).unwrap();
            prop_assert_eq!(format!("{back:?}"), format!("{g:?}"));
            prop_assert_eq!(back.normal.num_nodes(), nodes);
        }
        let all: Vec<usize> = (2..2 + nodes).collect();
        let full = |c: &Cell| Cell::new(&c.edges().collect::<Vec<_>>(), &all).unwrap();
        let g = Genotype { normal: full(&g.normal), reduce: full(&g.reduce) };
        let [n, r] = g.clamp();
        prop_assert_eq!(derive(&n, &r, DeriveOptions::default().with_nodes(nodes)).unwrap(), g);
    }

    #[test]
    fn derive_inverts_clamp(g in genotype()) {
        // The clamp always concatenates all four nodes, as derivation does.
        let g = Genotype {
            normal: Cell::new(&g.normal.edges().collect::<Vec<_>>(), &[2, 3, 4, 5]).unwrap(),
            reduce: Cell::new(&g.reduce.edges().collect::<Vec<_>>(), &[2, 3, 4, 5]).unwrap(),
        };
        let [n, r] = g.clamp();
        let back = derive(&n, &r, DeriveOptions::default()).unwrap();
        prop_assert_eq!(back, g);
        prop_assert!(diff(&back, &g).is_empty());
        prop_assert_eq!(format!("{back:?}"), format!("{:?}", g.canonical()));
        // Every clamp row is one-hot or zero, 8 ones in all.
        let flat = n.to_flat();
        prop_assert!(flat.iter().all(|&x| x == 0.0 || x == 1.0));
        prop_assert_eq!(flat.iter().sum::<f32>(), 8.0);
    }

    #[test]
    fn derivation_is_a_fixed_point_of_the_clamp(w in weights(), cap in proptest::option::of(0usize..4)) {
        let cell = derive_cell(CellKind::Normal, &w, cap).unwrap();
        if let Some(cap) = cap {
            prop_assert!(cell.op_counts()[Primitive::SkipConnect.index()] <= cap);
        }
        prop_assert_eq!(cell.op_counts()[Primitive::None.index()], 0);
        // Deriving the clamp of a derived cell changes nothing.
        prop_assert_eq!(derive_cell(CellKind::Normal, &cell.clamp(), None).unwrap(), cell);
        // Each kept edge carries its row's best non-none op, and beats every
        // dropped edge of its node.
        for (node, pair) in cell.nodes() {
            let first = edas_genotype::space::first_edge_of(node);
            let best = |input: usize| w.row(first + input)[1..].iter().copied().fold(f32::MIN, f32::max);
            if cap.is_none() {
                for e in pair {
                    prop_assert_eq!(w.row(first + e.input)[e.op.index()], best(e.input));
                }
                let kept_min = pair.iter().map(|e| best(e.input)).fold(f32::MAX, f32::min);
                for input in (0..node).filter(|i| pair.iter().all(|e| e.input != *i)) {
                    prop_assert!(best(input) <= kept_min);
                }
            }
        }
    }

    #[test]
    fn diff_counts_differing_edges(a in genotype(), b in genotype()) {
        let d = diff(&a, &b);
        let [an, ar] = a.clamp();
        let [bn, br] = b.clamp();
        let rows_differing = (0..14).filter(|&e| an.row(e) != bn.row(e)).count()
            + (0..14).filter(|&e| ar.row(e) != br.row(e)).count();
        prop_assert_eq!(d.edges_changed(), rows_differing);
        prop_assert_eq!(d.is_empty(), a == b);
    }
}
