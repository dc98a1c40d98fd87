//! `ctraudit gc`: finish what a missing poststop left (a daemon or shim
//! killed, a runtime that skipped the hook), and remove what nothing uses.
//!
//! - A container with meta in /run whose cgroup says it stopped (gone,
//!   another cgroup at its path now, or still there but empty:
//!   `populated 0`) is finalised like poststop would: summary (marked
//!   `finalised_by: "gc"`), profile, unregister, unpin.
//! - Pins of a container with no meta are unregistered and removed.
//! - A kernel registration no meta file names (its pins were removed by
//!   hand while it ran) is freed, unless some meta file cannot be read.
//! - Nothing gc cannot read is removed: an unreadable meta file is kept
//!   and reported. gc goes on past every bad entry, reports it, and exits 1
//!   when any step failed.
//! - An older ABI's pin directory with no container left is removed, which
//!   detaches its programs.
//!
//! - A container with a checkpoint (crate::live) but no meta file lost its
//!   registration to a crash or a reboot: it is finalised from the
//!   checkpoint (`stopped_source: "checkpoint"`, `complete: false`).
//! - Runs of a container id beyond `[retention] runs` are removed, the
//!   oldest first (hook/runs.rs); the latest is always kept.
//!
//! Running containers, and those whose state cannot be told, are never
//! touched. `--dry-run` lists, changes nothing.
//!
//! The global lock is taken for one container at a time, and the meta file
//! is read again with it held: a poststop finishing the same container
//! waits for gc or gc finds it finished, and the container is finalised
//! once. Between containers gc lets go for a moment, so that the hooks
//! waiting for the lock go first.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result};

use super::cgroup::{self, Liveness};
use super::poststop;
use super::runs;
use crate::bpf;
use crate::config::Config;
use crate::config::Layout;
use crate::id::ContainerId;
use crate::live::checkpoint;
use crate::meta;
use crate::summary::Summary;
use crate::sys::{clock, lock};

const DETACHED: &str = "detach the programs: no container is audited any more";

/// What gc did and found, line by line, and how many of those lines are
/// errors (gc goes on past each one; the command then exits 1).
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub errors: usize,
}

impl Report {
    fn error(&mut self, line: String) {
        self.lines.push(format!("error: {line}"));
        self.errors += 1;
    }
}

pub fn run(cfg: &Config, dry_run: bool) -> Result<Report> {
    let layout = cfg.layout();
    let mut report = Report::default();
    if layout.run_dir().exists() {
        live(cfg, &layout, dry_run, &mut report)?;
    }
    // 5. containers left with a checkpoint only, and 6. runs past
    // retention, once every stopped container is finalised
    old_runs(cfg, &layout, dry_run, &mut report);
    Ok(report)
}

