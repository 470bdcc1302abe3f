//! The discrete networks trained from scratch: DARTS' `NetworkCIFAR` and
//! `NetworkImageNet` (DARTS' `model.py`), built from a [`Genotype`].

use crate::kernels::relu;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use edas_genotype::space::Edge;
use edas_genotype::{CellKind, Genotype};

use crate::conv::conv_forward;
use crate::error::NnError;
use crate::ops::{
    Bn, ConvSpec, Op, OpMode, ReluConvBn, drop_path, drop_path_seed, drop_path_seeded, then_bn,
};
use crate::scaffold::{CellShape, Preprocess, cell_shapes, edge_stride, pre0, pre1};
use crate::supernet::SearchNetwork;

/// A discrete cell: two ops per node, from the genotype.
#[derive(Module, Debug)]
pub struct Cell {
    /// Preprocessing of `s0`.
    pub pre0: Preprocess,
    /// Preprocessing of `s1`.
    pub pre1: ReluConvBn,
    /// One op per kept edge, in the genotype's order (2 per node).
    pub ops: Vec<Op>,
    /// The input state of each op.
    pub inputs: Vec<usize>,
    /// The nodes concatenated into the output.
    pub concat: Vec<usize>,
    /// Whether this is a reduction cell.
    pub reduction: bool,
}

impl Cell {
    fn new(genotype: &Genotype, shape: &CellShape, mode: OpMode, device: &Device) -> Cell {
        let affine = mode == OpMode::Eval;
        let cell = genotype.cell(CellKind::of(shape.reduction));
        let pre0 = pre0(shape, affine, device);
        let mut ops = Vec::new();
        let mut inputs = Vec::new();
        for edge in cell.edges() {
            let stride = edge_stride(shape.reduction, edge.input);
            ops.push(Op::new(edge.op, shape.c, stride, mode, device));
            inputs.push(edge.input);
        }
        Cell {
            pre0,
            pre1: pre1(shape, affine, device),
            ops,
            inputs,
            concat: cell.concat().to_vec(),
            reduction: shape.reduction,
        }
    }

    /// `(s0, s1) -> [N, len(concat) * C, H', W']`; `drop_prob` is the
    /// drop-path probability (0 at evaluation), applied to every op but the
    /// identity.
    pub fn forward(&self, s0: Tensor<4>, s1: Tensor<4>, drop_prob: f64) -> Tensor<4> {
        self.forward_seeded(s0, s1, drop_prob, None)
    }

    /// [`Cell::forward`] with drop-path masks drawn from `seed` (a function
    /// of the step and this cell) instead of the backend's generator, so that
    /// a training run is reproducible and resumable.
    pub fn forward_seeded(
        &self,
        s0: Tensor<4>,
        s1: Tensor<4>,
        drop_prob: f64,
        seed: Option<u64>,
    ) -> Tensor<4> {
        let mut states = vec![self.pre0.forward(s0), self.pre1.forward(s1)];
        for pair in 0..self.ops.len() / 2 {
            // One op (edge) `k` of the node, drop-path on all but identities.
            let branch = |k: usize, states: &[Tensor<4>]| {
                let op = &self.ops[k];
                let y = op.forward(states[self.inputs[k]].clone());
                if op.is_identity() {
                    y
                } else {
                    match seed {
                        Some(seed) => drop_path_seeded(y, drop_prob, drop_path_seed(seed, 0, k)),
                        None => drop_path(y, drop_prob),
                    }
                }
            };
            let a = branch(2 * pair, &states);
            let b = branch(2 * pair + 1, &states);
            states.push(a.add(b));
        }
        Tensor::cat(self.concat.iter().map(|&s| states[s].clone()).collect(), 1)
    }
}

/// DARTS' auxiliary classifier.
#[derive(Module, Debug)]
pub struct AuxHead {
    /// 5x5 average pooling (stride 3 for CIFAR, 2 for ImageNet), padding not counted.
    pub pool: AvgPool2d,
    /// 1x1 convolution to 128 channels.
    pub conv1: Conv2d,
    /// BN after `conv1`.
    pub bn1: Bn,
    /// Convolution to 768 channels over the whole pooled map.
    pub conv2: Conv2d,
    /// BN after `conv2` (CIFAR only: DARTS' ImageNet head has none).
    pub bn2: Option<Bn>,
    /// Linear 768 -> classes.
    pub classifier: Linear,
}

