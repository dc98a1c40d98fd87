//! Registers a container with the kernel (its own inner maps, pinned under
//! `containers/<id>/`, in a free slot of the map-in-map tables) and removes
//! it again. Callers hold the global lock.
//!
//! Slot generations: `slot_gen[slot]` is odd while the slot is in use and
//! even when free, and grows by one at each change. Tasks remember the
//! generation they joined under, so a task outliving its container never
//! writes into the maps of the next container given the same slot.

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType};

use super::pins::{global_map, open_global, remove_pins};
use super::{as_bytes, from_bytes, types, Error, Result};
use crate::config::Layout;
use crate::id::ContainerId;

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
            outer: global_map!(stats_of),
            ty: MapType::Array,
            key: 4,
            value: size_of::<ct_stats>(),
            entries: 1,
        },
        Inner {
            name: SYSCALLS,
            outer: global_map!(syscalls_of),
            ty: MapType::Array,
            key: 4,
            value: 8,
            entries: types::ct_const::CT_SYSCALL_SLOTS.0,
        },
        Inner {
            name: EXECS,
            outer: global_map!(execs_of),
            ty: MapType::Hash,
            key: size_of::<ct_exec_key>(),
            value: size_of::<ct_exec_val>(),
            entries: sizes.execs,
        },
        Inner {
            name: FILES,
            outer: global_map!(files_of),
            ty: MapType::Hash,
            key: size_of::<ct_file_key>(),
            value: size_of::<ct_file_val>(),
            entries: sizes.files,
        },
        Inner {
            name: NET,
            outer: global_map!(net_of),
            ty: MapType::Hash,
            key: size_of::<ct_net_key>(),
            value: size_of::<ct_event_val>(),
            entries: sizes.network,
        },
        Inner {
            name: PRIV,
            outer: global_map!(priv_of),
            ty: MapType::Hash,
            key: size_of::<ct_priv_key>(),
            value: size_of::<ct_event_val>(),
            entries: sizes.privileged,
        },
    ]
}

fn map_err(what: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> Error {
    let what = what.into();
    move |source| Error::Map { what, source }
}

/// The u32 at the start of a map key or value (0 when it is shorter).
fn u32_of(bytes: &[u8]) -> u32 {
    bytes
        .get(..4)
        .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap_or_default()))
}

/// Every u32 value of an array map, by index, in one batch.
fn read_all_u32(map: &MapHandle) -> Result<Vec<u32>> {
    let mut out = vec![0u32; map.max_entries() as usize];
    let batch = map
        .lookup_batch(out.len().max(1) as u32, MapFlags::ANY, MapFlags::ANY)
        .map_err(map_err("read slot_gen"))?;
    for (k, v) in batch {
        if let Some(slot) = out.get_mut(u32_of(&k) as usize) {
            *slot = u32_of(&v);
        }
    }
    Ok(out)
}

fn read_u32(map: &MapHandle, key: u32) -> Result<u32> {
    let v = map
        .lookup(&key.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err(format!("read slot_gen[{key}]")))?
        .unwrap_or_default();
    Ok(u32_of(&v))
}

/// The cgroup and namespace a container is known by in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub cgroup_id: u64,
    /// Depth of the cgroup below the root.
    pub level: u32,
    /// Inode of the container's mount namespace.
    pub mnt_ns: u32,
}

/// All registrations in the kernel, by cgroup id.
fn registrations(containers: &MapHandle) -> Result<Vec<(u64, types::ct_container)>> {
    let mut out = Vec::new();
    for key in containers.keys() {
        if let Some(v) = containers
            .lookup(&key, MapFlags::ANY)
            .map_err(map_err("read containers"))?
        {
            let cgroup_id = u64::from_ne_bytes(
                key.get(..8)
                    .and_then(|k| k.try_into().ok())
                    .unwrap_or_default(),
            );
            out.push((
                cgroup_id,
                from_bytes::<types::ct_container>("containers", &v)?,
            ));
        }
    }
    Ok(out)
}

