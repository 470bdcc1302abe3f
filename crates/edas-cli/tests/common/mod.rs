//! Running the real `edas` binary from the end-to-end tests.

#![allow(dead_code)] // each test crate uses its own subset

use std::process::{Command, Output};

/// `edas ARGS`, with the periodic progress lines off.
pub fn edas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edas"))
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
