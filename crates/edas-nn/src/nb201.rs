//! The NAS-Bench-201 network (Dong & Yang, "NAS-Bench-201: Extending the
//! Scope of Reproducible Neural Architecture Search", ICLR 2020), built from
//! one cell ([`Nb201Cell`]) repeated in every stage.
//!
//! The macro skeleton, as the benchmark trained every cell (facts from the
//! paper, Figure 1, and its public API packages):
//!
//! - stem: 3x3 convolution (input channels -> `C`, padding 1, no bias), BN;
//! - three stages of `N` cells at `C`, `2C` and `4C` channels;
//! - between stages, a residual block of stride 2 (ResNet's basic block):
//!   `ReLU-conv3x3(stride 2)-BN`, `ReLU-conv3x3-BN`, plus a shortcut of 2x2
//!   average pooling (stride 2) and a 1x1 convolution;
//! - BN, ReLU, global average pooling, a linear classifier.
//!
//! The benchmark uses `C = 16`, `N = 5` on CIFAR-10, CIFAR-100 and
//! ImageNet16-120. In a cell every edge maps `C` to `C` channels at stride
//! 1; a node sums its incoming edges; the cell's output is node 3.
//! `nor_conv_kxk` is ReLU, a `k x k` convolution (padding `k / 2`, no
//! bias) and an affine BN; `avg_pool_3x3` pads 1 and does not count the
//! padding.

use crate::kernels::relu;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use edas_genotype::nb201::{NB201_EDGES, Nb201Cell, Nb201Op};

use crate::conv::conv_forward;
use crate::error::NnError;
use crate::ops::{AvgPool, Bn, ConvSpec, Identity, ReluConvBn, ReluConvBnConfig, Zero};
use crate::pool::avg_pool;
use crate::supernet::accumulate;

/// Configuration of a NAS-Bench-201 network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Nb201Config {
    /// Input channels (1 or 3).
    pub in_channels: usize,
    /// Input height and width (a multiple of 4: two stride-2 stages).
    pub image_size: usize,
    /// Number of classes.
    pub classes: usize,
    /// Channels of the first stage `C` (benchmark: 16).
    pub channels: usize,
    /// Cells per stage `N` (benchmark: 5).
    pub cells_per_stage: usize,
}

impl Nb201Config {
    /// The benchmark's network: `C = 16`, `N = 5`, 3-channel images of side
    /// `image_size` (32 for CIFAR, 16 for ImageNet16-120).
    pub fn benchmark(classes: usize, image_size: usize) -> Nb201Config {
        Nb201Config {
            in_channels: 3,
            image_size,
            classes,
            channels: 16,
            cells_per_stage: 5,
        }
    }

    /// Refuses sizes the skeleton cannot take.
    pub fn check(&self) -> Result<(), NnError> {
        if self.channels == 0 || self.cells_per_stage == 0 || self.classes == 0 {
            return Err(NnError::Config(format!(
                "a NAS-Bench-201 network needs channels, cells per stage and classes above 0, \
                 got C={}, N={}, {} classes",
                self.channels, self.cells_per_stage, self.classes
            )));
        }
        if self.image_size == 0 || !self.image_size.is_multiple_of(4) {
            return Err(NnError::Config(format!(
                "a NAS-Bench-201 network halves its maps twice, with a 2x2 pooled shortcut: \
                 the image side must be a multiple of 4, got {}",
                self.image_size
            )));
        }
        Ok(())
    }
}

/// One layer of the skeleton and its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerShape {
    /// A residual block `c_in -> c_out` at stride 2.
    Res {
        /// Input channels.
        c_in: usize,
        /// Output channels.
        c_out: usize,
    },
    /// A cell on `c` channels.
    Cell {
        /// Channels.
        c: usize,
    },
}

impl Nb201Config {
    /// The skeleton's layers in order: `N` cells at `C`, a block to `2C`,
    /// `N` cells, a block to `4C`, `N` cells (the network and the supernet
    /// build from this one list).
    pub fn layers(&self) -> Vec<LayerShape> {
        let mut layers = Vec::with_capacity(3 * self.cells_per_stage + 2);
        for stage in 0..3 {
            let width = self.channels << stage;
            if stage > 0 {
                layers.push(LayerShape::Res {
                    c_in: width / 2,
                    c_out: width,
                });
            }
            layers.extend((0..self.cells_per_stage).map(|_| LayerShape::Cell { c: width }));
        }
        layers
    }
}

