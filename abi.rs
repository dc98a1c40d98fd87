//! The kernel/user contract: the skeleton libbpf-cargo generates from
//! bpf/ctraudit.bpf.c, whose `types` come from bpf/include/events.h through
//! BTF, and the version that names its pins. A leaf that imports nothing of
//! the crate: bpf/ loads, registers and reads with it, and config/ formats
//! the pin paths of its version without depending on bpf/.

#[allow(clippy::all, clippy::pedantic, missing_docs, dead_code)]
pub(crate) mod skel {
    include!(concat!(env!("OUT_DIR"), "/ctraudit.skel.rs"));
}

pub use skel::types;

/// Version of the kernel/user contract (`CT_ABI_VERSION` in events.h).
pub const ABI_VERSION: u32 = types::ct_const::CT_ABI_VERSION.0;
