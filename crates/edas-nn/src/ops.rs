//! The DARTS operations (Liu et al. 2019, arXiv:1806.09055; DARTS' `operations.py`).
//!
//! All ops map `C` channels to `C` channels at stride 1 or 2. In the search
//! network BatchNorm is non-affine (no trainable scale or shift, running
//! statistics kept) and every pooling op is followed by a non-affine BN; in the
//! evaluation networks BN is affine and pooling stands alone.

use crate::kernels::relu;
use burn::module::{Flag, Param, RunningState};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::ops::PadMode;
use edas_genotype::Primitive;

use crate::conv::{conv_forward, relu_conv_forward};
use crate::pointwise::pointwise_forward;

/// BatchNorm over channels, affine or not. PyTorch's defaults: momentum 0.1,
/// epsilon 1e-5. The running variance is the biased batch variance (burn's
/// convention; PyTorch keeps the unbiased one), which only matters at
/// inference with tiny batches.
#[derive(Module, Debug)]
pub struct Bn {
    /// Scale, when affine.
    pub gamma: Option<Param<Tensor<1>>>,
    /// Shift, when affine.
    pub beta: Option<Param<Tensor<1>>>,
    /// Running mean.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running variance.
    pub running_var: RunningState<Tensor<1>>,
    /// Batch statistics are used when this is on (running statistics are
    /// updated only on an autodiff device); `Module::valid()` turns it off,
    /// so inference uses the running statistics.
    pub training: Param<Flag>,
    /// Number of channels.
    pub channels: usize,
}

const BN_MOMENTUM: f64 = 0.1;
const BN_EPSILON: f64 = 1e-5;

impl Bn {
    /// A BatchNorm over `channels`; `affine` adds trainable scale and shift.
    pub fn new(channels: usize, affine: bool, device: &Device) -> Bn {
        let param = |v: Tensor<1>| Some(Param::from_tensor(v));
        Bn {
            gamma: if affine {
                param(Tensor::ones([channels], device))
            } else {
                None
            },
            beta: if affine {
                param(Tensor::zeros([channels], device))
            } else {
                None
            },
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            training: Param::from_bool(true),
            channels,
        }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        let gamma = self
            .gamma
            .as_ref()
            .map_or_else(|| Tensor::ones([self.channels], &device), |g| g.val());
        let beta = self
            .beta
            .as_ref()
            .map_or_else(|| Tensor::zeros([self.channels], &device), |b| b.val());
        if self.training.is_enabled() {
            let (output, batch_mean, batch_var) =
                crate::kernels::batch_norm_stats(x, gamma, beta, BN_EPSILON);
            if !device.is_autodiff() {
                // Batch statistics without training (the supernet's
                // evaluation): the running statistics are left alone.
                return output;
            }
            let mean = self.running_mean.value_sync().to_device(&device);
            let var = self.running_var.value_sync().to_device(&device);
            self.running_mean.update(
                mean.mul_scalar(1.0 - BN_MOMENTUM)
                    .add(batch_mean.detach().mul_scalar(BN_MOMENTUM))
                    .detach(),
            );
            self.running_var.update(
                var.mul_scalar(1.0 - BN_MOMENTUM)
                    .add(batch_var.detach().mul_scalar(BN_MOMENTUM))
                    .detach(),
            );
            output
        } else {
            let mean = self.running_mean.value().to_device(&device);
            let var = self.running_var.value().to_device(&device);
            burn::tensor::module::batch_norm(x, gamma, beta, mean, var, BN_EPSILON)
        }
    }
}

/// A bias-free 2-D convolution as DARTS' ops build it (square kernel,
/// symmetric padding), in burn's config-and-`init` style:
/// `ConvSpec::new(c_in, c_out, 3).with_stride(2).with_padding(1).init(device)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride (1).
    pub stride: usize,
    /// Padding on every side (0).
    pub padding: usize,
    /// Dilation (1).
    pub dilation: usize,
    /// Groups (1; `c_in` for a depthwise convolution).
    pub groups: usize,
}