/// Rewrites the mask of cgroup levels that have a registration, so host
/// execs only search ancestors at levels where a container can be.
fn refresh_levels(layout: &Layout, containers: &MapHandle) -> Result<()> {
    let mask = registrations(containers)?
        .iter()
        .filter(|(_, c)| c.level < 64)
        .fold(0u64, |m, (_, c)| m | 1 << c.level);
    let levels = open_global(layout, global_map!(cgroup_levels))?;
    levels
        .update(&0u32.to_ne_bytes(), &mask.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err("write cgroup_levels"))
}

/// Registers a container: after this returns, the kernel records every task
/// that execs in cgroup `who.cgroup_id` (or below) and in the container's
/// mount namespace, and every task those fork.
pub fn register(
    layout: &Layout,
    id: &ContainerId,
    who: Identity,
    sizes: &SetSizes,
) -> Result<Registration> {
    let containers = open_global(layout, global_map!(containers))?;
    let cg_key = who.cgroup_id.to_ne_bytes();
    if containers
        .lookup(&cg_key, MapFlags::ANY)
        .map_err(map_err("read containers"))?
        .is_some()
    {
        return Err(Error::CgroupTaken {
            cgroup_id: who.cgroup_id,
        });
    }
    if layout.container_pin_dir(id).exists() {
        return Err(Error::AlreadyRegistered { id: id.to_string() });
    }

    // A free slot (even generation) that was used before keeps its inner
    // maps attached (see unregister): taking one of those costs no update
    // of the outer tables. Among them the least recently used, so a task
    // still running from an old owner has the longest time to notice (by
    // generation) that it is gone. A never-used slot (generation 0) only
    // when no used one is free.
    let slot_gen = open_global(layout, global_map!(slot_gen))?;
    let max = slot_gen.max_entries();
    let gens = read_all_u32(&slot_gen)?;
    let free = gens
        .iter()
        .enumerate()
        .filter(|(_, g)| *g % 2 == 0)
        .min_by_key(|(slot, g)| (**g == 0, **g, *slot))
        .map(|(slot, g)| (slot as u32, *g));
    let (slot, old_gen) = free.ok_or(Error::NoSlot { max })?;
    let reg = Registration {
        slot,
        gen: old_gen.wrapping_add(1),
    };

    let result = attach_inner_maps(layout, id, slot, sizes).and_then(|()| {
        // a previous owner's lost events are not this container's
        open_global(layout, global_map!(slot_lost))?
            .update(&slot.to_ne_bytes(), &0u64.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err("write slot_lost"))?;
        slot_gen
            .update(&slot.to_ne_bytes(), &reg.gen.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err("write slot_gen"))?;
        // last: from here on the kernel attributes the cgroup's tasks
        let value = types::ct_container {
            slot,
            gen: reg.gen,
            mnt_ns: who.mnt_ns,
            level: who.level,
        };
        containers
            .update(&cg_key, as_bytes(&value), MapFlags::NO_EXIST)
            .map_err(map_err("write containers"))?;
        refresh_levels(layout, &containers)
    });
    if let Err(e) = result {
        let _ = unregister(layout, id, Some((who.cgroup_id, reg)));
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
    let mut created = Vec::new();
    for m in inner_maps(sizes) {
        let path = layout.container_map(id, m.name);
        if let Some(mut map) = reusable(layout, &m, slot)? {
            clear(&map, &m)?;
            map.pin(&path)
                .map_err(map_err(format!("pin map {}", m.name)))?;
            continue;
        }
        let mut map = MapHandle::create(
            m.ty,
            Some(format!("ct_{}", m.name)),
            m.key as u32,
            m.value as u32,
            m.entries,
            &opts,
        )
        .map_err(map_err(format!("create map {}", m.name)))?;
        map.pin(&path)
            .map_err(map_err(format!("pin map {}", m.name)))?;
        created.push((m, map));
    }
    side_by_side(created, |(m, map)| {
        let outer = open_global(layout, m.outer)?;
        use std::os::fd::{AsFd, AsRawFd};
        let fd = map.as_fd().as_raw_fd() as u32;
        outer
            .update(&slot.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err(format!("attach map {} to {}", m.name, m.outer)))
    })
}

/// The inner map a previous owner of `slot` left attached, when it has the
/// shape `m` asks for (set sizes come from the config, which may change).
fn reusable(layout: &Layout, m: &Inner, slot: u32) -> Result<Option<MapHandle>> {
    let outer = open_global(layout, m.outer)?;
    let Some(v) = outer
        .lookup(&slot.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err(format!("read {}", m.outer)))?
    else {
        return Ok(None);
    };
    let Ok(map) = MapHandle::from_map_id(u32_of(&v)) else {
        return Ok(None); // freed in between: attach a new one
    };
    let same = map.map_type() == m.ty
        && map.key_size() as usize == m.key
        && map.value_size() as usize == m.value
        && map.max_entries() == m.entries;
    Ok(same.then_some(map))
}

/// Empties a reused inner map before its new owner's slot goes live: arrays
/// are zeroed and hash sets emptied, each in one batch.
fn clear(map: &MapHandle, m: &Inner) -> Result<()> {
    let what = || format!("clear map {}", m.name);
    if m.ty == MapType::Array {
        let n = m.entries;
        let keys: Vec<u8> = (0..n).flat_map(u32::to_ne_bytes).collect();
        let values = vec![0u8; m.value * n as usize];
        return map
            .update_batch(&keys, &values, n, MapFlags::ANY, MapFlags::ANY)
            .map_err(map_err(what()));
    }
    let keys: Vec<Vec<u8>> = map.keys().collect();
    if keys.is_empty() {
        return Ok(());
    }
    map.delete_batch(
        &keys.concat(),
        keys.len() as u32,
        MapFlags::ANY,
        MapFlags::ANY,
    )
    .map_err(map_err(what()))
}

/// Runs `f` on every job, each on its own thread; the first error, in job
/// order. Every update of an outer (map-in-map) table makes the kernel wait
/// for an RCU grace period before it returns (so that no program still
/// sees the old inner map); six of them one after another cost six grace
/// periods, some 70 ms per hook on a 2-CPU VM, where side by side they
/// share one.
fn side_by_side<T: Send>(jobs: Vec<T>, f: impl Fn(T) -> Result<()> + Sync) -> Result<()> {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|j| s.spawn(move || f(j))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(map_err("outer map update")(libbpf_rs::Error::from(
                        std::io::Error::other("worker thread panicked"),
                    )))
                })
            })
            // join them all: a panicked thread left unjoined panics the scope
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    })
}

