//! Registers a container with the kernel (its own inner maps, pinned under
//! `containers/<id>/`, in a free slot of the map-in-map tables) and removes
//! it again. Callers hold the global lock.
//!
//! Slot generations: `slot_gen[slot]` is odd while the slot is in use and
//! even when free, and grows by one at each change. Tasks remember the
//! generation they joined under, so a task outliving its container never
//! writes into the maps of the next container given the same slot.

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType};

use super::{as_bytes, from_bytes, types, Error, Result};
use crate::config::paths::{ContainerId, Layout};

/// Entries of each bounded set (config `[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetSizes {
    pub execs: u32,
    pub files: u32,
    pub network: u32,
    pub privileged: u32,
}

/// Where a container lives in the kernel tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    pub slot: u32,
    pub gen: u32,
}

/// One per-container map: its pin name, the outer table it hangs from, and
/// its shape (which must match the template in ctraudit.bpf.c).
struct Inner {
    name: &'static str,
    outer: &'static str,
    ty: MapType,
    key: usize,
    value: usize,
    entries: u32,
}

pub(crate) const STATS: &str = "stats";
pub(crate) const SYSCALLS: &str = "syscalls";
pub(crate) const EXECS: &str = "execs";
pub(crate) const FILES: &str = "files";
pub(crate) const NET: &str = "net";
pub(crate) const PRIV: &str = "privileged";

fn inner_maps(sizes: &SetSizes) -> [Inner; 6] {
    use std::mem::size_of;
    use types::*;
    [
        Inner {
            name: STATS,
            outer: "stats_of",
            ty: MapType::Array,
            key: 4,
            value: size_of::<ct_stats>(),
            entries: 1,
        },
        Inner {
            name: SYSCALLS,
            outer: "syscalls_of",
            ty: MapType::Array,
            key: 4,
            value: 8,
            entries: super::SYSCALL_MAX,
        },
        Inner {
            name: EXECS,
            outer: "execs_of",
            ty: MapType::Hash,
            key: size_of::<ct_exec_key>(),
            value: size_of::<ct_exec_val>(),
            entries: sizes.execs,
        },
        Inner {
            name: FILES,
            outer: "files_of",
            ty: MapType::Hash,
            key: size_of::<ct_file_key>(),
            value: size_of::<ct_file_val>(),
            entries: sizes.files,
        },
        Inner {
            name: NET,
            outer: "net_of",
            ty: MapType::Hash,
            key: size_of::<ct_net_key>(),
            value: size_of::<ct_event_val>(),
            entries: sizes.network,
        },
        Inner {
            name: PRIV,
            outer: "priv_of",
            ty: MapType::Hash,
            key: size_of::<ct_priv_key>(),
            value: size_of::<ct_event_val>(),
            entries: sizes.privileged,
        },
    ]
}

pub(crate) fn open_pinned(path: std::path::PathBuf) -> Result<MapHandle> {
    MapHandle::from_pinned_path(&path).map_err(|source| Error::Map {
        what: format!("open {}", path.display()),
        source,
    })
}

fn map_err(what: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> Error {
    let what = what.into();
    move |source| Error::Map { what, source }
}

fn read_u32(map: &MapHandle, key: u32) -> Result<u32> {
    let v = map
        .lookup(&key.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err(format!("read slot_gen[{key}]")))?
        .unwrap_or_default();
    Ok(v.get(..4)
        .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap_or_default())))
}

