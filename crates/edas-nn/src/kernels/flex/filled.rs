//! Output buffers for the kernels, filled in parallel.
//!
//! `vec![0.0; n]` zeroes the whole buffer on the calling thread (glibc's
//! `calloc` clears reused heap memory with `memset`) while rayon's threads
//! wait. In a flex training step, with every element-wise op on one
//! thread too, that serial work was a third of the step: a profile of the
//! C=16 training step (`perf record`, 2 threads) had 23% of its samples on
//! the calling thread against 77% on the two pool threads. These buffers
//! are filled by rayon's indexed `collect`, which writes each part in
//! place on the thread that takes it.

use rayon::prelude::*;

/// Values per parallel task (64 KiB of `f32`), so that small buffers stay
/// on one thread.
pub const CHUNK: usize = 16 * 1024;

/// `n` copies of `v`, written in parallel.
pub fn filled(n: usize, v: f32) -> Vec<f32> {
    rayon::iter::repeat_n(v, n).with_min_len(CHUNK).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_written() {
        for n in [0, 1, CHUNK - 1, 3 * CHUNK + 5] {
            let v = filled(n, -1.5);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == -1.5));
        }
    }
}