/// 1. to 4.: what the kernel and /run hold.
fn live(cfg: &Config, layout: &Layout, dry_run: bool, report: &mut Report) -> Result<()> {
    // 1. containers that stopped and that no poststop finished
    for name in names(&layout.meta_dir()) {
        match stopped_container(cfg, layout, &name, dry_run) {
            Ok((lines, locked)) => {
                report.lines.extend(lines);
                if locked {
                    // the hooks waiting for the lock take it before gc's next turn
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Err(e) => report.error(format!(
                "{}: {e:#}",
                layout.meta_dir().join(&name).display()
            )),
        }
    }
    if !bpf::bpffs_mounted(layout.bpffs()) {
        return Ok(());
    }

    // 2. to 4., seeing meta files, pins and registrations at one moment
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    let freed = leftovers(layout, dry_run, report);
    if freed && cfg.detach_when_idle {
        match bpf::unload_if_idle(layout) {
            Ok(true) => report.lines.push(DETACHED.to_owned()),
            Ok(false) => {}
            Err(e) => report.error(format!("detach when idle: {e:#}")),
        }
    }
    Ok(())
}

/// Step 5: a container with a checkpoint but no meta file was never
/// finalised and is not audited any more (a crash or a reboot took its
/// pins and the run root): finalised from its checkpoint. The caller goes
/// through the log root.
fn from_checkpoint(
    cfg: &Config,
    layout: &Layout,
    id: &ContainerId,
    dry_run: bool,
    report: &mut Report,
) -> Result<()> {
    let regular = |p: &std::path::Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    if !regular(&layout.checkpoint_file(id))
        || std::fs::symlink_metadata(layout.meta_file(id)).is_ok()
    {
        return Ok(());
    }
    let _lock = if layout.run_dir().exists() {
        Some(lock::acquire(
            &layout.lock_file(),
            cfg.hooks.lock_timeout_ms,
        )?)
    } else {
        None
    };
    // again with the lock held: a prestart of the same id may have come
    if std::fs::symlink_metadata(layout.meta_file(id)).is_ok() {
        return Ok(());
    }
    report
        .lines
        .extend(checkpoint_left(cfg, layout, id, "gc", dry_run)?);
    Ok(())
}

/// The checkpoint of container `id`, which has no meta file: the
/// registration it was taken of is gone unfinalised. It becomes the id's
/// next run (finalised by `by`), unless the latest run already holds that
/// registration (its finaliser died before it removed the checkpoint):
/// then it is only removed. The caller holds the global lock (where there
/// is a run root). Returns what was done, in a line.
pub(super) fn checkpoint_left(
    cfg: &Config,
    layout: &Layout,
    id: &ContainerId,
    by: &str,
    dry_run: bool,
) -> Result<Option<String>> {
    let path = layout.checkpoint_file(id);
    let cap = crate::report::max_summary_bytes(&cfg.limits);
    let Some(s) = checkpoint::read(layout, id, cap)? else {
        return Ok(None);
    };
    let would = if dry_run { "would " } else { "" };
    let latest = crate::sys::file::read_regular(&layout.summary_file(id), cap)
        .ok()
        .and_then(|(b, _)| serde_json::from_slice::<Summary>(&b).ok());
    if latest.is_some_and(|l| l.times.registered == s.times.registered) {
        if !dry_run {
            std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
        }
        return Ok(Some(format!(
            "{would}remove {}: the latest run of container {id} holds its registration",
            path.display()
        )));
    }
    let line = format!(
        "{would}finalise container {id} from its checkpoint of {}: it is not audited any more (no meta file)",
        s.times.stopped
    );
    if dry_run {
        return Ok(Some(line));
    }
    let why = format!(
        "the container was not audited any more when {by} ran (a crash or a reboot took its pins and {})",
        layout.run_dir().display()
    );
    let mut s = checkpoint::finalised(s, by, &why);
    let run = runs::next(&runs::list(layout, id)?);
    s.container.run = Some(run);
    let mut json = serde_json::to_vec_pretty(&s)?;
    json.push(b'\n');
    runs::write_summary(layout, id, run, &json)?;
    let (profile, _) = crate::seccomp::from_summary(id.as_str(), &s)?;
    runs::write_profile(layout, id, run, profile.to_json().as_bytes())?;
    std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
    Ok(Some(line))
}

/// Step 6: the oldest runs of each container id beyond `retention.runs`.
/// The global lock is taken for an id that has too many (a finaliser
/// numbers its run with it held), and its runs are listed again with it
/// held.
fn old_runs(cfg: &Config, layout: &Layout, dry_run: bool, report: &mut Report) {
    let would = if dry_run { "would " } else { "" };
    let keep = cfg.retention.runs;
    let root = layout.log_root();
    let entries = match std::fs::read_dir(root) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => return report.error(format!("{}: {e}", root.display())),
    };
    let mut ids = Vec::new();
    for (i, entry) in entries.enumerate() {
        if i >= crate::report::MAX_ENTRIES {
            report.error(format!(
                "{}: more than {} entries: the runs of the rest were not looked at",
                root.display(),
                crate::report::MAX_ENTRIES
            ));
            break;
        }
        let Ok(entry) = entry else { continue };
        // a link in place of a container's directory is none of ctraudit's
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| ContainerId::parse(n).ok())
        {
            ids.push(id);
        }
    }
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    for id in ids {
        if let Err(e) = from_checkpoint(cfg, layout, &id, dry_run, report) {
            report.error(format!("container {id}: {e:#}"));
        }
        match runs::list(layout, &id) {
            Ok(r) if runs::beyond(&r, keep).is_empty() => continue,
            Ok(_) => {}
            Err(e) => {
                report.error(format!("container {id}: {e}"));
                continue;
            }
        }
        // no run root: no hook runs, nor holds the lock
        let _lock = if layout.run_dir().exists() {
            match lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms) {
                Ok(l) => Some(l),
                Err(e) => {
                    report.error(format!("container {id}: runs past retention kept: {e}"));
                    continue;
                }
            }
        } else {
            None
        };
        match runs::prune(layout, &id, keep, usize::MAX, dry_run) {
            Ok(gone) if gone.is_empty() => {}
            Ok(gone) => {
                let what = match gone.as_slice() {
                    [one] => format!("run {one}"),
                    _ => format!("runs {}", runs::shown(&gone)),
                };
                report.lines.push(format!(
                    "{would}remove {what} of container {id}: past retention.runs = {keep}"
                ));
            }
            Err(e) => report.error(format!("container {id}: {e}")),
        }
    }
}

