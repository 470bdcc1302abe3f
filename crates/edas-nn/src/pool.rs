//! DARTS' `avg_pool_3x3` at stride 1 (padding 1, padding not counted) as
//! shifted sums on the CPU backend.
//!
//! burn's flex backend pools with a scalar loop per output element and
//! scatters its gradient the same way; in the trainings of searched cells
//! (which hold many pooling ops) pooling took 35-46% of a step
//! (`docs/performance.md`, "Pooling on the CPU"). The same average is a
//! separable box sum, three shifted slices added along the width, then
//! along the height, times the reciprocal of each position's count of
//! in-image neighbours: element-wise SIMD work whose gradient burn's
//! autodiff derives from the slices and sums. On flex it is 2.4-3.2x
//! faster forward and backward (3.8-7.4x forward alone; `cargo bench -p
//! edas-nn --bench nn -- pool 64 9`) and equal up to float rounding. GPU
//! backends keep their native pooling kernel (one kernel, not six).

use burn::nn::PaddingConfig2d;
use burn::nn::pool::AvgPool2d;
use burn::prelude::*;
use burn::tensor::ops::PadMode;

/// Whether `device` runs burn's flex CPU backend (with or without
/// autodiff). burn names no backend in its device type without the
/// backend's cargo feature, which this library leaves to the binary, so
/// this reads the device's `Debug` form (`Device<Flex(..)>`,
/// `Device<Autodiff { device: Flex(..), .. }>`); a test holds it to that.
pub fn is_flex(device: &Device) -> bool {
    runs_backend(device, "Flex")
}

/// Whether `device` runs burn's LibTorch backend (`tch`, `tch-cuda`; with or
/// without autodiff), read as [`is_flex`] reads flex.
pub fn is_libtorch(device: &Device) -> bool {
    runs_backend(device, "LibTorch")
}

/// Whether `device`'s `Debug` form names `backend` (as burn's dispatch
/// device writes it: `Device<Flex(..)>`, `Device<Autodiff { device:
/// Flex(..), .. }>`).
fn runs_backend(device: &Device, backend: &str) -> bool {
    let name = format!("{device:?}");
    name.strip_prefix("Device<")
        .map(|rest| rest.strip_prefix("Autodiff { device: ").unwrap_or(rest))
        .and_then(|rest| rest.strip_prefix(backend))
        .is_some_and(|rest| rest.starts_with('('))
}

/// `pool(x)`, by shifted sums where that is the same op on flex: a 3x3
/// kernel at stride 1 with padding 1, padding not counted.
pub fn avg_pool(pool: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    let shifted = pool.kernel_size == [3, 3]
        && pool.stride == [1, 1]
        && pool.padding == PaddingConfig2d::Explicit(1, 1, 1, 1)
        && !pool.count_include_pad
        && is_flex(&x.device());
    if shifted {
        avg_pool_3x3_shifted(x)
    } else {
        pool.forward(x)
    }
}

/// 3x3 average at stride 1, padding 1 not counted, as shifted sums.
pub fn avg_pool_3x3_shifted(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let device = x.device();
    let xp = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let rows = xp.clone().slice(s![.., .., .., 0..w])
        + xp.clone().slice(s![.., .., .., 1..w + 1])
        + xp.slice(s![.., .., .., 2..w + 2]);
    let sums = rows.clone().slice(s![.., .., 0..h, ..])
        + rows.clone().slice(s![.., .., 1..h + 1, ..])
        + rows.slice(s![.., .., 2..h + 2, ..]);
    sums * reciprocal_counts(h, w, &device)
}

/// `[1, 1, h, w]`: 1 / the number of in-image positions of each 3x3
/// window (9 inside, 6 on an edge, 4 in a corner; 3, 2 or 1 across a
/// side of length 1 or 2).
fn reciprocal_counts(h: usize, w: usize, device: &Device) -> Tensor<4> {
    let span = |i: usize, n: usize| (i + 2).min(n) - i.saturating_sub(1);
    let v: Vec<f32> = (0..h)
        .flat_map(|i| (0..w).map(move |j| (i, j)))
        .map(|(i, j)| {
            // At most 9: exact as f32.
            #[allow(clippy::cast_precision_loss)]
            let count = (span(i, h) * span(j, w)) as f32;
            1.0 / count
        })
        .collect();
    Tensor::<1>::from_floats(v.as_slice(), device).reshape([1, 1, h, w])
}
