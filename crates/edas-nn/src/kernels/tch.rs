//! [`Kernels`] on burn's LibTorch backend (`tch`, `tch-cuda`): PyTorch's own
//! kernels, forward and backward.
//!
//! tch 0.22 binds neither `convolution_backward` nor
//! `native_batch_norm_backward` (their `std::array<bool, 3>` argument), so
//! the backward passes run LibTorch's own autograd, which calls the same
//! native backward kernels PyTorch's training does (oneDNN on the CPU, cuDNN
//! on CUDA):
//!
//! - recorded (the `*_recorded` forwards, which burn's autodiff calls for a
//!   tracked op without gradient checkpointing): the forward runs under
//!   LibTorch's autograd on leaves that share the inputs' buffers
//!   (`detach().set_requires_grad(..)`, no copy); the record is the output,
//!   its data released (`set_data` to an empty tensor: only its `grad_fn`
//!   and what that saved stay, as in PyTorch's own training), and the
//!   leaves. The backward points the output at the incoming gradient and
//!   runs `Tensor::run_backward` on `dot(out, grad)`: no second forward;
//! - otherwise (the `*_backward` ops, from the stored inputs): leaves, the op
//!   again and `run_backward` on `dot(out, grad)`, one more forward of the
//!   op (with burn's gradient checkpointing).
//!
//! ReLU's backward is ATen's `threshold_backward`. The forward passes are
//! ATen's `conv2d` with groups and `native_batch_norm`. Max pooling is
//! burn-tch's (ATen's `max_pool2d`; a tracked one runs
//! `max_pool2d_with_indices` and keeps the indices, as PyTorch's training
//! does, for `max_pool2d_with_indices_backward`: no autograd needed).

use burn::backend::LibTorch;
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use tch::Tensor;

use super::Kernels;

type T = FloatTensor<LibTorch>;

fn dims(v: [usize; 2]) -> [i64; 2] {
    v.map(|d| d as i64)
}

/// Leaves sharing `inputs`' buffers (no copy), those that `want` marks
/// requiring a gradient.
fn leaves<const N: usize>(inputs: [&Tensor; N], want: [bool; N]) -> [Tensor; N] {
    std::array::from_fn(|i| inputs[i].detach().set_requires_grad(want[i]))
}

/// LibTorch's gradients of `dot(out, grad)` with respect to each of
/// `leaves` that requires one, `None` for the others; `out` is freed of its
/// graph.
fn backward_from<const N: usize>(
    out: &Tensor,
    leaves: &[Tensor; N],
    grad: &Tensor,
) -> [Option<Tensor>; N] {
    let wanted: Vec<&Tensor> = leaves.iter().filter(|l| l.requires_grad()).collect();
    let mut grads = if wanted.is_empty() {
        Vec::new()
    } else {
        let loss = out.flatten(0, -1).dot(&grad.flatten(0, -1));
        Tensor::run_backward(&[loss], &wanted, false, false)
    }
    .into_iter();
    std::array::from_fn(|i| {
        if leaves[i].requires_grad() {
            grads.next()
        } else {
            None
        }
    })
}

/// LibTorch's gradients of `dot(f(leaves), grad)` for the leaves that
/// `want` marks, `None` for the others: the op run again.
fn autograd<const N: usize>(
    inputs: [&Tensor; N],
    want: [bool; N],
    grad: &Tensor,
    f: impl FnOnce(&[Tensor; N]) -> Tensor,
) -> [Option<Tensor>; N] {
    tch::with_grad(|| {
        let leaves = leaves(inputs, want);
        backward_from(&f(&leaves), &leaves, grad)
    })
}

/// Runs `f` on leaves sharing `inputs`' buffers under LibTorch's autograd
/// (those that `want` marks require a gradient): the output, detached, what
/// else `f` returned, and the record `[output, leaves...]` for
/// [`recorded_backward`], the output's data released. An empty record when
/// no leaf is wanted.
fn record<const N: usize, R>(
    inputs: [&Tensor; N],
    want: [bool; N],
    f: impl FnOnce(&[Tensor; N]) -> (Tensor, R),
) -> (Tensor, R, Vec<T>) {
    tch::with_grad(|| {
        let leaves = leaves(inputs, want);
        let (mut out, rest) = f(&leaves);
        let result = out.detach();
        if !want.contains(&true) {
            return (result, rest, Vec::new());
        }
        out.set_data(&Tensor::empty([0], (out.kind(), out.device())));
        let mut record = vec![T::new(out)];
        record.extend(leaves.into_iter().map(T::new));
        (result, rest, record)
    })
}

