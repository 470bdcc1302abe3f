//! What the integration tests of several files share.

use burn::prelude::*;

/// The autodiff devices whose kernels are compiled in.
pub fn devices() -> Vec<Device> {
    #[allow(unused_mut)]
    let mut devices = vec![Device::flex().autodiff()];
    #[cfg(feature = "tch")]
    devices.push(match std::env::var("EDAS_TCH_DEVICE").as_deref() {
        Ok("cuda") => Device::libtorch_cuda(0).autodiff(),
        _ => Device::libtorch().autodiff(),
    });
    // CubeCL through wgpu (the ops' default bodies), on request: it needs an
    // adapter, and a software one compiles each kernel slowly.
    #[cfg(feature = "wgpu")]
    if std::env::var("EDAS_TEST_WGPU").is_ok_and(|v| v == "1") {
        devices.push(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff());
    }
    devices
}
