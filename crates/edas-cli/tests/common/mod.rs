//! Running the real `edas` binary from the end-to-end tests.

#![allow(dead_code)] // each test crate uses its own subset

use std::path::Path;
use std::process::{Command, Output};

/// `edas ARGS`, with the periodic progress lines off.
pub fn edas(args: &[&str]) -> Output {
    edas_in(Path::new("."), args)
}

/// `edas ARGS` started in directory `dir`.
pub fn edas_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edas"))
        .current_dir(dir)
        .args(args)
        .env("EDAS_PROGRESS_SECS", "0")
        .output()
        .expect("the edas binary runs")
}

/// Asserts that `o` succeeded, showing its output when it did not.
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A tiny synthetic training config: DARTS_V2-sized cells at C=8 L=5,
/// 128 training and 64 test images; `optim` lines go into `[optim]`.
pub fn tiny_config(epochs: usize, optim: &str) -> String {
    format!(
        r#"name = "tiny"
seed = 0
epochs = {epochs}

[data]
dataset = "synthetic"

[data.synthetic]
channels = 3
height = 32
width = 32
classes = 10
train_len = 128
test_len = 64
noise = 40.0
seed = 0

[loader]
batch_size = 32
workers = 1

[network]
kind = "cifar"
channels = 8
layers = 5
auxiliary = true

[optim]
{optim}
"#
    )
}