/// The kernel registration that owns the maps pinned for `id`: the entry of
/// `containers` whose slot holds this very stats map (compared by map id,
/// so a cgroup id or slot reused since cannot be mistaken for ours).
pub fn find_registration(layout: &Layout, id: &ContainerId) -> Result<Option<(u64, Registration)>> {
    let ours = match MapHandle::from_pinned_path(layout.container_map(id, STATS)) {
        Ok(m) => m.info().map_err(map_err("stats map info"))?.info.id,
        Err(_) => return Ok(None),
    };
    let containers = open_global(layout, global_map!(containers))?;
    let stats_of = open_global(layout, global_map!(stats_of))?;
    for (cgroup_id, c) in registrations(&containers)? {
        let inner = stats_of
            .lookup(&c.slot.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err("read stats_of"))?
            .map(|v| u32_of(&v));
        if inner == Some(ours) {
            return Ok(Some((
                cgroup_id,
                Registration {
                    slot: c.slot,
                    gen: c.gen,
                },
            )));
        }
    }
    Ok(None)
}

/// The registration of cgroup `cgroup_id`, for a container whose pins are
/// gone (so `find_registration` has no map id to go by). cgroup ids are
/// never reused on a 64-bit kernel, so the entry is the container's own.
pub fn registration_of_cgroup(
    layout: &Layout,
    cgroup_id: u64,
) -> Result<Option<(u64, Registration)>> {
    let containers = open_global(layout, global_map!(containers))?;
    let v = containers
        .lookup(&cgroup_id.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err("read containers"))?;
    v.map(|v| {
        let c = from_bytes::<types::ct_container>("containers", &v)?;
        Ok((
            cgroup_id,
            Registration {
                slot: c.slot,
                gen: c.gen,
            },
        ))
    })
    .transpose()
}

