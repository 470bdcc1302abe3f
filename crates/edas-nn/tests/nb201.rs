//! The NAS-Bench-201 network: the benchmark's published parameter and FLOP
//! counts, shapes, and a training step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use burn::module::Module;
use burn::prelude::*;
use edas_genotype::Nb201Cell;
use edas_nn::count;
use edas_nn::nb201::{Nb201Edge, Nb201Layer};
use edas_nn::{Nb201Config, Nb201Network};

/// Every edge `skip_connect`: no parameter in the cells, so the smallest
/// network of the space (as are all cells without convolutions).
const NO_CONV: &str = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|";
/// Every edge `nor_conv_3x3`: the largest network of the space.
const ALL_CONV3: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
/// Two `nor_conv_3x3` edges: the residual cell, `x + conv(conv(x))` (the
/// ResNet of the NAS-Bench-201 paper).
const TWO_CONV3: &str =
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|";

/// `(params, flop)` in millions as the benchmark stores them (6 decimals
/// for params, 5 for flop).
fn benchmark_costs(arch: &str, classes: usize, image: usize) -> (f64, f64) {
    let cell = Nb201Cell::parse(arch).unwrap();
    let config = Nb201Config::benchmark(classes, image);
    let net = Nb201Network::new(&cell, &config, &Device::flex()).unwrap();
    let costs = count::nb201_network(&net, [3, image, image]);
    // The walk agrees with burn's count of every stored value.
    assert_eq!(
        costs.main.params + costs.main.buffers,
        net.num_params() as u64,
        "{arch}"
    );
    let flops = count::nb201_benchmark_flops(&net, &costs);
    let round = |v: f64, digits: i32| (v * 10f64.powi(digits)).round() / 10f64.powi(digits);
    (
        round(costs.main.params as f64 / 1e6, 6),
        round(flops as f64 / 1e6, 5),
    )
}

#[test]
fn parameter_and_flop_counts_equal_the_benchmarks() {
    // NAS-Bench-201-v1_1-096897, the `params` and `flop` fields of its
    // 15,625 cells (in millions): the smallest and largest over the space
    // for each data set, as HPOBench's JSON conversion of the benchmark
    // file lists them and EvoXBench's NAS-Bench-201 bounds repeat them
    // (cifar10-valid: params 0.073306..1.531546, flop 7.78305..220.11969;
    // cifar100: 0.079156..1.537396, 7.7889..220.12554; ImageNet16-120:
    // 0.080456..1.538696, 1.9534..55.03756); and one cost-info record
    // quoted in OpenMMLab's NAS-Bench-201 evaluator (params 0.559386, flops
    // 78.56193), which is a CIFAR-10 cell with two `nor_conv_3x3` edges.
    assert_eq!(benchmark_costs(NO_CONV, 10, 32), (0.073306, 7.78305));
    assert_eq!(benchmark_costs(ALL_CONV3, 10, 32), (1.531546, 220.11969));
    assert_eq!(benchmark_costs(NO_CONV, 100, 32), (0.079156, 7.7889));
    assert_eq!(benchmark_costs(ALL_CONV3, 100, 32), (1.537396, 220.12554));
    assert_eq!(benchmark_costs(NO_CONV, 120, 16), (0.080456, 1.9534));
    assert_eq!(benchmark_costs(ALL_CONV3, 120, 16), (1.538696, 55.03756));
    assert_eq!(benchmark_costs(TWO_CONV3, 10, 32), (0.559386, 78.56193));
    // Over the whole space the extremes are these two cells: a cell's cost
    // grows with its convolutions only (1x1 ones cost less than 3x3).
    let net = |arch: &str| {
        let cell = Nb201Cell::parse(arch).unwrap();
        Nb201Network::new(&cell, &Nb201Config::benchmark(10, 32), &Device::flex()).unwrap()
    };
    let one_by_one = count::nb201_network(
        &net(
            "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
        ),
        [3, 32, 32],
    );
    // 6 edges x 5 cells x (C^2 + 2C) at C = 16, 32, 64 on top of the
    // smallest network.
    let per_edge: u64 = [16u64, 32, 64].iter().map(|c| c * c + 2 * c).sum();
    assert_eq!(one_by_one.main.params, 73_306 + 30 * per_edge);
}

