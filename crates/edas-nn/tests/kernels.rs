//! Our kernels (`edas_nn::kernels`) against burn's generic ops on the same
//! backend: outputs and gradients within 1e-4 of the largest reference value,
//! on awkward shapes (batch 1, one channel, odd sizes, stride 2, dilation 2,
//! asymmetric padding; the depthwise convolution also after a fused ReLU),
//! with inputs that do and do not require a gradient;
//! gradients against central differences of the op's definition in `f64`;
//! the same bits on 1 and 2 threads.
//!
//! Each test runs on `flex` and, when the crate is built with `tch` (`cargo
//! xtask tch test`), on LibTorch's CPU too (its CUDA with
//! `EDAS_TCH_DEVICE=cuda`); with `wgpu` and `EDAS_TEST_WGPU=1`, on CubeCL's
//! wgpu backend as well (`EDAS_TEST_WGPU=1 cargo xtask tch test`; on a
//! machine without a GPU, Mesa's OpenGL llvmpipe with
//! `VK_ICD_FILENAMES=/nonexistent.json`, `docs/gpu.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::tensor::module::{batch_norm_train, conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use common::devices;
use edas_nn::kernels::{
    backward_seeded, batch_norm_stats, depthwise_conv2d, max_pool, pointwise_conv2d,
    relu_depthwise_conv2d, scale_examples,
};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    (0..n as u64)
        .map(|i| {
            let u = edas_rng::splitmix64(seed ^ edas_rng::splitmix64(i)) >> 40;
            (u as f32) / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed), shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    edas_nn::to_host(t).expect("f32 values")
}

/// Asserts `got` equals `want` within `tol` of `want`'s largest magnitude.
fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let err = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= tol * scale,
        "{what}: max difference {err} against a largest value of {scale}"
    );
}

/// Output and the gradients of `sum(f(x, w) * probe)` for `x` and `w`
/// (each only when it requires a gradient).
struct Run {
    out: Vec<f32>,
    gx: Option<Vec<f32>>,
    gw: Option<Vec<f32>>,
}

fn run<const DW: usize>(
    f: &dyn Fn(Tensor<4>, Tensor<DW>) -> Tensor<4>,
    x: &Tensor<4>,
    w: &Tensor<DW>,
    want_x: bool,
    want_w: bool,
    seed: u64,
) -> Run {
    let x = if want_x {
        x.clone().require_grad()
    } else {
        x.clone()
    };
    let w = if want_w {
        w.clone().require_grad()
    } else {
        w.clone()
    };
    let y = f(x.clone(), w.clone());
    let probe = tensor(y.dims(), seed, &y.device());
    let out = host(y.clone());
    if !want_x && !want_w {
        return Run {
            out,
            gx: None,
            gw: None,
        };
    }
    let grads = (y * probe).sum().backward();
    Run {
        out,
        gx: want_x.then(|| host(x.grad(&grads).expect("x gradient"))),
        gw: want_w.then(|| host(w.grad(&grads).expect("w gradient"))),
    }
}

/// Runs `ours` and `burns` alike (`w` untracked) and asserts the same
/// output and input gradient, to the bit.
#[allow(clippy::too_many_arguments)]
fn assert_same_bits<const DW: usize>(
    ours: &dyn Fn(Tensor<4>, Tensor<DW>) -> Tensor<4>,
    burns: &dyn Fn(Tensor<4>, Tensor<DW>) -> Tensor<4>,
    x: &Tensor<4>,
    w: &Tensor<DW>,
    want_x: bool,
    seed: u64,
    what: &str,
) {
    let a = run(ours, x, w, want_x, false, seed);
    let b = run(burns, x, w, want_x, false, seed);
    assert_eq!(a.out, b.out, "{what}: output");
    assert_eq!(a.gx, b.gx, "{what}: gradient");
}

