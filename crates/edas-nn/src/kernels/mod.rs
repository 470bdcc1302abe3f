//! Our own depthwise convolution (optionally after a fused ReLU), 1x1
//! convolution, training BatchNorm, max pooling, ReLU and per-example
//! scaling (drop-path), with hand-written backward passes, through burn's
//! backend extension.
//!
//! burn 0.22.1 differentiates these ops with generic formulas that neither
//! the `flex` nor the `tch` backend overrides (burn-backend 0.22.1,
//! `backend/ops/modules/conv.rs`: a depthwise weight gradient is one small
//! convolution and one `slice_assign` per channel; `modules/base.rs`:
//! BatchNorm's statistics and backward go through transposed copies and a
//! dozen element-wise passes), and `flex` pools with a scalar loop per output
//! element. A downstream crate cannot override `ModuleOps` for a foreign
//! backend, but burn's `extension` feature lets it declare a trait of its
//! own ops ([`Kernels`]), implemented per backend and for `Autodiff<B, C>`
//! with a hand-written `Backward` ([`autodiff`]), and call them on any
//! tensor through `Tensor::into_dispatch` / `Tensor::from_dispatch`.
//!
//! - `flex`: kernels of our own over the `f32` buffers, parallel with rayon
//!   ([`flex`]);
//! - LibTorch (`tch`, `tch-cuda`): PyTorch's own kernels, forward and
//!   backward, a tracked convolution or BatchNorm differentiated from
//!   LibTorch's own autograd record of its forward (module `kernels::tch`,
//!   built with the `tch` feature);
//! - every other backend (CubeCL, ndarray): the trait's default bodies, which
//!   call the backend's own `ModuleOps` (exactly what the burn ops called
//!   before; burn-cubecl has its own convolution backward).
//!
//! The functions at the bottom of this file are what the networks call.
//! `EDAS_KERNELS=burn` in the environment makes them call burn's generic
//! ops instead (read once per process), so that one binary measures both
//! (`docs/performance.md`).

pub mod autodiff;
#[cfg(feature = "flex")]
pub mod flex;
mod others;
#[cfg(feature = "tch")]
#[allow(deprecated)] // burn marks its tch backend deprecated
pub mod tch;

use burn::backend::ops::ConvOptions;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn::tensor::IntDType;

