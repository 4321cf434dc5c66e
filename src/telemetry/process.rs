//! Process figures for `/metrics`, read from `/proc/self` (Linux): resident memory, CPU time,
//! open and allowed file descriptors, start time — the standard `process_*` names.

use std::fmt::Write as _;

/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, 100 on every Linux
/// architecture parley is built for (it is part of the kernel's user-space ABI).
const USER_HZ: f64 = 100.0;

#[derive(Debug, Default, PartialEq)]
pub struct Process {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

impl Process {
    pub fn read() -> Process {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as u64);
        Process { open_fds, ..parse(&status, &stat, &limits, &boot) }
    }

    pub fn render(&self, out: &mut String) {
        let mut gauge = |name: &str, kind: &str, help: &str, value: Option<String>| {
            if let Some(value) = value {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
            }
        };
        gauge(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the parley process.",
            self.resident_bytes.map(|v| v.to_string()),
        );
        gauge(
            "process_cpu_seconds_total",
            "counter",
            "CPU time used by the parley process (user and system).",
            self.cpu_seconds.map(|v| format!("{v:.2}")),
        );
        gauge("process_open_fds", "gauge", "Open file descriptors.", self.open_fds.map(|v| v.to_string()));
        gauge(
            "process_max_fds",
            "gauge",
            "Limit on open file descriptors (RLIMIT_NOFILE).",
            self.max_fds.map(|v| v.to_string()),
        );
        gauge(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process, Unix time.",
            self.start_time_seconds.map(|v| format!("{v:.0}")),
        );
    }
}

/// Parses the texts of `/proc/self/status`, `/proc/self/stat`, `/proc/self/limits` and
/// `/proc/stat` (open file descriptors are counted apart).
fn parse(status: &str, stat: &str, limits: &str, system_stat: &str) -> Process {
    let resident_bytes = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024);
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |n: usize| fields.get(n.wrapping_sub(3)).and_then(|v| v.parse::<u64>().ok());
    let cpu_seconds = field(14).zip(field(15)).map(|(user, system)| (user + system) as f64 / USER_HZ);
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    let boot_time =
        system_stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse::<u64>().ok());
    let start_time_seconds = boot_time.zip(field(22)).map(|(boot, ticks)| boot as f64 + ticks as f64 / USER_HZ);
    Process { resident_bytes, cpu_seconds, open_fds: None, max_fds, start_time_seconds }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_texts() {
        let status = "Name:\tparley\nVmRSS:\t   20480 kB\n";
        let stat = "4242 (par ley) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1000 0 0";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            65536                65536                files\n";
        let p = parse(status, stat, limits, "cpu 1 2 3\nbtime 1700000000\n");
        assert_eq!(p.resident_bytes, Some(20 * 1024 * 1024));
        assert_eq!(p.cpu_seconds, Some(3.0));
        assert_eq!(p.max_fds, Some(65536));
        assert_eq!(p.start_time_seconds, Some(1_700_000_010.0));
    }

    #[test]
    fn reads_this_process() {
        let p = Process::read();
        assert!(p.resident_bytes.is_some_and(|b| b > 1024 * 1024), "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.cpu_seconds.is_some(), "{p:?}");
    }
}