/// Events of a registered container that found none of its maps (they
/// were taken away while it ran), counted in the global `slot_lost`. ABI 1
/// programs kept no such count.
pub fn slot_lost(layout: &Layout, reg: Registration) -> Result<u64> {
    if layout.abi() < 2 {
        return Ok(0);
    }
    let map = open_global(layout, global_map!(slot_lost))?;
    let v = map
        .lookup(&reg.slot.to_ne_bytes(), MapFlags::ANY)
        .map_err(map_err(format!("read slot_lost[{}]", reg.slot)))?
        .unwrap_or_default();
    Ok(v.get(..8)
        .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or_default())))
}

/// Removes a container from the kernel tables (when `kernel` names its
/// registration) and unpins its maps. Every step runs even when an earlier
/// one failed; the first error is returned.
pub fn unregister(
    layout: &Layout,
    id: &ContainerId,
    kernel: Option<(u64, Registration)>,
) -> Result<()> {
    let mut first: Option<Error> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    };

    if let Some((cgroup_id, reg)) = kernel {
        keep(free_registration(layout, cgroup_id, reg));
    }
    keep(remove_pins(&layout.container_pin_dir(id)));
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every registration in the kernel's `containers` table: cgroup id and
/// slot, whether or not any pin or meta file still points at it.
pub fn registered(layout: &Layout) -> Result<Vec<(u64, Registration)>> {
    let containers = open_global(layout, global_map!(containers))?;
    Ok(registrations(&containers)?
        .into_iter()
        .map(|(cgroup_id, c)| {
            (
                cgroup_id,
                Registration {
                    slot: c.slot,
                    gen: c.gen,
                },
            )
        })
        .collect())
}

/// Removes registration `reg` of cgroup `cgroup_id` from the kernel tables
/// and frees its slot. Both steps run even when the first failed; the
/// first error is returned.
pub fn free_registration(layout: &Layout, cgroup_id: u64, reg: Registration) -> Result<()> {
    let mut first: Option<Error> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    };
    let gone = |e: &libbpf_rs::Error| e.kind() == libbpf_rs::ErrorKind::NotFound;
    keep(open_global(layout, global_map!(containers)).and_then(|m| {
        // only our own entry: the cgroup id may be someone else's by now
        let ours = m
            .lookup(&cgroup_id.to_ne_bytes(), MapFlags::ANY)
            .map_err(map_err("read containers"))?
            .and_then(|v| from_bytes::<types::ct_container>("containers", &v).ok())
            .is_some_and(|c| c.slot == reg.slot && c.gen == reg.gen);
        if ours {
            match m.delete(&cgroup_id.to_ne_bytes()) {
                Err(e) if !gone(&e) => return Err(map_err("delete from containers")(e)),
                _ => {}
            }
        }
        refresh_levels(layout, &m)
    }));
    // The inner maps stay attached to the freed slot for its next
    // owner, which empties them (register): detaching them here would
    // make the kernel wait an RCU grace period per outer table. They
    // are freed with the programs (detach_when_idle, gc).
    keep(open_global(layout, global_map!(slot_gen)).and_then(|m| {
        if read_u32(&m, reg.slot)? == reg.gen {
            m.update(
                &reg.slot.to_ne_bytes(),
                &reg.gen.wrapping_add(1).to_ne_bytes(),
                MapFlags::ANY,
            )
            .map_err(map_err("free slot"))?;
        }
        Ok(())
    }));
    match first {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
