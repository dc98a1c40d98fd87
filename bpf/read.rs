//! Reads one container's pinned maps into plain Rust values. Opens maps by
//! pin path (read-only), never by loading the skeleton.

use std::path::PathBuf;

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use super::loader::{losses_since, Attached};
use super::registry::{find_registration, registration_of_cgroup, slot_lost, Registration};
use super::registry::{EXECS, FILES, NET, PRIV, STATS, SYSCALLS};
use super::{from_bytes, types, Error, Pod, Result};
use crate::config::Layout;
use crate::id::ContainerId;

/// Everything the kernel aggregated for one container.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub stats: types::ct_stats,
    /// Count per syscall number (index) of syscalls that ran, `SYSCALL_MAX` entries.
    pub syscalls: Vec<u64>,
    /// The same for syscalls refused before they ran (a seccomp filter).
    pub denied: Vec<u64>,
    pub execs: Vec<(types::ct_exec_key, types::ct_exec_val)>,
    pub files: Vec<(types::ct_file_key, types::ct_file_val)>,
    pub net: Vec<(types::ct_net_key, types::ct_event_val)>,
    pub privileged: Vec<(types::ct_priv_key, types::ct_event_val)>,
    /// Events that found none of the container's maps (`slot_lost`).
    pub without_maps: u64,
    /// One line per part of the kernel's record that could not be read:
    /// what is missing from the fields above. Empty when all was read.
    pub problems: Vec<String>,
    /// How many of the container's maps were read (of `MAPS`).
    pub maps_read: usize,
    /// Runs ctraudit's programs skipped while the container ran (the
    /// kernel's recursion_misses, which are global to the host).
    pub program_misses: u64,
}

/// The per-container maps a snapshot reads.
const MAPS: usize = 6;

impl Snapshot {
    /// How much of the kernel's record was read: `complete`, `partial`, or
    /// `missing` (nothing of it: the summary holds what prestart knew).
    pub fn kernel_data(&self) -> &'static str {
        match (self.maps_read, self.problems.is_empty()) {
            (0, _) => "missing",
            (MAPS, true) => "complete",
            _ => "partial",
        }
    }
}

fn open(path: PathBuf) -> Result<MapHandle> {
    MapHandle::from_pinned_path_with_file_flags(&path, libc::O_RDONLY as u32).map_err(|source| {
        Error::Map {
            what: format!("open {}", path.display()),
            source,
        }
    })
}

fn lookup(map: &MapHandle, what: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
    map.lookup(key, MapFlags::ANY).map_err(|source| Error::Map {
        what: format!("read {what}"),
        source,
    })
}

fn entries<K: Pod, V: Pod>(
    map: &MapHandle,
    what: &'static str,
    older_abi: bool,
) -> Result<Vec<(K, V)>> {
    let mut out = Vec::new();
    for mut key in map.keys() {
        // an entry may vanish between keys() and lookup(): skip it
        if let Some(mut value) = lookup(map, what, &key)? {
            if older_abi {
                grow(&mut key, std::mem::size_of::<K>());
                grow(&mut value, std::mem::size_of::<V>());
            }
            out.push((from_bytes(what, &key)?, from_bytes(what, &value)?));
        }
    }
    Ok(out)
}

/// A record of an older ABI whose type has since grown at its end only
/// (ABI 4 appended `err` to ct_exec_key, the exit fields to ct_stats): the new fields read as 0, which
/// is what the old programs meant (an exec that succeeded).
fn grow(record: &mut Vec<u8>, size: usize) {
    if record.len() < size {
        record.resize(size, 0);
    }
}

/// Every entry of one of the container's bounded sets (pin name `name`).
fn set<K: Pod, V: Pod>(
    layout: &Layout,
    id: &ContainerId,
    name: &'static str,
) -> Result<Vec<(K, V)>> {
    let older_abi = layout.abi() < super::ABI_VERSION;
    entries(&open(layout.container_map(id, name))?, name, older_abi)
}

fn stats(layout: &Layout, id: &ContainerId) -> Result<types::ct_stats> {
    let map = open(layout.container_map(id, STATS))?;
    let Some(mut v) = lookup(&map, "stats", &0u32.to_ne_bytes())? else {
        return Ok(types::ct_stats::default());
    };
    // later ABIs only appended counters (ABI 1: 128 bytes, 2 and 3:
    // 152): a container that ran under older programs is still read
    // exactly after an upgrade, its newer counters 0
    if layout.abi() < super::ABI_VERSION {
        grow(&mut v, std::mem::size_of::<types::ct_stats>());
    }
    from_bytes("stats", &v)
}

