//! [`Kernels`] on burn's `flex` CPU backend: our kernels over the tensors'
//! `f32` buffers ([`depthwise`], [`batch_norm`], [`max_pool`], [`relu`],
//! [`scale`]), and the 1x1 convolution's weight gradient as flex's batched
//! product over chunks of the batch when the channels outnumber the pixels.
//!
//! Tensors of another dtype, and shapes the kernels do not cover, go to the
//! default bodies (flex's own ops), so nothing is refused here.

pub mod batch_norm;
pub mod depthwise;
pub mod filled;
pub mod max_pool;
pub mod relu;
pub mod scale;
pub mod strided;

use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::ops::{ActivationOps, ConvOptions, FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, Shape, TensorData};

use super::Kernels;
use depthwise::Geometry;

type T = FloatTensor<Flex>;

/// The chunks of the batch that [`Kernels::pointwise_weight_grad`] on flex
/// makes one product each, when the batch divides into them (a fixed
/// number, so that results do not depend on the thread count).
const WEIGHT_GRAD_CHUNKS: usize = 8;

/// `t` as a contiguous `f32` tensor (copied if it was strided: in parallel
/// by [`strided::gather`] unless a stride is negative), or `None` for
/// another dtype.
fn contiguous_f32(t: T) -> Option<T> {
    if t.dtype() != DType::F32 {
        return None;
    }
    if t.as_slice::<f32>().is_some() {
        return Some(t);
    }
    let layout = t.layout();
    let strides: Option<Vec<usize>> = layout
        .strides()
        .iter()
        .map(|&s| usize::try_from(s).ok())
        .collect();
    let t = match strides {
        Some(strides) => {
            let dims: Vec<usize> = layout.shape().iter().copied().collect();
            let v = strided::gather(t.storage::<f32>(), &dims, &strides, layout.start_offset());
            tensor(v, &dims)
        }
        None => t.to_contiguous(),
    };
    t.as_slice::<f32>().is_some().then_some(t)
}

/// The values of a tensor that [`contiguous_f32`] returned.
fn values(t: &T) -> &[f32] {
    t.as_slice::<f32>().unwrap_or(&[])
}

/// The values of a tensor that [`contiguous_f32`] returned, to write over:
/// `Some` only when `t` is their only owner and its buffer holds exactly
/// them (a kernel then writes its result in place).
fn owned_values(t: &mut T) -> Option<&mut [f32]> {
    let n = t.shape().num_elements();
    t.try_storage_mut::<f32>().filter(|buf| buf.len() == n)
}

fn tensor(v: Vec<f32>, shape: &[usize]) -> T {
    T::from_data(TensorData::new(v, shape.to_vec()))
}

fn dims4(t: &T) -> Option<[usize; 4]> {
    let s = t.shape();
    (s.num_dims() == 4).then(|| [s[0], s[1], s[2], s[3]])
}

/// [`Kernels::pointwise_weight_grad`] as one product per chunk of the batch
/// ([`WEIGHT_GRAD_CHUNKS`]), or `None` where the per-image product is the
/// better one (or the shapes or dtype are not ours).
///
/// One product per image writes, then sums, `N * C_out * C_in` values on
/// the calling thread; one product per chunk first copies both inputs
/// channels-first (`N * HW * (C_in + C_out)` values, on the pool). The
/// copies win when the channels outnumber the pixels. Each chunk's product
/// runs on one thread (flex's batched product runs its batch in parallel,
/// each product unsplit), and they are added in order, so the sums do not
/// depend on the number of threads.
fn chunked_weight_grad(x: &T, output_grad: &T) -> Option<T> {
    let ([n, c_in, h, w], [_, c_out, _, _]) = (dims4(x)?, dims4(output_grad)?);
    let (chunks, hw) = (WEIGHT_GRAD_CHUNKS, h * w);
    // Decided before any copy: most calls take the per-image path.
    if n % chunks != 0 || c_out * c_in <= hw * (c_in + c_out) {
        return None;
    }
    let (xc, gc) = (
        contiguous_f32(x.clone())?,
        contiguous_f32(output_grad.clone())?,
    );
    let m = n / chunks;
    // `[chunks, C, m * HW]`: each chunk's `m` images side by side, per
    // channel.
    let grouped = |t: &T, c: usize| {
        let v = strided::gather(
            values(t),
            &[chunks, c, m, hw],
            &[m * c * hw, hw, c * hw, 1],
            0,
        );
        tensor(v, &[chunks, c, m * hw])
    };
    let xt = Flex::float_swap_dims(grouped(&xc, c_in), 1, 2);
    let per_chunk = Flex::float_matmul(grouped(&gc, c_out), xt);
    Some(Flex::float_reshape(
        Flex::float_sum_dim(per_chunk, 0),
        Shape::new([c_out, c_in, 1, 1]),
    ))
}

