//! Whether a cgroup still has processes: the kernel's `populated` flag of
//! the cgroup2 directory, checked to be the same cgroup (its inode is its
//! id) before and after it is read.

use std::os::unix::fs::MetadataExt;

use crate::sys::mounts::v2_root;

/// What a container's cgroup says about whether the container still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Processes are in it or below it (`populated 1` in cgroup.events).
    Running,
    /// No process can run in it any more.
    Stopped(Stop),
    /// It cannot be told (the reason): treat the container as running.
    Unknown(String),
}

/// Why a container's cgroup says it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The directory is gone: the runtime removed it (`runc delete`).
    Removed,
    /// Another cgroup sits at the same path (another inode, another id).
    Replaced,
    /// The cgroup is still there but empty (`populated 0`): its processes
    /// all exited and nobody removed it, as when the runtime that would
    /// have was killed (dockerd restarted onto another containerd).
    Empty,
}

impl Stop {
    /// Why a finaliser other than poststop (gc, a later prestart with the
    /// same id) takes over the container whose cgroup is `path`.
    pub fn unfinished(self, path: &str) -> String {
        let says = match self {
            Stop::Removed => "is gone",
            Stop::Replaced => "is another cgroup now",
            Stop::Empty => "is empty (populated 0)",
        };
        format!("its cgroup {path} {says}, and no poststop hook finished it")
    }
}

/// Whether the container whose cgroup is `path` (in the cgroup2
/// hierarchy) with id `id` still runs. The directory existing is not
/// enough: a cgroup nobody removed outlives its processes, so the kernel's
/// own `populated` flag decides (cgroup-v2.rst, "cgroup.events"). On a
/// hybrid host the cgroup2 hierarchy is the one at /sys/fs/cgroup/unified,
/// found in mountinfo like on a pure v2 host.
pub fn liveness(path: &str, id: u64) -> Liveness {
    match v2_root() {
        Some(root) => liveness_at(&root, path, id),
        None => Liveness::Unknown("no cgroup2 filesystem in /proc/self/mountinfo".into()),
    }
}

fn liveness_at(root: &std::path::Path, path: &str, id: u64) -> Liveness {
    if !path.starts_with('/') || path.split('/').any(|c| c == ".." || c == ".") {
        return Liveness::Unknown(format!("cgroup path {path:?} is not a cgroup2 path"));
    }
    let dir = root.join(path.trim_start_matches('/'));
    // the same cgroup before and after cgroup.events is read: a cgroup
    // removed or replaced in between is not taken for this one
    let same = || match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.ino() == id && m.is_dir() => Ok(()),
        Ok(_) => Err(Liveness::Stopped(Stop::Replaced)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Liveness::Stopped(Stop::Removed)),
        Err(e) => Err(Liveness::Unknown(format!("{}: {e}", dir.display()))),
    };
    if let Err(l) = same() {
        return l;
    }
    let events = dir.join("cgroup.events");
    let text = std::fs::read_to_string(&events);
    if let Err(l) = same() {
        return l;
    }
    match text.map(|t| populated(&t)) {
        Ok(Some(true)) => Liveness::Running,
        Ok(Some(false)) => Liveness::Stopped(Stop::Empty),
        Ok(None) => Liveness::Unknown(format!("{}: no \"populated\" line", events.display())),
        Err(e) => Liveness::Unknown(format!("{}: {e}", events.display())),
    }
}

/// The `populated` flag of a cgroup.events text.
fn populated(events: &str) -> Option<bool> {
    events
        .lines()
        .find_map(|l| match l.strip_prefix("populated ")?.trim() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populated_is_read_from_cgroup_events() {
        assert_eq!(populated("populated 1\nfrozen 0\n"), Some(true));
        assert_eq!(populated("populated 0\nfrozen 0\n"), Some(false));
        assert_eq!(populated("frozen 0\n"), None);
        assert_eq!(populated("populated x\n"), None);
    }

    /// A cgroup2 tree in a temporary directory: `cgroup.events` as the
    /// kernel writes it, the directory's inode as its id.
    fn fake_cgroup(root: &std::path::Path, path: &str, events: &str) -> u64 {
        let dir = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cgroup.events"), events).unwrap();
        std::fs::metadata(&dir).unwrap().ino()
    }

    #[test]
    fn liveness_follows_populated_not_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let running = fake_cgroup(r, "/system.slice/docker-a.scope", "populated 1\nfrozen 0\n");
        let empty = fake_cgroup(r, "/docker/b", "populated 0\nfrozen 0\n");
        assert_eq!(
            liveness_at(r, "/system.slice/docker-a.scope", running),
            Liveness::Running
        );
        assert_eq!(
            liveness_at(r, "/docker/b", empty),
            Liveness::Stopped(Stop::Empty)
        );
        assert_eq!(
            liveness_at(r, "/docker/c", 7),
            Liveness::Stopped(Stop::Removed)
        );
        assert_eq!(
            liveness_at(r, "/docker/b", empty + 1),
            Liveness::Stopped(Stop::Replaced)
        );
    }

    #[test]
    fn liveness_that_cannot_be_told_is_unknown_never_stopped() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let dir = r.join("x");
        std::fs::create_dir(&dir).unwrap();
        let id = std::fs::metadata(&dir).unwrap().ino();
        assert_eq!(
            liveness_at(r, "/x", id),
            Liveness::Unknown(format!(
                "{}: No such file or directory (os error 2)",
                dir.join("cgroup.events").display()
            ))
        );
        std::fs::write(dir.join("cgroup.events"), "frozen 0\n").unwrap();
        assert_eq!(
            liveness_at(r, "/x", id),
            Liveness::Unknown(format!(
                "{}: no \"populated\" line",
                dir.join("cgroup.events").display()
            ))
        );
        for bad in ["/../etc", "x", "/a/./b"] {
            assert_eq!(
                liveness_at(r, bad, id),
                Liveness::Unknown(format!("cgroup path {bad:?} is not a cgroup2 path"))
            );
        }
    }
}
