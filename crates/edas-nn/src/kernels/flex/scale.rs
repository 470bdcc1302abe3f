//! Each example of a contiguous `f32` `[N, ...]` buffer times its own
//! scale (drop-path's mask), in parallel over examples.
//!
//! burn-flex multiplies by a broadcast `[N, 1, 1, 1]` tensor on the
//! calling thread (burn-flex 0.22.1 `ops/binary.rs`), and drop-path was
//! two such passes (a division, then the mask) forward and two backward.
//! This is one pass each way, over the input's own buffer when the caller
//! owns it. Each value is `x * scale`, as burn's product computes it, for
//! any number of threads.
//!
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers),
//! so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::filled::filled;

/// `x` with example `n` (`x.len() / scales.len()` values) times
/// `scales[n]`, into a new buffer.
pub fn forward(x: &[f32], scales: &[f32]) -> Vec<f32> {
    let mut out = filled(x.len(), 0.0);
    let per = example_len(x.len(), scales.len());
    if per > 0 {
        out.par_chunks_mut(per)
            .zip(x.par_chunks(per))
            .zip(scales.par_iter())
            .for_each(|((o, x), &s)| {
                for (o, &v) in o.iter_mut().zip(x) {
                    *o = v * s;
                }
            });
    }
    out
}

/// [`forward`] over `x`'s own buffer.
pub fn forward_in_place(x: &mut [f32], scales: &[f32]) {
    let per = example_len(x.len(), scales.len());
    if per > 0 {
        x.par_chunks_mut(per)
            .zip(scales.par_iter())
            .for_each(|(x, &s)| {
                for v in x {
                    *v *= s;
                }
            });
    }
}

/// Values per example (0 for an empty buffer).
fn example_len(len: usize, examples: usize) -> usize {
    len.checked_div(examples).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_example_takes_its_own_scale() {
        let x: Vec<f32> = (0..12).map(|i| i as f32 - 3.0).collect();
        let scales = [0.0, 1.25, -2.0];
        let want: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v * scales[i / 4])
            .collect();
        assert_eq!(forward(&x, &scales), want);
        let mut y = x.clone();
        forward_in_place(&mut y, &scales);
        assert_eq!(y, want);
        // A NaN or infinity times 0 stays NaN, as in burn's product.
        assert!(
            forward(&[f32::NAN, f32::INFINITY], &[0.0, 0.0])
                .iter()
                .all(|v| v.is_nan())
        );
        assert!(forward(&[], &[]).is_empty());
    }
}
