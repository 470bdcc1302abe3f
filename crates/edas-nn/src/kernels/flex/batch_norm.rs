//! BatchNorm with batch statistics on contiguous `f32` `[N, C, ...]`
//! buffers: forward (output, mean, biased variance) and backward (input,
//! scale and shift gradients).
//!
//! Statistics are reduced per channel over its `N` planes, each plane's
//! sum in eight `f32` lanes and the planes' sums in `f64`, in batch order:
//! the same result for any number of threads. The element-wise passes run
//! over planes in parallel. Two reads of the input for the statistics
//! (mean, then the centred variance, as burn and PyTorch compute it), one
//! pass to write `y = (x - mean[c]) * a[c] + beta[c]`; the backward reads
//! the gradient and input once for its two sums per channel and once to
//! write `dx = k1[c] * ((g - k2[c]) - (x - mean[c]) * k3[c])`, over the
//! gradient's own buffer when the caller owns it ([`backward_in_place`]). Centring
//! before scaling keeps a channel of equal values exact (its output is
//! `beta`, its input gradient 0).
//!
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers), written against burn's
//! `batch_norm_train` / `batch_norm_train_backward` signatures so that it
//! can be offered to burn-flex.

use rayon::prelude::*;

use super::depthwise::sum;
use super::filled::filled;

/// `(output, mean, biased variance)` of `x` (`n` planes of `plane` values
/// per channel, `c` channels) with scale `gamma` and shift `beta`.
pub fn forward(
    x: &[f32],
    [n, c, plane]: [usize; 3],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = (n * plane) as f64;
    let stats: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..n).map(|i| &x[(i * c + ch) * plane..(i * c + ch + 1) * plane]);
            let mean = (planes().map(|p| f64::from(sum(p))).sum::<f64>() / count) as f32;
            let var = planes()
                .map(|p| f64::from(centred_squares(p, mean)))
                .sum::<f64>()
                / count;
            (mean, var as f32)
        })
        .collect();
    let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
    // y = (x - mean) * a + beta with a = gamma / sqrt(var + eps): centred
    // first, so that a channel of equal values gives exactly beta.
    let a: Vec<f32> = (0..c)
        .map(|ch| (f64::from(gamma[ch]) / (f64::from(var[ch]) + epsilon).sqrt()) as f32)
        .collect();
    let mut out = filled(x.len(), 0.0);
    if plane > 0 {
        out.par_chunks_mut(plane)
            .zip(x.par_chunks(plane))
            .enumerate()
            .for_each(|(p, (o, xp))| {
                let (m, a, b) = (mean[p % c], a[p % c], beta[p % c]);
                for (o, v) in o.iter_mut().zip(xp) {
                    *o = (v - m) * a + b;
                }
            });
    }
    (out, mean, var)
}

/// `sum((x - mean)^2)` in eight lanes.
fn centred_squares(x: &[f32], mean: f32) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for ch in chunks {
        for (l, v) in lanes.iter_mut().zip(ch) {
            let d = v - mean;
            *l += d * d;
        }
    }
    let mut total = sum(&lanes);
    for v in rest {
        let d = v - mean;
        total += d * d;
    }
    total
}

/// `sum(g)` and `sum(g * (x - mean))` in eight lanes each.
fn grad_sums(g: &[f32], x: &[f32], mean: f32) -> (f32, f32) {
    let (mut sg, mut sgx) = ([0f32; 8], [0f32; 8]);
    let gc = g.chunks_exact(8);
    let xc = x.chunks_exact(8);
    let (gr, xr) = (gc.remainder(), xc.remainder());
    for (gch, xch) in gc.zip(xc) {
        for l in 0..8 {
            sg[l] += gch[l];
            sgx[l] += gch[l] * (xch[l] - mean);
        }
    }
    let (mut a, mut b) = (sum(&sg), sum(&sgx));
    for (gv, xv) in gr.iter().zip(xr) {
        a += gv;
        b += gv * (xv - mean);
    }
    (a, b)
}

/// `(x gradient, gamma gradient, beta gradient)` for the output gradient
/// `grad`, given the statistics the forward returned.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    dims: [usize; 3],
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
    grad: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut gx = grad.to_vec();
    let (ggamma, gbeta) = backward_in_place(x, dims, gamma, mean, var, epsilon, &mut gx);
    (gx, ggamma, gbeta)
}

/// [`backward`] writing the x gradient over the output gradient `grad`,
/// which saves a buffer as large as `x`: `(gamma gradient, beta
/// gradient)`.
#[allow(clippy::too_many_arguments)]
pub fn backward_in_place(
    x: &[f32],
    [n, c, plane]: [usize; 3],
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
    grad: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let count = (n * plane) as f64;
    // Per channel: sum(g), sum(g * (x - mean)).
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            (0..n)
                .map(|i| {
                    let r = (i * c + ch) * plane..(i * c + ch + 1) * plane;
                    let (a, b) = grad_sums(&grad[r.clone()], &x[r], mean[ch]);
                    (f64::from(a), f64::from(b))
                })
                .fold((0.0, 0.0), |(a, b), (u, v)| (a + u, b + v))
        })
        .collect();
    let mut ggamma = vec![0f32; c];
    let mut gbeta = vec![0f32; c];
    // dx = gamma * inv_std * (g - sum_g / M - (x - mean) * inv_std^2 * sum_gx / M)
    //    = k1 * (g - k2 - (x - mean) * k3), the difference taken first so that
    //    a channel of one value per example gets exactly 0.
    let mut k = vec![(0f32, 0f32, 0f32); c];
    for ch in 0..c {
        let (sg, sgx) = sums[ch];
        let inv_std = 1.0 / (f64::from(var[ch]) + epsilon).sqrt();
        ggamma[ch] = (sgx * inv_std) as f32;
        gbeta[ch] = sg as f32;
        let k1 = f64::from(gamma[ch]) * inv_std;
        let k2 = sg / count;
        let k3 = inv_std * inv_std * sgx / count;
        k[ch] = (k1 as f32, k2 as f32, k3 as f32);
    }
    if plane > 0 {
        grad.par_chunks_mut(plane)
            .zip(x.par_chunks(plane))
            .enumerate()
            .for_each(|(p, (gp, xp))| {
                let (k1, k2, k3) = k[p % c];
                let m = mean[p % c];
                for (g, xv) in gp.iter_mut().zip(xp) {
                    *g = k1 * ((*g - k2) - (xv - m) * k3);
                }
            });
    }
    (ggamma, gbeta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_each_channel() {
        // Two examples, two channels of three values.
        let x = [
            1.0, 2.0, 3.0, 10.0, 10.0, 10.0, 4.0, 5.0, 6.0, 20.0, 30.0, 40.0,
        ];
        let (out, mean, var) = forward(&x, [2, 2, 3], &[1.0, 2.0], &[0.0, 1.0], 0.0);
        assert_eq!(mean[0], 3.5);
        assert!((mean[1] - 20.0).abs() < 1e-5);
        // Channel 0 holds 1..6: variance 35/12.
        assert!((var[0] - 35.0 / 12.0).abs() < 1e-6);
        let inv = 1.0 / (35.0f32 / 12.0).sqrt();
        assert!((out[0] - (1.0 - 3.5) * inv).abs() < 1e-6);
        assert!((out[8] - (6.0 - 3.5) * inv).abs() < 1e-6);
        // Channel 1 scaled by 2, shifted by 1: its mean maps to 1.
        let m1: f32 = [3, 4, 5, 9, 10, 11].iter().map(|&i| out[i]).sum::<f32>() / 6.0;
        assert!((m1 - 1.0).abs() < 1e-5);
    }
}