fn compare(ours: &Run, burns: &Run, what: &str) {
    assert_close(&ours.out, &burns.out, 1e-4, &format!("{what}: output"));
    match (&ours.gx, &burns.gx) {
        (Some(a), Some(b)) => assert_close(a, b, 1e-4, &format!("{what}: x gradient")),
        (None, None) => {}
        _ => panic!("{what}: x gradient present in one run only"),
    }
    match (&ours.gw, &burns.gw) {
        (Some(a), Some(b)) => assert_close(a, b, 1e-4, &format!("{what}: weight gradient")),
        (None, None) => {}
        _ => panic!("{what}: weight gradient present in one run only"),
    }
}

/// [`compare`] with `x` and `w` each requiring a gradient or not (all four
/// combinations).
fn compare_every_gradient(
    ours: &dyn Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
    burns: &dyn Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
    x: &Tensor<4>,
    w: &Tensor<4>,
    seed: u64,
    what: &str,
) {
    for (want_x, want_w) in [(true, true), (true, false), (false, true), (false, false)] {
        compare(
            &run(ours, x, w, want_x, want_w, seed),
            &run(burns, x, w, want_x, want_w, seed),
            &format!("{what}, grads {want_x}/{want_w}"),
        );
    }
}

/// `f()` on a rayon pool of `threads` threads.
fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(f)
}

/// (input shape, kernel, stride, (begin, end) padding, dilation).
type DwCase = (
    [usize; 4],
    [usize; 2],
    [usize; 2],
    [(usize, usize); 2],
    [usize; 2],
);

const DW_CASES: [DwCase; 7] = [
    ([1, 1, 1, 1], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
    ([1, 3, 7, 5], [3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1]),
    ([2, 4, 9, 6], [5, 5], [1, 1], [(4, 4), (4, 4)], [2, 2]),
    ([3, 2, 8, 8], [3, 3], [2, 2], [(2, 2), (2, 2)], [2, 2]),
    ([2, 5, 6, 7], [5, 5], [1, 1], [(2, 2), (2, 2)], [1, 1]),
    ([2, 3, 11, 9], [5, 5], [2, 2], [(4, 4), (4, 4)], [2, 2]),
    ([1, 2, 6, 11], [3, 5], [2, 1], [(0, 2), (3, 1)], [1, 2]),
];

#[test]
fn depthwise_convolution_equals_burns() {
    for device in devices() {
        depthwise_convolution_on(&device);
    }
}

fn depthwise_convolution_on(device: &Device) {
    let device = device.clone();
    for (i, (dims, k, s, p, d)) in DW_CASES.into_iter().enumerate() {
        let options = ConvOptions::new_with_padding(s, p, d, dims[1]);
        let x = tensor(dims, 10 + i as u64, &device);
        let w = tensor([dims[1], 1, k[0], k[1]], 20 + i as u64, &device);
        let ours = |x, w| depthwise_conv2d(x, w, options.clone());
        let burns = |x, w| conv2d(x, w, None, options.clone());
        // The ReLU fused into the convolution, against burn's ReLU then
        // convolution (half the inputs are negative).
        let ours_relu = |x, w| relu_depthwise_conv2d(x, w, options.clone());
        let burns_relu = |x, w| conv2d(relu(x), w, None, options.clone());
        let what = format!("{device:?} {dims:?} k{k:?} s{s:?} p{p:?} d{d:?}");
        compare_every_gradient(&ours, &burns, &x, &w, 99, &what);
        compare_every_gradient(
            &ours_relu,
            &burns_relu,
            &x,
            &w,
            99,
            &format!("{what}, after a ReLU"),
        );
    }
}

/// A NaN input passes the fused ReLU as it passes burn's (and PyTorch's)
/// ReLU: the outputs and gradients it reaches are NaN in the same places,
/// and its gradient passes the ReLU. (The fused ReLU once took `max(v, 0)`,
/// which maps NaN to 0.)
#[test]
fn fused_relu_passes_nan_as_burns() {
    for device in devices() {
        for (i, (dims, k, s, p, d)) in DW_CASES.into_iter().enumerate() {
            let options = ConvOptions::new_with_padding(s, p, d, dims[1]);
            let n: usize = dims.iter().product();
            let mut xs = values(n, 40 + i as u64);
            for v in xs.iter_mut().step_by(7) {
                *v = f32::NAN;
            }
            let x = Tensor::<4>::from_data(TensorData::new(xs, dims), &device);
            let w = tensor([dims[1], 1, k[0], k[1]], 50 + i as u64, &device);
            let ours = |x, w| relu_depthwise_conv2d(x, w, options.clone());
            let burns = |x, w| conv2d(relu(x), w, None, options.clone());
            let a = run(&ours, &x, &w, true, true, 60);
            let b = run(&burns, &x, &w, true, true, 60);
            let what = format!("{device:?} {dims:?} k{k:?} s{s:?} p{p:?} d{d:?}, NaN inputs");
            assert!(b.out.iter().any(|v| v.is_nan()), "{what}: no NaN reached");
            assert_close_with_nans(&a.out, &b.out, true, &format!("{what}: output"));
            let (gx, want_gx) = (a.gx.unwrap(), b.gx.unwrap());
            assert_close_with_nans(&gx, &want_gx, true, &format!("{what}: x gradient"));
            // The weight gradient: NaN wherever burn's is. flex's stride-1
            // kernel may spread a NaN further: it takes each tap's sum over
            // the padded rows, where `0 * NaN` is NaN.
            let (gw, want_gw) = (a.gw.unwrap(), b.gw.unwrap());
            assert_close_with_nans(&gw, &want_gw, false, &format!("{what}: w gradient"));
        }
    }
}

/// NaN wherever `want` has one (and nowhere else when `exact`), and the
/// values finite in both within 1e-4 of `want`'s largest finite one.
fn assert_close_with_nans(got: &[f32], want: &[f32], exact: bool, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(!b.is_nan() || a.is_nan(), "{what}: [{i}] is {a}, not NaN");
        assert!(
            !exact || b.is_nan() || !a.is_nan(),
            "{what}: [{i}] is NaN, not {b}"
        );
    }
    let (got, want): (Vec<f32>, Vec<f32>) = got
        .iter()
        .zip(want)
        .filter(|(a, b)| !a.is_nan() && !b.is_nan())
        .unzip();
    assert_close(&got, &want, 1e-4, what);
}

