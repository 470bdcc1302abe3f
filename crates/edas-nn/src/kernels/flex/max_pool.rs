//! Max pooling on contiguous `f32` NCHW buffers (no dilation, floor mode,
//! padding never wins): forward, and a backward that finds each window's
//! first maximum again from the input.
//!
//! The forward takes, per kernel tap, the element-wise maximum of an output
//! row and a shifted input row (vectorises at stride 1); burn-flex 0.22.1
//! runs a scalar loop over each output's window and also writes an `i64`
//! index per output, which its backward then reads. Ours keeps no indices:
//! the backward scans each window in row-major order for the first strict
//! maximum (a NaN wins, the last one), the element burn's and PyTorch's max
//! pooling send the gradient to, and adds the output gradient there.
//!
//! Self-contained (std and rayon only), written against burn's
//! `max_pool2d` signature so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::depthwise::Geometry;

/// `a` replaced by `b` where `b` is larger or NaN.
#[inline]
fn take_max(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() { b } else { a }
}

/// Forward (`g`'s kernel is the pooling window; dilation 1).
pub fn forward(x: &[f32], g: &Geometry) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut out = vec![f32::NEG_INFINITY; g.n * g.c * ohw];
    if ohw == 0 {
        return out;
    }
    let s = g.stride[1];
    let cols = g.all_columns();
    out.par_chunks_mut(ohw).enumerate().for_each(|(p, o)| {
        let input = &x[p * hw..(p + 1) * hw];
        for (oy, orow) in o.chunks_exact_mut(g.ow).enumerate() {
            for ky in 0..g.kh {
                let Some(iy) = g.input_row(oy, ky) else {
                    continue;
                };
                let irow = &input[iy * g.w..(iy + 1) * g.w];
                for &(lo, hi, ix) in &cols {
                    if lo == hi {
                        continue;
                    }
                    if s == 1 {
                        for (o, &i) in orow[lo..hi].iter_mut().zip(&irow[ix..ix + (hi - lo)]) {
                            *o = take_max(*o, i);
                        }
                    } else {
                        for (o, &i) in orow[lo..hi].iter_mut().zip(irow[ix..].iter().step_by(s)) {
                            *o = take_max(*o, i);
                        }
                    }
                }
            }
        }
    });
    out
}

/// The input gradient for the output gradient `grad`.
pub fn backward(x: &[f32], grad: &[f32], g: &Geometry) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut gx = vec![0f32; g.n * g.c * hw];
    if hw == 0 || ohw == 0 {
        return gx;
    }
    let (sh, sw) = (g.stride[0], g.stride[1]);
    let (ph, pw) = (g.pad[0], g.pad[1]);
    gx.par_chunks_mut(hw).enumerate().for_each(|(p, gxp)| {
        let input = &x[p * hw..(p + 1) * hw];
        let gp = &grad[p * ohw..(p + 1) * ohw];
        for oy in 0..g.oh {
            let y0 = (oy * sh).saturating_sub(ph);
            let y1 = (oy * sh + g.kh).saturating_sub(ph).min(g.h);
            for ox in 0..g.ow {
                let x0 = (ox * sw).saturating_sub(pw);
                let x1 = (ox * sw + g.kw).saturating_sub(pw).min(g.w);
                let mut best = usize::MAX;
                let mut max = f32::NEG_INFINITY;
                for iy in y0..y1 {
                    for (ix, &v) in input[iy * g.w + x0..iy * g.w + x1].iter().enumerate() {
                        if best == usize::MAX || v > max || v.is_nan() {
                            max = v;
                            best = iy * g.w + x0 + ix;
                        }
                    }
                }
                if best != usize::MAX {
                    gxp[best] += gp[oy * g.ow + ox];
                }
            }
        }
    });
    gx
}
