//! poststop: the container is gone (runc runs poststop from `delete`, after
//! the cgroup is removed). Read what the kernel aggregated, write the
//! summary and the seccomp profile, then release the kernel state. Never
//! fails the runtime. `ctraudit gc` finishes the same way for containers
//! whose poststop never ran.
//!
//! A container is finalised exactly once: only with the global lock held,
//! from the meta file as it is once the lock is held, and the finaliser
//! removes that file before it lets go. `ctraudit gc` may get there first
//! (the cgroup is gone before runc runs this hook), and then this hook
//! finds no meta file and has nothing to do.

use std::borrow::Cow;

use anyhow::{Context, Result};
use serde_json::Value;

use super::runs;
use super::state::HookState;
use crate::bpf;
use crate::config::{Config, HookConfig};
use crate::id::ContainerId;
use crate::live::checkpoint;
use crate::meta;
use crate::meta::Meta;
use crate::summary::{self, Summary};
use crate::sys::{clock, lock, log};

pub fn run(hc: &HookConfig, state: &HookState) -> Result<()> {
    let cfg = &hc.config;
    let id = &state.id;
    let layout = cfg.layout();
    let meta_path = layout.meta_file(id);
    let ran_at = clock::boot_ns();
    if std::fs::symlink_metadata(&meta_path).is_err() {
        // never registered: opted out, or prestart failed under "allow"
        // (or finalised already by gc); no lock to wait for
        return Ok(());
    }
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    // read only now: a gc may have finalised the container while this
    // hook waited, and a meta file read before would finalise it again
    let Some(file) = meta::load(&meta_path)? else {
        return Ok(());
    };
    if file.meta.bundle != state.bundle {
        // An id is unique only within one runtime root: this poststop is
        // for another container with the same id (whose prestart was
        // refused), and the audited one still runs.
        anyhow::bail!(
            "container {id}: the audited container with this id has bundle {}, not {}: left to its own poststop",
            file.meta.bundle.display(),
            state.bundle.display()
        );
    }
    let mut notes = Vec::new();
    if let Some(e) = &hc.error {
        notes.push(format!("config: {e} (defaults used at poststop)"));
    }
    notes.extend(file.understood_note());
    finalise(cfg, id, &file.meta, ran_at, "poststop", notes).map(drop)
}

/// What finalising did beside the summary.
#[derive(Debug, Default)]
pub struct Finalised {
    /// A summary of this very registration was there already and at least
    /// as whole as a new one would be: it was kept (why, in words).
    pub kept: Option<String>,
    /// The programs were detached: no container is audited any more.
    pub detached: bool,
}

