//! `--device`: which burn device a command runs on.
//!
//! `cpu` (burn's `flex` backend) is always compiled in. GPU backends are cargo
//! features of `edas-cli`: `cuda` (`--device cuda` or `cuda:N`), `vulkan`
//! (`--device vulkan` or `vulkan:N`, the N-th discrete GPU) and `wgpu`
//! (`--device wgpu`, the adapter wgpu prefers; `wgpu:N`, the N-th discrete GPU;
//! `wgpu:cpu`, a software adapter such as Mesa's llvmpipe) and `tch` (LibTorch:
//! `--device tch` on the CPU, `tch-cuda` or `tch-cuda:N` on NVIDIA GPU N).

use anyhow::{Result, bail};
use burn::prelude::Device;

/// The backends this binary was built with, for messages.
pub fn compiled() -> Vec<&'static str> {
    let mut v = vec!["cpu"];
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "vulkan") {
        v.push("vulkan");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "tch") {
        v.push("tch");
    }
    v
}

/// `name` split into backend and optional `:index` suffix.
fn split(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((b, i)) => (b, Some(i)),
        None => (name, None),
    }
}

/// The GPU index in `cuda:N` / `vulkan:N` / `wgpu:N` (0 when absent).
#[allow(dead_code)] // unused in a CPU-only build
fn index(name: &str, suffix: Option<&str>) -> Result<usize> {
    match suffix {
        None => Ok(0),
        Some(s) => s.parse().map_err(|_| {
            anyhow::anyhow!("--device {name}: `{s}` is not a device index (expected e.g. cuda:0)")
        }),
    }
}

fn not_compiled(name: &str, feature: &str) -> Result<Device> {
    // LibTorch must be provided to the build; the xtask does that.
    let build = if feature == "tch" {
        "cargo xtask tch build".to_owned()
    } else {
        format!("cargo build --release -p edas-cli --features {feature}")
    };
    bail!(
        "--device {name}: this edas binary was built without the `{feature}` backend \
         (compiled in: {}); rebuild with `{build}` (docs/gpu.md)",
        compiled().join(", ")
    )
}

/// The device named by `--device`, as an autodiff device when `autodiff`.
pub fn parse(name: &str, autodiff: bool) -> Result<Device> {
    let (backend, suffix) = split(name);
    let device = match backend {
        "cpu" | "flex" if suffix.is_none() => Device::flex(),
        "cuda" => cuda(name, suffix)?,
        "vulkan" => vulkan(name, suffix)?,
        "wgpu" => wgpu(name, suffix)?,
        "tch" if suffix.is_none() => tch(name, false, None)?,
        "tch-cuda" => tch(name, true, suffix)?,
        _ => bail!(
            "--device {name}: unknown device (expected cpu, cuda[:N], vulkan[:N], wgpu[:N|:cpu], \
             tch or tch-cuda[:N]; \
             compiled in: {})",
            compiled().join(", ")
        ),
    };
    Ok(if autodiff { device.autodiff() } else { device })
}

#[cfg(feature = "cuda")]
fn cuda(name: &str, suffix: Option<&str>) -> Result<Device> {
    Ok(Device::cuda(index(name, suffix)?))
}

#[cfg(not(feature = "cuda"))]
fn cuda(name: &str, _suffix: Option<&str>) -> Result<Device> {
    not_compiled(name, "cuda")
}

/// The wgpu adapter named by a `vulkan`/`wgpu` suffix: none, the adapter wgpu
/// prefers; `:cpu`, a software adapter; `:N`, the N-th discrete GPU.
#[cfg(feature = "wgpu")]
fn adapter(name: &str, suffix: Option<&str>) -> Result<burn::tensor::DeviceKind> {
    use burn::tensor::DeviceKind;
    Ok(match suffix {
        Some("cpu") => DeviceKind::Cpu,
        None => DeviceKind::DefaultDevice,
        s => DeviceKind::DiscreteGpu(index(name, s)?),
    })
}

// The `vulkan` feature turns on `wgpu` too (Cargo.toml), so `adapter` exists.
#[cfg(feature = "vulkan")]
fn vulkan(name: &str, suffix: Option<&str>) -> Result<Device> {
    Ok(Device::vulkan(adapter(name, suffix)?))
}

#[cfg(not(feature = "vulkan"))]
fn vulkan(name: &str, _suffix: Option<&str>) -> Result<Device> {
    not_compiled(name, "vulkan")
}

#[cfg(feature = "wgpu")]
fn wgpu(name: &str, suffix: Option<&str>) -> Result<Device> {
    Ok(Device::wgpu(adapter(name, suffix)?))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(name: &str, _suffix: Option<&str>) -> Result<Device> {
    not_compiled(name, "wgpu")
}

/// LibTorch: its CPU device, or with `cuda` the GPU the `:N` suffix names.
#[cfg(feature = "tch")]
#[allow(deprecated)] // burn marks tch deprecated (0.23 drops it); it is our offline CUDA path
fn tch(name: &str, cuda: bool, suffix: Option<&str>) -> Result<Device> {
    if !cuda {
        return Ok(Device::libtorch());
    }
    let i = index(name, suffix)?;
    // burn's LibTorch backend panics on a device LibTorch lacks.
    let count = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
    if i >= count {
        bail!(
            "--device {name}: LibTorch sees {count} CUDA device(s) (no NVIDIA driver, \
             or the torch on LD_LIBRARY_PATH is a CPU-only build; docs/gpu.md)"
        );
    }
    Ok(Device::libtorch_cuda(i))
}

#[cfg(not(feature = "tch"))]
fn tch(name: &str, _cuda: bool, _suffix: Option<&str>) -> Result<Device> {
    not_compiled(name, "tch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_or_explain() {
        assert!(parse("cpu", false).is_ok());
        assert!(parse("flex", true).is_ok());
        let e = parse("tpu", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("unknown device") && e.contains("compiled in: cpu"),
            "{e}"
        );
        if !cfg!(feature = "cuda") {
            let e = parse("cuda:1", false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("--features cuda"), "{e}");
        }
        if !cfg!(feature = "vulkan") {
            let e = parse("vulkan", false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("--features vulkan"), "{e}");
        }
        if !cfg!(feature = "tch") {
            for d in ["tch", "tch-cuda", "tch-cuda:1"] {
                let e = parse(d, false)
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                assert!(
                    e.contains("without the `tch` backend") && e.contains("cargo xtask tch build"),
                    "{d}: {e}"
                );
            }
        }
        assert!(parse("tch:1", false).is_err());
        assert_eq!(split("cuda:3"), ("cuda", Some("3")));
        assert_eq!(index("cuda:3", Some("3")).ok(), Some(3));
        assert!(index("cuda:x", Some("x")).is_err());
    }
}