/// (input shape, output channels) of a 1x1 convolution: one value, one
/// channel, odd sizes, more outputs than inputs and fewer, one large
/// enough for flex's GEMM to split across threads, and two with more
/// channels than pixels and a batch of whole chunks (flex's weight
/// gradient then takes one product per chunk of the batch).
const PW_CASES: [([usize; 4], usize); 8] = [
    ([1, 1, 1, 1], 1),
    ([1, 3, 7, 5], 4),
    ([2, 4, 9, 6], 7),
    ([3, 16, 8, 8], 32),
    ([2, 24, 5, 3], 8),
    ([2, 96, 30, 30], 96),
    ([8, 40, 2, 3], 24),
    ([32, 144, 8, 8], 160),
];

#[test]
fn pointwise_convolution_equals_burns() {
    for device in devices() {
        pointwise_convolution_on(&device);
    }
}

fn pointwise_convolution_on(device: &Device) {
    let device = device.clone();
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    for (i, (dims, c_out)) in PW_CASES.into_iter().enumerate() {
        let x = tensor(dims, 110 + i as u64, &device);
        let w = tensor([c_out, dims[1], 1, 1], 120 + i as u64, &device);
        let burns = |x, w| conv2d(x, w, None, options.clone());
        let what = format!("{device:?} {dims:?} to {c_out} channels");
        compare_every_gradient(&pointwise_conv2d, &burns, &x, &w, 98, &what);
    }
}

