//! 1x1 convolutions as matrix products (on `flex`, our op).
//!
//! burn 0.22 differentiates a convolution with its generic formulas
//! (`conv2d_x_backward`, `conv2d_weight_backward` in burn-backend), which
//! neither the `flex` nor the `tch` backend overrides: the weight gradient of
//! a 1x1 convolution becomes a convolution of the swapped input with an
//! `H x W` kernel. A 1x1 convolution is a matrix product over channels, and a
//! matrix product's backward is two matrix products. On `[32, 16, 32, 32]`
//! (forward and backward, 2 threads) the product takes 5.7 ms on `flex`
//! against 11.6 ms for the convolution, and 1.1 ms against 7.4 ms on
//! LibTorch's CPU kernels (`docs/performance.md`). On `flex` the product's
//! output is allocated twice (zeroed bytes, then an aligned copy: burn-flex
//! 0.22.1 `FlexTensor::empty`), so there the 1x1 convolution is our op
//! instead ([`crate::kernels::pointwise_conv2d`]: flex's own 1x1 path
//! forward, which copies nothing). The parameters stay the convolution's
//! (`[C_out, C_in, 1, 1]`), so records and exports do not change.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// Whether `conv` is a plain 1x1 convolution: stride 1, no padding, no
/// groups, no bias.
pub fn is_pointwise(conv: &Conv2d) -> bool {
    conv.kernel_size == [1, 1]
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.bias.is_none()
        && matches!(
            conv.padding,
            PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
        )
}

/// `conv.forward(x)` for a plain 1x1 convolution ([`is_pointwise`]): on
/// `flex` our op, elsewhere (and with `EDAS_KERNELS=burn`) a matrix product
/// (on LibTorch faster than ATen's 1x1 convolution differentiated from
/// LibTorch's record: `docs/performance.md`).
/// Only the weight is read, so a strided 1x1 convolution without bias is
/// this of its input taken at the stride (`FactorizedReduce`).
pub fn pointwise_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let [c_out, c_in, _, _] = conv.weight.dims();
    assert_eq!(
        c, c_in,
        "1x1 convolution: input has {c} channels, weight expects {c_in}"
    );
    if crate::kernels::enabled() && crate::pool::is_flex(&x.device()) {
        return crate::kernels::pointwise_conv2d(x, conv.weight.val());
    }
    conv.weight
        .val()
        .reshape([1, c_out, c_in])
        .matmul(x.reshape([n, c, h * w]))
        .reshape([n, c_out, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::ConvSpec;

    fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        crate::to_host(t).expect("f32 values")
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
    }

    #[test]
    fn matches_the_convolution_and_its_gradients() {
        let device = Device::flex().autodiff();
        let c = ConvSpec::new(6, 10, 1).init(&device);
        assert!(is_pointwise(&c));
        let x: Tensor<4> = Tensor::random(
            [3, 6, 5, 7],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        // A loss that weighs every output differently.
        let probe: Tensor<4> = Tensor::random(
            [3, 10, 5, 7],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let run = |matmul: bool| {
            let x = x.clone().require_grad();
            let y = if matmul {
                pointwise_forward(&c, x.clone())
            } else {
                c.forward(x.clone())
            };
            let grads = y.clone().mul(probe.clone()).sum().backward();
            let gx = x.grad(&grads).expect("input gradient");
            let gw = c.weight.val().grad(&grads).expect("weight gradient");
            (host(y), host(gx), host(gw))
        };
        let (y0, gx0, gw0) = run(false);
        let (y1, gx1, gw1) = run(true);
        assert!(max_abs_diff(&y0, &y1) < 1e-5, "{}", max_abs_diff(&y0, &y1));
        assert!(
            max_abs_diff(&gx0, &gx1) < 1e-5,
            "{}",
            max_abs_diff(&gx0, &gx1)
        );
        assert!(
            max_abs_diff(&gw0, &gw1) < 1e-4,
            "{}",
            max_abs_diff(&gw0, &gw1)
        );
        assert!(gw0.iter().any(|v| v.abs() > 0.1));
    }

    #[test]
    fn other_convolutions_are_left_alone() {
        let device = Device::flex();
        assert!(!is_pointwise(
            &ConvSpec::new(4, 4, 3).with_padding(1).init(&device)
        ));
        assert!(!is_pointwise(
            &ConvSpec::new(4, 4, 1).with_stride(2).init(&device)
        ));
        assert!(!is_pointwise(
            &ConvSpec::new(4, 4, 1).with_groups(4).init(&device)
        ));
        assert!(!is_pointwise(
            &ConvSpec::new(4, 4, 1).with_padding(1).init(&device)
        ));
    }
}