/// Registers a container: after this returns, the kernel records every task
/// of cgroup `cgroup_id` (and of cgroups below it) that execs.
pub fn register(
    layout: &Layout,
    id: &ContainerId,
    cgroup_id: u64,
    level: u32,
    sizes: &SetSizes,
) -> Result<Registration> {
    let containers = open_pinned(layout.global_map("containers"))?;
    let cg_key = cgroup_id.to_ne_bytes();
    if containers
        .lookup(&cg_key, MapFlags::ANY)
        .map_err(map_err("read containers"))?
        .is_some()
    {
        return Err(Error::CgroupTaken { cgroup_id });
    }
    let pin_dir = layout.container_pin_dir(id);
    if pin_dir.exists() {
        return Err(Error::AlreadyRegistered { id: id.to_string() });
    }

    let slot_gen = open_pinned(layout.global_map("slot_gen"))?;
    let max = slot_gen.max_entries();
    let mut free = None;
    for slot in 0..max {
        let gen = read_u32(&slot_gen, slot)?;
        if gen % 2 == 0 {
            free = Some((slot, gen));
            break;
        }
    }
    let (slot, old_gen) = free.ok_or(Error::NoSlot { max })?;
    let reg = Registration {
        slot,
        gen: old_gen.wrapping_add(1),
    };

    let result = attach_inner_maps(layout, id, slot, sizes).and_then(|()| {
        if level < 64 {
            let levels = open_pinned(layout.global_map("cgroup_levels"))?;
            let cur = levels
                .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
                .map_err(map_err("read cgroup_levels"))?
                .and_then(|v| {
                    v.get(..8)
                        .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or_default()))
                })
                .unwrap_or(0);
            levels
                .update(
                    &0u32.to_ne_bytes(),
                    &(cur | 1 << level).to_ne_bytes(),
                    MapFlags::ANY,
                )
                .map_err(map_err("write cgroup_levels"))?;
        }
        slot_gen
            .update(&slot.to_ne_bytes(), &reg.gen.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err("write slot_gen"))?;
        // last: from here on the kernel attributes the cgroup's tasks
        let value = types::ct_container { slot, gen: reg.gen };
        containers
            .update(&cg_key, as_bytes(&value), MapFlags::NO_EXIST)
            .map_err(map_err("write containers"))
    });
    if let Err(e) = result {
        let _ = unregister(layout, id, cgroup_id, reg);
        return Err(e);
    }
    Ok(reg)
}

fn attach_inner_maps(layout: &Layout, id: &ContainerId, slot: u32, sizes: &SetSizes) -> Result<()> {
    let pin_dir = layout.container_pin_dir(id);
    std::fs::create_dir_all(&pin_dir).map_err(|source| Error::Io {
        path: pin_dir.clone(),
        source,
    })?;
    let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
        ..Default::default()
    };
    for m in inner_maps(sizes) {
        let mut map = MapHandle::create(
            m.ty,
            Some(format!("ct_{}", m.name)),
            m.key as u32,
            m.value as u32,
            m.entries,
            &opts,
        )
        .map_err(map_err(format!("create map {}", m.name)))?;
        map.pin(layout.container_map(id, m.name))
            .map_err(map_err(format!("pin map {}", m.name)))?;
        let outer = open_pinned(layout.global_map(m.outer))?;
        use std::os::fd::{AsFd, AsRawFd};
        let fd = map.as_fd().as_raw_fd() as u32;
        outer
            .update(&slot.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err(format!("attach map {} to {}", m.name, m.outer)))?;
    }
    Ok(())
}

/// Removes a container from the kernel tables and unpins its maps. Every
/// step runs even when an earlier one failed; the first error is returned.
pub fn unregister(
    layout: &Layout,
    id: &ContainerId,
    cgroup_id: u64,
    reg: Registration,
) -> Result<()> {
    let mut first: Option<Error> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    };
    let gone = |e: &libbpf_rs::Error| e.kind() == libbpf_rs::ErrorKind::NotFound;

    keep(open_pinned(layout.global_map("containers")).and_then(|m| {
        // only our own entry: the cgroup id may be someone else's by now
        let ours = m
            .lookup(&cgroup_id.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .and_then(|v| from_bytes::<types::ct_container>("containers", &v).ok())
            .is_some_and(|c| c.slot == reg.slot && c.gen == reg.gen);
        match m.delete(&cgroup_id.to_ne_bytes()) {
            Err(e) if ours && !gone(&e) => Err(map_err("delete from containers")(e)),
            _ => Ok(()),
        }
    }));
    keep(open_pinned(layout.global_map("slot_gen")).and_then(|m| {
        let cur = read_u32(&m, reg.slot)?;
        if cur == reg.gen {
            m.update(
                &reg.slot.to_ne_bytes(),
                &reg.gen.wrapping_add(1).to_ne_bytes(),
                MapFlags::ANY,
            )
            .map_err(map_err("free slot"))?;
        }
        // ours while live (cur == gen), or a registration that failed
        // before it was published (cur == gen - 1)
        if cur == reg.gen || cur == reg.gen.wrapping_sub(1) {
            for m in inner_maps(&SetSizes {
                execs: 1,
                files: 1,
                network: 1,
                privileged: 1,
            }) {
                let outer = open_pinned(layout.global_map(m.outer))?;
                match outer.delete(&reg.slot.to_ne_bytes()) {
                    Err(e) if !gone(&e) => return Err(map_err(format!("detach {}", m.name))(e)),
                    _ => {}
                }
            }
        }
        Ok(())
    }));
    keep(super::loader::remove_pins(&layout.container_pin_dir(id)));
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