impl AuxHead {
    /// A head for `c` input channels at `spatial x spatial`.
    fn new(
        c: usize,
        classes: usize,
        spatial: usize,
        stride: usize,
        imagenet: bool,
        device: &Device,
    ) -> AuxHead {
        let pooled = (spatial.saturating_sub(5)) / stride + 1;
        AuxHead {
            pool: AvgPool2dConfig::new([5, 5])
                .with_strides([stride, stride])
                .with_count_include_pad(false)
                .init(),
            conv1: ConvSpec::new(c, 128, 1).init(device),
            bn1: Bn::new(128, true, device),
            // DARTS uses 2x2, which is the whole pooled map at 32x32 (CIFAR) and
            // 224x224 (ImageNet); other image sizes get the kernel that does the same.
            conv2: ConvSpec::new(128, 768, pooled).init(device),
            bn2: (!imagenet).then(|| Bn::new(768, true, device)),
            classifier: LinearConfig::new(768, classes).init(device),
        }
    }

    /// `[N, C, H, W] -> [N, classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self
            .bn1
            .forward(conv_forward(&self.conv1, self.pool.forward(relu(x))));
        let x = self.conv2.forward(relu(x));
        let x = relu(then_bn(self.bn2.as_ref(), x));
        self.classifier.forward(x.flatten(1, 3))
    }
}

/// Which discrete network an architecture builds: DARTS' two, or the
/// NAS-Bench-201 skeleton.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum NetKind {
    /// DARTS' `NetworkCIFAR` (3x3 stem; any image size and channels;
    /// DARTS: C=36, L=20).
    #[default]
    Cifar,
    /// DARTS' `NetworkImageNet` (stride-8 stem, 224x224; DARTS: C=48, L=14).
    Imagenet,
    /// The NAS-Bench-201 network of one cell (`crate::nb201`; benchmark:
    /// C=16, 5 cells per stage, L = 15 cells).
    #[serde(rename = "nas-bench-201")]
    Nb201,
}

impl NetKind {
    /// The name in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NetKind::Cifar => "cifar",
            NetKind::Imagenet => "imagenet",
            NetKind::Nb201 => "nas-bench-201",
        }
    }
}

impl std::fmt::Display for NetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for NetKind {
    type Err = NnError;

    fn from_str(s: &str) -> Result<NetKind, NnError> {
        match s {
            "cifar" => Ok(NetKind::Cifar),
            "imagenet" => Ok(NetKind::Imagenet),
            "nas-bench-201" => Ok(NetKind::Nb201),
            _ => Err(NnError::Config(format!(
                "unknown network kind `{s}` (expected cifar, imagenet or nas-bench-201)"
            ))),
        }
    }
}

/// Configuration of a discrete network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkConfig {
    /// Input channels (1 or 3).
    pub in_channels: usize,
    /// Input height and width.
    pub image_size: usize,
    /// Number of classes.
    pub classes: usize,
    /// Initial channels `C`.
    pub channels: usize,
    /// Number of cells `L`.
    pub layers: usize,
    /// Build the auxiliary head.
    pub auxiliary: bool,
}

impl NetworkConfig {
    /// DARTS' CIFAR evaluation network: C=36, L=20, auxiliary head.
    pub fn darts_cifar(classes: usize) -> NetworkConfig {
        NetworkConfig {
            in_channels: 3,
            image_size: 32,
            classes,
            channels: 36,
            layers: 20,
            auxiliary: true,
        }
    }

    /// DARTS' ImageNet network: C=48, L=14, 224x224, auxiliary head.
    pub fn darts_imagenet(classes: usize) -> NetworkConfig {
        NetworkConfig {
            in_channels: 3,
            image_size: 224,
            classes,
            channels: 48,
            layers: 14,
            auxiliary: true,
        }
    }
}

/// Output of a discrete network.
#[derive(Debug)]
pub struct Logits {
    /// Main classifier logits `[N, classes]`.
    pub logits: Tensor<2>,
    /// Auxiliary logits, when the head exists and `train` was asked.
    pub aux: Option<Tensor<2>>,
}

/// Which stem a network has.
#[derive(Module, Debug)]
pub enum Stem {
    /// CIFAR: 3x3 conv to 3C, BN.
    Cifar(CifarStem),
    /// ImageNet: two stride-2 stems (stride 8 in all).
    ImageNet(ImageNetStem),
}

/// `conv 3x3 (in -> 3C), BN`.
#[derive(Module, Debug)]
pub struct CifarStem {
    /// The convolution.
    pub conv: Conv2d,
    /// The BN.
    pub bn: Bn,
}

/// `stem0 = conv 3x3 s2 (in -> C/2), BN, ReLU, conv 3x3 s2 (C/2 -> C), BN`;
/// `stem1 = ReLU, conv 3x3 s2 (C -> C), BN`.
#[derive(Module, Debug)]
pub struct ImageNetStem {
    /// First stride-2 convolution.
    pub conv0a: Conv2d,
    /// Its BN.
    pub bn0a: Bn,
    /// Second stride-2 convolution.
    pub conv0b: Conv2d,
    /// Its BN.
    pub bn0b: Bn,
    /// Third stride-2 convolution (stem1).
    pub conv1: Conv2d,
    /// Its BN.
    pub bn1: Bn,
}

