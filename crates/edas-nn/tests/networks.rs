//! The networks: published parameter counts, mult-adds, shapes, and the
//! central property of the supernet (clamped everywhere, it is the derived
//! network).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::module::Module;
use burn::prelude::*;
use edas_genotype::published::{DARTS_V2, PDARTS};
use edas_nn::count;
use edas_nn::{Network, NetworkConfig, NetworkWeights, SearchNetwork, SearchNetworkConfig};

#[test]
fn darts_v2_parameter_counts_match_the_paper() {
    let device = Device::flex();
    let cifar = Network::cifar(&DARTS_V2, &NetworkConfig::darts_cifar(10), &device).unwrap();
    let c = count::network(&cifar, [3, 32, 32]);
    println!("DARTS_V2 CIFAR-10: {} parameters (+{} auxiliary), {} mult-adds", c.main.params, c.aux.params, c.main.mult_adds);
    // The walk agrees with burn's own count of every stored value.
    assert_eq!(c.main.params + c.aux.params + c.main.buffers + c.aux.buffers, cifar.num_params() as u64);
    // Published: 3.3M (DARTS, Table 1); DARTS' train.py logs
    // "param size = 3.349342MB" for this network.
    assert_eq!(c.main.params, 3_349_342);
    assert_eq!((c.main.params as f64 / 1e5).round() / 10.0, 3.3);
    assert_eq!(c.cell_shapes[19], [4 * 144, 8, 8]);
    assert_eq!(c.cell_shapes[6], [4 * 72, 16, 16]);
    assert!(c.reductions[6] && c.reductions[13] && !c.reductions[7]);

    let imagenet = Network::imagenet(&DARTS_V2, &NetworkConfig::darts_imagenet(1000), &device).unwrap();
    let c = count::network(&imagenet, [3, 224, 224]);
    println!("DARTS_V2 ImageNet: {} parameters (+{} auxiliary), {} mult-adds", c.main.params, c.aux.params, c.main.mult_adds);
    assert_eq!(c.main.params + c.aux.params + c.main.buffers + c.aux.buffers, imagenet.num_params() as u64);
    // Published: 4.7M (DARTS, Table 2); DARTS' train_imagenet.py logs
    // "param size = 4.718752MB".
    assert_eq!(c.main.params, 4_718_752);
    assert_eq!((c.main.params as f64 / 1e5).round() / 10.0, 4.7);
    // Mult-adds over convolutions and linear layers: about 530M, not the
    // paper's 574M (quark0/darts#46 reports 523M with another counter).
    assert_eq!(c.main.mult_adds, 529_911_552);
    assert_eq!(c.cell_shapes[13], [4 * 192, 7, 7]);
}
