//! A strided `f32` view copied into a contiguous buffer, in parallel.
//!
//! Our kernels read contiguous buffers. A gradient that reaches them as a
//! view (a channel slice of a concatenation's gradient, for one) was made
//! contiguous by burn-flex's `to_contiguous`, on the calling thread: 7.5%
//! of that thread's samples in a profile of the C=16 training step, all of
//! it for drop-path's scaling. This copies row by row (the last
//! dimension) on rayon's pool.
//!
//! Self-contained (std, rayon and the [`filled`](super::filled) buffers),
//! so that it can be offered to burn-flex.

use rayon::prelude::*;

use super::filled::{CHUNK, filled};

/// The values of the view of `src` with shape `dims`, element strides
/// `strides` (none negative) and first element at `offset`, in row-major
/// order.
///
/// # Panics
/// When the view reaches outside `src`, or `dims` and `strides` differ in
/// length.
pub fn gather(src: &[f32], dims: &[usize], strides: &[usize], offset: usize) -> Vec<f32> {
    assert_eq!(
        dims.len(),
        strides.len(),
        "gather: one stride per dimension"
    );
    let n: usize = dims.iter().product();
    let (Some(&inner), Some(&step)) = (dims.last(), strides.last()) else {
        // A scalar.
        return if n == 1 {
            vec![src[offset]]
        } else {
            Vec::new()
        };
    };
    let mut out = filled(n, 0.0);
    if n == 0 {
        return out;
    }
    let outer = &dims[..dims.len() - 1];
    let outer_strides = &strides[..strides.len() - 1];
    out.par_chunks_mut(inner)
        .with_min_len((CHUNK / inner).max(1))
        .enumerate()
        .for_each(|(r, row)| {
            // Row `r`'s first element: `r` in the outer dimensions' digits.
            let (mut rest, mut start) = (r, offset);
            for (&d, &s) in outer.iter().zip(outer_strides).rev() {
                start += (rest % d) * s;
                rest /= d;
            }
            if step == 1 {
                row.copy_from_slice(&src[start..start + inner]);
            } else {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = src[start + j * step];
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's values one index at a time.
    fn by_index(src: &[f32], dims: &[usize], strides: &[usize], offset: usize) -> Vec<f32> {
        let n: usize = dims.iter().product();
        (0..n)
            .map(|mut i| {
                let mut at = offset;
                for (&d, &s) in dims.iter().zip(strides).rev() {
                    at += (i % d) * s;
                    i /= d;
                }
                src[at]
            })
            .collect()
    }

    #[test]
    fn views_equal_their_elements() {
        let src: Vec<f32> = (0..40_000).map(|i| i as f32).collect();
        for (dims, strides, offset) in [
            // A channel slice of [2, 5, 3, 4]: channels 1..3.
            (vec![2, 2, 3, 4], vec![60, 12, 4, 1], 12),
            // A transpose.
            (vec![4, 3], vec![1, 4], 0),
            // Every other column, above one chunk.
            (vec![3, 50, 64], vec![6400, 128, 2], 7),
            (vec![5], vec![3], 2),
            (vec![2, 0, 3], vec![3, 3, 1], 0),
            (vec![], vec![], 9),
        ] {
            assert_eq!(
                gather(&src, &dims, &strides, offset),
                by_index(&src, &dims, &strides, offset),
                "{dims:?} {strides:?} {offset}"
            );
        }
    }
}
