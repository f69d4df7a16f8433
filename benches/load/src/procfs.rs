//! Readings from /proc: a process's CPU time and resident memory.

use std::time::Duration;

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100
/// on every Linux this runs on, checked once at start).
pub(crate) fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// User + system CPU time of every thread of process `pid` so far.
pub(crate) fn cpu_time(pid: u32, ticks: u64) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name (field 2) may hold spaces: fields are counted
    // after its closing parenthesis, where field 3 (state) comes first.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("/proc/{pid}/stat: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: field {n} unreadable"))
    };
    let total = field(14)? + field(15)?;
    Ok(Duration::from_micros(total * 1_000_000 / ticks))
}

/// Resident memory of this process, in bytes (VmRSS).
pub(crate) fn resident_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| "/proc/self/status: no VmRSS".to_owned())
}
