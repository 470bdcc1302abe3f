//! PC-DARTS: partial channel connections in the supernet, edge
//! normalisation in the strategy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::prelude::*;
use burn::tensor::Distribution;
use edas_genotype::{CellKind, NUM_OPS};
use edas_nn::supernet::channel_shuffle;
use edas_nn::{EdgeWeighting, NetworkWeights, SearchNetwork, SearchNetworkConfig};
use edas_search::strategy::pc_darts::normalised_beta;
use edas_search::{EdasSettings, Searcher, StepContext, Strategy};

fn config(partial_channels: usize) -> SearchNetworkConfig {
    SearchNetworkConfig {
        in_channels: 1,
        classes: 10,
        channels: 4,
        layers: 3,
        stem_multiplier: 2,
        partial_channels,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    }
}

fn batch(device: &Device, seed: u64) -> (Tensor<4>, Tensor<1, Int>) {
    device.seed(seed);
    let x = Tensor::random([8, 1, 9, 9], Distribution::Normal(0.0, 1.0), device);
    let labels: Vec<i64> = (0..8).map(|i| (i * 3 % 10) as i64).collect();
    (x, Tensor::from_data(TensorData::new(labels, [8]), device))
}

#[test]
fn channel_shuffle_interleaves_the_groups() {
    let device = Device::flex();
    let x: Tensor<4> = Tensor::from_data(
        TensorData::new((0..8).map(|c| c as f32).collect::<Vec<_>>(), [1, 8, 1, 1]),
        &device,
    );
    let y = edas_nn::to_host(channel_shuffle(x, 4)).unwrap();
    // Groups of 2 channels, 4 groups: [0 1 | 2 3 | 4 5 | 6 7] -> 0 2 4 6 1 3 5 7.
    assert_eq!(y, [0.0, 2.0, 4.0, 6.0, 1.0, 3.0, 5.0, 7.0]);
}

#[test]
fn partial_edges_run_a_quarter_of_the_channels() {
    let device = Device::flex();
    device.seed(3);
    let full = SearchNetwork::new(&config(1), &device);
    let part = SearchNetwork::new(&config(4), &device);
    // Ops on 1 of 4 channels: a quarter of each op's convolution weights
    // (and of depthwise ones), none of pre-processing's or the stem's.
    let (pf, pp) = (full.num_params(), part.num_params());
    assert!(pp * 3 < pf, "partial {pp}, full {pf}");
    let e = &part.cells[0].edges[0];
    assert_eq!((e.partial, e.stride), (4, 1));
    let x = batch(&device, 1).0;
    // Odd sizes: the bypass pools in ceil mode, like the stride-2 ops.
    for weights in [
        NetworkWeights::clamped(&edas_genotype::published::DARTS_V2),
        NetworkWeights {
            normal: vec![
                EdgeWeighting::Relaxed(Tensor::ones([NUM_OPS], &device).div_scalar(8.0));
                14
            ],
            reduce: vec![
                EdgeWeighting::Relaxed(Tensor::ones([NUM_OPS], &device).div_scalar(8.0));
                14
            ],
        },
    ] {
        let logits = part.forward(x.clone(), &weights);
        assert_eq!(logits.dims(), [8, 10]);
        assert!(
            edas_nn::to_host(logits)
                .unwrap()
                .iter()
                .all(|v| v.is_finite())
        );
    }
    // Mult-adds follow the quarter channels (the cells' edges dominate).
    let full_costs = edas_nn::count::search_network(&full, [1, 9, 9]);
    let costs = edas_nn::count::search_network(&part, [1, 9, 9]);
    assert!(
        costs.mult_adds * 2 < full_costs.mult_adds,
        "{costs:?} {full_costs:?}"
    );
    assert!(
        costs.params * 3 < full_costs.params,
        "{costs:?} {full_costs:?}"
    );
}

#[test]
fn edge_normalisation_moves_and_enters_the_derivation() {
    let device = Device::flex().autodiff();
    let settings = EdasSettings {
        strategy: Strategy::PcDarts,
        ..Default::default()
    };
    let mut s = Searcher::new(&config(2), settings, 4, &device).unwrap();
    let ctx = StepContext::plain(0.05);
    let before = s.state().unwrap();
    for k in 0..3 {
        s.step(batch(&device, 10 + k), batch(&device, 20 + k), &ctx)
            .unwrap();
    }
    let after = s.state().unwrap();
    let beta = |st: &edas_search::searcher::SearcherState| -> Vec<Vec<f32>> {
        serde_json::from_value(st.strategy["beta"].clone()).unwrap()
    };
    assert_eq!(beta(&before), vec![vec![0.0f32; 14]; 2]);
    let moved = beta(&after);
    assert!(moved[0].iter().all(|b| *b != 0.0), "{moved:?}");
    // Every alpha row moved too (DARTS' full mixture).
    let (a0, a1) = (&before.alpha_normal, &after.alpha_normal);
    assert_eq!(
        (0..14)
            .filter(|e| a0[e * 8..e * 8 + 8] != a1[e * 8..e * 8 + 8])
            .count(),
        14
    );
    // The genotype weighs alpha by the normalised beta: with beta pushed hard
    // towards each node's last input, every node keeps its last input.
    let mut state = after.clone();
    let mut strong = vec![0.0f32; 14];
    let mut start = 0;
    for node in 2..6 {
        strong[start + node - 1] = 50.0;
        start += node;
    }
    state.strategy["beta"] = serde_json::json!([strong, strong]);
    let dir = tempfile::tempdir().unwrap();
    let saved = s.save(dir.path()).unwrap();
    state.adam = saved.adam;
    s.load(dir.path(), &state).unwrap();
    let g = *s.genotype().unwrap().darts("test").unwrap();
    for kind in CellKind::ALL {
        for (node, pair) in g.cell(kind).nodes() {
            assert!(
                pair.iter().any(|e| e.input == node - 1),
                "{kind} node {node}: {pair:?}"
            );
        }
    }
    let n = normalised_beta(edas_genotype::SearchSpace::DARTS, &strong);
    assert!(n[1] > 0.99 && n[4] > 0.99);
    // The pruning gap of a partial-channel supernet: its clamped self.
    let eval = s.evaluate(&[batch(&device, 30)], 1.0).unwrap();
    assert_eq!(eval.examples, 8);
}
