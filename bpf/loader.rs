//! Loads the global programs once per ABI version and pins their maps and
//! links, so they stay attached with no process alive. Callers hold the
//! global lock (`sys::lock`), which makes "check, then load" atomic across
//! concurrent hooks.

use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Mutex;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::PrintLevel;

use super::pins::{self, global_map, open_global, remove_pins};
use super::{Error, Result};
use crate::abi::skel::CtrauditSkelBuilder;
use crate::config::Layout;

/// Programs, each attached once and its link pinned under the same name.
pub const PROGRAMS: &[&str] = &[
    "ct_sys_enter",
    "ct_sys_exit",
    "ct_exec",
    "ct_fork",
    "ct_exit",
    "ct_io_uring_submit",
    "ct_cgroup_attach",
    "ct_oom",
];

/// Whether a bpffs instance is mounted at `root`.
pub fn bpffs_mounted(root: &Path) -> bool {
    nix::sys::statfs::statfs(root)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::BPF_FS_MAGIC)
}

/// Mounts a bpffs instance at `root` unless one is there already.
pub fn ensure_bpffs(root: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: root.to_owned(),
        source,
    };
    if bpffs_mounted(root) {
        return Ok(());
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

/// True when every global map (`pins::global_maps`) and link of this ABI
/// version is pinned.
fn fully_pinned(layout: &Layout) -> Result<bool> {
    Ok(pins::global_maps()?
        .iter()
        .all(|m| layout.global_map(m).exists())
        && PROGRAMS.iter().all(|p| layout.global_link(p).exists()))
}

/// Loads and pins the global programs unless they are pinned already.
/// A partial pin set (a loader that died half-way) is removed and redone.
pub fn ensure_loaded(layout: &Layout, max_containers: u32) -> Result<()> {
    if fully_pinned(layout)? {
        return check_layout(layout);
    }
    let registered = std::fs::read_dir(layout.containers_pin_dir()).map_or(0, |d| d.count());
    if registered > 0 {
        return Err(Error::IncompletePins {
            dir: layout.abi_dir(),
            n: registered,
        });
    }
    for dir in [layout.global_links_dir(), layout.global_maps_dir()] {
        remove_pins(&dir)?;
    }
    load_and_pin(layout, max_containers)
}

fn load_error(what: &str, source: libbpf_rs::Error) -> Error {
    Error::Load {
        what: what.to_owned(),
        source,
        log: take_libbpf_log(),
    }
}

/// The exit program that counts processes exactly needs the `group_dead`
/// argument of sched_process_exit (Linux 6.16); older kernels get the
/// leader-based one. Tried in this order; the first error is reported.
fn load_and_pin(layout: &Layout, max_containers: u32) -> Result<()> {
    let mut first = None;
    for legacy_exit in [false, true] {
        match load_variant(layout, max_containers, legacy_exit) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.expect("one variant was tried"))
}

fn load_variant(layout: &Layout, max_containers: u32, legacy_exit: bool) -> Result<()> {
    let result = pin_variant(layout, max_containers, legacy_exit);
    if result.is_err() {
        for dir in [layout.global_links_dir(), layout.global_maps_dir()] {
            let _ = remove_pins(&dir);
        }
    }
    result
}

fn pin_variant(layout: &Layout, max_containers: u32, legacy_exit: bool) -> Result<()> {
    for dir in [layout.global_maps_dir(), layout.global_links_dir()] {
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir, source })?;
    }
    libbpf_rs::set_print(Some((PrintLevel::Warn, collect_libbpf_log)));

    let mut object = MaybeUninit::uninit();
    let mut open = CtrauditSkelBuilder::default()
        .open(&mut object)
        .map_err(|e| load_error("open", e))?;
    let cpus = libbpf_rs::num_possible_cpus().map_err(|e| load_error("possible CPUs", e))?;
    // forget() must reach every CPU's memory of the gate (ctraudit.bpf.c)
    let ro = open.maps.rodata_data.as_deref_mut().ok_or_else(|| {
        load_error(
            "rodata",
            libbpf_rs::Error::from(std::io::Error::other("no read-only data section")),
        )
    })?;
    ro.nr_cpus = u32::try_from(cpus).unwrap_or(u32::MAX);
    open.progs.ct_exit.set_autoload(!legacy_exit);
    open.progs.ct_exit_legacy.set_autoload(legacy_exit);
    pins::prepare(open.open_object_mut(), layout, max_containers, load_error)?;
    // libbpf pins the global maps as it creates them (pins::prepare)
    let skel = open.load().map_err(|e| load_error("verify", e))?;

    let p = &skel.progs;
    let exit = if legacy_exit {
        &p.ct_exit_legacy
    } else {
        &p.ct_exit
    };
    for (name, prog) in [
        ("ct_sys_enter", &p.ct_sys_enter),
        ("ct_sys_exit", &p.ct_sys_exit),
        ("ct_exec", &p.ct_exec),
        ("ct_fork", &p.ct_fork),
        ("ct_exit", exit),
        ("ct_io_uring_submit", &p.ct_io_uring_submit),
        ("ct_cgroup_attach", &p.ct_cgroup_attach),
        ("ct_oom", &p.ct_oom),
    ] {
        let mut link = prog
            .attach()
            .map_err(|e| load_error(&format!("attach {name}"), e))?;
        pins::pin_link(&mut link, layout, name)
            .map_err(|e| load_error(&format!("pin link {name}"), e))?;
    }
    Ok(())
}

