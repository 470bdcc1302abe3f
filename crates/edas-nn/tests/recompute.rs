//! `SearchNetwork::backward_recomputing` against an ordinary backward pass:
//! the same loss, parameter gradients, weight gradients and BatchNorm
//! running statistics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use edas_genotype::published::DARTS_V2;
use edas_genotype::{CellKind, NUM_OPS, Primitive};
use edas_nn::{
    DropPath, EdgeWeighting, NetworkWeights, SearchNetwork, SearchNetworkConfig, untracked,
};

const BATCH: usize = 4;

/// The device's random generator is global: tests that seed it take turns.
static SEEDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn seeding() -> std::sync::MutexGuard<'static, ()> {
    SEEDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn config() -> SearchNetworkConfig {
    // L=5: reduction cells at 1 and 3, one normal cell after a reduction.
    SearchNetworkConfig {
        in_channels: 3,
        classes: 10,
        channels: 4,
        layers: 5,
        stem_multiplier: 3,
        partial_channels: 1,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    }
}

/// Two networks with identical weights (same seed), so that running
/// statistics can be compared after one pass through each.
fn twins(device: &Device) -> (SearchNetwork, SearchNetwork) {
    // Parameters are initialised lazily: draw them right after seeding.
    let build = || {
        device.seed(11);
        let net = SearchNetwork::new(&config(), device);
        net.visit(&mut Values {
            grads: None,
            out: Vec::new(),
        });
        net
    };
    (build(), build())
}

fn batch(device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    device.seed(3);
    let x = Tensor::random(
        [BATCH, 3, 8, 8],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 4, 7, 9], [BATCH]), device);
    (x, y)
}

fn loss(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels)
}

/// Every float tensor of a module (parameters, then running statistics are
/// not visited: see `running`), in visiting order, as host vectors.
struct Values<'a> {
    grads: Option<&'a GradientsParams>,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor for Values<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = match self.grads {
            Some(g) => match g.get::<D>(param.id) {
                Some(t) => t,
                None => return self.out.push(Vec::new()),
            },
            None => param.val(),
        };
        self.out
            .push(t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
    }
}

fn grads_in_order(net: &SearchNetwork, grads: &GradientsParams) -> Vec<Vec<f32>> {
    let mut v = Values {
        grads: Some(grads),
        out: Vec::new(),
    };
    net.visit(&mut v);
    v.out
}

/// The BatchNorm running means and variances of a network, in order.
fn running(net: &SearchNetwork) -> Vec<f32> {
    let mut out = Vec::new();
    for cell in &net.cells {
        for edge in &cell.edges {
            for op in &edge.ops {
                let bns: Vec<&edas_nn::ops::Bn> = match op {
                    edas_nn::Op::Sep(s) => vec![&s.bn1, &s.bn2],
                    edas_nn::Op::Dil(d) => vec![&d.bn],
                    edas_nn::Op::MaxPool(p) => p.bn.iter().collect(),
                    edas_nn::Op::AvgPool(p) => p.bn.iter().collect(),
                    edas_nn::Op::Reduce(r) => vec![&r.bn],
                    _ => Vec::new(),
                };
                for bn in bns {
                    for t in [bn.running_mean.value(), bn.running_var.value()] {
                        out.extend(t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap());
                    }
                }
            }
        }
    }
    out
}

/// Largest `|a - b| / (1e-3 + max|a|)` over matching tensors.
fn rel_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "a gradient is missing on one side");
        let scale = x.iter().fold(0.0f32, |m, v| m.max(v.abs())) + 1e-3;
        for (p, q) in x.iter().zip(y) {
            worst = worst.max((p - q).abs() / scale);
        }
    }
    worst
}

fn flat(v: &[f32]) -> Vec<Vec<f32>> {
    vec![v.to_vec()]
}

/// DARTS_V2 clamped, with one relaxed edge per kind and one GDAS-style
/// sampled edge, weights from `alpha` (`[2, 14, 8]` as two tensors).
fn weights(alpha: &[Tensor<2>; 2]) -> NetworkWeights {
    let mut w = NetworkWeights::clamped(&DARTS_V2);
    let row = |a: &Tensor<2>, r: usize| {
        softmax(
            a.clone().slice([r..r + 1, 0..NUM_OPS]).reshape([NUM_OPS]),
            0,
        )
    };
    // Edge 3 (node 3 from s1) is relaxed in normal cells, edge 0 in
    // reduction cells (a stride-2 edge: factorized-reduce skip and strided
    // pools); edge 5 of normal cells is sampled.
    w.cell_mut(CellKind::Normal)[3] = EdgeWeighting::Relaxed(row(&alpha[0], 3));
    // A second relaxed edge into the same node (edas.relaxed_edges = 2).
    w.cell_mut(CellKind::Normal)[4] = EdgeWeighting::Relaxed(row(&alpha[0], 4));
    w.cell_mut(CellKind::Normal)[5] = EdgeWeighting::Sampled {
        op: Primitive::SepConv5x5.index(),
        weights: row(&alpha[0], 5),
    };
    w.cell_mut(CellKind::Reduce)[0] = EdgeWeighting::Relaxed(row(&alpha[1], 0));
    w
}

