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

use anyhow::{Context, Result};

use super::cgroup::{self, Liveness};
use super::{clock, lock, meta, poststop};
use crate::bpf;
use crate::config::paths::ContainerId;
use crate::config::Config;

pub fn run(cfg: &Config, dry_run: bool) -> Result<Vec<String>> {
    let layout = cfg.layout();
    let mut report = Vec::new();
    if !layout.run_dir().exists() {
        return Ok(report);
    }
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    let pinned = bpf::bpffs_mounted(layout.bpffs());
    let would = if dry_run { "would " } else { "" };

    // 1. containers whose poststop never ran
    let mut with_meta = std::collections::BTreeSet::new();
    for entry in read_dir(&layout.meta_dir()) {
        let name = entry.to_string_lossy().into_owned();
        let Some(id) = name
            .strip_suffix(".json")
            .and_then(|i| ContainerId::parse(i).ok())
        else {
            report.push(format!(
                "skip {}: not a container meta file",
                layout.meta_dir().join(&name).display()
            ));
            continue;
        };
        with_meta.insert(id.clone());
        let path = layout.meta_file(&id);
        let meta = match meta::load(&path) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                report.push(format!(
                    "{would}remove {}: unreadable ({e})",
                    path.display()
                ));
                if !dry_run {
                    std::fs::remove_file(&path).with_context(|| path.display().to_string())?;
                }
                continue;
            }
        };
        let stop = match cgroup::liveness(&meta.cgroup.path, meta.cgroup.id) {
            Liveness::Running => continue,
            Liveness::Unknown(why) => {
                report.push(format!(
                    "keep {}: cannot tell whether container {id} still runs: {why}",
                    path.display()
                ));
                continue;
            }
            Liveness::Stopped(stop) => stop,
        };
        let why = format!(
            "its cgroup {} {}; no poststop hook has run",
            meta.cgroup.path,
            stop.says()
        );
        report.push(format!("{would}finalise container {id}: {why}"));
        if !dry_run {
            let notes = vec![format!("finalised by `ctraudit gc`: {why}")];
            poststop::finalise(cfg, &id, &meta, clock::boot_ns(), "gc", notes)?;
        }
    }
    if !pinned {
        return Ok(report);
    }

    // 2. pins nobody's meta points at
    for entry in read_dir(&layout.containers_pin_dir()) {
        let Ok(id) = ContainerId::parse(&entry.to_string_lossy()) else {
            continue;
        };
        if with_meta.contains(&id) {
            continue;
        }
        report.push(format!(
            "{would}remove the pins of container {id}: no meta file"
        ));
        if !dry_run {
            let kernel = bpf::find_registration(&layout, &id)?;
            bpf::unregister(&layout, &id, kernel)?;
        }
    }

    // 3. older ABI versions with no container left
    for entry in read_dir(&layout.abi_root()) {
        let name = entry.to_string_lossy().into_owned();
        if name == format!("v{}", bpf::ABI_VERSION) || !name.starts_with('v') {
            continue;
        }
        let dir = layout.abi_root().join(&name);
        let left = read_dir(&dir.join("containers")).len();
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
    Ok(report)
}

fn read_dir(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    names.sort();
    names
}