impl ConvSpec {
    /// A `kernel x kernel` convolution `c_in -> c_out`, stride 1, no
    /// padding, no dilation, one group.
    pub fn new(c_in: usize, c_out: usize, kernel: usize) -> ConvSpec {
        ConvSpec {
            c_in,
            c_out,
            kernel,
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }

    /// With stride `stride`.
    pub fn with_stride(self, stride: usize) -> ConvSpec {
        ConvSpec { stride, ..self }
    }

    /// With padding `padding` on every side.
    pub fn with_padding(self, padding: usize) -> ConvSpec {
        ConvSpec { padding, ..self }
    }

    /// With dilation `dilation`.
    pub fn with_dilation(self, dilation: usize) -> ConvSpec {
        ConvSpec { dilation, ..self }
    }

    /// With `groups` groups.
    pub fn with_groups(self, groups: usize) -> ConvSpec {
        ConvSpec { groups, ..self }
    }

    /// The convolution, initialised as burn initialises `Conv2d`.
    pub fn init(&self, device: &Device) -> Conv2d {
        Conv2dConfig::new([self.c_in, self.c_out], [self.kernel, self.kernel])
            .with_stride([self.stride, self.stride])
            .with_padding(PaddingConfig2d::Explicit(
                self.padding,
                self.padding,
                self.padding,
                self.padding,
            ))
            .with_dilation([self.dilation, self.dilation])
            .with_groups(self.groups)
            .with_bias(false)
            .init(device)
    }
}

/// `ReLUConvBN(C_in, C_out, k, s, p)`: ReLU, convolution, BN.
#[derive(Module, Debug)]
pub struct ReluConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// The BatchNorm.
    pub bn: Bn,
}

/// The settings of a [`ReluConvBn`] (`ReLUConvBN(C_in, C_out, k, s, p)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReluConvBnConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel side.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub padding: usize,
    /// Affine BatchNorm (discrete networks) or not (the supernet).
    pub affine: bool,
}

impl ReluConvBnConfig {
    /// ReLU, `k x k` convolution, BN.
    pub fn init(&self, device: &Device) -> ReluConvBn {
        ReluConvBn {
            conv: ConvSpec::new(self.c_in, self.c_out, self.kernel)
                .with_stride(self.stride)
                .with_padding(self.padding)
                .init(device),
            bn: Bn::new(self.c_out, self.affine, device),
        }
    }
}

impl ReluConvBn {
    /// `[N, C_in, H, W] -> [N, C_out, H', W']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(conv_forward(&self.conv, relu(x)))
    }
}

/// `FactorizedReduce(C_in, C_out)`: ReLU, then two 1x1 stride-2 convolutions
/// (on `x` and on `x` shifted by one pixel), concatenated, then BN.
///
/// The shifted branch zero-pads one row and column at the far edge, so both
/// branches give `ceil(H/2) x ceil(W/2)` for odd sizes too (DARTS' own code
/// fails on odd sizes; on even sizes the two agree exactly).
#[derive(Module, Debug)]
pub struct FactorizedReduce {
    /// 1x1 stride-2 convolution on `x`.
    pub conv1: Conv2d,
    /// 1x1 stride-2 convolution on `x[:, :, 1:, 1:]`.
    pub conv2: Conv2d,
    /// The BatchNorm.
    pub bn: Bn,
}

impl FactorizedReduce {
    /// Halves resolution, `C_in -> C_out` channels (`C_out` even).
    pub fn new(c_in: usize, c_out: usize, affine: bool, device: &Device) -> Self {
        assert!(
            c_out.is_multiple_of(2),
            "FactorizedReduce needs an even output channel count, got {c_out}"
        );
        FactorizedReduce {
            conv1: ConvSpec::new(c_in, c_out / 2, 1)
                .with_stride(2)
                .init(device),
            conv2: ConvSpec::new(c_in, c_out / 2, 1)
                .with_stride(2)
                .init(device),
            bn: Bn::new(c_out, affine, device),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, ceil(H/2), ceil(W/2)]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_activated(relu(x))
    }

