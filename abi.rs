//! The kernel/user contract: the skeleton libbpf-cargo generates from
//! bpf/ctraudit.bpf.c, whose `types` come from bpf/include/events.h through
//! BTF, the version that names its pins, and what a container's maps cost
//! in kernel memory. A leaf that imports nothing of the crate: bpf/ loads,
//! registers and reads with it, and config/ formats the pin paths of its
//! version and checks its limits against that cost without depending on
//! bpf/.

#[allow(clippy::all, clippy::pedantic, missing_docs, dead_code)]
pub(crate) mod skel {
    include!(concat!(env!("OUT_DIR"), "/ctraudit.skel.rs"));
}

pub use skel::types;

/// Version of the kernel/user contract (`CT_ABI_VERSION` in events.h).
pub const ABI_VERSION: u32 = types::ct_const::CT_ABI_VERSION.0;

/// What one container's maps take in kernel memory for these set sizes
/// (execs, files, network, privileged), as the kernel sizes a preallocated
/// hash map: per entry a 48-byte element header plus key and value, each
/// rounded up to 8 bytes; plus the syscall counters and the stats. The
/// bench reads 829 KiB of bytes_memlock for the defaults, this says 796.
pub fn kernel_bytes(execs: u32, files: u32, network: u32, privileged: u32) -> u64 {
    use std::mem::size_of;
    use types::*;
    let entry = |key: usize, value: usize| {
        (48 + key.next_multiple_of(8) + value.next_multiple_of(8)) as u64
    };
    u64::from(execs) * entry(size_of::<ct_exec_key>(), size_of::<ct_exec_val>())
        + u64::from(files) * entry(size_of::<ct_file_key>(), size_of::<ct_file_val>())
        + u64::from(network) * entry(size_of::<ct_net_key>(), size_of::<ct_event_val>())
        + u64::from(privileged) * entry(size_of::<ct_priv_key>(), size_of::<ct_event_val>())
        + u64::from(ct_const::CT_SYSCALL_SLOTS.0) * 8
        + size_of::<ct_stats>() as u64
}
