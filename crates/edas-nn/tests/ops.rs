//! The ops: output shapes (odd sizes included), pooling at borders (and the
//! CPU's shifted-sum average pooling against burn's kernel), BatchNorm
//! affinity, per-op parameter counts and a finite-difference gradient check;
//! `FactorizedReduce` against its definition on every backend the build has
//! (`cargo xtask tch test` adds LibTorch, `EDAS_TEST_WGPU=1` wgpu).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use burn::prelude::*;
use edas_genotype::Primitive;
use edas_nn::count::{self, Costs};
use edas_nn::ops::{Bn, Op, OpMode};

fn input(device: &Device, shape: [usize; 4]) -> Tensor<4> {
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[test]
fn output_shapes_for_stride_1_and_2_and_odd_sizes() {
    let device = Device::flex();
    for size in [8usize, 7, 5] {
        let x = input(&device, [2, 4, size, size]);
        for p in Primitive::ALL {
            for (stride, mode) in [
                (1, OpMode::Search),
                (2, OpMode::Search),
                (1, OpMode::Eval),
                (2, OpMode::Eval),
            ] {
                let op = Op::new(p, 4, stride, mode, &device);
                let out = size.div_ceil(stride);
                assert_eq!(
                    op.forward(x.clone()).dims(),
                    [2, 4, out, out],
                    "{p} stride {stride} on {size}x{size}"
                );
                // The counting walk predicts the same shape.
                assert_eq!(
                    count::op(&op, [4, size, size], &mut Costs::default()),
                    [4, out, out]
                );
            }
        }
    }
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn average_pooling_does_not_count_padding() {
    let device = Device::flex();
    // One 3x3 channel with values 1..9.
    let x: Tensor<4> = Tensor::from_data(
        TensorData::new((1..=9).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 3, 3]),
        &device,
    );
    let op = Op::new(Primitive::AvgPool3x3, 1, 1, OpMode::Eval, &device);
    let y = values(op.forward(x.clone()));
    // Corner: mean of 1, 2, 4, 5 (the 4 in-image pixels), not their sum / 9.
    assert!((y[0] - 3.0).abs() < 1e-6, "{}", y[0]);
    // Edge centre: mean of 1, 2, 3, 4, 5, 6.
    assert!((y[1] - 3.5).abs() < 1e-6);
    // Centre: mean of all 9.
    assert!((y[4] - 5.0).abs() < 1e-6);
    let max = values(Op::new(Primitive::MaxPool3x3, 1, 1, OpMode::Eval, &device).forward(x));
    assert_eq!(max, vec![5.0, 6.0, 6.0, 8.0, 9.0, 9.0, 8.0, 9.0, 9.0]);
}

/// The shifted-sum average pooling that `avg_pool_3x3` uses on flex
/// (`edas_nn::pool`) equals burn's pooling kernel, values and input
/// gradients, on sizes 1, 2, odd and even; and it is what flex devices get.
#[test]
fn shifted_sum_average_pooling_equals_burns_kernel() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::pool::AvgPool2dConfig;
    use edas_nn::pool::{avg_pool_3x3_shifted, is_flex, is_libtorch};
    let device = Device::flex().autodiff();
    assert!(is_flex(&Device::flex()) && is_flex(&device));
    assert!(!is_libtorch(&Device::flex()) && !is_libtorch(&device));
    #[cfg(feature = "tch")]
    {
        let tch = Device::libtorch();
        assert!(is_libtorch(&tch) && is_libtorch(&tch.clone().autodiff()));
        assert!(!is_flex(&tch) && !is_flex(&tch.autodiff()));
    }
    let kernel = AvgPool2dConfig::new([3, 3])
        .with_strides([1, 1])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_count_include_pad(false)
        .init();
    for [h, w] in [[1, 1], [2, 5], [7, 7], [8, 6], [28, 28]] {
        let x = input(&device, [2, 3, h, w]);
        // A gradient that differs per output position.
        let g = input(&device, [2, 3, h, w]).flip([3]) * 0.5 + 0.25;
        let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
            let xi = x.clone().require_grad();
            let y = f(xi.clone());
            let grads = (y.clone() * g.clone()).sum().backward();
            (values(y), values(xi.grad(&grads).unwrap()))
        };
        let (y0, g0) = run(&|x| kernel.forward(x));
        let (y1, g1) = run(&|x| avg_pool_3x3_shifted(x));
        let close = |a: &[f32], b: &[f32]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(u, v)| (u - v).abs() <= 1e-6 * (1.0 + u.abs()))
        };
        assert!(close(&y0, &y1), "values differ at {h}x{w}");
        assert!(close(&g0, &g1), "gradients differ at {h}x{w}");
        // The op takes that path on flex: the same numbers bit for bit.
        let op = Op::new(Primitive::AvgPool3x3, 3, 1, OpMode::Eval, &device);
        assert_eq!(values(op.forward(x.clone())), y1);
    }
}