/// A discrete network built from a genotype: `NetworkCIFAR` or
/// `NetworkImageNet`.
#[derive(Module, Debug)]
pub struct Network {
    /// The stem.
    pub stem: Stem,
    /// The cells.
    pub cells: Vec<Cell>,
    /// The auxiliary head, after cell `2L/3`.
    pub aux: Option<AuxHead>,
    /// The classifier.
    pub classifier: Linear,
}

/// Checks that a network of `layers` cells on `image_size` inputs can be
/// built: at least 3 cells, and an image large enough for two reductions (and
/// the auxiliary head's 5x5 pooling).
pub fn check_layers(layers: usize, channels: usize) -> Result<(), NnError> {
    if layers < 3 {
        return Err(NnError::Config(format!(
            "layers must be at least 3 (reductions at L/3 and 2L/3), got {layers}"
        )));
    }
    if channels == 0 || !channels.is_multiple_of(2) {
        return Err(NnError::Config(format!(
            "channels must be even and positive (FactorizedReduce halves them), got {channels}"
        )));
    }
    Ok(())
}

fn aux_spatial(config: &NetworkConfig, imagenet: bool) -> usize {
    let s = if imagenet {
        config.image_size.div_ceil(8)
    } else {
        config.image_size
    };
    s.div_ceil(2).div_ceil(2)
}

impl Network {
    /// The network of `kind` ([`Network::cifar`] or [`Network::imagenet`]).
    pub fn of_kind(
        kind: NetKind,
        genotype: &Genotype,
        config: &NetworkConfig,
        device: &Device,
    ) -> Result<Network, NnError> {
        match kind {
            NetKind::Cifar => Network::cifar(genotype, config, device),
            NetKind::Imagenet => Network::imagenet(genotype, config, device),
            NetKind::Nb201 => Err(NnError::Mismatch(
                "a DARTS genotype builds a cifar or imagenet network, not nas-bench-201".into(),
            )),
        }
    }

    /// DARTS' `NetworkCIFAR`: a 3x3 stem and `L` cells (works for any input
    /// channels and image size, e.g. 1x28x28).
    pub fn cifar(
        genotype: &Genotype,
        config: &NetworkConfig,
        device: &Device,
    ) -> Result<Network, NnError> {
        Network::build(genotype, config, false, OpMode::Eval, device)
    }

    /// DARTS' `NetworkImageNet`: the stride-8 stem and `L` cells.
    pub fn imagenet(
        genotype: &Genotype,
        config: &NetworkConfig,
        device: &Device,
    ) -> Result<Network, NnError> {
        Network::build(genotype, config, true, OpMode::Eval, device)
    }

    fn build(
        genotype: &Genotype,
        config: &NetworkConfig,
        imagenet: bool,
        mode: OpMode,
        device: &Device,
    ) -> Result<Network, NnError> {
        check_layers(config.layers, config.channels)?;
        let affine = mode == OpMode::Eval;
        let c = config.channels;
        let aux_at = 2 * config.layers / 3;
        let spatial = aux_spatial(config, imagenet);
        if config.auxiliary && spatial < 5 {
            return Err(NnError::Config(format!(
                "the auxiliary head needs at least 5x5 maps after two reductions; {}x{} images give {spatial}x{spatial}",
                config.image_size, config.image_size
            )));
        }
        let (stem, c_stem) = if imagenet {
            let stem = ImageNetStem {
                conv0a: ConvSpec::new(config.in_channels, c / 2, 3)
                    .with_stride(2)
                    .with_padding(1)
                    .init(device),
                bn0a: Bn::new(c / 2, affine, device),
                conv0b: ConvSpec::new(c / 2, c, 3)
                    .with_stride(2)
                    .with_padding(1)
                    .init(device),
                bn0b: Bn::new(c, affine, device),
                conv1: ConvSpec::new(c, c, 3)
                    .with_stride(2)
                    .with_padding(1)
                    .init(device),
                bn1: Bn::new(c, affine, device),
            };
            (Stem::ImageNet(stem), c)
        } else {
            let stem = CifarStem {
                conv: ConvSpec::new(config.in_channels, 3 * c, 3)
                    .with_padding(1)
                    .init(device),
                bn: Bn::new(3 * c, affine, device),
            };
            (Stem::Cifar(stem), 3 * c)
        };
        let concat = |reduction| genotype.cell(CellKind::of(reduction)).concat().len();
        let (shapes, c_last) = cell_shapes(config.layers, c_stem, c, imagenet, concat);
        let mut cells = Vec::with_capacity(config.layers);
        let mut aux = None;
        for (i, shape) in shapes.iter().enumerate() {
            cells.push(Cell::new(genotype, shape, mode, device));
            if i == aux_at && config.auxiliary {
                let stride = if imagenet { 2 } else { 3 };
                let c_out = concat(shape.reduction) * shape.c;
                aux = Some(AuxHead::new(
                    c_out,
                    config.classes,
                    spatial,
                    stride,
                    imagenet,
                    device,
                ));
            }
        }
        Ok(Network {
            stem,
            cells,
            aux,
            classifier: LinearConfig::new(c_last, config.classes).init(device),
        })
    }

