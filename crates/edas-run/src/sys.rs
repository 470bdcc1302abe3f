//! Process measurements: peak resident memory (Linux).

/// The process's peak resident set size in bytes since start or since the
/// last [`reset_peak_rss`] (`VmHWM` in `/proc/self/status`); `None` where
/// the kernel does not report it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Resets the peak to the current resident size (writes `5` to
/// `/proc/self/clear_refs`); returns whether the kernel accepted it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_grows_with_a_touched_allocation() {
        // After a reset the peak is the current resident size, so a touched
        // 64 MiB allocation raises it by about 64 MiB (other test threads
        // may free memory meanwhile: a 48 MiB bar).
        if !reset_peak_rss() {
            return; // not Linux
        }
        let Some(before) = peak_rss_bytes() else {
            return;
        };
        let v = vec![1u8; 64 << 20];
        let after = peak_rss_bytes().unwrap();
        assert!(v.iter().map(|&b| u64::from(b)).sum::<u64>() == 64 << 20);
        assert!(after >= before + (48 << 20), "{before} -> {after}");
    }
}