/// One edge of a discrete NAS-Bench-201 cell.
#[derive(Module, Debug)]
pub enum Nb201Edge {
    /// `none`: zeros.
    Zero(Zero),
    /// `skip_connect`: identity.
    Identity(Identity),
    /// `nor_conv_1x1`, `nor_conv_3x3`: ReLU, convolution, BN.
    Conv(ReluConvBn),
    /// `avg_pool_3x3` (no BN).
    Pool(AvgPool),
}

impl Nb201Edge {
    /// The module of `op` on `c` channels, with affine BatchNorms when
    /// `affine` (the trained network; the supernet's are not).
    pub fn new(op: Nb201Op, c: usize, affine: bool, device: &Device) -> Nb201Edge {
        let conv = |kernel: usize| {
            Nb201Edge::Conv(
                ReluConvBnConfig {
                    c_in: c,
                    c_out: c,
                    kernel,
                    stride: 1,
                    padding: kernel / 2,
                    affine,
                }
                .init(device),
            )
        };
        match op {
            Nb201Op::None => Nb201Edge::Zero(Zero { stride: 1 }),
            Nb201Op::SkipConnect => Nb201Edge::Identity(Identity { stride: 1 }),
            Nb201Op::NorConv1x1 => conv(1),
            Nb201Op::NorConv3x3 => conv(3),
            Nb201Op::AvgPool3x3 => Nb201Edge::Pool(AvgPool::new(1, None)),
        }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Nb201Edge::Zero(z) => z.forward(x),
            Nb201Edge::Identity(_) => x,
            Nb201Edge::Conv(r) => r.forward(x),
            Nb201Edge::Pool(p) => avg_pool(&p.pool, x),
        }
    }

    /// Whether the edge outputs zeros (`none`).
    pub fn is_zero(&self) -> bool {
        matches!(self, Nb201Edge::Zero(_))
    }
}

/// A discrete NAS-Bench-201 cell: one module per edge, in the cell's row
/// order (`0->1`, `0->2`, `1->2`, `0->3`, `1->3`, `2->3`).
#[derive(Module, Debug)]
pub struct Nb201CellModule {
    /// The 6 edges.
    pub edges: Vec<Nb201Edge>,
}

impl Nb201CellModule {
    /// The cell `cell` on `c` channels.
    pub fn new(cell: &Nb201Cell, c: usize, affine: bool, device: &Device) -> Nb201CellModule {
        Nb201CellModule {
            edges: cell
                .0
                .iter()
                .map(|&op| Nb201Edge::new(op, c, affine, device))
                .collect(),
        }
    }

    /// `[N, C, H, W] -> [N, C, H, W]`: node `i` sums its edges from states
    /// `0..i`; the output is node 3. A `none` edge adds nothing and is not
    /// computed; a node none of whose edges ran is zeros, and the ops after
    /// it see those zeros as in the benchmark's code (where a BN of zeros
    /// gives its shift, not zeros).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        cell_flow(
            x,
            |e| !self.edges[e].is_zero(),
            |e, from| Some(self.edges[e].forward(from)),
        )
    }
}

/// A NAS-Bench-201 cell's data flow on `x` (state 0), for the network and
/// the supernet alike: node `i` sums `edge(e, state)` over its edges `e`
/// from states `0..i` (row order) that `runs(e)` says are computed, and
/// that give an output; a node none of whose edges gave one is zeros, and
/// the edges after it see those zeros (as in the benchmark's code, where a
/// BN of zeros gives its shift, not zeros). Returns node 3.
pub(crate) fn cell_flow(
    x: Tensor<4>,
    runs: impl Fn(usize) -> bool,
    mut edge: impl FnMut(usize, Tensor<4>) -> Option<Tensor<4>>,
) -> Tensor<4> {
    let zeros = || Tensor::zeros(x.dims(), &x.device());
    let mut states: [Option<Tensor<4>>; 4] = [Some(x.clone()), None, None, None];
    for (e, &(input, node)) in NB201_EDGES.iter().enumerate() {
        if !runs(e) {
            continue;
        }
        if let Some(y) = edge(e, states[input].clone().unwrap_or_else(zeros)) {
            accumulate(&mut states[node], y);
        }
    }
    states[3].take().unwrap_or_else(zeros)
}