#[test]
fn non_affine_batchnorm_has_no_trainable_parameters() {
    let device = Device::flex();
    let mut acc = Costs::default();
    let search = Op::new(Primitive::MaxPool3x3, 16, 1, OpMode::Search, &device);
    count::op(&search, [16, 8, 8], &mut acc);
    assert_eq!(
        (acc.params, acc.buffers),
        (0, 32),
        "pooling + non-affine BN: running stats only"
    );
    let bn = Bn::new(16, false, &device);
    assert!(bn.gamma.is_none() && bn.beta.is_none());
    // burn stores only the 2 x 16 running statistics.
    assert_eq!(bn.num_params(), 32);
    let affine = Bn::new(16, true, &device);
    assert_eq!(affine.num_params(), 64);
    // In training, a non-affine BN output has zero mean and unit variance per channel.
    let ad = Device::flex().autodiff();
    let y = values(bn.forward(input(&ad, [4, 16, 5, 5]).mul_scalar(3.0).add_scalar(2.0)));
    let plane = 25;
    for c in [0usize, 7, 15] {
        let vals: Vec<f32> = (0..4)
            .flat_map(|n| y[(n * 16 + c) * plane..(n * 16 + c + 1) * plane].to_vec())
            .collect();
        let mean = vals.iter().sum::<f32>() / vals.len() as f32;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / vals.len() as f32;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "channel {c}: {mean} {var}"
        );
    }
}

#[test]
fn per_op_parameter_counts() {
    let device = Device::flex();
    let c = 16;
    // DARTS' definitions: depthwise k*k*C, pointwise C*C, affine BN 2C.
    let expected = [
        (Primitive::None, 1, 0),
        (Primitive::MaxPool3x3, 1, 0),
        (Primitive::AvgPool3x3, 2, 0),
        (Primitive::SkipConnect, 1, 0),
        (Primitive::SkipConnect, 2, 2 * (c * c / 2) + 2 * c),
        (Primitive::SepConv3x3, 1, 2 * (9 * c + c * c + 2 * c)),
        (Primitive::SepConv5x5, 2, 2 * (25 * c + c * c + 2 * c)),
        (Primitive::DilConv3x3, 1, 9 * c + c * c + 2 * c),
        (Primitive::DilConv5x5, 1, 25 * c + c * c + 2 * c),
    ];
    for (p, stride, params) in expected {
        let mut acc = Costs::default();
        count::op(
            &Op::new(p, c, stride, OpMode::Eval, &device),
            [c, 8, 8],
            &mut acc,
        );
        assert_eq!(acc.params, params as u64, "{p} stride {stride}");
        // Search mode drops exactly the affine BN parameters.
        let mut s = Costs::default();
        let op = Op::new(p, c, stride, OpMode::Search, &device);
        count::op(&op, [c, 8, 8], &mut s);
        let bns = match p {
            Primitive::SepConv3x3 | Primitive::SepConv5x5 => 2,
            Primitive::DilConv3x3 | Primitive::DilConv5x5 => 1,
            Primitive::SkipConnect if stride == 2 => 1,
            _ => 0,
        };
        assert_eq!(s.params, (params - bns * 2 * c) as u64, "{p} search");
        assert_eq!(
            op.num_params() as u64,
            s.params + s.buffers,
            "{p}: walk agrees with burn"
        );
    }
    // sep_conv_3x3 on 16 channels: 864 parameters.
    assert_eq!(2 * (9 * 16 + 16 * 16 + 2 * 16), 864);
}

/// d sum(op(x) * r) / dx against central differences, for a small dilated
/// convolution in training mode (batch statistics included).
#[test]
fn gradients_match_finite_differences() {
    let device = Device::flex().autodiff();
    let op = Op::new(Primitive::DilConv3x3, 2, 1, OpMode::Eval, &device);
    let shape = [2, 2, 5, 5];
    let base: Vec<f32> = input(&Device::flex(), shape)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let r: Tensor<4> = input(&device, shape).mul_scalar(0.7).add_scalar(0.1);
    let loss = |v: &[f32]| -> f64 {
        let x: Tensor<4> = Tensor::from_data(TensorData::new(v.to_vec(), shape), &device);
        let y = op.forward(x).mul(r.clone()).sum();
        f64::from(y.into_scalar::<f32>())
    };
    let x: Tensor<4> =
        Tensor::from_data(TensorData::new(base.clone(), shape), &device).require_grad();
    let y = op.forward(x.clone()).mul(r.clone()).sum();
    let grads = y.backward();
    let g: Vec<f32> = x
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let h = 1e-2f32;
    let mut worst = 0f64;
    for i in [0usize, 6, 12, 24, 31, 49, 77, 99] {
        let mut plus = base.clone();
        plus[i] += h;
        let mut minus = base.clone();
        minus[i] -= h;
        let fd = (loss(&plus) - loss(&minus)) / (2.0 * f64::from(h));
        let err = (fd - f64::from(g[i])).abs() / fd.abs().max(1.0);
        worst = worst.max(err);
        assert!(err < 2e-2, "element {i}: analytic {} vs numeric {fd}", g[i]);
    }
    println!("worst relative error {worst:.2e}");
}