/// The ops whose backward passes we own. Each has a default body of the
/// backend's own `ModuleOps`, so a backend that is not specialised computes
/// what burn's module functions computed before.
///
/// Shapes: `x` is `[N, C, H, W]`; a depthwise weight is `[C, 1, KH, KW]`
/// (`options.groups == C`, one output channel per group); BatchNorm's
/// `gamma`, `beta`, `mean` and `variance` are `[C]`.
#[allow(deprecated)] // the LibTorch selector
#[backend_extension(
    Flex: cfg(feature = "flex"),
    LibTorch: cfg(feature = "tch"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "cuda", feature = "wgpu", feature = "vulkan")),
    Autodiff
)]
pub trait Kernels: Backend {
    /// Depthwise 2-D convolution without bias.
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// Gradients of [`Kernels::depthwise_conv2d`] with respect to `x` and
    /// `weight`, each computed only when asked for.
    fn depthwise_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        generic_conv_backward::<Self>(x, weight, output_grad, options, x_grad, weight_grad)
    }

    /// [`Kernels::depthwise_conv2d`] of a tracked op, as the backend may
    /// record it: `(output, record)`, the record empty unless the backend
    /// keeps one (LibTorch: its own autograd graph), `[output, x, weight]`
    /// for [`Kernels::recorded_backward_2`] otherwise, which then needs
    /// neither the stored inputs nor [`Kernels::depthwise_conv2d_backward`].
    /// `x_grad` and `weight_grad` say which gradients that will compute.
    fn depthwise_conv2d_recorded(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>) {
        let _ = (x_grad, weight_grad);
        (Self::depthwise_conv2d(x, weight, options), Vec::new())
    }

    /// The gradients of a recorded op's output with respect to its inputs:
    /// `record` is `[output, input, input]` as a `*_recorded` forward with
    /// two inputs returned it; `None` for an input the forward was not told
    /// to differentiate. (The record comes back as fixed arguments, not a
    /// `Vec`: burn-backend-extension 0.22.1's dispatch does not convert
    /// `Vec` arguments, only `Vec` outputs.)
    ///
    /// # Panics
    /// On a backend that makes no records (the default): a caller only
    /// passes a record a forward returned.
    fn recorded_backward_2(
        out: FloatTensor<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        let _ = (out, a, b, output_grad);
        unreachable!("recorded_backward_2: this backend makes no records")
    }

    /// [`Kernels::recorded_backward_2`] for a record `[output, input, input,
    /// input]` (BatchNorm: `x`, `gamma`, `beta`).
    ///
    /// # Panics
    /// On a backend that makes no records (the default).
    #[allow(clippy::type_complexity)]
    fn recorded_backward_3(
        out: FloatTensor<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> (
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
    ) {
        let _ = (out, a, b, c, output_grad);
        unreachable!("recorded_backward_3: this backend makes no records")
    }

    /// [`Kernels::depthwise_conv2d`] of `relu(x)`: the ReLU that begins
    /// DARTS' separable and dilated convolutions, fused so that a backend
    /// may skip the activated tensor.
    fn relu_depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::depthwise_conv2d(Self::relu(x), weight, options)
    }

    /// Gradients of [`Kernels::relu_depthwise_conv2d`] with respect to `x`
    /// (zero where `x <= 0`) and `weight`, each computed only when asked
    /// for.
    fn relu_depthwise_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (Option<FloatTensor<Self>>, Option<FloatTensor<Self>>) {
        relu_then_depthwise_backward::<Self>(x, weight, output_grad, options, x_grad, weight_grad)
    }

    /// 1x1 convolution without bias (stride 1, no padding, one group):
    /// `weight` is `[C_out, C_in, 1, 1]`.
    fn pointwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, pointwise_options())
    }

    /// The weight gradient of [`Kernels::pointwise_conv2d`] at input `x`
    /// (`[N, C_in, H, W]`) for the output gradient `output_grad` (`[N,
    /// C_out, H, W]`): `[C_out, C_in, 1, 1]`. The default is
    /// `per_image_pointwise_weight_grad`, one batched product per image.
    fn pointwise_weight_grad(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        per_image_pointwise_weight_grad::<Self>(x, output_grad)
    }

    /// BatchNorm with the batch's own statistics: `(output, mean, biased
    /// variance)`.
    fn batch_norm_stats(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let out = Self::batch_norm_train(x, gamma, beta, epsilon);
        (out.output, out.mean, out.variance)
    }

    /// [`Kernels::batch_norm_stats`] of a tracked op, as the backend may
    /// record it (see [`Kernels::depthwise_conv2d_recorded`]): `(output,
    /// mean, biased variance, record)`, the record empty or `[output, x,
    /// gamma, beta]` for [`Kernels::recorded_backward_3`].
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_stats_recorded(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        x_grad: bool,
        gamma_grad: bool,
        beta_grad: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        Vec<FloatTensor<Self>>,
    ) {
        let _ = (x_grad, gamma_grad, beta_grad);
        let (out, mean, var) = Self::batch_norm_stats(x, gamma, beta, epsilon);
        (out, mean, var, Vec::new())
    }

    /// Gradients of [`Kernels::batch_norm_stats`]' output with respect to
    /// `x`, `gamma` and `beta`.
    fn batch_norm_stats_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let g = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
        (g.x_grad, g.gamma_grad, g.beta_grad)
    }

    /// ReLU, `max(x, 0)`: the backend's own, differentiated by
    /// [`Kernels::relu_grad`].
    fn rectify(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(x)
    }

    /// The gradient of [`Kernels::rectify`] at `x`: `output_grad` where
    /// `x > 0` (or NaN), zero elsewhere. The default is burn's
    /// `relu_backward` (a comparison, then a masked fill).
    fn relu_grad(x: FloatTensor<Self>, output_grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu_backward(x, output_grad)
    }

    /// `x` (`[N, ...]`) with example `n` multiplied by `scales[n]`
    /// (`scales` is `[N]`, a constant: it gets no gradient): drop-path's
    /// mask. The default is the backend's broadcast product.
    fn scale_examples(x: FloatTensor<Self>, scales: FloatTensor<Self>) -> FloatTensor<Self> {
        broadcast_scale::<Self>(x, scales)
    }

    /// A scalar whose backward pass gives `x` the gradient `grad` (as
    /// PyTorch's `x.backward(grad)`), without computing anything: the
    /// seed of a backward pass through `x`'s graph from a gradient that is
    /// already known ([`backward_seeded`]). Its value is zero and means
    /// nothing; it is only ever the root of a backward pass. The default
    /// (no autodiff) is that zero.
    fn grad_seed(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        let _ = grad;
        Self::float_zeros(burn::tensor::Shape::new([1]), &x.device(), x.dtype().into())
    }

    /// Max pooling (no dilation, padding never wins, floor mode).
    fn max_pool(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        Self::max_pool2d(x, kernel, stride, padding, [1, 1], false)
    }

    /// [`Kernels::max_pool`] of a tracked input, as the backend may record
    /// it: `(output, record)`, the record empty (the default: the backward
    /// finds the maxima again, [`Kernels::max_pool_backward`]) or one tensor
    /// the backend keeps for [`Kernels::max_pool_backward_recorded`]
    /// (LibTorch: the forward's indices).
    fn max_pool_recorded(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> (FloatTensor<Self>, Vec<FloatTensor<Self>>) {
        (Self::max_pool(x, kernel, stride, padding), Vec::new())
    }

    /// [`Kernels::max_pool_backward`] from the one-tensor record that
    /// [`Kernels::max_pool_recorded`] returned.
    ///
    /// # Panics
    /// On a backend that makes no records (the default).
    fn max_pool_backward_recorded(
        x: FloatTensor<Self>,
        record: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let _ = (x, record, output_grad, kernel, stride, padding);
        unreachable!("max_pool_backward_recorded: this backend makes no records")
    }

    /// Gradient of [`Kernels::max_pool`] with respect to `x`: each output's
    /// gradient goes to the first maximum of its window (row-major; a NaN
    /// wins), as burn's and PyTorch's max pooling send it. The window's
    /// maxima are found again from `x`, which costs less memory than keeping
    /// indices.
    fn max_pool_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        generic_max_pool_backward::<Self>(x, output_grad, kernel, stride, padding)
    }
}

