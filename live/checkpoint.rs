//! `ctraudit checkpoint`: the audit so far of every running audited
//! container, written to `<log>/<id>/checkpoint.json` (a live summary,
//! `state: "running"`). The .deb's timer runs it every 5 minutes. After a
//! crash or a reboot, the pins and the run root are gone, and `ctraudit gc`
//! finalises such a container from its last checkpoint (hook/gc.rs), so at
//! most one interval of its audit is lost, and the summary says from when.
//! Its finaliser removes the checkpoint with the summary written.
//!
//! Each container is read and written with the global lock held, and its
//! meta file read again with it: a poststop that finalised it meanwhile
//! has removed the meta file, and no checkpoint is written after its
//! summary (gc would take that for a container never finalised).

use anyhow::{Context, Result};

use super::{audited, summary};
use crate::config::{Config, Layout};
use crate::id::ContainerId;
use crate::meta;
use crate::summary::{Alert, Summary, STOPPED};
use crate::sys::file::{make_dir, write_atomic, Persist};
use crate::sys::lock;

/// What a checkpoint run did, a line per container, and how many failed.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub errors: usize,
}

pub fn run(cfg: &Config) -> Result<Report> {
    let layout = cfg.layout();
    let mut report = Report::default();
    let (found, problems) = audited(cfg);
    for p in problems {
        report.lines.push(format!("error: {p}"));
        report.errors += 1;
    }
    for a in found.iter().filter(|a| a.running) {
        let id = &a.id;
        let one = || -> Result<Option<String>> {
            let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
            match meta::load(&layout.meta_file(id))? {
                // the same registration, still not finalised
                Some(m) if m.meta.registered_at == a.meta.registered_at => {}
                _ => return Ok(None),
            }
            let s = summary(cfg, a);
            let mut json = serde_json::to_vec_pretty(&s)?;
            json.push(b'\n');
            make_dir(&layout.log_dir(id))?;
            let path = layout.checkpoint_file(id);
            write_atomic(&path, &json, Persist::Durable)
                .with_context(|| path.display().to_string())?;
            Ok(Some(format!(
                "checkpoint {id}: {} execs, {} files, {} endpoints, {} privileged events at {}{}",
                s.processes.execs,
                s.files.len(),
                s.network.len(),
                s.privileged.len(),
                s.times.stopped,
                if s.loss.complete { "" } else { " (incomplete)" }
            )))
        };
        match one() {
            Ok(Some(line)) => report.lines.push(line),
            Ok(None) => {}
            Err(e) => {
                report.lines.push(format!("error: container {id}: {e:#}"));
                report.errors += 1;
            }
        }
    }
    // the stream's records, unless a watch reads them (and appends them)
    if !found.is_empty() {
        match super::stream::drain(cfg) {
            Ok(Some((n, unknown))) => report.lines.push(format!(
                "stream: {n} first-seen entries appended to events.jsonl{}",
                if unknown > 0 {
                    format!(" ({unknown} of containers no longer audited skipped)")
                } else {
                    String::new()
                }
            )),
            Ok(None) => report
                .lines
                .push("stream: read by a running `ctraudit watch`".to_owned()),
            Err(e) => {
                report.lines.push(format!("error: stream: {e:#}"));
                report.errors += 1;
            }
        }
    }
    Ok(report)
}

/// The checkpoint of container `id`, if there is one: a regular file, read
/// within `cap` (the bound of a summary, `report::max_summary_bytes`).
pub fn read(layout: &Layout, id: &ContainerId, cap: u64) -> Result<Option<Summary>> {
    let path = layout.checkpoint_file(id);
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let (bytes, _) = crate::sys::file::read_regular(&path, cap)
        .with_context(|| format!("{}: checkpoint kept", path.display()))?;
    let s = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a checkpoint: kept", path.display()))?;
    Ok(Some(s))
}

/// A checkpoint made the summary of a container that stopped, finalised by
/// `by` when the kernel's record was gone (`why`): what it did after the
/// checkpoint is lost, and the summary says so and from when.
pub fn finalised(mut s: Summary, by: &str, why: &str) -> Summary {
    let taken = s.times.stopped.clone();
    let lost = format!("the kernel's record after the checkpoint of {taken} is lost: {why}");
    s.state = STOPPED.to_owned();
    s.ctraudit.finalised_by = by.to_owned();
    s.times.checkpoint = Some(taken);
    s.times.stopped_source = "checkpoint".to_owned();
    s.loss.complete = false;
    s.loss.kernel_data = "partial".to_owned();
    s.loss.problems.push(lost.clone());
    s.alerts.push(Alert {
        rule: "audit.kernel_data".into(),
        severity: "high".into(),
        message: lost,
    });
    s.notes.push(format!(
        "finalised by `ctraudit {by}` from its last checkpoint"
    ));
    s
}