fn syscall_counts(layout: &Layout, id: &ContainerId) -> Result<Vec<u64>> {
    let sys = open(layout.container_map(id, SYSCALLS))?;
    let mut counts = vec![0u64; types::ct_const::CT_SYSCALL_SLOTS.0 as usize];
    for (nr, slot) in counts.iter_mut().enumerate() {
        if let Some(v) = lookup(&sys, "syscalls", &(nr as u32).to_ne_bytes())? {
            *slot = v
                .get(..8)
                .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or_default()));
        }
    }
    Ok(counts)
}

fn keep(r: Result<()>, snap: &mut Snapshot) {
    match r {
        Ok(()) => snap.maps_read += 1,
        Err(e) => snap.problems.push(e.to_string()),
    }
}

/// Reads the maps pinned for `id`. Each map is read on its own: what can
/// be read is kept, and every map that cannot is named in `problems`, so a
/// summary never passes an empty record off as a quiet container.
pub fn read_container(layout: &Layout, id: &ContainerId) -> Snapshot {
    let mut snap = Snapshot::default();
    let sys_max = super::SYSCALL_MAX as usize;
    snap.syscalls.resize(sys_max, 0);
    snap.denied.resize(sys_max, 0);
    if !super::bpffs_mounted(layout.bpffs()) {
        snap.problems.push(format!(
            "no bpffs at {}: the kernel's record of this container went with it (unmounted while the container ran?)",
            layout.bpffs().display()
        ));
        return snap;
    }
    let dir = layout.container_pin_dir(id);
    if !dir.is_dir() {
        snap.problems.push(format!(
            "{}: not found: the container's maps were unpinned while it ran",
            dir.display()
        ));
        return snap;
    }
    let r = stats(layout, id).map(|s| snap.stats = s);
    keep(r, &mut snap);
    let r = syscall_counts(layout, id).map(|mut counts| {
        snap.denied = counts.split_off(super::SYSCALL_MAX as usize);
        snap.syscalls = counts;
    });
    keep(r, &mut snap);
    let r = set(layout, id, EXECS).map(|e| snap.execs = e);
    keep(r, &mut snap);
    let r = set(layout, id, FILES).map(|e| snap.files = e);
    keep(r, &mut snap);
    let r = set(layout, id, NET).map(|e| snap.net = e);
    keep(r, &mut snap);
    let r = set(layout, id, PRIV).map(|e| snap.privileged = e);
    keep(r, &mut snap);
    snap.syscalls.resize(sys_max, 0);
    snap.denied.resize(sys_max, 0);
    snap
}

/// The kernel's record of a container, and where it sat in the tables.
pub struct Collected {
    pub data: Snapshot,
    pub registration: Option<(u64, Registration)>,
}

/// Reads everything the kernel kept for the container. Whatever could not
/// be read, or was taken away while the container ran, is named in
/// `problems`: the summary then says it is incomplete, never that a
/// silent container did nothing. A running container's is read the same
/// way (crate::live), between its events. `cgroup_id` and `programs` are
/// the meta file's.
pub fn collect(
    layout: &Layout,
    id: &ContainerId,
    cgroup_id: u64,
    programs: &[Attached],
) -> Collected {
    let mut data = read_container(layout, id);
    if data.maps_read == 0 {
        // nothing of it is left to read (the problem is named); its entry
        // in the kernel tables, if any, is still freed
        let registration = registration_of_cgroup(layout, cgroup_id).ok().flatten();
        return Collected { data, registration };
    }
    let registration = match find_registration(layout, id) {
        Ok(r) => r,
        Err(e) => {
            data.problems.push(format!("registration not found: {e}"));
            None
        }
    };
    match registration {
        Some((_, reg)) => match slot_lost(layout, reg) {
            Ok(n) => data.without_maps = n,
            Err(e) => data.problems.push(e.to_string()),
        },
        // the maps are there but the kernel no longer attributed anything
        // to them (its entry in `containers` was removed)
        None => data.problems.push(format!(
            "container {id}: no entry in the kernel's containers table when read: its tasks were not attributed after the entry went"
        )),
    }
    let (misses, detached) = losses_since(layout, programs);
    data.program_misses = misses;
    data.problems.extend(detached);
    Collected { data, registration }
}