/// [`Kernels::relu_depthwise_conv2d_backward`] unfused: the backend's ReLU,
/// its [`Kernels::depthwise_conv2d_backward`] of the activated input, and
/// the ReLU's backward on the input gradient.
pub(crate) fn relu_then_depthwise_backward<B: Kernels>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    options: ConvOptions<2>,
    x_grad: bool,
    weight_grad: bool,
) -> (Option<FloatTensor<B>>, Option<FloatTensor<B>>) {
    let activated = B::relu(x);
    let (gx, gw) = B::depthwise_conv2d_backward(
        activated.clone(),
        weight,
        output_grad,
        options,
        x_grad,
        weight_grad,
    );
    (gx.map(|g| B::relu_backward(activated, g)), gw)
}

/// `x` times `scales` reshaped to `[N, 1, ...]`: the backend's broadcast
/// product, the default of [`Kernels::scale_examples`].
pub(crate) fn broadcast_scale<B: Backend>(
    x: FloatTensor<B>,
    scales: FloatTensor<B>,
) -> FloatTensor<B> {
    let mut dims = vec![1; x.shape().num_dims()];
    dims[0] = scales.shape().num_elements();
    B::float_mul(x, B::float_reshape(scales, Shape::from(dims)))
}

/// The options of a 1x1 convolution: stride 1, no padding, one group.
pub(crate) fn pointwise_options() -> ConvOptions<2> {
    ConvOptions::new([1, 1], [0, 0], [1, 1], 1)
}

