//! Helpers shared by this crate's integration tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// A training run's `metrics.jsonl` records without their timing and memory
/// fields (which differ between two otherwise identical runs).
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            for k in ["images_per_s", "epoch_time_s", "peak_memory_mib"] {
                o.remove(k);
            }
            v
        })
        .collect()
}