/// The gradients of a [`record`]: with respect to each leaf that requires
/// one, by LibTorch's autograd from the record's output, pointed at
/// `output_grad` (`dot`'s gradient with respect to it is `output_grad`; its
/// value is never used).
fn recorded_backward<const N: usize>(out: T, leaves: [T; N], output_grad: T) -> [Option<T>; N] {
    let mut out = out.tensor;
    let leaves = leaves.map(|leaf| leaf.tensor);
    let grad = output_grad.tensor;
    out.set_data(&grad);
    tch::with_grad(|| backward_from(&out, &leaves, &grad)).map(|g| g.map(T::new))
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

/// ATen's `native_batch_norm` with the batch's statistics: `(output, mean,
/// biased variance)`, the variance from the `1 / sqrt(var + eps)` it returns.
/// Differentiable under LibTorch's autograd with respect to `[x, gamma,
/// beta]` (its output only).
fn native_batch_norm([x, gamma, beta]: [&Tensor; 3], epsilon: f64) -> (Tensor, Tensor, Tensor) {
    let (out, mean, inv_std) = Tensor::native_batch_norm(
        x,
        Some(gamma),
        Some(beta),
        None::<&Tensor>,
        None::<&Tensor>,
        true,
        0.0,
        epsilon,
    );
    let var = inv_std.detach().pow_tensor_scalar(-2.0) - epsilon;
    (out, mean.detach(), var)
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

    fn depthwise_conv2d_recorded(
        x: T,
        weight: T,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (T, Vec<T>) {
        if options.padding.iter().any(|(begin, end)| begin != end) {
            return (Self::depthwise_conv2d(x, weight, options), Vec::new());
        }
        let (out, (), kept) = record(
            [&x.tensor, &weight.tensor],
            [x_grad, weight_grad],
            |[x, w]| (conv(x, w, &options), ()),
        );
        (T::new(out), kept)
    }

    fn batch_norm_stats(x: T, gamma: T, beta: T, epsilon: f64) -> (T, T, T) {
        let (out, mean, var) = native_batch_norm([&x.tensor, &gamma.tensor, &beta.tensor], epsilon);
        (T::new(out), T::new(mean), T::new(var))
    }

    fn batch_norm_stats_recorded(
        x: T,
        gamma: T,
        beta: T,
        epsilon: f64,
        x_grad: bool,
        gamma_grad: bool,
        beta_grad: bool,
    ) -> (T, T, T, Vec<T>) {
        let (out, (mean, var), kept) = record(
            [&x.tensor, &gamma.tensor, &beta.tensor],
            [x_grad, gamma_grad, beta_grad],
            |[x, gamma, beta]| {
                let (out, mean, var) = native_batch_norm([x, gamma, beta], epsilon);
                (out, (mean, var))
            },
        );
        (T::new(out), T::new(mean), T::new(var), kept)
    }

    fn relu_grad(x: T, output_grad: T) -> T {
        T::new(x.tensor.threshold_backward(&output_grad.tensor, 0.0))
    }

    fn max_pool_recorded(
        x: T,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> (T, Vec<T>) {
        // burn-tch's float and int primitives are the same `TchTensor`, so
        // the indices (`i64`) are the record as they come.
        let (out, indices) = super::max_pool_with_indices::<LibTorch>(x, kernel, stride, padding);
        (out, vec![indices])
    }

    fn max_pool_backward_recorded(
        x: T,
        indices: T,
        output_grad: T,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> T {
        super::max_pool_backward_from_indices::<LibTorch>(
            x,
            output_grad,
            indices,
            kernel,
            stride,
            padding,
        )
    }

    fn recorded_backward_2(out: T, a: T, b: T, output_grad: T) -> (Option<T>, Option<T>) {
        let [ga, gb] = recorded_backward(out, [a, b], output_grad);
        (ga, gb)
    }

    fn recorded_backward_3(
        out: T,
        a: T,
        b: T,
        c: T,
        output_grad: T,
    ) -> (Option<T>, Option<T>, Option<T>) {
        let [ga, gb, gc] = recorded_backward(out, [a, b, c], output_grad);
        (ga, gb, gc)
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
            |[x, g, b]| native_batch_norm([x, g, b], epsilon).0,
        );
        let or_zeros = |t: Option<Tensor>, like: &Tensor| t.unwrap_or_else(|| like.zeros_like());
        (
            T::new(or_zeros(gx, &x.tensor)),
            T::new(or_zeros(ggamma, &gamma.tensor)),
            T::new(or_zeros(gbeta, &beta)),
        )
    }
}