/// Writes the summary and the profile of a stopped container, then frees
/// its kernel state and meta file. The caller holds the global lock and
/// read `meta` with it held. When the summary cannot be written, the
/// kernel state stays for a later try. `stopped_ns` is when the finaliser
/// (`by`) found the container stopped.
pub fn finalise(
    cfg: &Config,
    id: &ContainerId,
    meta: &Meta,
    stopped_ns: u64,
    by: &'static str,
    notes: Vec<String>,
) -> Result<Finalised> {
    // the pins of the ABI the container was registered under, which an
    // upgrade since may have replaced for new containers
    let layout = cfg.layout().with_abi(meta.abi);
    let snapshot = bpf::collect(&layout, id, meta.cgroup.id, &meta.programs);
    let kernel = snapshot.registration;
    let mut summary: Summary =
        summary::build(meta, &snapshot.data, stopped_ns, by, &cfg.redact, notes);
    if snapshot.data.maps_read == 0 {
        // nothing of the kernel's record left: the last checkpoint of this
        // registration, if any, holds more
        let cap = crate::report::max_summary_bytes(&cfg.limits);
        match checkpoint::read(&layout, id, cap) {
            Ok(Some(cp)) if cp.times.registered == meta.registered_at => {
                let why = format!(
                    "its maps were gone when {by} ran: {}",
                    summary.loss.problems.join("; ")
                );
                summary = checkpoint::finalised(cp, by, &why);
            }
            Ok(_) => {}
            Err(e) => log::problem(cfg, &format!("{by}: {e:#}")),
        }
    }
    let path = layout.summary_file(id);
    let mut done = Finalised::default();
    // The run's number, under the lock: one more than the highest run kept,
    // unless that one is this very registration's (a finaliser that died
    // after its summary) or was left without a summary (one that died
    // before it), which is taken again.
    let runs = runs::list(&layout, id)
        .with_context(|| format!("{}: summary not written; kernel state kept", path.display()))?;
    let (run, earlier) = match runs.last() {
        Some(&last) => match earlier_summary(cfg, &layout, id, meta, Some(last)) {
            Earliest::Same(e) => (last, Some(e)),
            Earliest::Missing => (last, None),
            Earliest::Another(_) | Earliest::Other => (runs::next(&runs), None),
        },
        // no run kept yet; a summary from before runs were kept may be
        // this registration's all the same
        None => match earlier_summary(cfg, &layout, id, meta, None) {
            Earliest::Same(e) => (1, Some(e)),
            // an earlier container's, from before runs were kept: run 1,
            // so that this one does not overwrite it
            Earliest::Another(bytes) => match adopt(cfg, &layout, id, &bytes) {
                Ok(()) => (2, None),
                Err(e) => {
                    log::problem(cfg, &format!("{by}: the run before this one: {e}"));
                    (1, None)
                }
            },
            Earliest::Missing | Earliest::Other => (1, None),
        },
    };
    summary.container.run = Some(run);
    let earlier = earlier.filter(|e| rank(&e.kernel_data) >= rank(&summary.loss.kernel_data));
    let written = match earlier {
        // a summary written before from a record at least as whole is
        // never replaced by one from less (a finaliser that died after
        // its summary, before the rest)
        Some(e) => {
            done.kept = Some(format!(
                "{} already holds its audit (finalised by {}, kernel data {}): kept, not replaced by one from {} kernel data",
                path.display(),
                e.finalised_by,
                e.kernel_data,
                summary.loss.kernel_data
            ));
            // as run `run` and as the latest, whichever it was not yet
            if let Err(err) = runs::write_summary(&layout, id, run, &e.bytes) {
                log::problem(cfg, &format!("{by}: run {run}: {err}"));
            }
            crate::seccomp::read_summary(id.as_str(), &e.value).map(Cow::Owned)
        }
        None => {
            let mut json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
            json.push(b'\n');
            runs::write_summary(&layout, id, run, &json)
                // the pins stay: nothing is lost, `ctraudit gc` can finish the job
                .with_context(|| {
                    format!("{}: summary not written; kernel state kept", path.display())
                })?;
            log::syslog(cfg, false, &summary::syslog_line(&summary));
            Ok(Cow::Borrowed(&summary))
        }
    };
    // the profile the workload earned, from the summary on disk (the one
    // just written, or the one kept)
    let profile_path = layout.seccomp_file(id);
    if done.kept.is_none() || !runs::has_profiles(&layout, id, run) {
        match written.and_then(|s| crate::seccomp::from_summary(id.as_str(), &s)) {
            Ok((profile, _)) => {
                let json = profile.to_json();
                if let Err(e) = runs::write_profile(&layout, id, run, json.as_bytes()) {
                    log::problem(cfg, &format!("{by}: {e}"));
                }
            }
            // the summary is written; only the profile is missing, and why
            Err(e) => log::problem(
                cfg,
                &format!("{by}: {}: no profile: {e}", profile_path.display()),
            ),
        }
    }
    // the oldest runs past retention go (gc does the same for any id, and
    // removes what a lowered retention leaves past the few removed here)
    if let Err(e) = runs::prune(
        &layout,
        id,
        cfg.retention.runs,
        runs::PRUNED_BY_FINALISE,
        false,
    ) {
        log::problem(cfg, &format!("{by}: retention.runs: {e}"));
    }

    // the summary holds everything a checkpoint held, and more
    let checkpoint = layout.checkpoint_file(id);
    match std::fs::remove_file(&checkpoint) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            log::problem(cfg, &format!("{by}: {}: {e}", checkpoint.display()));
        }
        _ => {}
    }
    bpf::unregister(&layout, id, kernel).with_context(|| format!("container {id}: unregister"))?;
    let meta_path = layout.meta_file(id);
    std::fs::remove_file(&meta_path).with_context(|| meta_path.display().to_string())?;
    if cfg.detach_when_idle
        && bpf::unload_if_idle(&layout).with_context(|| "detach when idle".to_owned())?
    {
        done.detached = true;
        log::syslog(
            cfg,
            false,
            "no container audited any more: programs detached",
        );
    }
    Ok(done)
}

