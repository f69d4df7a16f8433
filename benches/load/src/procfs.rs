//! Readings from /proc: a process's CPU time, resident memory, and the
//! CPUs this process may run on. Each reading is parsed by a function of
//! its own text, so a short or garbled file is an error, never a panic.

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
    stat_cpu_ticks(&stat)
        .map(|t| Duration::from_micros(t.saturating_mul(1_000_000) / ticks.max(1)))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in ticks.
fn stat_cpu_ticks(stat: &str) -> Result<u64, String> {
    // The command name (field 2) may hold spaces and parentheses: fields
    // are counted after its last closing parenthesis, where field 3
    // (state) comes first.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("no command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("field {n} unreadable"))
    };
    Ok(field(14)?.saturating_add(field(15)?))
}

/// Resident memory of this process, in bytes (VmRSS).
pub(crate) fn resident_bytes() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    status_vm_rss(&status).ok_or_else(|| "/proc/self/status: no VmRSS".to_owned())
}

/// Resident memory of process `pid`, in bytes (VmRSS).
pub(crate) fn resident_bytes_of(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    status_vm_rss(&status).ok_or_else(|| format!("{path}: no VmRSS"))
}

fn status_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb.saturating_mul(1024))
}

/// The CPUs this process may run on (`Cpus_allowed_list`); empty when
/// unreadable.
pub(crate) fn allowed_cpus() -> Vec<u32> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(cpu_list)
        .unwrap_or_default()
}

/// A kernel CPU list (`0-3,6`); parts that do not read are skipped, and a
/// range is capped at 4096 CPUs.
fn cpu_list(list: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
            cpus.extend(a..=b.min(a.saturating_add(4096)));
        }
    }
    cpus
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) app) S 1 4242 4242 0 -1 4194304 100 0 0 0 731 42 0 0 20 0 3 0 12345 1000000 500 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        assert_eq!(stat_cpu_ticks(STAT), Ok(773));
        // Every cut before field 15 (stime, "42") is an error.
        let stime = STAT.find(" 42 ").unwrap_or(0);
        for cut in 0..=stime {
            assert!(stat_cpu_ticks(&STAT[..cut]).is_err(), "cut {cut}");
        }
        assert!(stat_cpu_ticks(&STAT.replace("731", "7x1")).is_err());
    }

    #[test]
    fn vm_rss_and_cpu_lists() {
        assert_eq!(
            status_vm_rss("Name:\tx\nVmRSS:\t  2048 kB\nThreads: 1\n"),
            Some(2048 * 1024)
        );
        assert_eq!(status_vm_rss("VmRSS:\t2048"), None);
        assert_eq!(status_vm_rss("VmRSS:\tabc kB"), None);
        assert_eq!(status_vm_rss(""), None);
        assert_eq!(cpu_list("0-3,6"), vec![0, 1, 2, 3, 6]);
        assert_eq!(cpu_list("1\n"), vec![1]);
        assert_eq!(cpu_list("3-1,x,-,5-"), Vec::<u32>::new());
        assert_eq!(cpu_list("0-4294967295").len(), 4097);
        assert_eq!(cpu_list(""), Vec::<u32>::new());
    }
}
