//! `--device`: which burn device a command runs on.

use anyhow::{Result, bail};
use burn::prelude::Device;

/// The device named by `--device` (`cpu`; GPU backends need a build with
/// their feature), as an autodiff device when `autodiff`.
pub fn parse(name: &str, autodiff: bool) -> Result<Device> {
    let device = match name {
        "cpu" | "flex" => Device::flex(),
        other if other.starts_with("cuda") || other == "vulkan" || other == "wgpu" => bail!(
            "--device {other}: this edas binary was built with the CPU backend only \
             (burn's `flex`); GPU backends are not compiled in yet"
        ),
        other => bail!("--device {other}: unknown device (expected cpu)"),
    };
    Ok(if autodiff { device.autodiff() } else { device })
}
