//! Depthwise 2-D convolution on contiguous `f32` NCHW buffers: forward,
//! input gradient and weight gradient, parallel over the `N * C` planes.
//!
//! A depthwise convolution touches one input plane and one `KH x KW`
//! kernel per output plane, so each plane is computed alone: for every
//! kernel tap, one output row is a scaled, shifted input row (an `axpy`
//! that vectorises at stride 1). At stride 1, forward and backward work on
//! flat padded copies of the plane instead, so that each tap is one long
//! loop (an `axpy` for the output and the input gradient, a dot product
//! for the weight gradient); at other strides the input gradient scatters
//! row by row and the weight gradient accumulates `grad * input` products
//! per tap in a row of partial sums, summed once per plane. The planes'
//! partial weight gradients are then added over the batch in a fixed
//! order, so results do not depend on the number of threads.
//!
//! The optional fused ReLU follows burn-flex's and PyTorch's: a NaN passes
//! it, as does its gradient. A NaN (or infinite) input may make more of
//! the weight gradient NaN than a direct sum would: the stride-1 path
//! takes each tap's sum over whole padded rows, where `0 * NaN` is NaN.
//!
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers), written against burn's
//! `conv2d` signature (`ConvOptions<2>`: stride, `(begin, end)` padding,
//! dilation, groups = channels) so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::filled::filled;
use super::relu::passes;

/// The geometry of a depthwise convolution: input `[n, c, h, w]`, kernel
/// `[c, 1, kh, kw]`, output `[n, c, oh, ow]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Batch.
    pub n: usize,
    /// Channels (= groups).
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride `[height, width]`.
    pub stride: [usize; 2],
    /// Padding before `[height, width]`.
    pub pad: [usize; 2],
    /// Dilation `[height, width]`.
    pub dilation: [usize; 2],
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Geometry {
    /// The geometry, or `None` when the output would be empty or a stride
    /// or dilation is 0.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        [n, c, h, w]: [usize; 4],
        [kh, kw]: [usize; 2],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> Option<Geometry> {
        let out = |size: usize, k: usize, s: usize, (p0, p1): (usize, usize), d: usize| {
            let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
            let padded = size.checked_add(p0)?.checked_add(p1)?;
            (s > 0 && padded >= span).then(|| (padded - span) / s + 1)
        };
        if dilation.contains(&0) {
            return None;
        }
        let oh = out(h, kh, stride[0], padding[0], dilation[0])?;
        let ow = out(w, kw, stride[1], padding[1], dilation[1])?;
        Some(Geometry {
            n,
            c,
            h,
            w,
            kh,
            kw,
            stride,
            pad: [padding[0].0, padding[1].0],
            dilation,
            oh,
            ow,
        })
    }

    /// For output row `oy` and kernel row `ky`, the input row, if inside
    /// the image.
    pub(crate) fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride[0] + ky * self.dilation[0])
            .checked_sub(self.pad[0])
            .filter(|&iy| iy < self.h)
    }

    /// Whether the flat padded path ([`Flat`]) computes this convolution:
    /// stride 1 and neither input nor output empty.
    fn is_flat(&self) -> bool {
        self.stride == [1, 1] && self.h * self.w > 0 && self.oh * self.ow > 0
    }

    /// [`Geometry::columns`] for every kernel column, computed once per
    /// call rather than once per output row and tap.
    pub(crate) fn all_columns(&self) -> Vec<(usize, usize, usize)> {
        (0..self.kw).map(|kx| self.columns(kx)).collect()
    }

    /// For kernel column `kx`: the output columns `lo..hi` whose input
    /// column `ox * stride + kx * dilation - pad` lies inside the image,
    /// and that input column for `ox = lo`.
    pub(crate) fn columns(&self, kx: usize) -> (usize, usize, usize) {
        let s = self.stride[1];
        let shift = kx * self.dilation[1];
        let pad = self.pad[1];
        // ox * s + shift >= pad
        let lo = pad.saturating_sub(shift).div_ceil(s).min(self.ow);
        // ox * s + shift - pad <= w - 1
        let hi = if self.w + pad > shift {
            ((self.w + pad - shift - 1) / s + 1).min(self.ow)
        } else {
            0
        };
        let hi = hi.max(lo);
        (lo, hi, lo * s + shift - pad.min(lo * s + shift))
    }
}