/// The geometry of a depthwise convolution of `x` by `w`, if ours covers it.
fn depthwise_geometry(x: &T, w: &T, options: &ConvOptions<2>) -> Option<Geometry> {
    let dims = dims4(x)?;
    let [_, _, kh, kw] = dims4(w)?;
    if !super::is_depthwise(dims[1], dims4(w)?, options.groups) {
        return None;
    }
    Geometry::new(
        dims,
        [kh, kw],
        options.stride,
        options.padding,
        options.dilation,
    )
}

/// The geometry of a max pooling of `x`, if ours covers it (padding at
/// most half the window, as burn requires).
fn pool_geometry(
    x: &T,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Option<Geometry> {
    if padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1] {
        return None;
    }
    Geometry::new(
        dims4(x)?,
        kernel,
        stride,
        [(padding[0], padding[0]), (padding[1], padding[1])],
        [1, 1],
    )
}

/// A BatchNorm input's dimensions and its `[N, C, values per plane]`.
fn bn_layout(shape: &burn::tensor::Shape) -> (Vec<usize>, [usize; 3]) {
    let dims: Vec<usize> = shape.iter().copied().collect();
    let plane = dims[2..].iter().product();
    let layout = [dims[0], dims[1], plane];
    (dims, layout)
}

/// [`Kernels::depthwise_conv2d`] (of `relu(x)` when `relu`) by our kernel,
/// or by flex's own ops where ours does not cover the case.
fn depthwise_forward(x: T, weight: T, options: ConvOptions<2>, relu: bool) -> T {
    let covered = depthwise_geometry(&x, &weight, &options).and_then(|g| {
        let xc = contiguous_f32(x.clone())?;
        let wc = contiguous_f32(weight.clone())?;
        let out = depthwise::forward(values(&xc), values(&wc), &g, relu);
        Some(tensor(out, &[g.n, g.c, g.oh, g.ow]))
    });
    covered.unwrap_or_else(|| {
        let x = if relu { Flex::relu(x) } else { x };
        Flex::conv2d(x, weight, None, options)
    })
}

/// The backward of [`depthwise_forward`].
fn depthwise_backward(
    x: T,
    weight: T,
    output_grad: T,
    options: ConvOptions<2>,
    relu: bool,
    [x_grad, weight_grad]: [bool; 2],
) -> (Option<T>, Option<T>) {
    let covered = depthwise_geometry(&x, &weight, &options).and_then(|g| {
        let xc = contiguous_f32(x.clone())?;
        let wc = contiguous_f32(weight.clone())?;
        let gc = contiguous_f32(output_grad.clone())?;
        let (gx, gw) = depthwise::backward(
            values(&xc),
            values(&wc),
            values(&gc),
            &g,
            relu,
            x_grad,
            weight_grad,
        );
        Some((
            gx.map(|v| tensor(v, &[g.n, g.c, g.h, g.w])),
            gw.map(|v| tensor(v, &[g.c, 1, g.kh, g.kw])),
        ))
    });
    covered.unwrap_or_else(|| {
        if relu {
            // The ReLU unfused; the convolution's backward then comes back
            // here with `relu` false and takes the generic path.
            super::relu_then_depthwise_backward::<Flex>(
                x,
                weight,
                output_grad,
                options,
                x_grad,
                weight_grad,
            )
        } else {
            super::generic_conv_backward::<Flex>(
                x,
                weight,
                output_grad,
                options,
                x_grad,
                weight_grad,
            )
        }
    })
}

impl Kernels for Flex {
    fn depthwise_conv2d(x: T, weight: T, options: ConvOptions<2>) -> T {
        depthwise_forward(x, weight, options, false)
    }

