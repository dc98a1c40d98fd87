//! The container's cgroup v2 identity, read from `/proc/<pid>/cgroup` at
//! prestart, when runc has already placed init in its final cgroup.
//!
//! Works on pure cgroup v2 (`/sys/fs/cgroup`) and on hybrid hosts (v1
//! controllers plus cgroup2 at `/sys/fs/cgroup/unified`): the `0::` line
//! names the cgroup2 path, and the cgroup2 mount is found in mountinfo.
//! The cgroup id the kernel reports (`bpf_get_current_cgroup_id`) is the
//! inode number of the cgroup's directory.
//!
//! Later, whether the container still runs is the kernel's `populated`
//! flag of that same cgroup (`liveness`, in sys/cgroup.rs: `ctraudit ps`
//! and `report` ask it too), for poststop-less containers that `ctraudit
//! gc` finishes.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

pub use crate::sys::cgroup::{liveness, Liveness, Stop};
use crate::sys::mounts::v2_mount;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub id: u64,
    /// Path inside the cgroup2 hierarchy, e.g. `/docker/<id>`.
    pub path: String,
    /// Depth below the root (`/a/b` is level 2), as the kernel counts.
    pub level: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("/proc/{pid}/cgroup: {source}")]
    Proc { pid: i32, source: std::io::Error },
    #[error(
        "/proc/{pid}/cgroup has no cgroup v2 (\"0::\") line: the host has no cgroup2 hierarchy"
    )]
    NoV2 { pid: i32 },
    #[error("no cgroup2 filesystem in /proc/self/mountinfo")]
    NoMount,
    #[error(
        "container init (pid {pid}) is in cgroup2 {path:?}, which is not its own \
         (the runtime did not create a cgroup2 cgroup for it); auditing it would record host processes"
    )]
    NotIsolated { pid: i32, path: String },
    #[error("{path}: {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The cgroup2 path of a process (the `0::` line of /proc/<pid>/cgroup).
fn v2_path(pid: i32, proc_cgroup: &str) -> Result<String, CgroupError> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim_end_matches(" (deleted)").to_owned())
        .ok_or(CgroupError::NoV2 { pid })
}

fn level_of(path: &str) -> u32 {
    path.split('/').filter(|c| !c.is_empty()).count() as u32
}

/// The cgroup of `pid`, refusing a cgroup the hook itself shares (the
/// runtime's own) or the root: those hold host processes.
pub fn of_pid(pid: i32) -> Result<Cgroup, CgroupError> {
    let read = |p: &str| std::fs::read_to_string(p);
    let text =
        read(&format!("/proc/{pid}/cgroup")).map_err(|source| CgroupError::Proc { pid, source })?;
    let path = v2_path(pid, &text)?;
    let own = read("/proc/self/cgroup")
        .ok()
        .and_then(|t| v2_path(0, &t).ok());
    if path == "/" || own.as_deref() == Some(path.as_str()) {
        return Err(CgroupError::NotIsolated { pid, path });
    }
    let mounts =
        read("/proc/self/mountinfo").map_err(|source| CgroupError::Proc { pid, source })?;
    let root = v2_mount(&mounts).ok_or(CgroupError::NoMount)?;
    let dir = root.join(path.trim_start_matches('/'));
    let id = std::fs::metadata(&dir)
        .map_err(|source| CgroupError::Stat {
            path: dir.clone(),
            source,
        })?
        .ino();
    Ok(Cgroup {
        id,
        level: level_of(&path),
        path,
    })
}

/// What the meta file keeps of the cgroup.
impl From<&Cgroup> for crate::meta::CgroupMeta {
    fn from(c: &Cgroup) -> Self {
        crate::meta::CgroupMeta {
            id: c.id,
            path: c.path.clone(),
            level: c.level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str =
        "9:name=systemd:/exp1\n4:memory:/process_api/8d/exp1\n1:cpu:/exp1\n0::/exp1\n";
    const V2: &str = "0::/system.slice/docker-abc.scope\n";

    #[test]
    fn v2_line_is_found_on_hybrid_and_pure_v2() {
        assert_eq!(v2_path(1, HYBRID).unwrap(), "/exp1");
        assert_eq!(v2_path(1, V2).unwrap(), "/system.slice/docker-abc.scope");
        assert!(matches!(
            v2_path(7, "1:cpu:/x\n"),
            Err(CgroupError::NoV2 { pid: 7 })
        ));
    }

    #[test]
    fn levels_count_path_components() {
        assert_eq!(level_of("/"), 0);
        assert_eq!(level_of("/exp1"), 1);
        assert_eq!(level_of("/kubepods/burstable/pod1/abc"), 4);
    }

    #[test]
    fn own_cgroup_of_this_process_is_refused() {
        // the test process shares its own cgroup with itself: never a container
        let me = std::process::id() as i32;
        match of_pid(me) {
            Err(CgroupError::NotIsolated { pid, .. }) => assert_eq!(pid, me),
            Err(CgroupError::NoV2 { .. }) | Err(CgroupError::NoMount) => {}
            other => panic!("expected refusal, got {other:?}"),
        }
    }
}
