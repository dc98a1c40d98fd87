//! poststop: the container is gone (runc runs poststop from `delete`, after
//! the cgroup is removed). Read what the kernel aggregated, write the
//! summary and the seccomp profile, then release the kernel state. Never
//! fails the runtime. `ctraudit gc` finishes the same way for containers
//! whose poststop never ran.

use anyhow::{Context, Result};

use super::meta::Meta;
use super::state::HookState;
use super::summary::{self, Summary};
use super::{clock, lock, log, make_dir, meta, write_atomic, HookConfig, Persist};
use crate::bpf;
use crate::config::paths::ContainerId;
use crate::config::Config;

pub fn run(hc: &HookConfig, state: &HookState) -> Result<()> {
    let cfg = &hc.config;
    let id = &state.id;
    let layout = cfg.layout();
    let meta_path = layout.meta_file(id);
    let Some(meta) = meta::load(&meta_path).with_context(|| meta_path.display().to_string())?
    else {
        // never registered: opted out, or prestart failed under "allow"
        return Ok(());
    };
    let stopped = clock::boot_ns();
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    let mut notes = Vec::new();
    if let Some(e) = &hc.error {
        notes.push(format!("config: {e} (defaults used at poststop)"));
    }
    finalise(cfg, id, &meta, stopped, "poststop", notes)
}

/// Writes the summary and the profile of a stopped container, then frees
/// its kernel state and meta file. The caller holds the global lock. When
/// the summary cannot be written, the kernel state stays for a later try.
pub fn finalise(
    cfg: &Config,
    id: &ContainerId,
    meta: &Meta,
    stopped_ns: u64,
    by: &'static str,
    mut notes: Vec<String>,
) -> Result<()> {
    // the pins of the ABI the container was registered under, which an
    // upgrade since may have replaced for new containers
    let layout = cfg.layout().with_abi(meta.abi);
    let snapshot = bpf::read_container(&layout, id).unwrap_or_else(|e| {
        notes.push(format!("kernel maps not read: {e}"));
        bpf::Snapshot::default()
    });
    let summary: Summary = summary::build(meta, &snapshot, stopped_ns, by, notes);
    let path = layout.summary_file(id);
    make_dir(&layout.log_dir(id))
        .and_then(|()| {
            let mut json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
            json.push(b'\n');
            write_atomic(&path, &json, Persist::Durable)
        })
        // the pins stay: nothing is lost, `ctraudit gc` can finish the job
        .with_context(|| format!("{}: summary not written; kernel state kept", path.display()))?;
    // the profile the workload earned, from the summary just written
    let profile_path = layout.seccomp_file(id);
    let profile = serde_json::to_value(&summary)
        .ok()
        .and_then(|v| crate::seccomp::from_summary(id.as_str(), &v).ok())
        .map(|(p, _)| p.to_json());
    if let Some(json) = profile {
        if let Err(e) = write_atomic(&profile_path, json.as_bytes(), Persist::Durable) {
            log::problem(cfg, &format!("{by}: {}: {e}", profile_path.display()));
        }
    }
    log::syslog(cfg, false, &summary::syslog_line(&summary));

    let kernel = bpf::find_registration(&layout, id).unwrap_or_else(|e| {
        log::problem(
            cfg,
            &format!("{by}: container {id}: registration not found: {e}"),
        );
        None
    });
    bpf::unregister(&layout, id, kernel).with_context(|| format!("container {id}: unregister"))?;
    let meta_path = layout.meta_file(id);
    std::fs::remove_file(&meta_path).with_context(|| meta_path.display().to_string())?;
    if cfg.detach_when_idle
        && bpf::unload_if_idle(&layout).with_context(|| "detach when idle".to_owned())?
    {
        log::syslog(
            cfg,
            false,
            "no container audited any more: programs detached",
        );
    }
    Ok(())
}