/// Unloads the global programs when no container is registered any more:
/// their links and maps are unpinned, so the programs detach and no task
/// of the host pays for them until the next container loads them again.
/// Returns whether it unloaded. Callers hold the global lock.
pub fn unload_if_idle(layout: &Layout) -> Result<bool> {
    use libbpf_rs::MapCore;
    if !fully_pinned(layout)? {
        return Ok(false);
    }
    let containers = open_global(layout, global_map!(containers))?;
    let registered = containers.keys().next().is_some();
    let pinned =
        std::fs::read_dir(layout.containers_pin_dir()).is_ok_and(|mut d| d.next().is_some());
    if registered || pinned {
        return Ok(false);
    }
    drop(containers);
    for dir in [
        layout.global_links_dir(),
        layout.global_maps_dir(),
        layout.containers_pin_dir(),
    ] {
        remove_pins(&dir)?;
    }
    let _ = std::fs::remove_dir(layout.abi_dir());
    Ok(true)
}

/// Pins left by a build with another layout under the same ABI number
/// (a development build, or an ABI bump forgotten) would make every
/// registration fail with EINVAL: say so instead.
fn check_layout(layout: &Layout) -> Result<()> {
    use libbpf_rs::MapCore;
    let map = open_global(layout, global_map!(containers))?;
    let want = std::mem::size_of::<super::types::ct_container>() as u32;
    if map.value_size() != want {
        return Err(Error::StalePins {
            dir: layout.abi_dir(),
            got: map.value_size(),
            want,
        });
    }
    Ok(())
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

/// One global program as it is attached: what every audit depends on. Kept
/// in a container's meta at prestart and compared at poststop, so a program
/// detached (its pin removed, bpffs unmounted) or skipped by the kernel
/// while the container ran shows in its summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attached {
    pub program: String,
    pub link_id: u32,
    pub prog_id: u32,
    /// The kernel's count of runs it skipped (`recursion_misses`): an event
    /// the program never saw. Global: any task's miss counts.
    pub misses: u64,
}

/// The global programs attached now, in `PROGRAMS` order.
pub fn attached(layout: &Layout) -> Result<Vec<Attached>> {
    let mut out = PROGRAMS
        .iter()
        .map(|name| link_of(layout, name))
        .collect::<Result<Vec<_>>>()?;
    add_misses(&mut out);
    Ok(out)
}

/// The link pinned for program `name`, with the program it runs.
fn link_of(layout: &Layout, name: &str) -> Result<Attached> {
    let path = layout.global_link(name);
    let err = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| Error::Map { what, source }
    };
    let mut link = libbpf_rs::Link::open(&path).map_err(err("open link"))?;
    let info = link.info();
    // closing our descriptor must never detach the pinned link
    link.disconnect();
    let info = info.map_err(err("link info"))?;
    Ok(Attached {
        program: name.to_owned(),
        link_id: info.id,
        prog_id: info.prog_id,
        misses: 0,
    })
}

/// Fills in each program's recursion_misses, from the kernel's list.
fn add_misses(out: &mut [Attached]) {
    for prog in libbpf_rs::query::ProgInfoIter::default() {
        if let Some(a) = out.iter_mut().find(|a| a.prog_id == prog.id) {
            a.misses = prog.recursion_misses;
        }
    }
}

/// What the programs lost while a container ran, against what was attached
/// at its start: the runs they skipped, and one line naming the programs
/// that were detached since (their events are missing from then on).
pub fn losses_since(layout: &Layout, at_start: &[Attached]) -> (u64, Option<String>) {
    // each link on its own: one that is gone says nothing of the others
    let mut now: Vec<Attached> = at_start
        .iter()
        .filter_map(|a| link_of(layout, &a.program).ok())
        .collect();
    add_misses(&mut now);
    let mut misses = 0;
    let mut gone = Vec::new();
    for start in at_start {
        match now.iter().find(|n| n.program == start.program) {
            Some(n) if n.link_id == start.link_id => {
                misses += n.misses.saturating_sub(start.misses);
            }
            _ => gone.push(start.program.as_str()),
        }
    }
    let problem = (!gone.is_empty()).then(|| {
        format!(
            "programs detached while the container ran (their pins under {} were removed, or bpffs was unmounted): {}; what they would have seen since is missing",
            layout.global_links_dir().display(),
            gone.join(", ")
        )
    });
    (misses, problem)
}