/// `sum(depthwise(x, w) * probe)` by the definition, in f64.
fn depthwise_loss_f64(x: &[f64], w: &[f64], probe: &[f64], case: &DwCase) -> f64 {
    let ([n, c, h, wd], [kh, kw], [sh, sw], [(ph, _), (pw, _)], [dh, dw]) = *case;
    let oh = probe.len() / (n * c) / out_w(case);
    let ow = out_w(case);
    let mut loss = 0.0;
    for p in 0..n * c {
        let ch = p % c;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut s = 0.0;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let iy = (oy * sh + ky * dh) as isize - ph as isize;
                        let ix = (ox * sw + kx * dw) as isize - pw as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                            s += w[ch * kh * kw + ky * kw + kx]
                                * x[p * h * wd + iy as usize * wd + ix as usize];
                        }
                    }
                }
                loss += s * probe[p * oh * ow + oy * ow + ox];
            }
        }
    }
    loss
}

fn out_w(case: &DwCase) -> usize {
    let ([_, _, _, w], [_, kw], [_, sw], [_, (p0, p1)], [_, dw]) = *case;
    (w + p0 + p1 - dw * (kw - 1) - 1) / sw + 1
}

#[test]
fn depthwise_gradients_equal_central_differences() {
    for device in devices() {
        central_differences_on(&device);
    }
}

fn central_differences_on(device: &Device) {
    let case = DW_CASES[5];
    let (dims, k, s, p, d) = case;
    let device = device.clone();
    let options = ConvOptions::new_with_padding(s, p, d, dims[1]);
    let x = tensor(dims, 3, &device).require_grad();
    let w = tensor([dims[1], 1, k[0], k[1]], 4, &device).require_grad();
    let y = depthwise_conv2d(x.clone(), w.clone(), options);
    let probe = tensor(y.dims(), 5, &device);
    let grads = (y * probe.clone()).sum().backward();
    let gx = host(x.grad(&grads).expect("x gradient"));
    let gw = host(w.grad(&grads).expect("w gradient"));

    let f64s = |t: &Tensor<4>| {
        host(t.clone())
            .into_iter()
            .map(f64::from)
            .collect::<Vec<_>>()
    };
    let (xs, ws, ps) = (f64s(&x), f64s(&w), f64s(&probe));
    let eps = 1e-4;
    let central = |which: usize, i: usize| {
        let (mut a, mut b) = ((xs.clone(), ws.clone()), (xs.clone(), ws.clone()));
        if which == 0 {
            a.0[i] += eps;
            b.0[i] -= eps;
        } else {
            a.1[i] += eps;
            b.1[i] -= eps;
        }
        (depthwise_loss_f64(&a.0, &a.1, &ps, &case) - depthwise_loss_f64(&b.0, &b.1, &ps, &case))
            / (2.0 * eps)
    };
    for i in (0..xs.len()).step_by(37) {
        let fd = central(0, i);
        assert!(
            (fd - f64::from(gx[i])).abs() < 1e-4,
            "x[{i}]: {fd} vs {}",
            gx[i]
        );
    }
    for (i, &g) in gw.iter().enumerate() {
        let fd = central(1, i);
        assert!((fd - f64::from(g)).abs() < 1e-3, "w[{i}]: {fd} vs {g}");
    }
    assert!(
        gw.iter().any(|v| v.abs() > 0.1),
        "the weight gradient is not trivial"
    );
}

const BN_SHAPES: [[usize; 4]; 5] = [
    [1, 1, 2, 3],
    [2, 3, 5, 7],
    [1, 4, 1, 1],
    [4, 16, 8, 8],
    [3, 2, 9, 1],
];

#[test]
fn batch_norm_equals_burns() {
    for device in devices() {
        batch_norm_on(&device);
    }
}

