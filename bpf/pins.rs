//! The pin tree under `<bpffs>/ctraudit/v<ABI>/` (see `config::paths`) has
//! one owner: this module says which maps of the object are pinned and how
//! they are sized, pins links, opens pinned maps and removes pins. The
//! loader (global maps and links) and the registry (one container's maps)
//! both go through it, and it imports neither of them.
//!
//! Which maps are global, and which are sized per slot, is read from the
//! object itself rather than from lists of names kept by hand: adding a map
//! to ctraudit.bpf.c pins it. The names are an on-disk ABI (a host upgraded
//! finds the maps of the containers it already runs by them), so a test
//! holds the set.

use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libbpf_rs::skel::SkelBuilder;
use libbpf_rs::{Link, MapHandle, MapType, OpenMap, OpenObject};

use super::{Error, Result};
use crate::abi::skel::CtrauditSkelBuilder;
use crate::abi::types::ct_const;
use crate::config::Layout;

/// The pin name of global map `$name`. It is the map's name in the
/// skeleton, and does not compile unless the skeleton has that map, so a
/// map renamed in ctraudit.bpf.c cannot leave a stale name behind here.
macro_rules! global_map {
    ($name:ident) => {{
        // never called: only there to check the skeleton has the map
        let _ = |maps: &$crate::abi::skel::CtrauditMaps<'_>| {
            let _ = &maps.$name;
        };
        stringify!($name)
    }};
}
pub(crate) use global_map;

/// Whether the loader pins `map` under `maps/`: every map userspace reaches.
/// Left out are libbpf's own maps for the object's data sections (named
/// `<object>.<section>`, a dot no C identifier has) and the programs'
/// private state, kept per task or per CPU, which nothing outside reads.
fn is_global(map: &OpenMap) -> bool {
    let private = matches!(map.map_type(), MapType::TaskStorage | MapType::PercpuArray);
    !private && !map.name().to_string_lossy().contains('.')
}

/// Whether `map` holds one entry per audit slot: ctraudit.bpf.c declares
/// those with `CT_DEFAULT_MAX_CONTAINERS` entries, and the loader sizes
/// them to `limits.max_containers`.
fn is_per_slot(map: &OpenMap) -> bool {
    map.max_entries() == ct_const::CT_DEFAULT_MAX_CONTAINERS.0
}

/// Readies an opened object for its load: the per-slot maps sized to
/// `max_containers`, and every global map given its pin path, so that
/// libbpf pins each one by name as it creates it (and takes the pins away
/// again when the load fails). `err` turns a libbpf error into the
/// loader's, naming what failed.
pub(crate) fn prepare(
    object: &mut OpenObject,
    layout: &Layout,
    max_containers: u32,
    err: impl Fn(&str, libbpf_rs::Error) -> Error,
) -> Result<()> {
    for mut map in object.maps_mut() {
        if is_per_slot(&map) {
            map.set_max_entries(max_containers)
                .map_err(|e| err("max_containers", e))?;
        }
        if is_global(&map) {
            let name = map.name().to_string_lossy().into_owned();
            map.set_pin_path(layout.global_map(&name))
                .map_err(|e| err(&format!("pin map {name}"), e))?;
        }
    }
    Ok(())
}

/// Names of the global maps, read once per process from the object (opened,
/// never loaded): the pins under `maps/` that must all be there for the
/// programs to count as loaded.
pub(crate) fn global_maps() -> Result<&'static [String]> {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    if let Some(names) = NAMES.get() {
        return Ok(names);
    }
    let mut object = MaybeUninit::uninit();
    let open = CtrauditSkelBuilder::default()
        .open(&mut object)
        .map_err(|source| Error::Map {
            what: "open the BPF object".to_owned(),
            source,
        })?;
    use libbpf_rs::skel::OpenSkel;
    let names = open
        .open_object()
        .maps()
        .filter(is_global)
        .map(|m| m.name().to_string_lossy().into_owned())
        .collect();
    Ok(NAMES.get_or_init(|| names))
}

/// Pins the link of program `name` under `links/`.
pub(crate) fn pin_link(link: &mut Link, layout: &Layout, name: &str) -> libbpf_rs::Result<()> {
    link.pin(layout.global_link(name))
}

/// Opens the map pinned at `path`.
pub(crate) fn open_pinned(path: PathBuf) -> Result<MapHandle> {
    MapHandle::from_pinned_path(&path).map_err(|source| Error::Map {
        what: format!("open {}", path.display()),
        source,
    })
}

/// Opens global map `name` (see `global_map!`).
pub(crate) fn open_global(layout: &Layout, name: &str) -> Result<MapHandle> {
    open_pinned(layout.global_map(name))
}

/// Removes the pins in `dir` (maps and links detach when their last
/// reference goes) and the directory itself.
pub(crate) fn remove_pins(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: dir.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pin names are an on-disk ABI: a host upgraded must find the maps
    /// it pinned before. A map added to the object changes this set; one
    /// renamed or dropped needs an ABI bump (events.h).
    #[test]
    fn the_object_pins_and_sizes_the_same_maps() {
        assert_eq!(
            global_maps().unwrap(),
            [
                "containers",
                "slot_gen",
                "cgroup_levels",
                "slot_lost",
                "stream",
                "stats_of",
                "syscalls_of",
                "execs_of",
                "files_of",
                "net_of",
                "priv_of",
            ]
        );
        let mut object = MaybeUninit::uninit();
        let open = CtrauditSkelBuilder::default().open(&mut object).unwrap();
        use libbpf_rs::skel::OpenSkel;
        let mut per_slot: Vec<String> = open
            .open_object()
            .maps()
            .filter(is_per_slot)
            .map(|m| m.name().to_string_lossy().into_owned())
            .collect();
        per_slot.sort();
        assert_eq!(
            per_slot,
            [
                "containers",
                "execs_of",
                "files_of",
                "net_of",
                "priv_of",
                "slot_gen",
                "slot_lost",
                "stats_of",
                "syscalls_of",
            ]
        );
        assert_eq!(global_map!(slot_gen), "slot_gen");
    }
}
