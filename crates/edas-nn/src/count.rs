//! Parameter and mult-add counting by walking a network with its input shape.
//!
//! Conventions (stated because papers differ):
//! - **parameters**: trainable values only: convolution and linear weights and
//!   biases and the scale and shift of affine BatchNorms; BatchNorm running
//!   statistics are buffers, not parameters (PyTorch's `parameters()`, which
//!   DARTS counts). The auxiliary head is reported apart.
//! - **mult-adds**: multiply-accumulates of convolutions and linear layers
//!   only, one image, as in the mobile-setting papers' counters. BatchNorm,
//!   activations, pooling and additions are not counted. DARTS' paper prints
//!   574M for DARTS_V2 on ImageNet; this convention gives about 530M (see
//!   docs/networks.md and quark0/darts#46), and we do not tune towards 574M.

use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use serde::Serialize;

use crate::nb201::{Nb201Edge, Nb201Layer, Nb201Network};
use crate::network::{AuxHead, Cell, Network, Stem};
use crate::ops::{Bn, FactorizedReduce, Op, ReluConvBn};
use crate::scaffold::Preprocess;
use crate::supernet::{MixedEdge, SearchCell, SearchNetwork};

/// A `[C, H, W]` shape.
pub type Shape3 = [usize; 3];

/// Running totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Costs {
    /// Trainable parameters.
    pub params: u64,
    /// Multiply-accumulates of convolutions and linear layers.
    pub mult_adds: u64,
    /// BatchNorm running-statistics values (buffers).
    pub buffers: u64,
}

impl std::ops::Add for Costs {
    type Output = Costs;
    fn add(self, o: Costs) -> Costs {
        Costs {
            params: self.params + o.params,
            mult_adds: self.mult_adds + o.mult_adds,
            buffers: self.buffers + o.buffers,
        }
    }
}

fn out_size(
    size: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    dilation: usize,
) -> usize {
    (size + pad_before + pad_after).saturating_sub(dilation * (kernel - 1) + 1) / stride + 1
}

fn conv(c: &Conv2d, [_, h, w]: Shape3, acc: &mut Costs) -> Shape3 {
    let [c_out, c_in_per_group, kh, kw] = c.weight.shape().dims();
    let (top, left, bottom, right) = match c.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Same => (kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2),
    };
    let ho = out_size(h, kh, c.stride[0], top, bottom, c.dilation[0]);
    let wo = out_size(w, kw, c.stride[1], left, right, c.dilation[1]);
    let weights = (c_out * c_in_per_group * kh * kw) as u64;
    acc.params += weights + c.bias.as_ref().map_or(0, |_| c_out as u64);
    acc.mult_adds += weights * (ho * wo) as u64;
    [c_out, ho, wo]
}

fn linear(l: &Linear, acc: &mut Costs) {
    let [d_in, d_out] = l.weight.shape().dims();
    acc.params += (d_in * d_out + l.bias.as_ref().map_or(0, |_| d_out)) as u64;
    acc.mult_adds += (d_in * d_out) as u64;
}

fn bn(b: &Bn, acc: &mut Costs) {
    if b.gamma.is_some() {
        acc.params += 2 * b.channels as u64;
    }
    acc.buffers += 2 * b.channels as u64;
}

fn relu_conv_bn(r: &ReluConvBn, s: Shape3, acc: &mut Costs) -> Shape3 {
    bn(&r.bn, acc);
    conv(&r.conv, s, acc)
}

fn factorized_reduce(f: &FactorizedReduce, s: Shape3, acc: &mut Costs) -> Shape3 {
    let [c1, h, w] = conv(&f.conv1, s, acc);
    // The shifted branch sees the same size (zero-padded), so the same output.
    let [c2, ..] = conv(&f.conv2, s, acc);
    bn(&f.bn, acc);
    [c1 + c2, h, w]
}

