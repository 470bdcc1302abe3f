//! A restricted DARTS op set (`[space] ops = [...]`): every strategy
//! searches it, no excluded op is ever built, weighted, explored, sampled or
//! derived, and the config names a bad op list by its key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{mnist_batches as batches, tiny};

use std::path::PathBuf;

use burn::module::Module;
use burn::prelude::*;
use edas_data::Split;
use edas_genotype::{CellKind, Primitive, SearchSpace, SpaceName};
use edas_run::config::load;
use edas_search::{
    EdasSettings, Regularizers, SearchConfig, Searcher, StepContext, Strategy, WarmupNetwork,
};

const EXCLUDED: [Primitive; 2] = [Primitive::MaxPool3x3, Primitive::SkipConnect];

fn no_pool_no_skip() -> SearchSpace {
    SearchSpace::with_ops(
        SpaceName::Darts,
        &[
            "none",
            "avg_pool_3x3",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5",
        ],
    )
    .unwrap()
}

#[test]
fn every_strategy_searches_a_restricted_op_set_and_never_uses_an_excluded_op() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 32, Split::Train);
    let valid = batches(&device, 32, Split::Test);
    let space = no_pool_no_skip();
    let full_params = Searcher::new(&tiny(), EdasSettings::default(), 3, &device)
        .unwrap()
        .network()
        .num_params();
    for strategy in Strategy::ALL {
        let settings = EdasSettings {
            strategy,
            space,
            regularizers: Regularizers {
                epsilon: 0.5,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut s = Searcher::new(&tiny(), settings, 7, &device).unwrap();
        // Each edge holds `none` and the 5 allowed ops; the supernet is
        // smaller (no max pools, no stride-2 skips' FactorizedReduce).
        for cell in &s.network().darts().unwrap().cells {
            for edge in &cell.edges {
                assert_eq!(edge.ops.len(), 6, "{strategy}");
                assert!(EXCLUDED.iter().all(|p| !edge.primitives.contains(p)));
            }
        }
        assert!(s.network().num_params() < full_params, "{strategy}");
        let warm = StepContext {
            warmup: Some(WarmupNetwork::SinglePath),
            ..StepContext::plain(0.05)
        };
        s.step(train[0].clone(), valid[0].clone(), &warm).unwrap();
        for (t, v) in train.iter().zip(&valid).skip(1) {
            let ctx = StepContext {
                tau: 2.0,
                epsilon: 0.5,
                ..StepContext::plain(0.05)
            };
            let stats = s.step(t.clone(), v.clone(), &ctx).unwrap();
            assert!(stats.train_loss.is_finite(), "{strategy}");
            let g = *s.genotype().unwrap().darts("test").unwrap();
            for kind in CellKind::ALL {
                let counts = g.cell(kind).op_counts();
                for p in EXCLUDED {
                    assert_eq!(
                        counts[p.index()],
                        0,
                        "{strategy} derived {p} in {kind}: {g:?}"
                    );
                }
                // The excluded columns weigh exactly 0, the others share 1.
                let soft = s.arch.softmax_values(kind).unwrap();
                for row in soft.chunks(8) {
                    assert_eq!([row[1], row[3]], [0.0, 0.0], "{strategy}");
                    let sum: f32 = row.iter().sum();
                    assert!((sum - 1.0).abs() < 1e-5, "{strategy}: {sum}");
                }
            }
        }
        s.end_epoch(&valid).unwrap();
        let eval = s.evaluate(&valid, 1.0).unwrap();
        assert_eq!(eval.examples, 32, "{strategy}");
        let g = *s.genotype().unwrap().darts("test").unwrap();
        assert!(
            CellKind::ALL.iter().all(|&k| EXCLUDED
                .iter()
                .all(|p| g.cell(k).op_counts()[p.index()] == 0)),
            "{strategy}: {g:?}"
        );
    }
}

#[test]
fn the_space_section_reads_its_ops_and_names_bad_ones_by_key() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs/search/fashion-mnist-edas.toml");
    let read = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        load::<SearchConfig>(&path, &sets).and_then(|l| {
            l.config.validate(&l.origin)?;
            Ok(l.config)
        })
    };
    let full = read(&[]).unwrap();
    assert_eq!(full.space, SearchSpace::DARTS);
    assert_eq!(
        full.settings().derive_options().ops,
        edas_genotype::OpSet::DARTS
    );
    let c = read(&[
        r#"space.ops=["none", "avg_pool_3x3", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]"#,
    ])
    .unwrap();
    assert_eq!(c.space, no_pool_no_skip());
    assert_eq!(
        c.settings().space.to_string(),
        "darts without max_pool_3x3, skip_connect"
    );
    let e = read(&[r#"space.ops=["sep_conv_7x7"]"#])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the darts space has no op `sep_conv_7x7`"),
        "{e}"
    );
    let e = read(&[r#"space.ops=["none"]"#]).unwrap_err().to_string();
    assert!(e.contains("at least one op other than `none`"), "{e}");
    // The NAS-Bench-201 space: 3 stages of equally many cells, 6 edges,
    // no skip cap.
    let e = read(&[r#"space.name="nas-bench-201""#, "network.layers=5"])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("key `network.layers`") && e.contains("multiple of 3"),
        "{e}"
    );
    let nb = read(&[r#"space.name="nas-bench-201""#, "network.layers=3"]).unwrap();
    assert_eq!(nb.space.name(), edas_genotype::SpaceName::NasBench201);
    let e = read(&[
        r#"space.name="nas-bench-201""#,
        "network.layers=3",
        "edas.relaxed_edges=7",
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("between 1 and 6"), "{e}");
    let e = read(&[
        r#"space.name="nas-bench-201""#,
        "network.layers=3",
        "regularizers.normal_skip_cap=2",
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("keeps every edge"), "{e}");
    // Fewer nodes: DARTS only, 1 to 4, and EDAS' relaxed edges among the
    // cell's 9 edges.
    let three = read(&["space.nodes=3"]).unwrap();
    assert_eq!((three.space.nodes(), three.space.edges()), (3, 9));
    assert_eq!(three.settings().derive_options().nodes, 3);
    assert_eq!(three.space.to_string(), "darts with 3 nodes");
    let e = read(&["space.nodes=5"]).unwrap_err().to_string();
    assert!(
        e.contains("space") && e.contains("take 1..=4 intermediate nodes, not 5"),
        "{e}"
    );
    let e = read(&["space.nodes=3", "edas.relaxed_edges=10"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("between 1 and 9"), "{e}");
    let e = read(&[
        r#"space.name="nas-bench-201""#,
        "network.layers=3",
        "space.nodes=2",
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("take 3..=3 intermediate nodes"), "{e}");
}

/// A DARTS space of fewer nodes (`[space] nodes = 3`): every strategy
/// searches a supernet whose cells hold only the 9 edges into nodes 2..=4,
/// with `[9, 8]` architecture variables, derives 3-node cells (all nodes
/// concatenated), evaluates the derived network, and restores from its
/// checkpoint exactly.
#[test]
fn every_strategy_searches_cells_of_fewer_nodes() {
    let device = Device::flex().autodiff();
    let train = batches(&device, 32, Split::Train);
    let valid = batches(&device, 32, Split::Test);
    let space = SearchSpace::DARTS.with_nodes(3).unwrap();
    for strategy in Strategy::ALL {
        let settings = EdasSettings {
            strategy,
            space,
            ..Default::default()
        };
        let mut s = Searcher::new(&tiny(), settings.clone(), 7, &device).unwrap();
        let net = s.network().darts().unwrap();
        assert!(
            net.cells
                .iter()
                .all(|c| c.edges.len() == 9 && c.num_nodes() == 3)
        );
        assert_eq!(s.arch.shape(), [9, 8], "{strategy}");
        for (t, v) in train.iter().zip(&valid) {
            let stats = s
                .step(t.clone(), v.clone(), &StepContext::plain(0.05))
                .unwrap();
            assert!(stats.train_loss.is_finite(), "{strategy}");
        }
        s.end_epoch(&valid).unwrap();
        let g = *s.genotype().unwrap().darts("test").unwrap();
        for kind in CellKind::ALL {
            assert_eq!(g.cell(kind).num_nodes(), 3, "{strategy}: {g:?}");
            assert_eq!(g.cell(kind).concat().to_vec(), [2, 3, 4], "{strategy}");
        }
        let eval = s.evaluate(&valid, 1.0).unwrap();
        assert_eq!(eval.examples, 32, "{strategy}");
        // The checkpoint restores the same searcher.
        let dir = tempfile::tempdir().unwrap();
        let state = s.save(dir.path()).unwrap();
        let mut back = Searcher::new(&tiny(), settings, 99, &device).unwrap();
        back.load(dir.path(), &state).unwrap();
        assert_eq!(back.state().unwrap(), state, "{strategy}");
        assert_eq!(
            back.genotype().unwrap(),
            s.genotype().unwrap(),
            "{strategy}"
        );
    }
}
