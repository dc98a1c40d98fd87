//! Loads the global programs once per ABI version and pins their maps and
//! links, so they stay attached with no process alive. Callers hold the
//! global lock (`hook::lock`), which makes "check, then load" atomic across
//! concurrent hooks.

use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Mutex;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::PrintLevel;

use super::skel::CtrauditSkelBuilder;
use super::{Error, Result};
use crate::config::Layout;

/// Global maps userspace reaches by pin path.
pub const GLOBAL_MAPS: &[&str] = &[
    "containers",
    "slot_gen",
    "cgroup_levels",
    "stats_of",
    "syscalls_of",
    "execs_of",
    "files_of",
    "net_of",
    "priv_of",
];

/// Programs, each attached once and its link pinned under the same name.
pub const PROGRAMS: &[&str] = &[
    "ct_sys_enter",
    "ct_sys_exit",
    "ct_exec",
    "ct_fork",
    "ct_exit",
];

/// Mounts a bpffs instance at `root` unless one is there already.
pub fn ensure_bpffs(root: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: root.to_owned(),
        source,
    };
    if let Ok(fs) = nix::sys::statfs::statfs(root) {
        if fs.filesystem_type() == nix::sys::statfs::BPF_FS_MAGIC {
            return Ok(());
        }
    }
    std::fs::create_dir_all(root).map_err(io)?;
    use nix::mount::{mount, MsFlags};
    mount(
        Some("bpf"),
        root,
        Some("bpf"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0700"),
    )
    .map_err(|source| Error::Mount {
        path: root.to_owned(),
        source,
    })
}

/// True when every global map and link of this ABI version is pinned.
fn fully_pinned(layout: &Layout) -> bool {
    GLOBAL_MAPS.iter().all(|m| layout.global_map(m).exists())
        && PROGRAMS.iter().all(|p| layout.global_link(p).exists())
}

/// Loads and pins the global programs unless they are pinned already.
/// A partial pin set (a loader that died half-way) is removed and redone.
pub fn ensure_loaded(layout: &Layout, max_containers: u32) -> Result<()> {
    if fully_pinned(layout) {
        return Ok(());
    }
    for dir in [layout.global_links_dir(), layout.global_maps_dir()] {
        remove_pins(&dir)?;
    }
    let result = load_and_pin(layout, max_containers);
    if result.is_err() {
        for dir in [layout.global_links_dir(), layout.global_maps_dir()] {
            let _ = remove_pins(&dir);
        }
    }
    result
}

fn load_and_pin(layout: &Layout, max_containers: u32) -> Result<()> {
    for dir in [layout.global_maps_dir(), layout.global_links_dir()] {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir, source })?;
    }
    let load = |what: &str, source| Error::Load {
        what: what.to_owned(),
        source,
        log: take_libbpf_log(),
    };
    libbpf_rs::set_print(Some((PrintLevel::Warn, collect_libbpf_log)));

    let mut object = MaybeUninit::uninit();
    let mut open = CtrauditSkelBuilder::default()
        .open(&mut object)
        .map_err(|e| load("open", e))?;
    let m = &mut open.maps;
    for map in [
        &mut m.containers,
        &mut m.slot_gen,
        &mut m.stats_of,
        &mut m.syscalls_of,
        &mut m.execs_of,
        &mut m.files_of,
        &mut m.net_of,
        &mut m.priv_of,
    ] {
        map.set_max_entries(max_containers)
            .map_err(|e| load("max_containers", e))?;
    }
    let mut skel = open.load().map_err(|e| load("verify", e))?;

    let m = &mut skel.maps;
    for (name, map) in [
        ("containers", &mut m.containers),
        ("slot_gen", &mut m.slot_gen),
        ("cgroup_levels", &mut m.cgroup_levels),
        ("stats_of", &mut m.stats_of),
        ("syscalls_of", &mut m.syscalls_of),
        ("execs_of", &mut m.execs_of),
        ("files_of", &mut m.files_of),
        ("net_of", &mut m.net_of),
        ("priv_of", &mut m.priv_of),
    ] {
        map.pin(layout.global_map(name))
            .map_err(|e| load(&format!("pin map {name}"), e))?;
    }
    let p = &skel.progs;
    for (name, prog) in [
        ("ct_sys_enter", &p.ct_sys_enter),
        ("ct_sys_exit", &p.ct_sys_exit),
        ("ct_exec", &p.ct_exec),
        ("ct_fork", &p.ct_fork),
        ("ct_exit", &p.ct_exit),
    ] {
        let mut link = prog
            .attach()
            .map_err(|e| load(&format!("attach {name}"), e))?;
        link.pin(layout.global_link(name))
            .map_err(|e| load(&format!("pin link {name}"), e))?;
    }
    Ok(())
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

/// libbpf's warnings during a load, kept to explain a failure in one place
/// instead of spraying them over the runtime's stderr.
static LIBBPF_LOG: Mutex<String> = Mutex::new(String::new());

fn collect_libbpf_log(_level: PrintLevel, msg: String) {
    if let Ok(mut log) = LIBBPF_LOG.lock() {
        if log.len() < 4096 {
            log.push_str(msg.trim_end());
            log.push_str("; ");
        }
    }
}

fn take_libbpf_log() -> String {
    let log = LIBBPF_LOG
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    if log.is_empty() {
        String::new()
    } else {
        format!(" (libbpf: {})", log.trim_end_matches("; "))
    }
}
