//! What the EDAS weight step's peak memory is made of: the peak of one
//! forward and backward pass, over the memory before it, for the derived
//! network, the supernet clamped to the same cells (ordinary backward and
//! `backward_recomputing`), and the recomputing pass with one relaxed edge
//! per cell kind.
//!
//! ```text
//! MALLOC_MMAP_THRESHOLD_=65536 cargo run --release -p edas-nn --example peak [L]
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use burn::optim::GradientsParams;
use burn::prelude::*;
use common::{reset_peak, status};
use edas_genotype::CellKind;
use edas_genotype::published::DARTS_V2;
use edas_nn::loss::cross_entropy;
use edas_nn::{EdgeWeighting, Network, NetworkWeights, SearchNetwork, SearchNetworkConfig};

/// `key` of `/proc/self/status` in MiB.
fn mib(key: &str) -> f64 {
    status(key) as f64 / (1024.0 * 1024.0)
}

fn measure(label: &str, f: impl FnOnce()) {
    let base = mib("VmRSS");
    reset_peak();
    f();
    println!(
        "{label:>40}: peak {:7.1} MiB over {:6.1}",
        mib("VmHWM") - base,
        base
    );
}

fn main() {
    let layers = std::env::args()
        .nth(1)
        .map_or(8, |a| a.parse::<usize>().unwrap());
    let device = Device::flex().autodiff();
    let config = SearchNetworkConfig {
        layers,
        ..SearchNetworkConfig::darts_cifar(10)
    };
    let batch = 32;
    let x: Tensor<4> = Tensor::random(
        [batch, 3, 32, 32],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let search = SearchNetwork::new(&config, &device);
    let derived = Network::from_search(&search, &DARTS_V2).unwrap();
    let clamped = NetworkWeights::clamped(&DARTS_V2);
    // Two warm-up passes so that lazily made buffers exist.
    for _ in 0..2 {
        let loss = cross_entropy(derived.forward(x.clone(), 0.0, false).logits, y.clone());
        drop(GradientsParams::from_grads(loss.backward(), &derived));
    }
    measure("derived network", || {
        let loss = cross_entropy(derived.forward(x.clone(), 0.0, false).logits, y.clone());
        drop(GradientsParams::from_grads(loss.backward(), &derived));
    });
    measure("supernet clamped, ordinary backward", || {
        let loss = cross_entropy(search.forward(x.clone(), &clamped), y.clone());
        drop(GradientsParams::from_grads(loss.backward(), &search));
    });
    measure("supernet clamped, recomputing", || {
        drop(
            search.backward_recomputing(x.clone(), &clamped, None, |l| cross_entropy(l, y.clone())),
        );
    });
    for (kind, edge) in [
        (CellKind::Normal, 0),
        (CellKind::Normal, 3),
        (CellKind::Reduce, 1),
    ] {
        let mut weights = clamped.clone();
        let w: Tensor<1> = Tensor::full([8], 0.125, &device);
        weights.cell_mut(kind)[edge] = EdgeWeighting::Relaxed(w);
        measure(
            &format!("relaxed {kind:?} edge {edge}, recomputing"),
            || {
                drop(search.backward_recomputing(x.clone(), &weights, None, |l| {
                    cross_entropy(l, y.clone())
                }));
            },
        );
    }
}
