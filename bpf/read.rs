//! Reads one container's pinned maps into plain Rust values. Opens maps by
//! pin path (read-only), never by loading the skeleton.

use std::path::PathBuf;

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use super::registry::{EXECS, FILES, NET, PRIV, STATS, SYSCALLS};
use super::{from_bytes, types, Error, Pod, Result};
use crate::config::paths::{ContainerId, Layout};

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

fn entries<K: Pod, V: Pod>(map: &MapHandle, what: &'static str) -> Result<Vec<(K, V)>> {
    let mut out = Vec::new();
    for key in map.keys() {
        // an entry may vanish between keys() and lookup(): skip it
        if let Some(value) = lookup(map, what, &key)? {
            out.push((from_bytes(what, &key)?, from_bytes(what, &value)?));
        }
    }
    Ok(out)
}

/// Reads the maps pinned for `id`.
pub fn read_container(layout: &Layout, id: &ContainerId) -> Result<Snapshot> {
    let stats_map = open(layout.container_map(id, STATS))?;
    let stats = match lookup(&stats_map, "stats", &0u32.to_ne_bytes())? {
        Some(v) => from_bytes("stats", &v)?,
        None => types::ct_stats::default(),
    };
    let sys = open(layout.container_map(id, SYSCALLS))?;
    let mut counts = vec![0u64; types::ct_const::CT_SYSCALL_SLOTS.0 as usize];
    for (nr, slot) in counts.iter_mut().enumerate() {
        if let Some(v) = lookup(&sys, "syscalls", &(nr as u32).to_ne_bytes())? {
            *slot = v
                .get(..8)
                .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or_default()));
        }
    }
    let denied = counts.split_off(super::SYSCALL_MAX as usize);
    Ok(Snapshot {
        stats,
        syscalls: counts,
        denied,
        execs: entries(&open(layout.container_map(id, EXECS))?, "execs")?,
        files: entries(&open(layout.container_map(id, FILES))?, "files")?,
        net: entries(&open(layout.container_map(id, NET))?, "net")?,
        privileged: entries(&open(layout.container_map(id, PRIV))?, "privileged")?,
    })
}