/// Forward: `out[n, c] = sum over taps of weight[c, tap] * shifted x[n, c]`,
/// of `relu(x)` instead of `x` when `relu` (each plane's ReLU taken in a
/// plane-sized scratch buffer, so that no activated tensor is stored).
pub fn forward(x: &[f32], weight: &[f32], g: &Geometry, relu: bool) -> Vec<f32> {
    let (hw, ohw, taps) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let mut out = filled(g.n * g.c * ohw, 0.0);
    if ohw == 0 {
        return out;
    }
    let cols = g.all_columns();
    let flat = g.is_flat();
    out.par_chunks_mut(ohw)
        .enumerate()
        .for_each_init(Scratch::default, |s, (plane, o)| {
            let ch = plane % g.c;
            let input = activated(&x[plane * hw..(plane + 1) * hw], relu, &mut s.relu);
            let k = &weight[ch * taps..(ch + 1) * taps];
            if flat {
                forward_plane_flat(input, k, g, o, &mut s.pad, &mut s.wide);
            } else {
                forward_plane(input, k, g, &cols, o);
            }
        });
    out
}

/// Plane-sized buffers that one thread reuses from plane to plane (rayon's
/// `*_init`), instead of allocating them per plane.
#[derive(Default)]
struct Scratch {
    /// The ReLU of the input plane.
    relu: Vec<f32>,
    /// A padded input plane ([`Flat`]).
    pad: Vec<f32>,
    /// A plane laid out `wp` wide: an output or output gradient.
    wide: Vec<f32>,
    /// A padded input-gradient plane.
    pad_grad: Vec<f32>,
}

/// `buf` holding `len` zeros, its allocation kept.
fn zeroed(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buf.clear();
    buf.resize(len, 0.0);
    buf
}

/// The flat layout of a stride-1 plane, zero-padded on every side.
///
/// At stride 1 the padded plane is `wp = w + padding (both sides) = ow +
/// (kw - 1) * dw` wide, and output `(oy, ox)` reads tap `(ky, kx)` at
/// `(oy + ky * dh) * wp + ox + kx * dw`. An output (or output gradient)
/// laid out `wp` wide, with zeros in its last `wp - ow` columns, then
/// meets each tap in one long loop over the whole plane. One spare row:
/// the last tap's window runs `wp - ow` past the padded rows.
struct Flat {
    /// Padded width.
    wp: usize,
    /// Elements of a padded plane (with its spare row).
    len: usize,
    /// Elements of an output plane laid out `wp` wide.
    out_len: usize,
}

impl Flat {
    fn of(g: &Geometry) -> Flat {
        let wp = g.ow + (g.kw - 1) * g.dilation[1];
        let hp = g.oh + (g.kh - 1) * g.dilation[0];
        Flat {
            wp,
            len: (hp + 1) * wp,
            out_len: g.oh * wp,
        }
    }

    /// Where tap `tap` (row-major) starts in a padded plane.
    fn offset(&self, g: &Geometry, tap: usize) -> usize {
        (tap / g.kw) * g.dilation[0] * self.wp + (tap % g.kw) * g.dilation[1]
    }

    /// Where input row `iy` lies in a padded plane.
    fn input_row(&self, g: &Geometry, iy: usize) -> Option<std::ops::Range<usize>> {
        let start = (iy + g.pad[0]) * self.wp + g.pad[1];
        (start + g.w <= self.len).then(|| start..start + g.w)
    }

    /// `input` in a padded plane, in `buf`.
    fn pad<'a>(&self, g: &Geometry, input: &[f32], buf: &'a mut Vec<f32>) -> &'a [f32] {
        let p = zeroed(buf, self.len);
        for (iy, row) in input.chunks_exact(g.w).enumerate() {
            if let Some(r) = self.input_row(g, iy) {
                p[r].copy_from_slice(row);
            }
        }
        p
    }

    /// The input rows of padded plane `p`, into `out`.
    fn crop(&self, g: &Geometry, p: &[f32], out: &mut [f32]) {
        for (iy, row) in out.chunks_exact_mut(g.w).enumerate() {
            if let Some(r) = self.input_row(g, iy) {
                row.copy_from_slice(&p[r]);
            }
        }
    }
}

