//! The live side, without a resident agent: the containers audited now
//! (their meta files under the run root, each naming its pins), and what
//! the kernel has aggregated for one of them so far, read from its maps
//! while it runs and built into a summary exactly as poststop builds one
//! (`state: "running"`). Reading takes no lock and changes nothing: the
//! kernel goes on counting while the maps are read, so a live summary is
//! the record at some moment during the read, each entry exact as read.
//!
//! `ctraudit ps` (report/ps.rs) lists them; `ctraudit report` of a
//! running container prints the live summary ([`summary`]).

pub mod checkpoint;
pub mod stream;

use crate::bpf;
use crate::config::Config;
use crate::id::ContainerId;
use crate::meta::{self, Meta};
use crate::summary::{self, Summary};
use crate::sys::cgroup::{self, Liveness};
use crate::sys::clock;

/// The most meta files looked at: far more containers than a node runs.
pub const MAX_AUDITED: usize = 100_000;

/// A container with a meta file: registered by prestart, not yet
/// finalised.
#[derive(Debug, Clone)]
pub struct Audited {
    pub id: ContainerId,
    pub meta: Meta,
    /// Its cgroup still has processes (or that cannot be told); `false`:
    /// it stopped and no poststop finished it yet (`ctraudit gc` will).
    pub running: bool,
}

/// The containers audited now, by id, and a line for each meta file that
/// could not be read.
pub fn audited(cfg: &Config) -> (Vec<Audited>, Vec<String>) {
    let layout = cfg.layout();
    let dir = layout.meta_dir();
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        // no run root yet, or no container ever registered
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (found, problems),
        Err(e) => {
            problems.push(format!("{}: {e}", dir.display()));
            return (found, problems);
        }
    };
    for (i, entry) in entries.enumerate() {
        if i >= MAX_AUDITED {
            problems.push(format!(
                "{}: more than {MAX_AUDITED} entries: the rest not looked at",
                dir.display()
            ));
            break;
        }
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        // temporary files of atomic writes start with '.'; ids never do
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| ContainerId::parse(n).ok())
        else {
            continue;
        };
        match meta::load(&layout.meta_file(&id)) {
            Ok(Some(file)) => {
                let running = !matches!(
                    cgroup::liveness(&file.meta.cgroup.path, file.meta.cgroup.id),
                    Liveness::Stopped(_)
                );
                found.push(Audited {
                    id,
                    meta: file.meta,
                    running,
                });
            }
            // finalised while we looked
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
    }
    found.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    (found, problems)
}

/// The summary of an audited container as the kernel holds it now:
/// `state: "running"`, `times.stopped` the time of this read
/// (`stopped_source: "running"`), `ctraudit.finalised_by: "live"`. One
/// that stopped and awaits gc reads as `stopped`, with a note.
pub fn summary(cfg: &Config, a: &Audited) -> Summary {
    let layout = cfg.layout().with_abi(a.meta.abi);
    let collected = bpf::collect(&layout, &a.id, a.meta.cgroup.id, &a.meta.programs);
    let now = clock::boot_ns();
    let mut notes = Vec::new();
    if !a.running {
        notes.push(
            "the container has stopped and is not finalised yet: `ctraudit gc` finalises it"
                .to_owned(),
        );
    }
    let mut s = summary::build(&a.meta, &collected.data, now, LIVE, &cfg.redact, notes);
    if a.running {
        s.state = summary::RUNNING.to_owned();
        s.times.stopped = clock::rfc3339_of_boot_ns(now);
        s.times.stopped_source = summary::RUNNING.to_owned();
    }
    s
}

/// `ctraudit.finalised_by` of a live summary: nothing finalised it.
pub const LIVE: &str = "live";
