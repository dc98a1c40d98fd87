//! Kernel timestamps are CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns);
//! people read wall-clock RFC 3339.

use std::time::{Duration, SystemTime};

use nix::time::{clock_gettime, ClockId};

pub fn boot_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_BOOTTIME)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Wall-clock time of a CLOCK_BOOTTIME instant, via the offset between the
/// two clocks now.
pub fn wall_of_boot_ns(ns: u64) -> SystemTime {
    let now_boot = boot_ns();
    let now = SystemTime::now();
    if ns <= now_boot {
        now - Duration::from_nanos(now_boot - ns)
    } else {
        now + Duration::from_nanos(ns - now_boot)
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

pub fn rfc3339_of_boot_ns(ns: u64) -> String {
    rfc3339(wall_of_boot_ns(ns))
}