/// One stride-1 plane in the [`Flat`] layout: each tap one long `axpy`
/// into an output laid out `wp` wide, whose first `ow` columns are kept.
fn forward_plane_flat(
    input: &[f32],
    k: &[f32],
    g: &Geometry,
    out: &mut [f32],
    pad: &mut Vec<f32>,
    wide: &mut Vec<f32>,
) {
    let f = Flat::of(g);
    let p = f.pad(g, input, pad);
    let wide = zeroed(wide, f.out_len);
    for (tap, &wv) in k.iter().enumerate() {
        let o = f.offset(g, tap);
        for (d, v) in wide.iter_mut().zip(&p[o..o + f.out_len]) {
            *d += wv * v;
        }
    }
    for (dst, src) in out.chunks_exact_mut(g.ow).zip(wide.chunks_exact(f.wp)) {
        dst.copy_from_slice(&src[..g.ow]);
    }
}

fn forward_plane(
    input: &[f32],
    k: &[f32],
    g: &Geometry,
    cols: &[(usize, usize, usize)],
    out: &mut [f32],
) {
    let s = g.stride[1];
    for (oy, orow) in out.chunks_exact_mut(g.ow).enumerate() {
        for ky in 0..g.kh {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            let irow = &input[iy * g.w..(iy + 1) * g.w];
            for (kx, &(lo, hi, ix)) in cols.iter().enumerate() {
                let wv = k[ky * g.kw + kx];
                if lo == hi {
                    continue;
                }
                if s == 1 {
                    for (o, i) in orow[lo..hi].iter_mut().zip(&irow[ix..ix + (hi - lo)]) {
                        *o += wv * i;
                    }
                } else {
                    for (o, i) in orow[lo..hi].iter_mut().zip(irow[ix..].iter().step_by(s)) {
                        *o += wv * i;
                    }
                }
            }
        }
    }
}

/// Backward: the input gradient (when `want_x`) and the weight gradient
/// (when `want_w`) for the output gradient `grad`; with `relu`, of the
/// convolution of `relu(x)` (the input gradient zero where `x <= 0`).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    g: &Geometry,
    relu: bool,
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let (hw, ohw, taps) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let planes = g.n * g.c;
    let cols = g.all_columns();
    let flat = g.is_flat();
    let plane = |s: &mut Scratch, p: usize, mut gx: Option<&mut [f32]>| -> Vec<f32> {
        let ch = p % g.c;
        let Scratch {
            relu: relu_buf,
            pad,
            wide,
            pad_grad,
        } = s;
        let (input, k, grad) = (
            activated(&x[p * hw..(p + 1) * hw], relu, relu_buf),
            &weight[ch * taps..(ch + 1) * taps],
            &grad[p * ohw..(p + 1) * ohw],
        );
        let partial = if flat {
            let bufs = [pad, wide, pad_grad];
            backward_plane_flat(input, k, grad, g, gx.as_deref_mut(), want_w, bufs)
        } else {
            backward_plane(input, k, grad, g, &cols, gx.as_deref_mut(), want_w)
        };
        if let (true, Some(gx)) = (relu, gx) {
            // The ReLU's backward: no gradient where it output 0 (an input
            // at or below 0; a NaN passes, as in flex's and PyTorch's ReLU).
            // (A select written unconditionally, so that it vectorises.)
            for (d, a) in gx.iter_mut().zip(input) {
                *d = if passes(*a) { *d } else { 0.0 };
            }
        }
        partial
    };
    let (gx, partial): (Option<Vec<f32>>, Vec<Vec<f32>>) = if want_x && hw > 0 {
        let mut gx = filled(planes * hw, 0.0);
        let partial = gx
            .par_chunks_mut(hw)
            .enumerate()
            .map_init(Scratch::default, |s, (p, gxp)| plane(s, p, Some(gxp)))
            .collect();
        (Some(gx), partial)
    } else if want_w {
        let partial = (0..planes)
            .into_par_iter()
            .map_init(Scratch::default, |s, p| plane(s, p, None))
            .collect();
        (want_x.then(|| filled(planes * hw, 0.0)), partial)
    } else {
        (want_x.then(|| filled(planes * hw, 0.0)), Vec::new())
    };
    let gw = want_w.then(|| {
        let mut gw = vec![0f32; g.c * taps];
        // Batch order, whatever the threads did.
        for (p, part) in partial.iter().enumerate() {
            let ch = p % g.c;
            for (acc, v) in gw[ch * taps..(ch + 1) * taps].iter_mut().zip(part) {
                *acc += v;
            }
        }
        gw
    });
    (gx, gw)
}