    /// [`FactorizedReduce::forward`] of an input whose leading ReLU is
    /// already applied.
    pub fn forward_activated(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        // A 1x1 convolution at stride 2 reads every other row and column:
        // they are taken as a strided view, then convolved at stride 1 as
        // every 1x1 convolution is ([`pointwise_forward`]; on flex, burn's
        // stride-2 convolution gathered its columns and ran its backward on
        // the calling thread). `ConvSpec` makes no bias.
        let even = x.clone().slice(burn::tensor::s![.., .., 0..h;2, 0..w;2]);
        // The second branch reads `x[1::2, 1::2]`, and zeros past an odd
        // edge (DARTS' shifted, padded input).
        let odd = if h % 2 == 0 && w % 2 == 0 {
            x.slice(burn::tensor::s![.., .., 1..h;2, 1..w;2])
        } else {
            x.pad((0, 1, 0, 1), PadMode::Constant(0.0))
                .slice(burn::tensor::s![.., .., 1..h + 1;2, 1..w + 1;2])
        };
        let out = Tensor::cat(
            vec![
                pointwise_forward(&self.conv1, even),
                pointwise_forward(&self.conv2, odd),
            ],
            1,
        );
        self.bn.forward(out)
    }
}

/// `sep_conv_k`: [ReLU, depthwise k x k (stride s), 1x1, BN] twice, the second
/// at stride 1.
#[derive(Module, Debug)]
pub struct SepConv {
    /// First depthwise convolution.
    pub dw1: Conv2d,
    /// First pointwise convolution.
    pub pw1: Conv2d,
    /// First BN.
    pub bn1: Bn,
    /// Second depthwise convolution.
    pub dw2: Conv2d,
    /// Second pointwise convolution.
    pub pw2: Conv2d,
    /// Second BN.
    pub bn2: Bn,
}

impl SepConv {
    /// `k x k` separable convolution on `c` channels at stride `s`.
    pub fn new(c: usize, k: usize, s: usize, affine: bool, device: &Device) -> Self {
        SepConv {
            dw1: ConvSpec::new(c, c, k)
                .with_stride(s)
                .with_padding(k / 2)
                .with_groups(c)
                .init(device),
            pw1: ConvSpec::new(c, c, 1).init(device),
            bn1: Bn::new(c, affine, device),
            dw2: ConvSpec::new(c, c, k)
                .with_padding(k / 2)
                .with_groups(c)
                .init(device),
            pw2: ConvSpec::new(c, c, 1).init(device),
            bn2: Bn::new(c, affine, device),
        }
    }

    /// `[N, C, H, W] -> [N, C, H/s, W/s]` (rounded up). Each ReLU is fused
    /// into the depthwise convolution after it ([`relu_conv_forward`]).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.after_dw1(relu_conv_forward(&self.dw1, x))
    }

    /// [`SepConv::forward`] of an input whose leading ReLU is already applied.
    pub fn forward_activated(&self, r: Tensor<4>) -> Tensor<4> {
        self.after_dw1(conv_forward(&self.dw1, r))
    }

    /// The layers after the first depthwise convolution.
    fn after_dw1(&self, y: Tensor<4>) -> Tensor<4> {
        let x = self.bn1.forward(conv_forward(&self.pw1, y));
        self.bn2
            .forward(conv_forward(&self.pw2, relu_conv_forward(&self.dw2, x)))
    }
}

/// `dil_conv_k`: ReLU, depthwise k x k with dilation 2 (stride s), 1x1, BN.
#[derive(Module, Debug)]
pub struct DilConv {
    /// Dilated depthwise convolution.
    pub dw: Conv2d,
    /// Pointwise convolution.
    pub pw: Conv2d,
    /// BN.
    pub bn: Bn,
}

impl DilConv {
    /// `k x k` dilated separable convolution (padding 2 for 3x3, 4 for 5x5).
    pub fn new(c: usize, k: usize, s: usize, affine: bool, device: &Device) -> Self {
        DilConv {
            dw: ConvSpec::new(c, c, k)
                .with_stride(s)
                .with_padding(k - 1)
                .with_dilation(2)
                .with_groups(c)
                .init(device),
            pw: ConvSpec::new(c, c, 1).init(device),
            bn: Bn::new(c, affine, device),
        }
    }

    /// `[N, C, H, W] -> [N, C, H/s, W/s]` (rounded up), the ReLU fused into
    /// the depthwise convolution ([`relu_conv_forward`]).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn
            .forward(conv_forward(&self.pw, relu_conv_forward(&self.dw, x)))
    }

    /// [`DilConv::forward`] of an input whose leading ReLU is already applied.
    pub fn forward_activated(&self, r: Tensor<4>) -> Tensor<4> {
        self.bn
            .forward(conv_forward(&self.pw, conv_forward(&self.dw, r)))
    }
}