fn batch_norm_on(device: &Device) {
    let device = device.clone();
    for (i, dims) in BN_SHAPES.into_iter().enumerate() {
        // Offset and scaled inputs: statistics far from 0 and 1.
        let x = tensor(dims, 30 + i as u64, &device)
            .mul_scalar(3.0)
            .add_scalar(2.0);
        let c = dims[1];
        let gamma = tensor([c], 40 + i as u64, &device).add_scalar(1.5);
        let beta = tensor([c], 50 + i as u64, &device);
        for (want_x, want_g) in [(true, true), (true, false), (false, true), (false, false)] {
            let what = format!("{device:?} {dims:?} grads {want_x}/{want_g}");
            let beta = if want_g {
                beta.clone().require_grad()
            } else {
                beta.clone()
            };
            let ours = |x, g| batch_norm_stats(x, g, beta.clone(), 1e-5).0;
            let burns = |x, g| batch_norm_train(x, g, beta.clone(), 1e-5).output;
            let a = run(&ours, &x, &gamma, want_x, want_g, 98);
            let b = run(&burns, &x, &gamma, want_x, want_g, 98);
            compare(&a, &b, &what);
        }
        let (_, mean, var) = batch_norm_stats(x.clone(), gamma.clone(), beta.clone(), 1e-5);
        let reference = batch_norm_train(x, gamma, beta, 1e-5);
        assert_close(&host(mean), &host(reference.mean), 1e-5, "mean");
        assert_close(&host(var), &host(reference.variance), 1e-5, "variance");
    }
}

#[test]
fn batch_norm_shift_gradient_equals_burns() {
    for device in devices() {
        batch_norm_shift_on(&device);
    }
}

fn batch_norm_shift_on(device: &Device) {
    let device = device.clone();
    let dims = [2, 3, 4, 5];
    let x = tensor(dims, 1, &device);
    let gamma = tensor([3], 2, &device);
    let beta = tensor([3], 3, &device);
    let ours = |x, b| batch_norm_stats(x, gamma.clone(), b, 1e-5).0;
    let burns = |x, b| batch_norm_train(x, gamma.clone(), b, 1e-5).output;
    compare(
        &run(&ours, &x, &beta, false, true, 7),
        &run(&burns, &x, &beta, false, true, 7),
        "beta gradient",
    );
}

#[test]
fn relu_equals_burns() {
    for device in devices() {
        // Exact zeros (burn and ATen send them no gradient) among values of
        // both signs.
        let x = tensor([2, 3, 5, 4], 21, &device)
            .mul_scalar(4.0)
            .round()
            .div_scalar(4.0);
        let zeros = host(x.clone()).iter().filter(|&&v| v == 0.0).count();
        assert!(zeros > 0, "the input has exact zeros");
        let ours = |x: Tensor<4>, _: Tensor<1>| edas_nn::kernels::relu(x);
        let burns = |x: Tensor<4>, _: Tensor<1>| relu(x);
        let unused = tensor([1], 22, &device);
        let what = format!("{device:?}: relu");
        assert_same_bits(&ours, &burns, &x, &unused, true, 23, &what);
    }
}

/// Drop-path's per-example scaling equals burn's broadcast product, to the
/// bit, with its gradient; on a fresh input (scaled over its own buffer)
/// and on one the caller keeps, small and above one parallel chunk.
#[test]
fn scaling_examples_equals_burns_product() {
    for device in devices() {
        for dims in [[3, 2, 5, 4], [5, 16, 32, 32]] {
            let n = dims[0];
            let x = tensor(dims, 31, &device);
            let scales: Vec<f32> = (0..n).map(|i| [0.0, 1.25, -2.0][i % 3]).collect();
            let scales = Tensor::<1>::from_data(TensorData::new(scales, [n]), &device);
            let ours = |x: Tensor<4>, s: Tensor<1>| scale_examples(x, s);
            let burns = |x: Tensor<4>, s: Tensor<1>| x.mul(s.reshape([n, 1, 1, 1]));
            let ours_fresh = |x: Tensor<4>, s: Tensor<1>| scale_examples(x.add_scalar(0.5), s);
            let burns_fresh =
                |x: Tensor<4>, s: Tensor<1>| x.add_scalar(0.5).mul(s.reshape([n, 1, 1, 1]));
            for (a, b) in [
                (&ours as &dyn Fn(_, _) -> _, &burns as &dyn Fn(_, _) -> _),
                (&ours_fresh, &burns_fresh),
            ] {
                for want_x in [true, false] {
                    let what = format!("{device:?} {dims:?}: scaled");
                    assert_same_bits(a, b, &x, &scales, want_x, 32, &what);
                }
            }
        }
    }
}