/// `input`, or its ReLU written into `scratch` when `relu` (burn-flex's
/// and PyTorch's ReLU: 0 at or below 0, a NaN passed through; its
/// gradient is zero at 0).
fn activated<'a>(input: &'a [f32], relu: bool, scratch: &'a mut Vec<f32>) -> &'a [f32] {
    if !relu {
        return input;
    }
    scratch.clear();
    scratch.extend(input.iter().map(|&v| if passes(v) { v } else { 0.0 }));
    scratch
}

/// One plane's input gradient (into `gx`) and its share of the weight
/// gradient (returned; empty when not wanted).
fn backward_plane(
    input: &[f32],
    k: &[f32],
    grad: &[f32],
    g: &Geometry,
    cols: &[(usize, usize, usize)],
    mut gx: Option<&mut [f32]>,
    want_w: bool,
) -> Vec<f32> {
    let s = g.stride[1];
    let taps = g.kh * g.kw;
    // Per tap, a row of partial sums of grad * input.
    let mut acc = if want_w {
        vec![0f32; taps * g.ow]
    } else {
        Vec::new()
    };
    for (oy, grow) in grad.chunks_exact(g.ow).enumerate() {
        for ky in 0..g.kh {
            let Some(iy) = g.input_row(oy, ky) else {
                continue;
            };
            for (kx, &(lo, hi, ix)) in cols.iter().enumerate() {
                let tap = ky * g.kw + kx;
                if lo == hi {
                    continue;
                }
                let n = hi - lo;
                if let Some(gx) = gx.as_deref_mut() {
                    let wv = k[tap];
                    let gxrow = &mut gx[iy * g.w..(iy + 1) * g.w];
                    if s == 1 {
                        for (o, gv) in gxrow[ix..ix + n].iter_mut().zip(&grow[lo..hi]) {
                            *o += wv * gv;
                        }
                    } else {
                        for (o, gv) in gxrow[ix..].iter_mut().step_by(s).zip(&grow[lo..hi]) {
                            *o += wv * gv;
                        }
                    }
                }
                if want_w {
                    let irow = &input[iy * g.w..(iy + 1) * g.w];
                    let arow = &mut acc[tap * g.ow + lo..tap * g.ow + hi];
                    if s == 1 {
                        for ((a, gv), i) in
                            arow.iter_mut().zip(&grow[lo..hi]).zip(&irow[ix..ix + n])
                        {
                            *a += gv * i;
                        }
                    } else {
                        for ((a, gv), i) in arow
                            .iter_mut()
                            .zip(&grow[lo..hi])
                            .zip(irow[ix..].iter().step_by(s))
                        {
                            *a += gv * i;
                        }
                    }
                }
            }
        }
    }
    if !want_w {
        return Vec::new();
    }
    acc.chunks_exact(g.ow).map(sum).collect()
}

/// One stride-1 plane's input gradient (into `gx`) and its share of the
/// weight gradient in the [`Flat`] layout: per tap, the weight gradient
/// one dot product and the input gradient one `axpy` into a padded plane
/// cropped at the end. (Rows of 8-32 elements, with their bounds worked
/// out per row and tap, cost more than their arithmetic.)
///
/// `bufs`: scratch for the padded input, the padded output gradient and the
/// padded input gradient.
fn backward_plane_flat(
    input: &[f32],
    k: &[f32],
    grad: &[f32],
    g: &Geometry,
    gx: Option<&mut [f32]>,
    want_w: bool,
    [pad, wide, pad_grad]: [&mut Vec<f32>; 3],
) -> Vec<f32> {
    let f = Flat::of(g);
    let gp = zeroed(wide, f.out_len);
    for (dst, src) in gp.chunks_exact_mut(f.wp).zip(grad.chunks_exact(g.ow)) {
        dst[..g.ow].copy_from_slice(src);
    }
    let weight_grad = if want_w {
        let p = f.pad(g, input, pad);
        (0..k.len())
            .map(|tap| {
                let o = f.offset(g, tap);
                dot(gp, &p[o..o + f.out_len])
            })
            .collect()
    } else {
        Vec::new()
    };
    if let Some(gx) = gx {
        let gxp = zeroed(pad_grad, f.len);
        for (tap, &wv) in k.iter().enumerate() {
            let o = f.offset(g, tap);
            for (d, gv) in gxp[o..o + f.out_len].iter_mut().zip(gp.iter()) {
                *d += wv * gv;
            }
        }
        f.crop(g, gxp, gx);
    }
    weight_grad
}

/// `sum(a * b)` in eight lanes (vectorises; a fixed order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((l, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *l += x * y;
        }
    }
    sum(&lanes) + rest
}

