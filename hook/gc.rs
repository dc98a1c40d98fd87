//! `ctraudit gc`: finish what a missing poststop left (a daemon or shim
//! killed, a runtime that skipped the hook), and remove what nothing uses.
//!
//! - A container with meta in /run whose cgroup says it stopped (gone,
//!   another cgroup at its path now, or still there but empty:
//!   `populated 0`) is finalised like poststop would: summary (marked
//!   `finalised_by: "gc"`), profile, unregister, unpin.
//! - Pins of a container with no meta are unregistered and removed.
//! - An older ABI's pin directory with no container left is removed, which
//!   detaches its programs.
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
use super::{clock, lock, meta, poststop};
use crate::bpf;
use crate::config::paths::{ContainerId, Layout};
use crate::config::Config;

const DETACHED: &str = "detach the programs: no container is audited any more";

pub fn run(cfg: &Config, dry_run: bool) -> Result<Vec<String>> {
    let layout = cfg.layout();
    let mut report = Vec::new();
    if !layout.run_dir().exists() {
        return Ok(report);
    }

    // 1. containers that stopped and that no poststop finished
    for name in names(&layout.meta_dir()) {
        let (lines, locked) = stopped_container(cfg, &layout, &name, dry_run)?;
        report.extend(lines);
        if locked {
            // the hooks waiting for the lock take it before gc's next turn
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    if !bpf::bpffs_mounted(layout.bpffs()) {
        return Ok(report);
    }

    // 2. and 3., seeing meta files and pins at one moment
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    leftovers(&layout, dry_run, &mut report)?;
    Ok(report)
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
        Err(e) => {
            let line = format!("{would}remove {}: unreadable ({e})", path.display());
            if !dry_run {
                std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
            }
            return Ok((vec![line], true));
        }
    };
    let stop = match cgroup::liveness(&meta.cgroup.path, meta.cgroup.id) {
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
    let why = format!(
        "its cgroup {} {}; no poststop hook has run",
        meta.cgroup.path,
        stop.says()
    );
    let mut lines = vec![format!("{would}finalise container {id}: {why}")];
    if dry_run {
        return Ok((lines, true));
    }
    let notes = vec![format!("finalised by `ctraudit gc`: {why}")];
    let done = poststop::finalise(cfg, &id, &meta, clock::boot_ns(), "gc", notes)?;
    lines.extend(done.kept.map(|k| format!("container {id}: {k}")));
    if done.detached {
        lines.push(DETACHED.to_owned());
    }
    Ok((lines, true))
}

/// Orphaned pins (2.) and older ABI versions nothing uses (3.). The caller
/// holds the lock.
fn leftovers(layout: &Layout, dry_run: bool, report: &mut Vec<String>) -> Result<()> {
    let would = if dry_run { "would " } else { "" };
    // the meta files there are now
    let with_meta: BTreeSet<ContainerId> = names(&layout.meta_dir())
        .iter()
        .filter_map(|n| n.strip_suffix(".json"))
        .filter_map(|i| ContainerId::parse(i).ok())
        .collect();

    // 2. pins nobody's meta points at
    for entry in names(&layout.containers_pin_dir()) {
        let Ok(id) = ContainerId::parse(&entry) else {
            continue;
        };
        if with_meta.contains(&id) {
            continue;
        }
        report.push(format!(
            "{would}remove the pins of container {id}: no meta file"
        ));
        if !dry_run {
            let kernel = bpf::find_registration(layout, &id)?;
            bpf::unregister(layout, &id, kernel)?;
        }
    }

    // 3. older ABI versions with no container left
    for name in names(&layout.abi_root()) {
        if name == format!("v{}", bpf::ABI_VERSION) || !name.starts_with('v') {
            continue;
        }
        let dir = layout.abi_root().join(&name);
        let left = names(&dir.join("containers")).len();
        if left > 0 {
            report.push(format!(
                "keep ABI {name}: {left} container(s) still audited under it"
            ));
        } else {
            report.push(format!(
                "{would}remove ABI {name}: no container uses it (its programs detach)"
            ));
            if !dry_run {
                std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
            }
        }
    }
    Ok(())
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