/// The output shape of `op` on `s`, adding its costs.
pub fn op(o: &Op, s: Shape3, acc: &mut Costs) -> Shape3 {
    let pool = |stride: usize, [c, h, w]: Shape3| [c, h.div_ceil(stride), w.div_ceil(stride)];
    match o {
        Op::Zero(z) => pool(z.stride, s),
        Op::MaxPool(p) => {
            if let Some(b) = &p.bn {
                bn(b, acc);
            }
            pool(p.pool.stride[0], s)
        }
        Op::AvgPool(p) => {
            if let Some(b) = &p.bn {
                bn(b, acc);
            }
            pool(p.pool.stride[0], s)
        }
        Op::Identity(_) => s,
        Op::Reduce(f) => factorized_reduce(f, s, acc),
        Op::Sep(sc) => {
            let s = conv(&sc.dw1, s, acc);
            let s = conv(&sc.pw1, s, acc);
            bn(&sc.bn1, acc);
            let s = conv(&sc.dw2, s, acc);
            let s = conv(&sc.pw2, s, acc);
            bn(&sc.bn2, acc);
            s
        }
        Op::Dil(d) => {
            let s = conv(&d.dw, s, acc);
            let s = conv(&d.pw, s, acc);
            bn(&d.bn, acc);
            s
        }
    }
}

fn preprocess(p: &Preprocess, s: Shape3, acc: &mut Costs) -> Shape3 {
    match p {
        Preprocess::Reduce(f) => factorized_reduce(f, s, acc),
        Preprocess::Conv(r) => relu_conv_bn(r, s, acc),
    }
}

/// The output shape of a discrete cell on inputs `s0`, `s1`, adding its costs.
pub fn cell(c: &Cell, s0: Shape3, s1: Shape3, acc: &mut Costs) -> Shape3 {
    let mut states = vec![preprocess(&c.pre0, s0, acc), relu_conv_bn(&c.pre1, s1, acc)];
    for pair in 0..c.ops.len() / 2 {
        let a = op(&c.ops[2 * pair], states[c.inputs[2 * pair]], acc);
        let _ = op(&c.ops[2 * pair + 1], states[c.inputs[2 * pair + 1]], acc);
        states.push(a);
    }
    let [ch, h, w] = states[c.concat[0]];
    [ch * c.concat.len(), h, w]
}

fn aux_head(a: &AuxHead, [c, h, w]: Shape3, acc: &mut Costs) {
    let k = a.pool.kernel_size[0];
    let st = a.pool.stride[0];
    let s = [c, out_size(h, k, st, 0, 0, 1), out_size(w, k, st, 0, 0, 1)];
    let s = conv(&a.conv1, s, acc);
    bn(&a.bn1, acc);
    conv(&a.conv2, s, acc);
    if let Some(b) = &a.bn2 {
        bn(b, acc);
    }
    linear(&a.classifier, acc);
}

/// What a discrete network costs on `[C, H, W]` inputs.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkCosts {
    /// Stem, cells and classifier (no auxiliary head).
    pub main: Costs,
    /// The auxiliary head alone.
    pub aux: Costs,
    /// Output shape of each cell, `[C, H, W]`.
    pub cell_shapes: Vec<Shape3>,
    /// Whether each cell is a reduction cell.
    pub reductions: Vec<bool>,
}

/// Counts a discrete network on `input` (`[C, H, W]`).
pub fn network(n: &Network, input: Shape3) -> NetworkCosts {
    let mut acc = Costs::default();
    let (mut s0, mut s1) = match &n.stem {
        Stem::Cifar(st) => {
            let s = conv(&st.conv, input, &mut acc);
            bn(&st.bn, &mut acc);
            (s, s)
        }
        Stem::ImageNet(st) => {
            let s = conv(&st.conv0a, input, &mut acc);
            bn(&st.bn0a, &mut acc);
            let s0 = conv(&st.conv0b, s, &mut acc);
            bn(&st.bn0b, &mut acc);
            let s1 = conv(&st.conv1, s0, &mut acc);
            bn(&st.bn1, &mut acc);
            (s0, s1)
        }
    };
    let mut aux = Costs::default();
    let aux_at = 2 * n.cells.len() / 3;
    let mut cell_shapes = Vec::new();
    for (i, c) in n.cells.iter().enumerate() {
        let out = cell(c, s0, s1, &mut acc);
        s0 = s1;
        s1 = out;
        cell_shapes.push(out);
        if let Some(a) = n.aux.as_ref().filter(|_| i == aux_at) {
            aux_head(a, out, &mut aux);
        }
    }
    linear(&n.classifier, &mut acc);
    NetworkCosts {
        main: acc,
        aux,
        cell_shapes,
        reductions: n.cells.iter().map(|c| c.reduction).collect(),
    }
}