/// A sum in eight lanes (vectorises; a fixed order).
pub(crate) fn sum(v: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for x in rest {
        total += x;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, one output at a time.
    fn naive(x: &[f32], k: &[f32], g: &Geometry) -> Vec<f32> {
        let mut out = vec![0f32; g.n * g.c * g.oh * g.ow];
        for p in 0..g.n * g.c {
            let ch = p % g.c;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut s = 0f32;
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize
                                - g.pad[0] as isize;
                            let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize
                                - g.pad[1] as isize;
                            if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                s += k[ch * g.kh * g.kw + ky * g.kw + kx]
                                    * x[p * g.h * g.w + iy as usize * g.w + ix as usize];
                            }
                        }
                    }
                    out[p * g.oh * g.ow + oy * g.ow + ox] = s;
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn forward_equals_the_definition_on_awkward_geometries() {
        for (dims, k, s, p, d) in [
            ([1, 1, 1, 1], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
            ([2, 3, 7, 5], [3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1]),
            ([2, 3, 9, 6], [5, 5], [1, 1], [(4, 4), (4, 4)], [2, 2]),
            ([1, 2, 6, 11], [3, 5], [2, 1], [(0, 2), (3, 1)], [1, 2]),
            ([3, 1, 4, 4], [3, 3], [3, 3], [(0, 0), (0, 0)], [1, 1]),
        ] {
            let g = Geometry::new(dims, k, s, p, d).expect("geometry");
            let x = values(dims.iter().product(), 7);
            let w = values(dims[1] * k[0] * k[1], 11);
            let got = forward(&x, &w, &g, false);
            let want = naive(&x, &w, &g);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{dims:?} {k:?} {s:?}: {a} vs {b}");
            }
        }
    }

    /// The stride-1 flat path and the row path give the same gradients.
    #[test]
    fn flat_backward_equals_the_row_backward() {
        for (dims, k, p, d) in [
            ([1, 1, 1, 1], [3, 3], [(1, 1), (1, 1)], [1, 1]),
            ([2, 3, 7, 5], [3, 3], [(1, 1), (1, 1)], [1, 1]),
            ([2, 3, 9, 6], [5, 5], [(4, 4), (4, 4)], [2, 2]),
            ([1, 2, 6, 11], [3, 5], [(0, 2), (3, 1)], [1, 2]),
            ([3, 1, 4, 4], [3, 3], [(0, 0), (0, 0)], [1, 1]),
            ([2, 2, 8, 8], [5, 5], [(2, 2), (2, 2)], [1, 1]),
        ] {
            let g = Geometry::new(dims, k, [1, 1], p, d).expect("geometry");
            let (hw, ohw, taps) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
            let x = values(dims.iter().product(), 7);
            let w = values(dims[1] * taps, 11);
            let grad = values(g.n * g.c * ohw, 13);
            let cols = g.all_columns();
            // One scratch for every plane, as a thread reuses it.
            let mut s = Scratch::default();
            for plane in 0..g.n * g.c {
                let ch = plane % g.c;
                let args = (
                    &x[plane * hw..(plane + 1) * hw],
                    &w[ch * taps..(ch + 1) * taps],
                    &grad[plane * ohw..(plane + 1) * ohw],
                );
                let (mut gx_rows, mut gx_flat) = (vec![0f32; hw], vec![0f32; hw]);
                let gw_rows =
                    backward_plane(args.0, args.1, args.2, &g, &cols, Some(&mut gx_rows), true);
                let bufs = [&mut s.pad, &mut s.wide, &mut s.pad_grad];
                let gw_flat =
                    backward_plane_flat(args.0, args.1, args.2, &g, Some(&mut gx_flat), true, bufs);
                for (a, b) in gx_rows
                    .iter()
                    .zip(&gx_flat)
                    .chain(gw_rows.iter().zip(&gw_flat))
                {
                    assert!(
                        (a - b).abs() < 1e-4,
                        "{dims:?} {k:?} {p:?} {d:?}: {a} vs {b}"
                    );
                }
                assert_eq!(gw_rows.len(), gw_flat.len());
            }
        }
    }

    #[test]
    fn empty_outputs_are_refused() {
        assert!(Geometry::new([1, 1, 2, 2], [5, 5], [1, 1], [(0, 0), (0, 0)], [1, 1]).is_none());
        assert!(Geometry::new([1, 1, 8, 8], [3, 3], [0, 1], [(1, 1), (1, 1)], [1, 1]).is_none());
    }
}
