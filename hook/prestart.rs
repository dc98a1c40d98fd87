//! prestart / createRuntime: register the container before its workload
//! runs. runc calls these after init is in its cgroups and before init
//! execs the workload (runtime-spec runtime.md#lifecycle, steps 6-7), so the
//! first exec is already attributed: no race.

use anyhow::{anyhow, bail, Context, Result};

use super::state::HookState;
use super::{cgroup, identity, ENABLE_ANNOTATION};
use crate::bpf;
use crate::config::{HookConfig, Stage};
use crate::id::ContainerId;
use crate::meta::{self, CgroupMeta, Meta};
use crate::sys::file::{make_dir, write_atomic, Persist};
use crate::sys::{clock, lock, log};

pub fn run(stage: Stage, hc: &HookConfig, state: &HookState) -> Result<()> {
    if let Some(e) = &hc.error {
        bail!("config: {e}");
    }
    register(stage, hc, state)
}

fn register(stage: Stage, hc: &HookConfig, state: &HookState) -> Result<()> {
    let cfg = &hc.config;
    let id = &state.id;
    if state.annotations.get(ENABLE_ANNOTATION).map(String::as_str) == Some("false") {
        super::record_failure(
            cfg,
            stage,
            &format!("annotation {ENABLE_ANNOTATION}=false"),
            "container runs unaudited (opted out)",
        );
        return Ok(());
    }
    let pid = state.pid.ok_or_else(|| {
        anyhow!("state JSON: field `pid` is missing (the container has no init process)")
    })?;
    let layout = cfg.layout();
    let cg = cgroup::of_pid(pid).with_context(|| format!("container {id}"))?;

    let mut notes = Vec::new();
    let bundle = match meta::read_bundle(&state.bundle) {
        Ok(b) => b,
        Err(e) => {
            notes.push(format!("bundle not read at {}: {e}", stage.name()));
            meta::BundleInfo {
                args: Vec::new(),
                hostname: None,
                config: None,
            }
        }
    };
    let who = identity::detect(
        cfg,
        id.as_str(),
        &state.bundle,
        bundle.config.as_ref(),
        &state.annotations,
    );
    if let Some(why) = identity::excluded_by(cfg, &who) {
        log::syslog(cfg, false, &format!("container {id} not audited: {why}"));
        super::record_failure(cfg, stage, &why, "container runs unaudited (excluded)");
        return Ok(());
    }
    notes.extend(who.notes.iter().cloned());

    let mnt_ns = mnt_ns_of(pid)?;

    make_dir(&layout.meta_dir())?;
    let _lock = lock::acquire(&layout.lock_file(), cfg.hooks.lock_timeout_ms)?;
    earlier_with_the_same_id(cfg, id)?;
    bpf::ensure_bpffs(layout.bpffs())?;
    bpf::ensure_loaded(&layout, cfg.limits.max_containers)?;
    // what poststop compares against: a program detached or skipping runs
    // while the container runs must show in its summary
    let programs = bpf::attached(&layout)?;

    let now = clock::boot_ns();
    let meta = Meta {
        id: id.to_string(),
        runtime: who.runtime,
        name: who.name,
        image: who.image,
        pod: who.pod,
        namespace: who.namespace,
        abi: bpf::ABI_VERSION,
        stage: stage.name().to_owned(),
        pid,
        cgroup: CgroupMeta::from(&cg),
        mnt_ns,
        bundle: state.bundle.clone(),
        hostname: bundle.hostname,
        args: crate::config::redact::args(&cfg.redact, &bundle.args).0,
        annotations: state.annotations.clone(),
        registered_at: clock::rfc3339_of_boot_ns(now),
        registered_boot_ns: now,
        notes,
        programs,
    };
    let path = layout.meta_file(id);
    make_dir(&layout.meta_dir())
        .and_then(|()| {
            write_atomic(
                &path,
                &serde_json::to_vec_pretty(&meta).unwrap_or_default(),
                Persist::Volatile,
            )
        })
        .with_context(|| path.display().to_string())?;

    let sizes = bpf::SetSizes {
        execs: cfg.limits.execs,
        files: cfg.limits.files,
        network: cfg.limits.network,
        privileged: cfg.limits.privileged,
    };
    let who = bpf::Identity {
        cgroup_id: cg.id,
        level: cg.level,
        mnt_ns,
    };
    let reg = match bpf::register(&layout, id, who, &sizes) {
        Ok(reg) => {
            super::registered();
            reg
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e).with_context(|| format!("container {id}"));
        }
    };
    log::syslog(
        cfg,
        false,
        &format!(
            "container {id} audited: cgroup {} ({}), slot {}",
            cg.path, cg.id, reg.slot
        ),
    );
    Ok(())
}

/// A meta file already there for `id` belongs to another container: never
/// overwrite it. If that container still runs, this one is refused (its
/// audit is kept whole; ctraudit keeps one container per id). If it is gone
/// and its poststop never ran, it is finalised first, as gc would.
fn earlier_with_the_same_id(cfg: &crate::config::Config, id: &ContainerId) -> Result<()> {
    let path = cfg.layout().meta_file(id);
    let earlier = meta::load(&path)
        .with_context(|| format!("container {id}: another container's meta is there"))?;
    let Some(earlier) = earlier.map(|f| f.meta) else {
        // no meta file, but a checkpoint: a container of this id whose
        // registration a crash or a reboot took (docker's restart policy
        // brings it back at boot); its audit becomes a run before this one
        // registers, and never holds this one up
        let layout = cfg.layout();
        match super::gc::checkpoint_left(cfg, &layout, id, "prestart", false) {
            Ok(Some(done)) => log::syslog(cfg, false, &done),
            Ok(None) => {}
            Err(e) => log::problem(cfg, &format!("container {id}: {e:#}")),
        }
        return Ok(());
    };
    let stop = match cgroup::liveness(&earlier.cgroup.path, earlier.cgroup.id) {
        cgroup::Liveness::Stopped(stop) => stop,
        cgroup::Liveness::Running => bail!(
            "container {id}: a container with this id is audited already (registered {}, cgroup {}); this one is not",
            earlier.registered_at,
            earlier.cgroup.path
        ),
        cgroup::Liveness::Unknown(why) => bail!(
            "container {id}: a container with this id is audited already (registered {}, cgroup {}) and whether it still runs cannot be told ({why}); this one is not",
            earlier.registered_at,
            earlier.cgroup.path
        ),
    };
    let why = format!(
        "finalised by the prestart of a new container with the same id: {}",
        stop.unfinished(&earlier.cgroup.path)
    );
    super::poststop::finalise(cfg, id, &earlier, clock::boot_ns(), "prestart", vec![why])
        .map(drop)
        .with_context(|| format!("container {id}: finalising the earlier container with this id"))
}

/// The inode of a process's mount namespace (`/proc/<pid>/ns/mnt`). At
/// prestart, runc's init has already entered the container's namespaces.
fn mnt_ns_of(pid: i32) -> Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let path = format!("/proc/{pid}/ns/mnt");
    let ino = std::fs::metadata(&path)
        .with_context(|| path.clone())?
        .ino();
    u32::try_from(ino).with_context(|| format!("{path}: inode {ino} does not fit 32 bits"))
}
