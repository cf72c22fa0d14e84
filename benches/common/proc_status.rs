//! A process's memory as the kernel reports it (`/proc/PID/status`), for the benchmarks.

/// The value of `key` ("VmRSS:", "VmHWM:") in kB for the process `pid` ("self" for this one);
/// 0 when it cannot be read.
pub fn status_kb(pid: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
