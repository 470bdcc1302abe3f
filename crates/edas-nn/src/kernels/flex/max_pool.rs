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
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers), written against burn's
//! `max_pool2d` signature so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::depthwise::Geometry;
use super::filled::filled;

/// `a` replaced by `b` where `b` is larger or NaN.
#[inline]
fn take_max(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() { b } else { a }
}

/// Forward (`g`'s kernel is the pooling window; dilation 1).
pub fn forward(x: &[f32], g: &Geometry) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut out = filled(g.n * g.c * ohw, f32::NEG_INFINITY);
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

/// No window element found yet (a window inside the padding only).
const NONE: u32 = u32::MAX;

/// The input gradient for the output gradient `grad`.
///
/// Per output row, the window's first maximum is found tap by tap in the
/// window's row-major order over the whole row at once (a select per
/// element, which vectorises at stride 1, instead of a branch per element
/// and output), then each output's gradient is added at its maximum.
///
/// # Panics
/// When a plane has `u32::MAX` elements or more.
pub fn backward(x: &[f32], grad: &[f32], g: &Geometry) -> Vec<f32> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut gx = filled(g.n * g.c * hw, 0.0);
    if hw == 0 || ohw == 0 {
        return gx;
    }
    assert!(
        u32::try_from(hw).is_ok_and(|n| n < NONE),
        "max pooling: a plane of {hw} elements"
    );
    let s = g.stride[1];
    let cols = g.all_columns();
    gx.par_chunks_mut(hw).enumerate().for_each(|(p, gxp)| {
        let input = &x[p * hw..(p + 1) * hw];
        let gp = &grad[p * ohw..(p + 1) * ohw];
        let mut max = vec![f32::NEG_INFINITY; g.ow];
        let mut arg = vec![NONE; g.ow];
        for (oy, grow) in gp.chunks_exact(g.ow).enumerate() {
            max.fill(f32::NEG_INFINITY);
            arg.fill(NONE);
            for ky in 0..g.kh {
                let Some(iy) = g.input_row(oy, ky) else {
                    continue;
                };
                let irow = &input[iy * g.w..(iy + 1) * g.w];
                for &(lo, hi, ix) in &cols {
                    // Flat indices fit in u32 (asserted above).
                    let first = (iy * g.w + ix) as u32;
                    let (m, a) = (&mut max[lo..hi], &mut arg[lo..hi]);
                    if s == 1 {
                        let taps = irow[ix..ix + (hi - lo)].iter().zip(first..);
                        for ((m, a), (&v, at)) in m.iter_mut().zip(a.iter_mut()).zip(taps) {
                            let take = (*a == NONE) | (v > *m) | v.is_nan();
                            *m = if take { v } else { *m };
                            *a = if take { at } else { *a };
                        }
                    } else {
                        let taps = irow[ix..].iter().step_by(s).zip((first..).step_by(s));
                        for ((m, a), (&v, at)) in m.iter_mut().zip(a.iter_mut()).zip(taps) {
                            let take = (*a == NONE) | (v > *m) | v.is_nan();
                            *m = if take { v } else { *m };
                            *a = if take { at } else { *a };
                        }
                    }
                }
            }
            for (&a, &gv) in arg.iter().zip(grow) {
                if a != NONE {
                    gxp[a as usize] += gv;
                }
            }
        }
    });
    gx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each output's gradient at the first element of its window, in
    /// row-major order, that is larger than every earlier one or NaN (the
    /// first element when none is): the rule [`backward`] computes row-wise.
    fn by_window(x: &[f32], grad: &[f32], g: &Geometry) -> Vec<f32> {
        let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
        let mut gx = vec![0f32; g.n * g.c * hw];
        for p in 0..g.n * g.c {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut best: Option<(usize, f32)> = None;
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride[0] + ky).checked_sub(g.pad[0]);
                            let ix = (ox * g.stride[1] + kx).checked_sub(g.pad[1]);
                            let (Some(iy), Some(ix)) = (iy, ix) else {
                                continue;
                            };
                            if iy >= g.h || ix >= g.w {
                                continue;
                            }
                            let v = x[p * hw + iy * g.w + ix];
                            if best.is_none_or(|(_, m)| v > m || v.is_nan()) {
                                best = Some((iy * g.w + ix, v));
                            }
                        }
                    }
                    if let Some((at, _)) = best {
                        gx[p * hw + at] += grad[p * ohw + oy * g.ow + ox];
                    }
                }
            }
        }
        gx
    }

    #[test]
    fn backward_follows_the_window_rule_with_nans_and_infinities() {
        let specials = [f32::NAN, f32::NEG_INFINITY, f32::INFINITY, 0.0, -0.0];
        for (dims, k, s, p) in [
            ([2, 2, 7, 5], [3, 3], [1, 1], [1, 1]),
            ([1, 3, 8, 9], [3, 3], [2, 2], [1, 1]),
            ([2, 1, 6, 9], [2, 3], [1, 2], [0, 1]),
            ([1, 1, 2, 2], [3, 3], [1, 1], [1, 1]),
        ] {
            let g = Geometry::new(dims, k, s, [(p[0], p[0]), (p[1], p[1])], [1, 1]).unwrap();
            let n: usize = dims.iter().product();
            // Coarse values with ties; every fifth a NaN or an infinity.
            let x: Vec<f32> = (0..n)
                .map(|i| match i % 5 {
                    0 => specials[(i / 5) % specials.len()],
                    _ => ((i * 7919) % 5) as f32 - 2.0,
                })
                .collect();
            let grad: Vec<f32> = (0..g.n * g.c * g.oh * g.ow)
                .map(|i| 1.0 + i as f32)
                .collect();
            let got = backward(&x, &grad, &g);
            let want = by_window(&x, &grad, &g);
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{dims:?} k{k:?} s{s:?} p{p:?}"
            );
        }
    }

    #[test]
    fn all_negative_infinity_windows_send_the_gradient_to_their_first_element() {
        let g = Geometry::new([1, 1, 3, 3], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]).unwrap();
        let x = vec![f32::NEG_INFINITY; 9];
        let grad = vec![1.0; 9];
        assert_eq!(backward(&x, &grad, &g), by_window(&x, &grad, &g));
        // The top-left output's window starts at element 0.
        assert!(backward(&x, &grad, &g)[0] >= 1.0);
    }
}
