//! A convolution module's forward pass, by the fastest route that computes
//! the same op: 1x1 convolutions by [`crate::pointwise`], depthwise ones
//! (with or without the ReLU before them) through our kernels
//! ([`crate::kernels`]), the rest by burn's `Conv2d`. Parameters stay the
//! module's, so records and exports do not change.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::ops::ConvOptions;

use crate::kernels;
use crate::pointwise::{is_pointwise, pointwise_forward};

/// `conv.forward(x)`.
pub fn conv_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if is_pointwise(conv) {
        return pointwise_forward(conv, x);
    }
    if let Some(options) = depthwise_options(conv) {
        return kernels::depthwise_conv2d(x, conv.weight.val(), options);
    }
    conv.forward(x)
}

/// `conv.forward(relu(x))`, the ReLU fused into a depthwise convolution
/// ([`kernels::relu_depthwise_conv2d`]).
pub fn relu_conv_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match depthwise_options(conv) {
        Some(options) => kernels::relu_depthwise_conv2d(x, conv.weight.val(), options),
        None => conv_forward(conv, kernels::relu(x)),
    }
}

/// The options of a bias-free depthwise convolution with explicit padding
/// (one group per input channel, one output channel per group), else
/// `None`.
pub fn depthwise_options(conv: &Conv2d) -> Option<ConvOptions<2>> {
    let [c_out, c_in_per_group, _, _] = conv.weight.dims();
    if conv.bias.is_some()
        || !kernels::is_depthwise(c_out, [c_out, c_in_per_group, 0, 0], conv.groups)
    {
        return None;
    }
    let PaddingConfig2d::Explicit(top, left, bottom, right) = conv.padding else {
        return None;
    };
    Some(ConvOptions::new_with_padding(
        conv.stride,
        [(top, bottom), (left, right)],
        conv.dilation,
        conv.groups,
    ))
}