/// [`Kernels::pointwise_weight_grad`] by the backend's own ops: one product
/// per image, `grad[n]` times `x[n]` transposed (the transpose a strided
/// view), summed over the batch in order.
pub(crate) fn per_image_pointwise_weight_grad<B: Backend>(
    x: FloatTensor<B>,
    output_grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let [n, c_in, h, w] = x.shape().dims();
    let c_out = output_grad.shape().dims::<4>()[1];
    let g = B::float_reshape(output_grad, Shape::new([n, c_out, h * w]));
    let xt = B::float_swap_dims(B::float_reshape(x, Shape::new([n, c_in, h * w])), 1, 2);
    let per_image = B::float_matmul(g, xt);
    B::float_reshape(
        B::float_sum_dim(per_image, 0),
        Shape::new([c_out, c_in, 1, 1]),
    )
}

/// Gradients of [`Kernels::pointwise_conv2d`]: with respect to `x` when
/// `weight` is given (the 1x1 convolution of the output gradient by the
/// transposed weight), with respect to the weight when `x` is given
/// ([`Kernels::pointwise_weight_grad`]). The autodiff op keeps each input
/// only when the other one needs a gradient, as burn's matrix product does.
pub(crate) fn pointwise_backward<B: Kernels>(
    x: Option<FloatTensor<B>>,
    weight: Option<FloatTensor<B>>,
    output_grad: FloatTensor<B>,
) -> (Option<FloatTensor<B>>, Option<FloatTensor<B>>) {
    let gw = x.map(|x| B::pointwise_weight_grad(x, output_grad.clone()));
    let gx = weight.map(|w| {
        B::conv2d(
            output_grad,
            B::float_swap_dims(w, 0, 1),
            None,
            pointwise_options(),
        )
    });
    (gx, gw)
}

/// A convolution's backward (without bias) by the backend's own
/// `ModuleOps`: the default of [`Kernels::depthwise_conv2d_backward`].
pub(crate) fn generic_conv_backward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    options: ConvOptions<2>,
    x_grad: bool,
    weight_grad: bool,
) -> (Option<FloatTensor<B>>, Option<FloatTensor<B>>) {
    let gx = x_grad.then(|| {
        B::conv2d_x_backward(
            x.clone(),
            weight.clone(),
            output_grad.clone(),
            options.clone(),
        )
    });
    let gw = weight_grad.then(|| B::conv2d_weight_backward(x, weight, output_grad, options));
    (gx, gw)
}