/// One entry of the meta directory: finalised when its container stopped.
/// Returns the report lines, and whether the lock was taken.
fn stopped_container(
    cfg: &Config,
    layout: &Layout,
    name: &str,
    dry_run: bool,
) -> Result<(Vec<String>, bool)> {
    let would = if dry_run { "would " } else { "" };
    if name.starts_with('.') {
        // a temporary file of an atomic write (ids never start with '.')
        return Ok((Vec::new(), false));
    }
    let Some(id) = name
        .strip_suffix(".json")
        .and_then(|i| ContainerId::parse(i).ok())
    else {
        let path = layout.meta_dir().join(name);
        return Ok((
            vec![format!(
                "skip {}: not a container meta file",
                path.display()
            )],
            false,
        ));
    };
    let path = layout.meta_file(&id);
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    let meta = match meta::load(&path) {
        Ok(Some(m)) => m,
        // its poststop finished it while gc was at another one
        Ok(None) => return Ok((Vec::new(), true)),
        // what cannot be read may still be a running container's only
        // trail (a newer release's file, a disk error): kept for a person
        Err(e) => {
            return Ok((
                vec![format!("keep {}: unreadable: {e}", path.display())],
                true,
            ))
        }
    };
    let stop = match cgroup::liveness(&meta.meta.cgroup.path, meta.meta.cgroup.id) {
        Liveness::Running => return Ok((Vec::new(), true)),
        Liveness::Unknown(why) => {
            return Ok((
                vec![format!(
                    "keep {}: cannot tell whether container {id} still runs: {why}",
                    path.display()
                )],
                true,
            ))
        }
        Liveness::Stopped(stop) => stop,
    };
    let why = stop.unfinished(&meta.meta.cgroup.path);
    let mut lines = vec![format!("{would}finalise container {id}: {why}")];
    if dry_run {
        return Ok((lines, true));
    }
    let mut notes = vec![format!("finalised by `ctraudit gc`: {why}")];
    notes.extend(meta.understood_note());
    let done = poststop::finalise(cfg, &id, &meta.meta, clock::boot_ns(), "gc", notes)?;
    lines.extend(done.kept.map(|k| format!("container {id}: {k}")));
    if done.detached {
        lines.push(DETACHED.to_owned());
    }
    Ok((lines, true))
}

/// Orphaned pins (2.), kernel registrations nothing points at (3.) and
/// older ABI versions nothing uses (4.). The caller holds the lock.
/// Returns whether a registration was freed.
fn leftovers(layout: &Layout, dry_run: bool, report: &mut Report) -> bool {
    let mut freed = false;
    let would = if dry_run { "would " } else { "" };
    // the meta files there are now, and the cgroups they name
    let mut with_meta = BTreeSet::new();
    let mut cgroups = BTreeSet::new();
    let mut unreadable = Vec::new();
    for name in names(&layout.meta_dir()) {
        let Some(id) = name
            .strip_suffix(".json")
            .and_then(|i| ContainerId::parse(i).ok())
        else {
            continue;
        };
        match meta::load(&layout.meta_file(&id)) {
            Ok(Some(m)) => {
                cgroups.insert(m.meta.cgroup.id);
            }
            Ok(None) => continue,
            Err(_) => unreadable.push(id.to_string()),
        }
        with_meta.insert(id);
    }

    // 2. pins nobody's meta points at
    for entry in names(&layout.containers_pin_dir()) {
        let Ok(id) = ContainerId::parse(&entry) else {
            continue;
        };
        if with_meta.contains(&id) {
            continue;
        }
        report.lines.push(format!(
            "{would}remove the pins of container {id}: no meta file"
        ));
        if !dry_run {
            match bpf::find_registration(layout, &id)
                .and_then(|kernel| bpf::unregister(layout, &id, kernel))
            {
                Ok(()) => freed = true,
                Err(e) => report.error(format!("container {id}: removing its pins: {e:#}")),
            }
        }
    }

    // 3. registrations in the kernel that no meta file names: their pins
    // were removed by hand, so no poststop could find them, and their slot
    // would never be freed (nor the programs detach when idle)
    if !layout.global_map("containers").exists() {
        // not loaded: nothing is registered
    } else if unreadable.is_empty() {
        match bpf::registered(layout) {
            Ok(regs) => {
                for (cgroup_id, reg) in regs {
                    if cgroups.contains(&cgroup_id) {
                        continue;
                    }
                    report.lines.push(format!(
                        "{would}free slot {} of cgroup {cgroup_id}: registered in the kernel, but no meta file or pin names it",
                        reg.slot
                    ));
                    if !dry_run {
                        match bpf::free_registration(layout, cgroup_id, reg) {
                            Ok(()) => freed = true,
                            Err(e) => report.error(format!(
                                "cgroup {cgroup_id}: freeing slot {}: {e:#}",
                                reg.slot
                            )),
                        }
                    }
                }
            }
            Err(e) => report.error(format!("reading the kernel's registrations: {e:#}")),
        }
    } else {
        report.lines.push(format!(
            "keep every kernel registration: the meta file(s) of {} cannot be read, so which one is whose cannot be told",
            unreadable.join(", ")
        ));
    }

    // 4. older ABI versions with no container left
    for name in names(&layout.abi_root()) {
        if name == format!("v{}", bpf::ABI_VERSION) || !name.starts_with('v') {
            continue;
        }
        let dir = layout.abi_root().join(&name);
        let left = names(&dir.join("containers")).len();
        if left > 0 {
            report.lines.push(format!(
                "keep ABI {name}: {left} container(s) still audited under it"
            ));
        } else {
            report.lines.push(format!(
                "{would}remove ABI {name}: no container uses it (its programs detach)"
            ));
            if !dry_run {
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    report.error(format!("{}: {e}", dir.display()));
                }
            }
        }
    }
    freed
}

/// The names in a directory, sorted; none when it cannot be read.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
