//! The memory a run may use: the smallest of what the kernel says is available
//! (`/proc/meminfo` MemAvailable), the cgroup's limit (v2 `memory.max` along the process's
//! cgroup path, or v1 `memory.limit_in_bytes`) and the process's own limits (`ulimit -v`,
//! `ulimit -d`, less what the process already maps).

use std::fmt;

/// Memory the run may use, and which limit says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// Where the number comes from, e.g. `MemAvailable in /proc/meminfo`.
    pub source: &'static str,
}

impl fmt::Display for Available {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            super::bytes_text(self.bytes as f64),
            self.source
        )
    }
}

/// The smallest limit this machine and process put on the run's memory; `None` when none can
/// be read (not Linux): then nothing is refused.
pub fn available() -> Option<Available> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let mut limits = Vec::new();
    if let Some(bytes) = read("/proc/meminfo").and_then(|t| kib_field(&t, "MemAvailable")) {
        limits.push(Available {
            bytes,
            source: "MemAvailable in /proc/meminfo",
        });
    }
    if let Some(bytes) = cgroup_limit(read) {
        limits.push(Available {
            bytes,
            source: "the cgroup's memory limit",
        });
    }
    let status = read("/proc/self/status").unwrap_or_default();
    for (resource, field, source) in [
        (libc::RLIMIT_AS, "VmSize", "ulimit -v, less what is mapped"),
        (
            libc::RLIMIT_DATA,
            "VmData",
            "ulimit -d, less what is in use",
        ),
    ] {
        if let Some(limit) = rlimit(resource) {
            let used = kib_field(&status, field).unwrap_or(0);
            limits.push(Available {
                bytes: limit.saturating_sub(used),
                source,
            });
        }
    }
    limits.into_iter().min_by_key(|a| a.bytes)
}

/// A `Name:   123 kB` field of `/proc/meminfo` or `/proc/self/status`, in bytes.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// A limit file's value: bytes, or `None` for `max` (v2) and the near-2^63 values v1 writes
/// for no limit.
pub fn limit_value(text: &str) -> Option<u64> {
    let value: u64 = text.trim().parse().ok()?;
    (value < 1 << 60).then_some(value)
}

/// The cgroup v2 path of the process (`0::/user.slice/…` in `/proc/self/cgroup`).
pub fn cgroup_v2_path(text: &str) -> Option<&str> {
    text.lines().find_map(|line| line.strip_prefix("0::"))
}

/// The smallest `memory.max` from the process's cgroup up to the root (v2), else the v1 limit.
fn cgroup_limit(read: impl Fn(&str) -> Option<String>) -> Option<u64> {
    let mut smallest: Option<u64> = None;
    if let Some(path) = read("/proc/self/cgroup")
        .as_deref()
        .and_then(cgroup_v2_path)
    {
        let mut dir = path.trim().trim_end_matches('/').to_string();
        loop {
            let file = format!("/sys/fs/cgroup{dir}/memory.max");
            if let Some(limit) = read(&file).as_deref().and_then(limit_value) {
                smallest = Some(smallest.map_or(limit, |s| s.min(limit)));
            }
            match dir.rfind('/') {
                Some(cut) => dir.truncate(cut),
                None => break,
            }
        }
    }
    let v1 = read("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if let Some(limit) = v1.as_deref().and_then(limit_value) {
        smallest = Some(smallest.map_or(limit, |s| s.min(limit)));
    }
    smallest
}

/// The soft limit of `resource`, unless unlimited.
fn rlimit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(resource, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_status_fields_are_read_in_bytes() {
        let meminfo =
            "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   23000000 kB\n";
        assert_eq!(kib_field(meminfo, "MemAvailable"), Some(23_000_000 * 1024));
        assert_eq!(kib_field(meminfo, "MemFree"), Some(102_400));
        assert_eq!(kib_field(meminfo, "Mem"), None, "a prefix is not the field");
        assert_eq!(
            kib_field("VmSize:\t  2048 kB\n", "VmSize"),
            Some(2048 * 1024)
        );
        assert_eq!(kib_field("MemAvailable: lots\n", "MemAvailable"), None);
        assert_eq!(
            kib_field("MemAvailable: 18446744073709551615 kB\n", "MemAvailable"),
            None,
            "an overflow is no value"
        );
    }

    #[test]
    fn limits_read_max_and_v1_unlimited_as_none() {
        assert_eq!(limit_value("8589934592\n"), Some(8 << 30));
        assert_eq!(limit_value("max\n"), None);
        assert_eq!(limit_value("9223372036854771712\n"), None);
        assert_eq!(limit_value(""), None);
    }

    #[test]
    fn the_v2_path_is_the_unified_line() {
        let text = "12:cpu:/old\n0::/user.slice/session-1.scope\n";
        assert_eq!(cgroup_v2_path(text), Some("/user.slice/session-1.scope"));
        assert_eq!(cgroup_v2_path("3:memory:/docker/abc\n"), None);
    }

    #[test]
    fn the_smallest_limit_along_the_path_wins() {
        let files = |path: &str| -> Option<String> {
            match path {
                "/proc/self/cgroup" => Some("0::/a/b\n".into()),
                "/sys/fs/cgroup/a/b/memory.max" => Some("max\n".into()),
                "/sys/fs/cgroup/a/memory.max" => Some("4294967296\n".into()),
                "/sys/fs/cgroup/memory.max" => Some("8589934592\n".into()),
                _ => None,
            }
        };
        assert_eq!(cgroup_limit(files), Some(4 << 30));
        assert_eq!(cgroup_limit(|_: &str| None), None);
    }
}