/// 3x3 max pooling (padding 1), with a non-affine BN in the search network.
#[derive(Module, Debug)]
pub struct MaxPool {
    /// The pooling.
    pub pool: MaxPool2d,
    /// The BN of the search network.
    pub bn: Option<Bn>,
}

/// 3x3 average pooling (padding 1, padding not counted), with a non-affine BN
/// in the search network.
#[derive(Module, Debug)]
pub struct AvgPool {
    /// The pooling.
    pub pool: AvgPool2d,
    /// The BN of the search network.
    pub bn: Option<Bn>,
}

impl AvgPool {
    /// 3x3 average pooling at `stride`, padding 1 not counted, followed by
    /// `bn` when given.
    pub fn new(stride: usize, bn: Option<Bn>) -> AvgPool {
        AvgPool {
            pool: AvgPool2dConfig::new([3, 3])
                .with_strides([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_count_include_pad(false)
                .init(),
            bn,
        }
    }
}

/// The `none` op: zeros of the (strided) output shape.
#[derive(Module, Debug)]
pub struct Zero {
    /// 1 or 2.
    pub stride: usize,
}

impl Zero {
    /// Zeros `[N, C, ceil(H/s), ceil(W/s)]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        let s = self.stride;
        Tensor::zeros([n, c, h.div_ceil(s), w.div_ceil(s)], &x.device())
    }
}

/// Identity (`skip_connect` at stride 1).
#[derive(Module, Debug)]
pub struct Identity {
    /// Always 1; kept so the module is not a unit struct.
    pub stride: usize,
}

/// One DARTS op on an edge.
#[derive(Module, Debug)]
pub enum Op {
    /// `none`.
    Zero(Zero),
    /// `max_pool_3x3`.
    MaxPool(MaxPool),
    /// `avg_pool_3x3`.
    AvgPool(AvgPool),
    /// `skip_connect` at stride 1.
    Identity(Identity),
    /// `skip_connect` at stride 2.
    Reduce(FactorizedReduce),
    /// `sep_conv_3x3`, `sep_conv_5x5`.
    Sep(SepConv),
    /// `dil_conv_3x3`, `dil_conv_5x5`.
    Dil(DilConv),
}

/// Whether an op's BatchNorms are affine and whether pooling gets a BN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpMode {
    /// Search network: non-affine BN everywhere, BN after pooling.
    Search,
    /// Evaluation network: affine BN, plain pooling.
    Eval,
}

impl Op {
    /// The op `primitive` on `c` channels at `stride`.
    pub fn new(primitive: Primitive, c: usize, stride: usize, mode: OpMode, device: &Device) -> Op {
        let affine = mode == OpMode::Eval;
        let pool_bn = || (mode == OpMode::Search).then(|| Bn::new(c, false, device));
        let pad = PaddingConfig2d::Explicit(1, 1, 1, 1);
        match primitive {
            Primitive::None => Op::Zero(Zero { stride }),
            Primitive::MaxPool3x3 => Op::MaxPool(MaxPool {
                pool: MaxPool2dConfig::new([3, 3])
                    .with_strides([stride, stride])
                    .with_padding(pad)
                    .init(),
                bn: pool_bn(),
            }),
            Primitive::AvgPool3x3 => Op::AvgPool(AvgPool::new(stride, pool_bn())),
            Primitive::SkipConnect if stride == 1 => Op::Identity(Identity { stride: 1 }),
            Primitive::SkipConnect => Op::Reduce(FactorizedReduce::new(c, c, affine, device)),
            Primitive::SepConv3x3 => Op::Sep(SepConv::new(c, 3, stride, affine, device)),
            Primitive::SepConv5x5 => Op::Sep(SepConv::new(c, 5, stride, affine, device)),
            Primitive::DilConv3x3 => Op::Dil(DilConv::new(c, 3, stride, affine, device)),
            Primitive::DilConv5x5 => Op::Dil(DilConv::new(c, 5, stride, affine, device)),
        }
    }

    /// Whether this is the identity (which drop-path leaves alone).
    pub fn is_identity(&self) -> bool {
        matches!(self, Op::Identity(_))
    }

    /// Whether this is the `none` op.
    pub fn is_zero(&self) -> bool {
        matches!(self, Op::Zero(_))
    }