/// A backward pass seeded with a known output gradient equals the backward
/// of `sum(out * grad)`, to the bit: the gradients of a leaf under a graph
/// (a product with a tracked weight, a ReLU, a sum over channels), of the
/// weight, and none for an untracked input.
#[test]
fn seeded_backward_equals_a_weighted_sum() {
    for device in devices() {
        let x = tensor([3, 4, 5, 2], 41, &device).require_grad();
        let w = tensor([1, 4, 1, 1], 42, &device).require_grad();
        let constant = tensor([3, 4, 5, 2], 43, &device);
        let out = |x: &Tensor<4>, w: &Tensor<4>| {
            let y = relu(x.clone().mul(w.clone())).add(constant.clone());
            y.clone().add(y.sum_dim(1))
        };
        let grad = tensor([3, 4, 5, 2], 44, &device);
        let mut want = out(&x, &w).mul(grad.clone()).sum().backward();
        let mut got = backward_seeded(out(&x, &w), grad.clone());
        let what = format!("{device:?}: seeded backward");
        for (t, name) in [(&x, "x"), (&w, "w")] {
            let a = host(t.grad_remove(&mut got).expect("a gradient"));
            let b = host(t.grad_remove(&mut want).expect("a gradient"));
            assert!(a.iter().any(|v| *v != 0.0), "{what}: {name} has a gradient");
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{what}: {name}"
            );
        }
        assert!(constant.grad_remove(&mut got).is_none(), "{what}: constant");
    }
}

#[test]
fn max_pooling_equals_burns_with_ties() {
    for device in devices() {
        max_pooling_on(&device);
    }
}

