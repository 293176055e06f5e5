//! What the benchmarks read of a process from `/proc`: peak resident set and CPU time.

/// The peak resident set (VmHWM) of process `pid`, in KiB; 0 where `/proc` is not readable.
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// The resident set now (VmRSS) of process `pid`, in KiB; 0 where `/proc` is not readable.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// Starts a new peak: the next [`peak_rss_kib`] is the peak from now on.
pub fn reset_peak(pid: u32) {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later).
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of process `pid` (`None`: this process).
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_string(),
        |p| format!("/proc/{p}/stat"),
    );
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0);
    ticks / 100.0
}

/// User + system CPU seconds of every running process named `name` (its `comm`), for example
/// the backends of a PostgreSQL cluster (`postgres`). Processes that exited are not counted.
pub fn cpu_seconds_named(name: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .map(|pid| cpu_seconds(Some(pid)))
        .sum()
}