fn mixed_edge(e: &MixedEdge, s: Shape3, acc: &mut Costs) -> Shape3 {
    // A partial-channel edge's ops see `C / K` channels; the bypassed ones
    // (max-pooled on a stride-2 edge) have no parameters or mult-adds.
    let [c, h, w] = s;
    let part = [c / e.partial.max(1), h, w];
    let mut out = part;
    for o in &e.ops {
        out = op(o, part, acc);
    }
    [c, out[1], out[2]]
}

fn search_cell(c: &SearchCell, s0: Shape3, s1: Shape3, acc: &mut Costs) -> Shape3 {
    let mut states = vec![preprocess(&c.pre0, s0, acc), relu_conv_bn(&c.pre1, s1, acc)];
    let mut e = 0;
    for node in 2..6 {
        let mut out = states[0];
        for &input in &states[..node] {
            out = mixed_edge(&c.edges[e], input, acc);
            e += 1;
        }
        states.push(out);
    }
    let [ch, h, w] = states[2];
    [4 * ch, h, w]
}

/// Counts the whole supernet (every op of every edge) on `input`.
pub fn search_network(n: &SearchNetwork, input: Shape3) -> Costs {
    let mut acc = Costs::default();
    let s = conv(&n.stem_conv, input, &mut acc);
    bn(&n.stem_bn, &mut acc);
    let (mut s0, mut s1) = (s, s);
    for c in &n.cells {
        let out = search_cell(c, s0, s1, &mut acc);
        s0 = s1;
        s1 = out;
    }
    linear(&n.classifier, &mut acc);
    acc
}

/// What a NAS-Bench-201 network costs on `input` (`[C, H, W]`): parameters
/// and mult-adds by this module's conventions, and the output shape of
/// each layer (cells and residual blocks).
///
/// The benchmark's own `flop` figure is these mult-adds plus one per
/// classifier output (its counter adds the linear layer's bias):
/// [`nb201_benchmark_flops`].
pub fn nb201_network(n: &Nb201Network, input: Shape3) -> NetworkCosts {
    let mut acc = Costs::default();
    let mut s = conv(&n.stem_conv, input, &mut acc);
    bn(&n.stem_bn, &mut acc);
    let mut cell_shapes = Vec::new();
    let mut reductions = Vec::new();
    for layer in &n.layers {
        match layer {
            Nb201Layer::Cell(cell) => {
                for edge in &cell.edges {
                    if let Nb201Edge::Conv(r) = edge {
                        relu_conv_bn(r, s, &mut acc);
                    }
                }
                reductions.push(false);
            }
            Nb201Layer::Res(block) => {
                let [_, h, w] = s;
                let out = relu_conv_bn(&block.conv_a, s, &mut acc);
                relu_conv_bn(&block.conv_b, out, &mut acc);
                conv(&block.shortcut, [s[0], h / 2, w / 2], &mut acc);
                s = out;
                reductions.push(true);
            }
        }
        cell_shapes.push(s);
    }
    bn(&n.last_bn, &mut acc);
    linear(&n.classifier, &mut acc);
    NetworkCosts {
        main: acc,
        aux: Costs::default(),
        cell_shapes,
        reductions,
    }
}

/// The benchmark's `flop` field of a NAS-Bench-201 network, in
/// multiply-accumulates (the files store it in millions): the mult-adds of
/// its convolutions and classifier plus the classifier's bias.
pub fn nb201_benchmark_flops(n: &Nb201Network, costs: &NetworkCosts) -> u64 {
    let [_, classes] = n.classifier.weight.shape().dims();
    costs.main.mult_adds + n.classifier.bias.as_ref().map_or(0, |_| classes as u64)
}