/// A relaxed edge shares one ReLU among the ops that begin with one; its
/// output must still be exactly `sum_k w_k op_k(x)` over the 7 non-`none` ops,
/// at stride 1 and at stride 2 (where skip_connect is FactorizedReduce).
#[test]
fn relaxed_edge_is_the_weighted_sum_of_its_ops() {
    let device = Device::flex();
    let config = edas_nn::SearchNetworkConfig {
        channels: 4,
        layers: 3,
        ..edas_nn::SearchNetworkConfig::darts_cifar(10)
    };
    let net = edas_nn::SearchNetwork::new(&config, &device);
    let raw: Vec<f32> = (0..8).map(|k| 0.3 * k as f32 - 1.0).collect();
    let weights =
        burn::tensor::activation::softmax(Tensor::<1>::from_floats(raw.as_slice(), &device), 0);
    // Cell 0 is normal; cell 1 is a reduction cell. Edge 0 reads input 0.
    // Cell 1 (the first reduction cell) works on 2C channels.
    for (cell, stride, c) in [(0usize, 1usize, 4usize), (1, 2, 8)] {
        let edge = &net.cells[cell].edges[0];
        let x = input(&device, [2, c, 8, 8]);
        let relaxed = edge
            .forward(x.clone(), &edas_nn::EdgeWeighting::Relaxed(weights.clone()))
            .unwrap();
        let w: Vec<f32> = weights.clone().into_data().try_to_vec().unwrap();
        let manual = (1..8)
            .map(|k| edge.ops[k].forward(x.clone()).mul_scalar(w[k]))
            .reduce(|a, b| a.add(b))
            .unwrap();
        assert_eq!(relaxed.dims(), [2, c, 8 / stride, 8 / stride]);
        let diff: f32 = relaxed.sub(manual).abs().max().into_scalar();
        assert!(diff < 1e-5, "cell {cell}: max difference {diff}");
        let starts: Vec<bool> = edge.ops.iter().map(Op::starts_with_relu).collect();
        // none, max, avg, skip, sep3, sep5, dil3, dil5
        assert_eq!(
            starts,
            [false, false, false, stride == 2, true, true, true, true],
            "cell {cell}"
        );
    }
}

/// FactorizedReduce's two branches (strided views, then our 1x1 op) equal
/// its definition: burn's stride-2 1x1 convolutions of `x` and of `x`
/// shifted by one pixel and zero-padded, concatenated, then BatchNorm;
/// outputs and input and weight gradients, on even and odd sizes.
#[test]
fn factorized_reduce_equals_its_stride_two_convolutions() {
    for device in common::devices() {
        factorized_reduce_on(&device);
    }
}

fn factorized_reduce_on(device: &Device) {
    use burn::tensor::ops::PadMode;
    use edas_nn::ops::FactorizedReduce;
    let device = device.clone();
    for [n, c, h, w] in [[2, 3, 8, 8], [2, 3, 7, 5], [1, 3, 1, 1], [3, 3, 6, 9]] {
        let fr = FactorizedReduce::new(c, 4, true, &device);
        let run = |ours: bool| {
            let x = input(&device, [n, c, h, w]).require_grad();
            let y = if ours {
                fr.forward_activated(x.clone())
            } else {
                let shifted = x.clone().pad((0, 1, 0, 1), PadMode::Constant(0.0)).slice([
                    0..n,
                    0..c,
                    1..h + 1,
                    1..w + 1,
                ]);
                let out = Tensor::cat(
                    vec![fr.conv1.forward(x.clone()), fr.conv2.forward(shifted)],
                    1,
                );
                fr.bn.forward(out)
            };
            let probe = input(&device, y.dims()).mul_scalar(0.5).add_scalar(0.25);
            let grads = (y.clone() * probe).sum().backward();
            let host = |t: Tensor<4>| -> Vec<f32> { t.into_data().try_to_vec::<f32>().unwrap() };
            (
                y.dims(),
                host(y),
                host(x.grad(&grads).unwrap()),
                host(fr.conv2.weight.val().grad(&grads).unwrap()),
            )
        };
        let (ours, want) = (run(true), run(false));
        assert_eq!(ours.0, [n, 4, h.div_ceil(2), w.div_ceil(2)]);
        assert_eq!(ours.0, want.0);
        for (what, a, b) in [
            ("output", &ours.1, &want.1),
            ("x gradient", &ours.2, &want.2),
            ("conv2 gradient", &ours.3, &want.3),
        ] {
            for (p, q) in a.iter().zip(b.iter()) {
                assert!(
                    (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                    "{device:?} {:?} {what}: {p} vs {q}",
                    [n, c, h, w]
                );
            }
        }
    }
}