    /// The derived network of a supernet with its weights inherited: the
    /// stem, preprocessing and classifier are copied, and each kept edge takes
    /// the supernet's module for its op. Ops keep the search network's form
    /// (non-affine BN, BN after pooling), so with every edge clamped to
    /// `genotype` both networks compute the same function.
    pub fn from_search(search: &SearchNetwork, genotype: &Genotype) -> Result<Network, NnError> {
        let k = search.partial_channels();
        if k > 1 {
            return Err(NnError::Mismatch(format!(
                "the supernet's ops see 1/{k} of the channels (partial channel connections); \
                 a discrete network cannot inherit them"
            )));
        }
        let mut cells = Vec::with_capacity(search.cells.len());
        for (i, sc) in search.cells.iter().enumerate() {
            let kind = CellKind::of(sc.reduction);
            let g = genotype.cell(kind);
            let nodes = sc.num_nodes();
            if g.concat().len() != nodes || g.num_nodes() != nodes {
                return Err(NnError::Mismatch(format!(
                    "cell {i}: the search network's cells have and concatenate {nodes} nodes, the \
                     {kind} cell of the genotype has {} and concatenates {}",
                    g.num_nodes(),
                    g.concat().len()
                )));
            }
            let mut ops = Vec::new();
            let mut inputs = Vec::new();
            for (node, pair) in g.nodes() {
                for e in pair {
                    ops.push(
                        sc.edges[Edge {
                            node,
                            input: e.input,
                        }
                        .index()]
                        .op(e.op)
                        .clone(),
                    );
                    inputs.push(e.input);
                }
            }
            cells.push(Cell {
                pre0: sc.pre0.clone(),
                pre1: sc.pre1.clone(),
                ops,
                inputs,
                concat: g.concat().to_vec(),
                reduction: sc.reduction,
            });
        }
        Ok(Network {
            stem: Stem::Cifar(CifarStem {
                conv: search.stem_conv.clone(),
                bn: search.stem_bn.clone(),
            }),
            cells,
            aux: None,
            classifier: search.classifier.clone(),
        })
    }

    /// `[N, C_in, H, W] -> logits`; `drop_prob` is the drop-path probability;
    /// auxiliary logits are computed when `aux` is asked and the head exists.
    pub fn forward(&self, x: Tensor<4>, drop_prob: f64, aux: bool) -> Logits {
        self.forward_seeded(x, drop_prob, aux, None)
    }

    /// [`Network::forward`] with drop-path masks drawn from `seed` (give a
    /// different seed each step) instead of the backend's generator.
    pub fn forward_seeded(
        &self,
        x: Tensor<4>,
        drop_prob: f64,
        aux: bool,
        seed: Option<u64>,
    ) -> Logits {
        let (mut s0, mut s1) = match &self.stem {
            Stem::Cifar(st) => {
                let s = st.bn.forward(st.conv.forward(x));
                (s.clone(), s)
            }
            Stem::ImageNet(st) => {
                let s0 = relu(st.bn0a.forward(st.conv0a.forward(x)));
                let s0 = st.bn0b.forward(st.conv0b.forward(s0));
                let s1 = st.bn1.forward(st.conv1.forward(relu(s0.clone())));
                (s0, s1)
            }
        };
        let aux_at = 2 * self.cells.len() / 3;
        let mut aux_logits = None;
        for (i, cell) in self.cells.iter().enumerate() {
            let cell_seed = seed.map(|s| drop_path_seed(s, i, usize::MAX));
            let out = cell.forward_seeded(s0, s1.clone(), drop_prob, cell_seed);
            s0 = s1;
            s1 = out;
            if i == aux_at && aux {
                aux_logits = self.aux.as_ref().map(|h| h.forward(s1.clone()));
            }
        }
        let pooled = s1.mean_dim(3).mean_dim(2).flatten(1, 3);
        Logits {
            logits: self.classifier.forward(pooled),
            aux: aux_logits,
        }
    }
}