/// The residual block between stages (ResNet's basic block at stride 2):
/// `conv_b(conv_a(x)) + conv1x1(avg_pool_2x2(x))`.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// `ReLU, conv 3x3 stride 2, BN` (`C_in -> C_out`).
    pub conv_a: ReluConvBn,
    /// `ReLU, conv 3x3, BN` (`C_out -> C_out`).
    pub conv_b: ReluConvBn,
    /// The shortcut's 2x2 average pooling (stride 2).
    pub pool: AvgPool2d,
    /// The shortcut's 1x1 convolution after the pooling.
    pub shortcut: Conv2d,
}

impl ResBlock {
    /// A block `c_in -> c_out` halving the map.
    pub fn new(c_in: usize, c_out: usize, affine: bool, device: &Device) -> ResBlock {
        let conv3 = |c_in: usize, stride: usize| {
            ReluConvBnConfig {
                c_in,
                c_out,
                kernel: 3,
                stride,
                padding: 1,
                affine,
            }
            .init(device)
        };
        ResBlock {
            conv_a: conv3(c_in, 2),
            conv_b: conv3(c_out, 1),
            pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            shortcut: ConvSpec::new(c_in, c_out, 1).init(device),
        }
    }

    /// `[N, C_in, H, W] -> [N, C_out, H/2, W/2]` (`H`, `W` even).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual = conv_forward(&self.shortcut, self.pool.forward(x.clone()));
        self.conv_b.forward(self.conv_a.forward(x)).add(residual)
    }
}

/// One layer of the skeleton.
#[derive(Module, Debug)]
pub enum Nb201Layer {
    /// A searched cell.
    Cell(Nb201CellModule),
    /// A residual block between stages.
    Res(ResBlock),
}

/// The NAS-Bench-201 network of one cell.
#[derive(Module, Debug)]
pub struct Nb201Network {
    /// Stem convolution (input -> `C`).
    pub stem_conv: Conv2d,
    /// Stem BN.
    pub stem_bn: Bn,
    /// `N` cells, a residual block, `N` cells, a residual block, `N` cells.
    pub layers: Vec<Nb201Layer>,
    /// BN before the final ReLU and pooling.
    pub last_bn: Bn,
    /// The classifier (`4C -> classes`).
    pub classifier: Linear,
}

impl Nb201Network {
    /// The trained network of `cell` (affine BatchNorms everywhere).
    pub fn new(
        cell: &Nb201Cell,
        config: &Nb201Config,
        device: &Device,
    ) -> Result<Nb201Network, NnError> {
        config.check()?;
        let c = config.channels;
        let layers = config
            .layers()
            .into_iter()
            .map(|layer| match layer {
                LayerShape::Res { c_in, c_out } => {
                    Nb201Layer::Res(ResBlock::new(c_in, c_out, true, device))
                }
                LayerShape::Cell { c } => {
                    Nb201Layer::Cell(Nb201CellModule::new(cell, c, true, device))
                }
            })
            .collect();
        Ok(Nb201Network {
            stem_conv: ConvSpec::new(config.in_channels, c, 3)
                .with_padding(1)
                .init(device),
            stem_bn: Bn::new(c, true, device),
            layers,
            last_bn: Bn::new(4 * c, true, device),
            classifier: LinearConfig::new(4 * c, config.classes).init(device),
        })
    }

    /// `[N, C_in, H, W] -> [N, classes]` logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem_bn.forward(conv_forward(&self.stem_conv, x));
        for layer in &self.layers {
            x = match layer {
                Nb201Layer::Cell(cell) => cell.forward(x),
                Nb201Layer::Res(block) => block.forward(x),
            };
        }
        let x = relu(self.last_bn.forward(x));
        let pooled = x.mean_dim(3).mean_dim(2).flatten(1, 3);
        self.classifier.forward(pooled)
    }
}
