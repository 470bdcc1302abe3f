//! The scaffolding DARTS' discrete networks and its search supernet share
//! (DARTS' `model.py` and `model_search.py`): where the reduction cells
//! sit, how channels grow from cell to cell, how a cell preprocesses its two
//! inputs, and which edges have stride 2.

use burn::prelude::*;
use edas_genotype::space::NUM_INPUT_STATES;

use crate::ops::{FactorizedReduce, ReluConvBn, ReluConvBnConfig};

/// Reduction cells sit at `L/3` and `2L/3` (integer division).
pub fn is_reduction(layers: usize, i: usize) -> bool {
    i == layers / 3 || i == 2 * layers / 3
}

/// The stride of an edge from state `input` in a cell: 2 from the cell's
/// two inputs in a reduction cell, else 1.
pub fn edge_stride(reduction: bool, input: usize) -> usize {
    if reduction && input < NUM_INPUT_STATES {
        2
    } else {
        1
    }
}

/// One cell's place in a network: its input and node channels and whether
/// it and the cell before it reduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellShape {
    /// Channels of `s0` (the cell two back).
    pub c_pp: usize,
    /// Channels of `s1` (the previous cell).
    pub c_p: usize,
    /// Channels of each node.
    pub c: usize,
    /// Whether the cell reduces (stride 2, channels doubled).
    pub reduction: bool,
    /// Whether the previous cell reduced (then `s0` is twice as large and
    /// goes through a factorized reduce).
    pub reduction_prev: bool,
}

/// The shapes of the `layers` cells after a stem that outputs `c_stem`
/// channels (twice: `s0 = s1 = stem`), with `channels` node channels in
/// the first cell, doubled at each reduction; `stem_reduces` when the stem
/// ends in a reduction (ImageNet), `concat(reduction)` the number of nodes a
/// cell concatenates into its output. Also returns the last cell's output
/// channels (the classifier's input).
pub fn cell_shapes(
    layers: usize,
    c_stem: usize,
    channels: usize,
    stem_reduces: bool,
    concat: impl Fn(bool) -> usize,
) -> (Vec<CellShape>, usize) {
    let (mut c_pp, mut c_p, mut c) = (c_stem, c_stem, channels);
    let mut reduction_prev = stem_reduces;
    let mut shapes = Vec::with_capacity(layers);
    for i in 0..layers {
        let reduction = is_reduction(layers, i);
        if reduction {
            c *= 2;
        }
        shapes.push(CellShape {
            c_pp,
            c_p,
            c,
            reduction,
            reduction_prev,
        });
        reduction_prev = reduction;
        c_pp = c_p;
        c_p = concat(reduction) * c;
    }
    (shapes, c_p)
}

/// Preprocessing of a cell's `s0`: a factorized reduce after a reduction
/// cell, else ReLU-conv1x1-BN.
#[derive(Module, Debug)]
pub enum Preprocess {
    /// After a reduction cell.
    Reduce(FactorizedReduce),
    /// Otherwise.
    Conv(ReluConvBn),
}

impl Preprocess {
    /// Applies the preprocessing.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Preprocess::Reduce(r) => r.forward(x),
            Preprocess::Conv(c) => c.forward(x),
        }
    }
}

/// ReLU-conv1x1-BN to the cell's node channels.
fn pointwise(c_in: usize, shape: &CellShape, affine: bool, device: &Device) -> ReluConvBn {
    ReluConvBnConfig {
        c_in,
        c_out: shape.c,
        kernel: 1,
        stride: 1,
        padding: 0,
        affine,
    }
    .init(device)
}

/// The preprocessing of a cell's `s0` (the cell two back); `affine`
/// BatchNorm in discrete networks, not in the supernet.
pub fn pre0(shape: &CellShape, affine: bool, device: &Device) -> Preprocess {
    if shape.reduction_prev {
        Preprocess::Reduce(FactorizedReduce::new(shape.c_pp, shape.c, affine, device))
    } else {
        Preprocess::Conv(pointwise(shape.c_pp, shape, affine, device))
    }
}

/// The preprocessing of a cell's `s1` (the previous cell).
pub fn pre1(shape: &CellShape, affine: bool, device: &Device) -> ReluConvBn {
    pointwise(shape.c_p, shape, affine, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darts_cifar_channels_grow_at_the_reductions() {
        // DARTS' NetworkCIFAR, C=36 L=20: stem 108, reductions at 6 and 13.
        let (shapes, last) = cell_shapes(20, 108, 36, false, |_| 4);
        assert_eq!(shapes.len(), 20);
        assert!(shapes[6].reduction && shapes[13].reduction);
        assert_eq!(shapes.iter().filter(|s| s.reduction).count(), 2);
        assert_eq!((shapes[0].c_pp, shapes[0].c_p, shapes[0].c), (108, 108, 36));
        assert_eq!((shapes[6].c_pp, shapes[6].c_p, shapes[6].c), (144, 144, 72));
        assert!(shapes[7].reduction_prev && !shapes[8].reduction_prev);
        assert_eq!(shapes[7].c_pp, 144);
        assert_eq!(last, 4 * 144);
        assert_eq!(edge_stride(true, 1), 2);
        assert_eq!(edge_stride(true, 2), 1);
        assert_eq!(edge_stride(false, 0), 1);
    }
}