fn max_pooling_on(device: &Device) {
    let device = device.clone();
    for (i, (dims, k, s, p)) in [
        ([1, 1, 1, 1], [3, 3], [1, 1], [1, 1]),
        ([2, 3, 7, 5], [3, 3], [1, 1], [1, 1]),
        ([2, 3, 7, 5], [3, 3], [2, 2], [1, 1]),
        ([1, 2, 8, 8], [3, 3], [2, 2], [1, 1]),
        ([3, 1, 6, 9], [2, 3], [1, 2], [0, 1]),
    ]
    .into_iter()
    .enumerate()
    {
        // Values on a coarse grid, so that windows hold ties.
        let x = tensor(dims, 60 + i as u64, &device).mul_scalar(2.0).round();
        let ours = |x, _w: Tensor<1>| max_pool(x, k, s, p);
        let burns =
            |x, _w: Tensor<1>| max_pool2d(x, MaxPoolOptions::new(k).with_stride(s).with_padding(p));
        let unused = Tensor::<1>::zeros([1], &device);
        for want_x in [true, false] {
            // Same maxima and the same element of each window: equal bits.
            let what = format!("{device:?} {dims:?} k{k:?} s{s:?}");
            assert_same_bits(&ours, &burns, &x, &unused, want_x, 97, &what);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let chain = || {
        let device = Device::flex().autodiff();
        let (dims, k, s, p, d) = DW_CASES[2];
        let options = ConvOptions::new_with_padding(s, p, d, dims[1]);
        let x = tensor([8, 4, 9, 6], 1, &device);
        let w = tensor([dims[1], 1, k[0], k[1]], 2, &device);
        let gamma = tensor([4], 3, &device);
        let f = |x: Tensor<4>, w: Tensor<4>| {
            let y = depthwise_conv2d(x, w.clone(), options.clone());
            let y = relu_depthwise_conv2d(y, w, options.clone());
            let y = batch_norm_stats(y, gamma.clone(), gamma.clone(), 1e-5).0;
            let scales = Tensor::<1>::from_data(
                TensorData::new(vec![1.5, 0.0, -1.0, 2.0, 0.5, 1.0, 3.0, 0.25], [8]),
                &device,
            );
            let y = scale_examples(edas_nn::kernels::relu(y), scales);
            max_pool(y, [3, 3], [1, 1], [1, 1])
        };
        let r = run(&f, &x, &w, true, true, 4);
        (r.out, r.gx, r.gw)
    };
    assert_eq!(on_threads(1, chain), on_threads(2, chain));
    for case in [PW_CASES[5], PW_CASES[7]] {
        let pointwise = || {
            let device = Device::flex().autodiff();
            let (dims, c_out) = case;
            let x = tensor(dims, 5, &device);
            let w = tensor([c_out, dims[1], 1, 1], 6, &device);
            let r = run(&pointwise_conv2d, &x, &w, true, true, 7);
            (r.out, r.gx, r.gw)
        };
        assert_eq!(on_threads(1, pointwise), on_threads(2, pointwise));
    }
}

/// A chain of our ops gives the same output and gradients under burn's
/// balanced gradient checkpointing, where each op is differentiated from its
/// stored inputs, as without it, where a backend may differentiate the
/// depthwise convolution and BatchNorm from its own record (LibTorch's
/// autograd graph) and max pooling from its forward's indices
/// (`Kernels::*_recorded`). Gamma and a 1x1 convolution's weight are
/// tracked too.
#[test]
fn gradients_equal_with_and_without_checkpointing() {
    for device in devices() {
        let plain = chain_with_gamma(&device);
        let checkpointed = chain_with_gamma(&device.clone().gradient_checkpointing());
        let what = [
            "output",
            "x gradient",
            "weight gradient",
            "gamma gradient",
            "1x1 weight gradient",
        ];
        for ((a, b), what) in plain.iter().zip(&checkpointed).zip(what) {
            assert_close(a, b, 1e-5, &format!("{device:?}, checkpointing: {what}"));
        }
    }
}

/// Output and gradients (`x`, the shared depthwise weight, gamma, the 1x1
/// weight) of a depthwise convolution, BatchNorm, ReLU, a strided depthwise
/// convolution, a 1x1 convolution and max pooling.
fn chain_with_gamma(device: &Device) -> [Vec<f32>; 5] {
    let (dims, k, s, p, d) = DW_CASES[2];
    let options = ConvOptions::new_with_padding(s, p, d, dims[1]);
    let strided = ConvOptions::new([2, 2], [1, 1], [1, 1], dims[1]);
    let x = tensor(dims, 11, device).require_grad();
    let w = tensor([dims[1], 1, k[0], k[1]], 12, device).require_grad();
    let w3 = w.clone().slice([0..dims[1], 0..1, 0..3, 0..3]);
    let gamma = tensor([dims[1]], 13, device).add_scalar(1.5).require_grad();
    let beta = tensor([dims[1]], 14, device);
    let pw = tensor([3, dims[1], 1, 1], 16, device).require_grad();
    let y = depthwise_conv2d(x.clone(), w.clone(), options);
    let y = batch_norm_stats(y, gamma.clone(), beta, 1e-5).0;
    let y = depthwise_conv2d(relu(y), w3, strided);
    let y = pointwise_conv2d(y, pw.clone());
    let y = max_pool(y, [3, 3], [1, 1], [1, 1]);
    let probe = tensor(y.dims(), 15, device);
    let out = host(y.clone());
    let grads = (y * probe).sum().backward();
    [
        out,
        host(x.grad(&grads).expect("x gradient")),
        host(w.grad(&grads).expect("w gradient")),
        host(gamma.grad(&grads).expect("gamma gradient")),
        host(pw.grad(&grads).expect("1x1 weight gradient")),
    ]
}
