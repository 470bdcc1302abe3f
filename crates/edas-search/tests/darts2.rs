//! Second-order DARTS' architecture gradient against central differences
//! of the unrolled objective `L_val(w - xi * (grad_w L_train + lambda w),
//! alpha)` on a tiny supernet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::{Distribution, FloatDType};
use edas_genotype::CellKind;
use edas_nn::{SearchNetwork, SearchNetworkConfig, untracked};
use edas_search::ArchVars;
use edas_search::strategy::Unrolled;
use edas_search::strategy::darts2::{unrolled_gradient, unrolled_objective};

fn batch(device: &Device, seed: u64) -> (Tensor<4>, Tensor<1, Int>) {
    device.seed(seed);
    let x = Tensor::random([8, 1, 8, 8], Distribution::Normal(0.0, 1.0), device);
    let labels: Vec<i64> = (0..8).map(|i| ((i * 7 + seed) % 10) as i64).collect();
    (x, Tensor::from_data(TensorData::new(labels, [8]), device))
}

/// `alpha + delta * e_k` in `kind`'s variables, in the device's float type.
fn nudged(arch: &ArchVars, kind: CellKind, k: usize, delta: f64, device: &Device) -> ArchVars {
    let mut d = vec![0.0f64; 112];
    d[k] = delta;
    let d: Tensor<2> = Tensor::from_data(TensorData::new(d, [14, 8]), device);
    let shift = |p: &Param<Tensor<2>>, on: bool| {
        let v = p.val().inner();
        let v = if on { v.add(d.clone().inner()) } else { v };
        Param::initialized(p.id, Tensor::from_inner(v).require_grad())
    };
    ArchVars {
        normal: shift(&arch.normal, kind == CellKind::Normal),
        reduce: shift(&arch.reduce, kind == CellKind::Reduce),
        space: arch.space,
    }
}

#[test]
fn unrolled_gradient_matches_central_differences() {
    // In f64, and with a tiny step: the unrolled objective depends on alpha
    // through the weight gradient of a ReLU network, which jumps where a
    // unit's activation pattern switches; only steps small enough to cross
    // no switch see the derivative.
    let mut device = Device::flex();
    device.configure(FloatDType::F64).unwrap();
    let device = device.autodiff();
    device.seed(11);
    let config = SearchNetworkConfig {
        in_channels: 1,
        classes: 10,
        channels: 4,
        layers: 3,
        stem_multiplier: 2,
        partial_channels: 1,
        ops: edas_genotype::OpSet::DARTS,
        space: edas_genotype::SpaceName::Darts,
        image_size: 0,
        nodes: 4,
    };
    let net = edas_nn::Supernet::Darts(SearchNetwork::new(&config, &device));
    let (train, valid) = (batch(&device, 1), batch(&device, 2));
    // alpha away from uniform, so that the softmax is not flat.
    let mut rng = edas_rng::Rng::new(5);
    let mut draw = || -> Vec<f32> { (0..112).map(|_| (0.5 * rng.normal()) as f32).collect() };
    let arch = ArchVars::from_values(&draw(), &draw(), &device).unwrap();
    let lr: f64 = std::env::var("XI")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.5);
    let h: f64 = std::env::var("H")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1e-7);
    let weight_decay = 3e-4;
    let objective = |arch: &ArchVars, lr: f64| {
        unrolled_objective(&Unrolled {
            net: &net,
            arch,
            train: &train,
            valid: &valid,
            lr,
            weight_decay,
        })
    };
    // The Hessian-vector product's step: DARTS' r = 0.01 crosses activation
    // switches of this tiny ReLU network (its error here is printed, not
    // checked); r = 1e-6 in f64 crosses none.
    let gradient = |r| {
        unrolled_gradient(
            &Unrolled {
                net: &net,
                arch: &arch,
                train: &train,
                valid: &valid,
                lr,
                weight_decay,
            },
            r,
        )
        .unwrap()
    };
    let (g, darts) = (gradient(1e-6), gradient(0.01));
    let mut worst: f64 = 0.0;
    let mut beyond_first_order = 0;
    for (kind, k) in [
        (CellKind::Normal, 3),
        (CellKind::Normal, 17),
        (CellKind::Normal, 50),
        (CellKind::Normal, 101),
        (CellKind::Reduce, 9),
        (CellKind::Reduce, 60),
    ] {
        let fd = |lr| {
            (objective(&nudged(&arch, kind, k, h, &device), lr)
                - objective(&nudged(&arch, kind, k, -h, &device), lr))
                / (2.0 * h)
        };
        let (second, first) = (fd(lr), fd(0.0));
        let of = |g: &edas_search::strategy::ArchGradient| {
            f64::from(match kind {
                CellKind::Normal => g.normal[k],
                CellKind::Reduce => g.reduce[k],
            })
        };
        let ours = of(&g);
        let err = (ours - second).abs() / second.abs().max(1e-3);
        eprintln!(
            "{kind} alpha[{k}]: unrolled {ours:+.6e}, central differences {second:+.6e} \
             (rel. err {err:.2e}); with r = 0.01 {:+.6e}; first-order objective {first:+.6e}",
            of(&darts)
        );
        worst = worst.max(err);
        beyond_first_order += usize::from((first - second).abs() > 0.1 * second.abs());
    }
    assert!(worst < 1e-4, "worst relative error {worst}");
    // The check has teeth: the unrolled objective's slope is not the
    // first-order one.
    assert!(beyond_first_order >= 4, "{beyond_first_order}");
    // Its loss is the loss of the unrolled weights, not of `w`.
    let logits = untracked(&net).forward(valid.0.clone(), &untracked(&arch).darts_weights(1.0));
    let at_w = burn::nn::loss::CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits, valid.1.clone())
        .into_scalar::<f64>();
    assert!((g.val_loss - objective(&arch, lr)).abs() < 1e-9);
    assert!((g.val_loss - at_w).abs() > 1e-6);
}
