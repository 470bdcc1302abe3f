//! [`Kernels`] on burn's LibTorch backend (`tch`, `tch-cuda`): PyTorch's own
//! kernels, forward and backward.
//!
//! tch 0.22 binds neither `convolution_backward` nor
//! `native_batch_norm_backward` (their `std::array<bool, 3>` argument), so
//! the backward passes run LibTorch's own autograd on the op: leaves that
//! share the stored input's buffer (`detach().set_requires_grad(true)`, no
//! copy), the op again, and `Tensor::run_backward` on `sum(out * grad)`,
//! which calls the same native backward kernels PyTorch's training does
//! (oneDNN on the CPU, cuDNN on CUDA). That costs one more forward of the op
//! in the backward pass, against burn's generic formulas (a per-channel loop
//! for the depthwise weight gradient; BatchNorm through transposed copies).
//! The forward passes are ATen's `conv2d` with groups and
//! `native_batch_norm`; max pooling is burn-tch's own (ATen's
//! `max_pool2d_with_indices` and its backward), the trait's default.

#![allow(deprecated)] // burn marks its tch backend deprecated

use burn::backend::LibTorch;
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use tch::{Kind, Tensor};

use super::Kernels;

type T = FloatTensor<LibTorch>;

fn dims(v: [usize; 2]) -> [i64; 2] {
    v.map(|d| d as i64)
}

/// LibTorch's gradients of `sum(f(leaves) * grad)` for the leaves that
/// `want` marks, `None` for the others.
fn autograd<const N: usize>(
    inputs: [&Tensor; N],
    want: [bool; N],
    grad: &Tensor,
    f: impl FnOnce(&[Tensor; N]) -> Tensor,
) -> [Option<Tensor>; N] {
    tch::with_grad(|| {
        let leaves: [Tensor; N] =
            std::array::from_fn(|i| inputs[i].detach().set_requires_grad(want[i]));
        let loss = (f(&leaves) * grad).sum(Kind::Float);
        let wanted: Vec<&Tensor> = (0..N).filter(|&i| want[i]).map(|i| &leaves[i]).collect();
        let mut grads = if wanted.is_empty() {
            Vec::new()
        } else {
            Tensor::run_backward(&[loss], &wanted, false, false)
        }
        .into_iter();
        std::array::from_fn(|i| if want[i] { grads.next() } else { None })
    })
}

fn conv(x: &Tensor, w: &Tensor, options: &ConvOptions<2>) -> Tensor {
    Tensor::conv2d(
        x,
        w,
        None::<Tensor>,
        dims(options.stride),
        dims(options.padding.map(|(begin, _)| begin)),
        dims(options.dilation),
        options.groups as i64,
    )
}

impl Kernels for LibTorch {
    fn depthwise_conv2d_backward(
        x: T,
        weight: T,
        output_grad: T,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (Option<T>, Option<T>) {
        if options.padding.iter().any(|(begin, end)| begin != end) {
            return super::generic_conv_backward::<LibTorch>(
                x,
                weight,
                output_grad,
                options,
                x_grad,
                weight_grad,
            );
        }
        let [gx, gw] = autograd(
            [&x.tensor, &weight.tensor],
            [x_grad, weight_grad],
            &output_grad.tensor,
            |[x, w]| conv(x, w, &options),
        );
        (gx.map(T::new), gw.map(T::new))
    }

    fn batch_norm_stats(x: T, gamma: T, beta: T, epsilon: f64) -> (T, T, T) {
        let (out, mean, inv_std) = Tensor::native_batch_norm(
            &x.tensor,
            Some(&gamma.tensor),
            Some(&beta.tensor),
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.0,
            epsilon,
        );
        // The biased variance from 1 / sqrt(var + eps).
        let var = inv_std.pow_tensor_scalar(-2.0) - epsilon;
        (T::new(out), T::new(mean), T::new(var))
    }

    fn batch_norm_stats_backward(
        x: T,
        gamma: T,
        _mean: T,
        _variance: T,
        epsilon: f64,
        output_grad: T,
    ) -> (T, T, T) {
        let beta = gamma.tensor.zeros_like();
        let [gx, ggamma, gbeta] = autograd(
            [&x.tensor, &gamma.tensor, &beta],
            [true, true, true],
            &output_grad.tensor,
            |[x, g, b]| {
                Tensor::batch_norm(
                    x,
                    Some(g),
                    Some(b),
                    None::<&Tensor>,
                    None::<&Tensor>,
                    true,
                    0.0,
                    epsilon,
                    true,
                )
            },
        );
        let or_zeros = |t: Option<Tensor>, like: &Tensor| t.unwrap_or_else(|| like.zeros_like());
        (
            T::new(or_zeros(gx, &x.tensor)),
            T::new(or_zeros(ggamma, &gamma.tensor)),
            T::new(or_zeros(gbeta, &beta)),
        )
    }
}
