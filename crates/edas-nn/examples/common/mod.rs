//! What the memory examples share: the process's resident size and its
//! peak, from `/proc/self/status` (Linux only).
#![allow(clippy::expect_used, clippy::panic)]

/// The value of `key` (`VmRSS`, `VmHWM`) in `/proc/self/status`, in bytes.
pub fn status(key: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    let line = s
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"));
    let kib: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unreadable {key} line: {line}"));
    kib * 1024
}

/// Resets the peak resident size (`VmHWM`) to the current one.
pub fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("/proc/self/clear_refs (Linux only)");
}
