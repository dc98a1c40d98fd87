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
    notes: Vec<String>,
) -> Result<()> {
    // the pins of the ABI the container was registered under, which an
    // upgrade since may have replaced for new containers
    let layout = cfg.layout().with_abi(meta.abi);
    let snapshot = collect(&layout, id, meta);
    let kernel = snapshot.registration;
    let summary: Summary = summary::build(meta, &snapshot.data, stopped_ns, by, notes);
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

/// The kernel's record of a container, and where it sat in the tables.
struct Collected {
    data: bpf::Snapshot,
    registration: Option<(u64, bpf::Registration)>,
}

/// Reads everything the kernel kept for the container. Whatever could not
/// be read, or was taken away while the container ran, is named in
/// `problems`: the summary then says it is incomplete, never that a
/// silent container did nothing.
fn collect(layout: &crate::config::Layout, id: &ContainerId, meta: &Meta) -> Collected {
    let mut data = bpf::read_container(layout, id);
    if data.maps_read == 0 {
        // nothing of it is left to read (the problem is named); its entry
        // in the kernel tables, if any, is still freed
        let registration = bpf::registration_of_cgroup(layout, meta.cgroup.id)
            .ok()
            .flatten();
        return Collected { data, registration };
    }
    let registration = match bpf::find_registration(layout, id) {
        Ok(r) => r,
        Err(e) => {
            data.problems.push(format!("registration not found: {e}"));
            None
        }
    };
    match registration {
        Some((_, reg)) => match bpf::slot_lost(layout, reg) {
            Ok(n) => data.without_maps = n,
            Err(e) => data.problems.push(e.to_string()),
        },
        // the maps are there but the kernel no longer attributed anything
        // to them (its entry in `containers` was removed)
        None => data.problems.push(format!(
            "container {id}: no entry in the kernel's containers table at stop: its tasks were not attributed after the entry went"
        )),
    }
    let (misses, detached) = bpf::losses_since(layout, &meta.programs);
    data.program_misses = misses;
    data.problems.extend(detached);
    Collected { data, registration }
}