    fn depthwise_conv2d_backward(
        x: T,
        weight: T,
        output_grad: T,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (Option<T>, Option<T>) {
        depthwise_backward(
            x,
            weight,
            output_grad,
            options,
            false,
            [x_grad, weight_grad],
        )
    }

    fn relu_depthwise_conv2d(x: T, weight: T, options: ConvOptions<2>) -> T {
        depthwise_forward(x, weight, options, true)
    }

    fn relu_depthwise_conv2d_backward(
        x: T,
        weight: T,
        output_grad: T,
        options: ConvOptions<2>,
        x_grad: bool,
        weight_grad: bool,
    ) -> (Option<T>, Option<T>) {
        depthwise_backward(x, weight, output_grad, options, true, [x_grad, weight_grad])
    }

    fn batch_norm_stats(x: T, gamma: T, beta: T, epsilon: f64) -> (T, T, T) {
        let shape = x.shape();
        let (Some(xc), Some(gc), Some(bc)) = (
            contiguous_f32(x.clone()),
            contiguous_f32(gamma.clone()),
            contiguous_f32(beta.clone()),
        ) else {
            let out = Flex::batch_norm_train(x, gamma, beta, epsilon);
            return (out.output, out.mean, out.variance);
        };
        let (dims, [n, c, plane]) = bn_layout(&shape);
        let (out, mean, var) = batch_norm::forward(
            values(&xc),
            [n, c, plane],
            values(&gc),
            values(&bc),
            epsilon,
        );
        (tensor(out, &dims), tensor(mean, &[c]), tensor(var, &[c]))
    }

    fn batch_norm_stats_backward(
        x: T,
        gamma: T,
        mean: T,
        variance: T,
        epsilon: f64,
        output_grad: T,
    ) -> (T, T, T) {
        let shape = x.shape();
        let (Some(xc), Some(gc), Some(mc), Some(vc), Some(mut oc)) = (
            contiguous_f32(x.clone()),
            contiguous_f32(gamma.clone()),
            contiguous_f32(mean.clone()),
            contiguous_f32(variance.clone()),
            contiguous_f32(output_grad.clone()),
        ) else {
            let g = Flex::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
            return (g.x_grad, g.gamma_grad, g.beta_grad);
        };
        // `oc` may now be the gradient's only owner: then the x gradient is
        // written over it.
        drop(output_grad);
        let (dims, layout) = bn_layout(&shape);
        let stats = (values(&xc), values(&gc), values(&mc), values(&vc));
        let in_place = owned_values(&mut oc).map(|buf| {
            batch_norm::backward_in_place(stats.0, layout, stats.1, stats.2, stats.3, epsilon, buf)
        });
        let (gx, ggamma, gbeta) = match in_place {
            Some((ggamma, gbeta)) => (oc, ggamma, gbeta),
            None => {
                let (gx, ggamma, gbeta) = batch_norm::backward(
                    stats.0,
                    layout,
                    stats.1,
                    stats.2,
                    stats.3,
                    epsilon,
                    values(&oc),
                );
                (tensor(gx, &dims), ggamma, gbeta)
            }
        };
        let c = layout[1];
        (gx, tensor(ggamma, &[c]), tensor(gbeta, &[c]))
    }

    fn rectify(x: T) -> T {
        let dims: Vec<usize> = x.shape().iter().copied().collect();
        let Some(mut xc) = contiguous_f32(x.clone()) else {
            return Flex::relu(x);
        };
        // `xc` may now be the input's only owner: then the ReLU is written
        // over it.
        drop(x);
        if let Some(buf) = owned_values(&mut xc) {
            relu::forward_in_place(buf);
            return xc;
        }
        tensor(relu::forward(values(&xc)), &dims)
    }

    fn relu_grad(x: T, output_grad: T) -> T {
        let dims: Vec<usize> = x.shape().iter().copied().collect();
        let (Some(xc), Some(mut gc)) = (
            contiguous_f32(x.clone()),
            contiguous_f32(output_grad.clone()),
        ) else {
            return Flex::relu_backward(x, output_grad);
        };
        drop(output_grad);
        if let Some(buf) = owned_values(&mut gc) {
            relu::backward_in_place(values(&xc), buf);
            return gc;
        }
        tensor(relu::backward(values(&xc), values(&gc)), &dims)
    }

    fn pointwise_weight_grad(x: T, output_grad: T) -> T {
        chunked_weight_grad(&x, &output_grad)
            .unwrap_or_else(|| super::per_image_pointwise_weight_grad::<Flex>(x, output_grad))
    }

    fn scale_examples(x: T, scales: T) -> T {
        let dims: Vec<usize> = x.shape().iter().copied().collect();
        // Not one scale per example: flex's product (which refuses shapes
        // that do not broadcast), decided before any copy.
        if dims.first() != Some(&scales.shape().num_elements()) {
            return super::broadcast_scale::<Flex>(x, scales);
        }
        let (Some(mut xc), Some(sc)) = (contiguous_f32(x.clone()), contiguous_f32(scales.clone()))
        else {
            // Another dtype.
            return super::broadcast_scale::<Flex>(x, scales);
        };
        // `xc` may now be the input's only owner: then it is scaled in place.
        drop(x);
        if let Some(buf) = owned_values(&mut xc) {
            scale::forward_in_place(buf, values(&sc));
            return xc;
        }
        tensor(scale::forward(values(&xc), values(&sc)), &dims)
    }

    fn max_pool(x: T, kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> T {
        let Some(g) = pool_geometry(&x, kernel, stride, padding) else {
            return Flex::max_pool2d(x, kernel, stride, padding, [1, 1], false);
        };
        let Some(xc) = contiguous_f32(x.clone()) else {
            return Flex::max_pool2d(x, kernel, stride, padding, [1, 1], false);
        };
        tensor(max_pool::forward(values(&xc), &g), &[g.n, g.c, g.oh, g.ow])
    }

    fn max_pool_backward(
        x: T,
        output_grad: T,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> T {
        let covered = pool_geometry(&x, kernel, stride, padding).and_then(|g| {
            let xc = contiguous_f32(x.clone())?;
            let gc = contiguous_f32(output_grad.clone())?;
            Some(tensor(
                max_pool::backward(values(&xc), values(&gc), &g),
                &[g.n, g.c, g.h, g.w],
            ))
        });
        match covered {
            Some(gx) => gx,
            None => {
                super::generic_max_pool_backward::<Flex>(x, output_grad, kernel, stride, padding)
            }
        }
    }
}
