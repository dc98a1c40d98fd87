//! Kernel side, Rust half: the generated skeleton and its ABI types, the
//! loader of the global programs, per-container registration, and the reader
//! of a container's maps.
//!
//! The ABI types (`types::ct_*`) come from the skeleton (`crate::abi`), which
//! takes them from `bpf/include/events.h` through BTF; nothing here mirrors
//! them by hand.

mod loader;
mod pins;
mod read;
mod registry;
mod syscalls_x86_64;

use std::path::PathBuf;

pub use loader::{
    attached, bpffs_mounted, ensure_bpffs, ensure_loaded, losses_since, unload_if_idle, Attached,
    PROGRAMS,
};
pub use read::{collect, read_container, Collected, Snapshot};
pub use registry::{
    find_registration, free_registration, register, registered, registration_of_cgroup, slot_lost,
    unregister, Identity, Registration, SetSizes,
};
// The generated types, the contract's version and the kernel memory of a
// container's maps live in `crate::abi`, a leaf, so that config/ can name
// pin paths and check its limits without depending on bpf/.
pub use crate::abi::{kernel_bytes, types, ABI_VERSION};
/// Syscall numbers below this are counted one by one.
pub const SYSCALL_MAX: u32 = types::ct_const::CT_SYSCALL_MAX.0;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot mount bpffs at {path}: {source}")]
    Mount { path: PathBuf, source: nix::Error },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("loading the BPF programs failed ({what}): {source}{log}")]
    Load {
        what: String,
        source: libbpf_rs::Error,
        log: String,
    },
    #[error("{what}: {source}")]
    Map {
        what: String,
        source: libbpf_rs::Error,
    },
    #[error("all {max} audit slots are in use (raise limits.max_containers)")]
    NoSlot { max: u32 },
    #[error("cgroup {cgroup_id} is already audited as another container")]
    CgroupTaken { cgroup_id: u64 },
    #[error("container {id} is already registered (a poststop never ran?)")]
    AlreadyRegistered { id: String },
    #[error(
        "the global pins under {dir} are incomplete while {n} container(s) are registered; \
         reloading would orphan them (remove the stale containers first)"
    )]
    IncompletePins { dir: PathBuf, n: usize },
    #[error(
        "the programs pinned under {dir} have another layout (containers value {got} bytes, this build {want}): \
         a build with a different ABI left them; stop its containers and remove {dir}"
    )]
    StalePins { dir: PathBuf, got: u32, want: u32 },
    #[error("map {what}: record of {got} bytes, expected {want}")]
    Layout {
        what: &'static str,
        got: usize,
        want: usize,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Plain-old-data ABI types that may be built from raw map bytes.
///
/// # Safety
/// Implementors are `repr(C)` structs of integers and integer arrays only,
/// so every bit pattern is a valid value.
pub unsafe trait Pod: Copy + Default {}

// SAFETY: generated from events.h: repr(C), integer fields and arrays only.
unsafe impl Pod for types::ct_container {}
// SAFETY: as above.
unsafe impl Pod for types::ct_stats {}
// SAFETY: as above.
unsafe impl Pod for types::ct_exec_key {}
// SAFETY: as above.
unsafe impl Pod for types::ct_exec_val {}
// SAFETY: as above.
unsafe impl Pod for types::ct_file_key {}
// SAFETY: as above.
unsafe impl Pod for types::ct_file_val {}
// SAFETY: as above.
unsafe impl Pod for types::ct_net_key {}
// SAFETY: as above.
unsafe impl Pod for types::ct_priv_key {}
// SAFETY: as above.
unsafe impl Pod for types::ct_event_val {}
// SAFETY: as above.
unsafe impl Pod for types::ct_stream_hdr {}

/// Decodes one map record, checking its length first.
pub fn from_bytes<T: Pod>(what: &'static str, bytes: &[u8]) -> Result<T> {
    if bytes.len() != std::mem::size_of::<T>() {
        return Err(Error::Layout {
            what,
            got: bytes.len(),
            want: std::mem::size_of::<T>(),
        });
    }
    // SAFETY: the length matches and `T: Pod` accepts any bit pattern;
    // read_unaligned because a Vec<u8> gives no alignment guarantee.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of an ABI value, for map keys and values.
pub fn as_bytes<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: `T: Pod` is plain data with no padding bytes left
    // uninitialised by construction (events.h spells padding out), and the
    // slice borrows `v`.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// The bytes of a NUL-terminated C string in a fixed-size ABI array.
pub fn c_bytes(chars: &[i8]) -> Vec<u8> {
    chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect()
}

/// A NUL-terminated C string from a fixed-size ABI array, as text (bytes
/// that are not UTF-8 replaced: see `summary::hex_unless_utf8`).
pub fn c_str(chars: &[i8]) -> String {
    String::from_utf8_lossy(&c_bytes(chars)).into_owned()
}

/// The x86_64 name of a syscall number, when the generated table has it.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    syscalls_x86_64::SYSCALLS_X86_64
        .binary_search_by_key(&nr, |&(n, _)| n)
        .ok()
        .map(|i| syscalls_x86_64::SYSCALLS_X86_64[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscall_table_matches_kernel_numbering() {
        assert_eq!(syscall_name(0), Some("read"));
        assert_eq!(syscall_name(42), Some("connect"));
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(257), Some("openat"));
        assert_eq!(syscall_name(263), Some("unlinkat"));
        assert_eq!(syscall_name(435), Some("clone3"));
        assert_eq!(syscall_name(452), Some("fchmodat2"));
        assert_eq!(syscall_name(469), Some("file_setattr"));
        assert!(
            syscalls_x86_64::SYSCALLS_X86_64.len() >= 380,
            "the whole table of a recent kernel"
        );
        assert_eq!(syscall_name(511), None);
        let t = syscalls_x86_64::SYSCALLS_X86_64;
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "sorted and unique");
        assert!(t.iter().all(|&(n, _)| n < SYSCALL_MAX));
    }

    #[test]
    fn records_of_the_wrong_size_are_refused() {
        let e = from_bytes::<types::ct_stats>("stats", &[0u8; 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "map stats: record of 3 bytes, expected {}",
                std::mem::size_of::<types::ct_stats>()
            )
        );
    }

    #[test]
    fn records_round_trip() {
        let v = types::ct_container {
            slot: 7,
            gen: 3,
            mnt_ns: 4026531841,
            level: 2,
        };
        let back: types::ct_container = from_bytes("containers", as_bytes(&v)).unwrap();
        assert_eq!(
            (back.slot, back.gen, back.mnt_ns, back.level),
            (7, 3, 4026531841, 2)
        );
    }

    /// Any change to an ABI type's layout must bump CT_ABI_VERSION (events.h),
    /// so old and new pins never meet in one directory: update both together.
    #[test]
    fn abi_version_follows_the_layout() {
        use std::mem::size_of;
        use types::*;
        let sizes = [
            size_of::<ct_container>(),
            size_of::<ct_stats>(),
            size_of::<ct_exec_key>(),
            size_of::<ct_exec_val>(),
            size_of::<ct_file_key>(),
            size_of::<ct_file_val>(),
            size_of::<ct_net_key>(),
            size_of::<ct_event_val>(),
            size_of::<ct_priv_key>(),
            size_of::<ct_task>(),
        ];
        assert_eq!(
            (ABI_VERSION, sizes),
            (5, [16, 192, 784, 40, 264, 568, 140, 40, 192, 1440])
        );
    }

    /// `as_bytes` relies on the ABI types having no implicit padding:
    /// each size is the sum of its fields (events.h spells padding out).
    #[test]
    fn abi_types_have_no_implicit_padding() {
        use std::mem::size_of;
        use types::*;
        assert_eq!(size_of::<ct_container>(), 4 * 4);
        assert_eq!(size_of::<ct_stats>(), 20 * 8 + 4 * 4 + 8 + 8);
        assert_eq!(size_of::<ct_stream_hdr>(), 4 * 4 + 8);
        assert_eq!(size_of::<ct_exec_key>(), 256 + 256 + 4 + 4 + 256 + 4 + 4);
        assert_eq!(size_of::<ct_exec_val>(), 3 * 8 + 4 * 4);
        assert_eq!(size_of::<ct_file_key>(), 256 + 4 + 4);
        assert_eq!(size_of::<ct_file_val>(), 4 * 8 + 6 * 4 + 2 * 256);
        assert_eq!(size_of::<ct_net_key>(), 4 * 2 + 16 + 108 + 4 + 4);
        assert_eq!(size_of::<ct_event_val>(), 4 * 8 + 2 * 4);
        assert_eq!(size_of::<ct_priv_key>(), 2 * 4 + 3 * 8 + 32 + 128);
    }

    #[test]
    fn c_strings_stop_at_nul() {
        let mut a = [0i8; 8];
        for (i, b) in b"/bin/ls".iter().enumerate() {
            a[i] = *b as i8;
        }
        assert_eq!(c_str(&a), "/bin/ls");
        assert_eq!(c_str(&[0i8; 4]), "");
    }
}
