//! The backends that run [`Kernels`]' default bodies: their own `ModuleOps`,
//! as burn's module functions called them before.
//!
//! - CubeCL (`cuda`, `wgpu`, `vulkan`): burn-cubecl's own kernels, its
//!   convolution backward included;
//! - ndarray: only for the backend comparison in `benches/nn.rs`.

#[allow(unused_imports)]
use super::Kernels;

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
impl Kernels for burn::backend::NdArray {}

#[cfg(any(feature = "cuda", feature = "wgpu", feature = "vulkan"))]
impl Kernels for burn::backend::Cube {}