#[test]
fn shapes_through_the_stages_and_refused_sizes() {
    let device = Device::flex();
    let cell = Nb201Cell::parse(ALL_CONV3).unwrap();
    let config = Nb201Config {
        in_channels: 1,
        image_size: 28,
        classes: 10,
        channels: 8,
        cells_per_stage: 1,
    };
    let net = Nb201Network::new(&cell, &config, &device).unwrap();
    let costs = count::nb201_network(&net, [1, 28, 28]);
    assert_eq!(
        costs.cell_shapes,
        [
            [8, 28, 28],
            [16, 14, 14],
            [16, 14, 14],
            [32, 7, 7],
            [32, 7, 7]
        ]
    );
    assert_eq!(costs.reductions, [false, true, false, true, false]);
    let x = Tensor::<4>::ones([2, 1, 28, 28], &device);
    assert_eq!(net.forward(x).dims(), [2, 10]);

    for (image_size, expect) in [(30, "multiple of 4"), (0, "multiple of 4")] {
        let e = Nb201Network::new(
            &cell,
            &Nb201Config {
                image_size,
                ..config.clone()
            },
            &device,
        )
        .unwrap_err();
        assert!(e.to_string().contains(expect), "{e}");
    }
    let e = Nb201Network::new(
        &cell,
        &Nb201Config {
            channels: 0,
            ..config
        },
        &device,
    )
    .unwrap_err();
    assert!(e.to_string().contains("above 0"), "{e}");
}

#[test]
fn a_cell_without_a_path_outputs_zeros_and_every_convolution_gets_a_gradient() {
    let device = Device::flex().autodiff();
    let config = Nb201Config {
        in_channels: 3,
        image_size: 8,
        classes: 3,
        channels: 4,
        cells_per_stage: 1,
    };
    // Every edge into node 3 is `none`: the cell outputs zeros, whatever
    // the rest computes.
    let dead =
        Nb201Cell::parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|")
            .unwrap();
    assert!(!dead.is_connected());
    let net = Nb201Network::new(&dead, &config, &device).unwrap();
    let Nb201Layer::Cell(cell) = &net.layers[0] else {
        panic!("the first layer is a cell");
    };
    let out = cell.forward(Tensor::<4>::ones([2, 4, 8, 8], &device));
    assert_eq!(out.dims(), [2, 4, 8, 8]);
    assert_eq!(out.abs().sum().into_scalar::<f32>(), 0.0);

    // A connected cell: the loss is finite and every convolution of every
    // cell and block gets a non-zero weight gradient.
    let x = Tensor::<4>::from_floats(
        burn::tensor::TensorData::new(
            (0..2 * 3 * 8 * 8)
                .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
                .collect::<Vec<f32>>(),
            [2, 3, 8, 8],
        ),
        &device,
    );
    let cell = Nb201Cell::parse(TWO_CONV3).unwrap();
    let net = Nb201Network::new(&cell, &config, &device).unwrap();
    let labels = Tensor::<1, Int>::from_ints([0, 2], &device);
    let loss = edas_nn::loss::cross_entropy(net.forward(x), labels);
    assert!(loss.clone().into_scalar::<f32>().is_finite());
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &net);
    let mut convs = 0;
    for layer in &net.layers {
        let weights: Vec<burn::module::ParamId> = match layer {
            Nb201Layer::Cell(c) => c
                .edges
                .iter()
                .filter_map(|e| match e {
                    Nb201Edge::Conv(r) => Some(r.conv.weight.id),
                    _ => None,
                })
                .collect(),
            Nb201Layer::Res(b) => vec![
                b.conv_a.conv.weight.id,
                b.conv_b.conv.weight.id,
                b.shortcut.weight.id,
            ],
        };
        for id in weights {
            let g: Tensor<4> = grads.get(id).expect("a weight gradient");
            assert!(g.abs().sum().into_scalar::<f32>() > 0.0);
            convs += 1;
        }
    }
    // 2 convolutions in each of 3 cells, 3 in each of 2 blocks.
    assert_eq!(convs, 12);
}
