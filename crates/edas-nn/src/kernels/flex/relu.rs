//! ReLU and its gradient on contiguous `f32` buffers, in parallel chunks.
//!
//! burn-flex runs its element-wise ops on the calling thread (burn-flex
//! 0.22.1 `ops/unary.rs`, `unary_op`; `ops/binary.rs`, `binary_op`), so
//! in a training step the ReLUs before the 1x1 convolutions ran on one
//! core while rayon's threads waited. These run over chunks of
//! [`CHUNK`] values on rayon's pool, with flex's semantics: a NaN input
//! passes through the ReLU, and its gradient passes where the input is
//! above 0 or NaN. Each value depends on its own input only, so results
//! do not depend on the number of threads.
//!
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers), written against burn's `relu` and
//! `relu_backward` signatures so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::filled::CHUNK;

/// Whether the ReLU passes `v` (and its gradient): above 0, or NaN.
/// (`|`, not `||`, so that the loops stay branch-free and vectorise.)
/// The fused ReLU of the depthwise kernels uses it too.
pub(super) fn passes(v: f32) -> bool {
    (v > 0.0) | v.is_nan()
}

/// `relu(x)` into a new buffer, written once (rayon's indexed `collect`
/// fills the buffer in parallel, with no zeroing first: 2.0-2.6x faster
/// than zeroing it and then writing it in chunks, on `[32, 16, 32, 32]`).
pub fn forward(x: &[f32]) -> Vec<f32> {
    x.par_iter()
        .with_min_len(CHUNK)
        .map(|&v| if passes(v) { v } else { 0.0 })
        .collect()
}

/// `relu(x)` over `x`'s own buffer.
pub fn forward_in_place(x: &mut [f32]) {
    x.par_chunks_mut(CHUNK).for_each(|x| {
        for v in x {
            *v = if passes(*v) { *v } else { 0.0 };
        }
    });
}

/// The gradient of the ReLU at `x` for the output gradient `grad`, over
/// `grad`'s own buffer: `grad` where the ReLU passes `x`, 0 elsewhere.
pub fn backward_in_place(x: &[f32], grad: &mut [f32]) {
    grad.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(g, x)| {
            for (g, &v) in g.iter_mut().zip(x) {
                *g = if passes(v) { *g } else { 0.0 };
            }
        });
}

/// [`backward_in_place`] into a new buffer (written once, as
/// [`forward`]'s).
pub fn backward(x: &[f32], grad: &[f32]) -> Vec<f32> {
    x.par_iter()
        .zip(grad.par_iter())
        .with_min_len(CHUNK)
        .map(|(&v, &g)| if passes(v) { g } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_and_its_gradient_follow_flex_on_special_values() {
        let x = [
            -1.0,
            -0.0,
            0.0,
            1e-30,
            2.5,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let y = forward(&x);
        let want = [0.0, 0.0, 0.0, 1e-30, 2.5, f32::NAN, f32::INFINITY, 0.0];
        for (a, b) in y.iter().zip(&want) {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{a} {b}"
            );
        }
        let mut z = x;
        forward_in_place(&mut z);
        assert_eq!(format!("{z:?}"), format!("{y:?}"));
        let g = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        assert_eq!(
            backward(&x, &g),
            vec![0.0, 0.0, 0.0, 4.0, 5.0, 6.0, 7.0, 0.0]
        );
    }

    #[test]
    fn chunks_cover_long_buffers() {
        let n = 3 * CHUNK + 17;
        let x: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { -1.0 } else { i as f32 })
            .collect();
        let y = forward(&x);
        let g = backward(&x, &vec![1.0; n]);
        for i in 0..n {
            let on = i % 3 != 0;
            assert_eq!(y[i], if on { i as f32 } else { 0.0 });
            assert_eq!(g[i], if on { 1.0 } else { 0.0 });
        }
    }
}