fn alpha(device: &Device) -> [Tensor<2>; 2] {
    device.seed(5);
    let a = || {
        Tensor::random(
            [14, NUM_OPS],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        )
        .require_grad()
    };
    [a(), a()]
}

#[test]
fn weight_gradients_match_an_ordinary_backward() {
    let _turn = seeding();
    let device = Device::flex().autodiff();
    let (plain, recomputing) = twins(&device);
    let (x, y) = batch(&device);
    let alpha = alpha(&device);
    let detached = alpha.map(|a| a.detach().set_require_grad(false));
    let w = weights(&detached);
    let drop = Some(DropPath {
        prob: 0.3,
        seed: 42,
    });

    let l = loss(plain.forward_with(x.clone(), &w, drop), y.clone());
    let plain_loss = l.clone().into_scalar::<f32>();
    let plain_grads = GradientsParams::from_grads(l.backward(), &plain);

    let out = recomputing.backward_recomputing(x, &w, drop, |logits| loss(logits, y));
    let loss2 = out.loss.into_scalar::<f32>();
    assert!((plain_loss - loss2).abs() < 1e-5, "{plain_loss} vs {loss2}");
    let a = grads_in_order(&plain, &plain_grads);
    let b = grads_in_order(&recomputing, &out.params);
    assert_eq!(
        a.iter().filter(|g| !g.is_empty()).count(),
        b.iter().filter(|g| !g.is_empty()).count()
    );
    let d = rel_diff(&a, &b);
    assert!(d < 1e-4, "parameter gradients differ by {d}");
    // The relaxed edges' ops were trained too (all 7 of them).
    assert!(a.iter().filter(|g| !g.is_empty()).count() > 40);
    // Same BatchNorm statistics, relaxed edges' included.
    let d = rel_diff(&flat(&running(&plain)), &flat(&running(&recomputing)));
    assert!(d < 1e-5, "running statistics differ by {d}");
    // No tracked weights, no weight gradients.
    assert!(out.weights.normal.iter().all(Option::is_none));
}

/// Both alpha tensors' gradients, as host vectors.
fn alpha_grads(alpha: &[Tensor<2>; 2], grads: &mut burn::tensor::Gradients) -> Vec<Vec<f32>> {
    alpha
        .iter()
        .map(|a| {
            a.grad_remove(grads)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        })
        .collect()
}

#[test]
fn architecture_gradients_match_an_ordinary_backward() {
    let _turn = seeding();
    let device = Device::flex().autodiff();
    let (plain, recomputing) = twins(&device);
    let (plain, recomputing) = (untracked(&plain), untracked(&recomputing));
    let (x, y) = batch(&device);

    let alpha_a = alpha(&device);
    let l = loss(plain.forward(x.clone(), &weights(&alpha_a)), y.clone());
    let expected = alpha_grads(&alpha_a, &mut l.backward());

    let alpha_b = alpha(&device);
    let w = weights(&alpha_b);
    let out = recomputing.backward_recomputing(x, &w, None, |logits| loss(logits, y));
    assert!(out.params.is_empty(), "untracked weights got gradients");
    // Push the weight gradients on to alpha.
    for kind in CellKind::ALL {
        let tracked = w
            .cell(kind)
            .iter()
            .filter(|w| matches!(w, EdgeWeighting::Relaxed(_) | EdgeWeighting::Sampled { .. }));
        let with_grad = out.weights.cell(kind).iter().filter(|g| g.is_some());
        assert_eq!(tracked.count(), with_grad.count(), "{kind:?}");
    }
    let got = alpha_grads(&alpha_b, &mut out.weights.backward(&w).unwrap());
    // Rows 3, 4 and 5 (normal) and 0 (reduce) are nonzero, the others zero.
    let norm = |v: &[f32], r: usize| {
        v[r * NUM_OPS..(r + 1) * NUM_OPS]
            .iter()
            .map(|x| x.abs())
            .sum::<f32>()
    };
    assert!(norm(&expected[0], 3) > 1e-6 && norm(&expected[0], 4) > 1e-6);
    assert!(norm(&expected[0], 5) > 1e-6);
    assert!(norm(&expected[1], 0) > 1e-6);
    assert_eq!(norm(&expected[0], 6), 0.0);
    let d = rel_diff(&expected, &got);
    assert!(d < 1e-4, "alpha gradients differ by {d}");
}

#[test]
fn twins_are_twins() {
    let _turn = seeding();
    let device = Device::flex().autodiff();
    let (a, b) = twins(&device);
    let vals = |n: &SearchNetwork| {
        let mut v = Values {
            grads: None,
            out: Vec::new(),
        };
        n.visit(&mut v);
        v.out
    };
    assert_eq!(rel_diff(&vals(&a), &vals(&b)), 0.0);
    let (x, _) = batch(&device);
    let w = NetworkWeights::clamped(&DARTS_V2);
    let la = a
        .forward(x.clone(), &w)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let lb = b.forward(x, &w).into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(rel_diff(&[la], &[lb]), 0.0);
}