/// A summary already on disk for the same registration of the container
/// (same cgroup, same registration time; an id used again later is
/// another container).
struct Earlier {
    value: Value,
    /// As it is on disk.
    bytes: Vec<u8>,
    finalised_by: String,
    kernel_data: String,
}

/// What the latest run kept (or, with no run kept, the summary from before
/// runs were kept) holds.
enum Earliest {
    /// This very registration's summary.
    Same(Earlier),
    /// A run directory without a summary.
    Missing,
    /// Another registration's summary, as it is on disk.
    Another(Vec<u8>),
    /// No summary that can be read.
    Other,
}

/// Keeps the summary (and profile) of the container before, written
/// before runs were kept, as run 1. The caller holds the lock.
fn adopt(
    cfg: &Config,
    layout: &crate::config::Layout,
    id: &ContainerId,
    summary: &[u8],
) -> Result<()> {
    runs::write_summary(layout, id, 1, summary)?;
    let cap = crate::report::read::max_summary_bytes(&cfg.limits);
    // a profile is smaller than the summary it comes from
    if let Ok(profile) = crate::report::read::below(layout, &layout.seccomp_file(id), cap) {
        let path = layout.run_log_dir(id, 1).join(runs::SECCOMP);
        crate::sys::file::write_atomic(&path, &profile, crate::sys::file::Persist::Durable)
            .with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// Read as `ctraudit report` reads it: never through a link below the log
/// root, only a regular file, within the cap the limits allow. `run`:
/// that run's summary; None, the top-level one.
fn earlier_summary(
    cfg: &Config,
    layout: &crate::config::Layout,
    id: &ContainerId,
    meta: &Meta,
    run: Option<u64>,
) -> Earliest {
    use crate::report::{read, ReportError};
    let cap = read::max_summary_bytes(&cfg.limits);
    let read = match run {
        Some(n) => read::below(layout, &layout.run_log_dir(id, n).join(runs::SUMMARY), cap),
        None => read::logged(layout, id, cap),
    };
    let bytes = match read {
        Ok(b) => b,
        Err(ReportError::Read { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            return match run {
                Some(_) => Earliest::Missing,
                None => Earliest::Other,
            }
        }
        Err(_) => return Earliest::Other,
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Earliest::Other;
    };
    let str_at = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_owned);
    let same = value
        .pointer("/container/cgroup/id")
        .and_then(Value::as_u64)
        == Some(meta.cgroup.id)
        && str_at("/times/registered").as_deref() == Some(meta.registered_at.as_str());
    if !same {
        return if value.get("schema").and_then(Value::as_str) == Some(crate::summary::SCHEMA) {
            Earliest::Another(bytes)
        } else {
            Earliest::Other
        };
    }
    let Some(kernel_data) = str_at("/loss/kernel_data") else {
        return Earliest::Other;
    };
    Earliest::Same(Earlier {
        finalised_by: str_at("/ctraudit/finalised_by").unwrap_or_default(),
        kernel_data,
        bytes,
        value,
    })
}

/// How whole a kernel record is (`loss.kernel_data`); unknown words rank
/// below every known one.
fn rank(kernel_data: &str) -> i8 {
    match kernel_data {
        "complete" => 2,
        "partial" => 1,
        "missing" => 0,
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_read_whole_outranks_a_partial_one_and_both_a_missing_one() {
        assert!(rank("complete") > rank("partial"));
        assert!(rank("partial") > rank("missing"));
        assert!(rank("missing") > rank("unheard-of"));
    }
}