    /// Whether the op begins with a ReLU of its input (the convolutions and
    /// the stride-2 skip): a mixed edge computes that ReLU once for all of
    /// them ([`Op::forward_activated`]).
    pub fn starts_with_relu(&self) -> bool {
        matches!(self, Op::Reduce(_) | Op::Sep(_) | Op::Dil(_))
    }

    /// Whether [`Op::forward`] fuses the op's leading ReLU into its first
    /// depthwise convolution (the separable and dilated convolutions), where
    /// [`crate::kernels::fuses_relu`] says the backend does.
    pub fn fuses_relu(&self) -> bool {
        matches!(self, Op::Sep(_) | Op::Dil(_))
    }

    /// The op's output given `r = relu(x)`, for ops that
    /// [start with a ReLU](Op::starts_with_relu); other ops get `r` as their
    /// input, which is only right when `x` is already non-negative.
    pub fn forward_activated(&self, r: Tensor<4>) -> Tensor<4> {
        match self {
            Op::Reduce(f) => f.forward_activated(r),
            Op::Sep(s) => s.forward_activated(r),
            Op::Dil(d) => d.forward_activated(r),
            other => other.forward(r),
        }
    }

    /// `[N, C, H, W] -> [N, C, ceil(H/s), ceil(W/s)]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Op::Zero(z) => z.forward(x),
            Op::MaxPool(p) => then_bn(p.bn.as_ref(), max_pool(&p.pool, x)),
            Op::AvgPool(p) => then_bn(p.bn.as_ref(), crate::pool::avg_pool(&p.pool, x)),
            Op::Identity(_) => x,
            Op::Reduce(r) => r.forward(x),
            Op::Sep(s) => s.forward(x),
            Op::Dil(d) => d.forward(x),
        }
    }
}

/// `pool.forward(x)`, through our kernel ([`crate::kernels::max_pool`])
/// for symmetric explicit padding, no dilation and floor mode (DARTS'
/// `max_pool_3x3`).
pub fn max_pool(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    match pool.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if top == bottom && left == right && pool.dilation == [1, 1] && !pool.ceil_mode =>
        {
            crate::kernels::max_pool(x, pool.kernel_size, pool.stride, [top, left])
        }
        _ => pool.forward(x),
    }
}

/// `bn(y)` when there is a BatchNorm, `y` otherwise.
pub(crate) fn then_bn(bn: Option<&Bn>, y: Tensor<4>) -> Tensor<4> {
    match bn {
        Some(bn) => bn.forward(y),
        None => y,
    }
}

/// Drop-path: zeroes whole examples with probability `p` and scales the rest
/// by `1 / (1 - p)` (DARTS' `drop_path`). A no-op when `p == 0`.
pub fn drop_path(x: Tensor<4>, p: f64) -> Tensor<4> {
    if p <= 0.0 {
        return x;
    }
    let keep = 1.0 - p;
    let [n, ..] = x.dims();
    let mask: Tensor<1> = Tensor::random(
        [n],
        burn::tensor::Distribution::Bernoulli(keep),
        &x.device(),
    );
    crate::kernels::scale_examples(x, mask.div_scalar(keep))
}

/// Drop-path with the mask a function of `seed` (one draw per example), so
/// that a run is reproducible and resumable whatever the backend's random
/// generator does. Same scaling as [`drop_path`].
pub fn drop_path_seeded(x: Tensor<4>, p: f64, seed: u64) -> Tensor<4> {
    if p <= 0.0 {
        return x;
    }
    let keep = 1.0 - p;
    let [n, ..] = x.dims();
    let mask: Vec<f32> = (0..n as u64)
        .map(|i| {
            let u = (edas_rng::splitmix64(seed ^ edas_rng::splitmix64(i)) >> 11) as f64
                / (1u64 << 53) as f64;
            if u < keep { (1.0 / keep) as f32 } else { 0.0 }
        })
        .collect();
    let mask: Tensor<1> = Tensor::from_data(TensorData::new(mask, [n]), &x.device());
    crate::kernels::scale_examples(x, mask)
}

/// A per-(cell, edge, step) seed for [`drop_path_seeded`].
pub fn drop_path_seed(seed: u64, cell: usize, edge: usize) -> u64 {
    edas_rng::splitmix64(seed ^ edas_rng::splitmix64(((cell as u64) << 32) | edge as u64))
}