/// [`Kernels::max_pool_backward`] by the backend's own `ModuleOps`: the
/// indices of a second forward pass ([`max_pool_with_indices`]), then
/// burn's index-based backward ([`max_pool_backward_from_indices`]).
pub(crate) fn generic_max_pool_backward<B: Backend>(
    x: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> FloatTensor<B> {
    let (_, indices) = max_pool_with_indices::<B>(x.clone(), kernel, stride, padding);
    max_pool_backward_from_indices::<B>(x, output_grad, indices, kernel, stride, padding)
}

/// [`Kernels::max_pool`] by the backend's own `ModuleOps`, with the index
/// (`i64`) of each output's maximum in its input plane: `(output, indices)`.
pub(crate) fn max_pool_with_indices<B: Backend>(
    x: FloatTensor<B>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> (FloatTensor<B>, IntTensor<B>) {
    let pooled =
        B::max_pool2d_with_indices(x, kernel, stride, padding, [1, 1], false, IntDType::I64);
    (pooled.output, pooled.indices)
}

/// [`Kernels::max_pool_backward`] from the indices that
/// [`max_pool_with_indices`] returned, by the backend's own `ModuleOps`.
pub(crate) fn max_pool_backward_from_indices<B: Backend>(
    x: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    indices: IntTensor<B>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> FloatTensor<B> {
    B::max_pool2d_with_indices_backward(
        x,
        kernel,
        stride,
        padding,
        [1, 1],
        false,
        output_grad,
        indices,
    )
    .x_grad
}

/// Whether `weight` (`[C_out, C_in / groups, KH, KW]`) makes a depthwise
/// convolution of a `C`-channel input: one group per channel, one output
/// channel per group.
pub fn is_depthwise(channels: usize, weight_dims: [usize; 4], groups: usize) -> bool {
    groups == channels && weight_dims[0] == channels && weight_dims[1] == 1
}

/// Whether the functions below run our kernels: unless the environment
/// says `EDAS_KERNELS=burn` (read once per process).
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("EDAS_KERNELS").map_or(true, |v| v != "burn"))
}

/// Panics, naming `op`, when `weight` is not depthwise for `x`
/// ([`is_depthwise`]).
fn assert_depthwise(op: &str, x: &Tensor<4>, weight: &Tensor<4>, options: &ConvOptions<2>) {
    let [_, c, _, _] = x.dims();
    assert!(
        is_depthwise(c, weight.dims(), options.groups),
        "{op}: weight {:?} with {} groups is not depthwise for {c} channels",
        weight.dims(),
        options.groups
    );
}

/// A depthwise convolution without bias (`weight` is `[C, 1, KH, KW]`).
///
/// # Panics
/// When the weight is not depthwise for `x` ([`is_depthwise`]).
pub fn depthwise_conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    assert_depthwise("depthwise_conv2d", &x, &weight, &options);
    if !enabled() {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    Tensor::from_dispatch(<Dispatch as Kernels>::depthwise_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

/// Whether [`max_pool`] runs [`Kernels`] on `device`: on `flex` (our
/// kernel) and LibTorch (ATen's, differentiated from LibTorch's record);
/// elsewhere the trait's default backward would be slower than burn's own.
fn pools_through_kernels(device: &Device) -> bool {
    crate::pool::is_flex(device) || crate::pool::is_libtorch(device)
}

/// Whether [`relu_depthwise_conv2d`] fuses the ReLU on `device` (`flex`,
/// unless `EDAS_KERNELS=burn`).
pub fn fuses_relu(device: &Device) -> bool {
    enabled() && crate::pool::is_flex(device)
}

/// A depthwise convolution without bias of `relu(x)`, the ReLU fused into
/// the convolution on `flex` (the activated tensor is never stored: the
/// backward takes the ReLU of each plane again); elsewhere, and with
/// `EDAS_KERNELS=burn`, burn's ReLU then [`depthwise_conv2d`].
///
/// # Panics
/// When the weight is not depthwise for `x` ([`is_depthwise`]).
pub fn relu_depthwise_conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    if !fuses_relu(&x.device()) {
        return depthwise_conv2d(relu(x), weight, options);
    }
    assert_depthwise("relu_depthwise_conv2d", &x, &weight, &options);
    Tensor::from_dispatch(<Dispatch as Kernels>::relu_depthwise_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

/// A 1x1 convolution without bias (stride 1, no padding, one group;
/// `weight` is `[C_out, C_in, 1, 1]`), through [`Kernels::pointwise_conv2d`].
///
/// # Panics
/// When `weight` is not `[C_out, C_in, 1, 1]` for `x`'s `C_in` channels.
pub fn pointwise_conv2d(x: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
    let [_, c, _, _] = x.dims();
    let [_, c_in, kh, kw] = weight.dims();
    assert!(
        c_in == c && kh == 1 && kw == 1,
        "pointwise_conv2d: weight {:?} is not a 1x1 convolution of {c} channels",
        weight.dims()
    );
    Tensor::from_dispatch(<Dispatch as Kernels>::pointwise_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
    ))
}

/// BatchNorm of `x` (`[N, C, ...]`) with the batch's statistics:
/// `(output, mean, biased variance)`, the statistics detached.
pub fn batch_norm_stats(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    if !enabled() {
        let out = burn::tensor::module::batch_norm_train(x, gamma, beta, epsilon);
        return (out.output, out.mean, out.variance);
    }
    let (out, mean, var) = <Dispatch as Kernels>::batch_norm_stats(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    );
    (
        Tensor::from_dispatch(out),
        Tensor::from_dispatch(mean),
        Tensor::from_dispatch(var),
    )
}

/// The gradients of `x`'s graph for the output gradient `grad` (the
/// gradient of some scalar with respect to `x`): PyTorch's
/// `x.backward(grad)`, through [`Kernels::grad_seed`]. Equal to
/// `(x * grad).sum().backward()`, without that product, its sum and their
/// backward passes. `grad` gets no gradient.
///
/// # Panics
/// When `grad`'s shape is not `x`'s, or `x` is not tracked.
pub fn backward_seeded<const D: usize>(x: Tensor<D>, grad: Tensor<D>) -> burn::tensor::Gradients {
    assert_eq!(
        x.dims(),
        grad.dims(),
        "backward_seeded: the gradient's shape is not the tensor's"
    );
    let grad = grad.detach().set_require_grad(false).autodiff();
    let seed: Tensor<1> = Tensor::from_dispatch(<Dispatch as Kernels>::grad_seed(
        x.into_dispatch(),
        grad.into_dispatch(),
    ));
    seed.backward()
}

/// ReLU through [`Kernels::rectify`]: on LibTorch its backward is ATen's
/// `threshold_backward`, which a PyTorch ReLU runs, instead of burn's
/// comparison and masked fill (a scalar loop in LibTorch); elsewhere the
/// same ops as burn's `relu`. With `EDAS_KERNELS=burn`, burn's `relu`.
pub fn relu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !enabled() {
        return burn::tensor::activation::relu(x);
    }
    Tensor::from_dispatch(<Dispatch as Kernels>::rectify(x.into_dispatch()))
}

/// `x` with example `n` multiplied by `scales[n]` through
/// [`Kernels::scale_examples`] (drop-path's mask; `scales` gets no
/// gradient). With `EDAS_KERNELS=burn`, burn's broadcast product.
///
/// # Panics
/// When `scales` does not have one value per example of `x`.
pub fn scale_examples(x: Tensor<4>, scales: Tensor<1>) -> Tensor<4> {
    let [n, ..] = x.dims();
    assert_eq!(
        scales.dims(),
        [n],
        "scale_examples: {:?} scales for {n} examples",
        scales.dims()
    );
    if !enabled() {
        return x.mul(scales.reshape([n, 1, 1, 1]));
    }
    Tensor::from_dispatch(<Dispatch as Kernels>::scale_examples(
        x.into_dispatch(),
        scales.detach().into_dispatch(),
    ))
}

/// Max pooling with `kernel`, `stride` and `padding` on both sides
/// (padding never wins).
///
/// Through [`Kernels::max_pool`] on `flex` (our kernel, which finds the
/// maxima again in its backward and keeps no indices) and LibTorch (ATen's
/// `max_pool2d_with_indices` and its backward, the indices kept:
/// [`Kernels::max_pool_recorded`]). Elsewhere burn's own max pooling, which
/// keeps the indices too: the trait's default backward finds the maxima
/// again with a second forward, slower where the indices are at hand
/// (LibTorch: 21.5 against 11.4 ms forward and backward on `[32, 16, 32,
/// 32]`, `docs/performance.md`).
pub fn max_pool(
    x: Tensor<4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<4> {
    if !enabled() || !pools_through_kernels(&x.device()) {
        let options = burn::tensor::ops::MaxPoolOptions::new(kernel)
            .with_stride(stride)
            .with_padding(padding);
        return burn::tensor::module::max_pool2d(x, options);
    }
    Tensor::from_dispatch(<Dispatch as Kernels>::max_pool(
        x.into_dispatch(),
        kernel,
        stride,
        padding,
    ))
}
