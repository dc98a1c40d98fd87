//! The runs kept of a container id, `<log>/<id>/runs/<n>/` (numbered,
//! written and removed by hook/runs.rs), listed without following a link:
//! the per-container directory and `runs/` are opened with
//! `O_NOFOLLOW|O_DIRECTORY` and then read only through that descriptor.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use crate::config::Layout;
use crate::id::ContainerId;

/// The most entries of one `runs/` directory looked through: ten times
/// the most runs `retention.runs` keeps.
pub const MAX_SCANNED: usize = 10 * crate::config::MAX_RUNS as usize;

pub const SUMMARY: &str = "summary.json";
pub const SECCOMP: &str = "seccomp.json";

/// `<log>/<id>/runs/`, opened without following a link at `<id>` or at
/// `runs`; None when either is not there.
pub(crate) fn open_runs(layout: &Layout, id: &ContainerId) -> io::Result<Option<OwnedFd>> {
    // no log root yet (a fresh host, before its first summary): no runs
    let root = match File::open(layout.log_root()) {
        Ok(root) => root,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(named(layout.log_root(), e)),
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut at = layout.log_root().to_path_buf();
    let mut dir: OwnedFd = root.into();
    for part in [id.as_str(), "runs"] {
        at.push(part);
        dir = match openat(&dir, part, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ENOENT) => return Ok(None),
            Err(nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR) => {
                return Err(io::Error::other(format!(
                    "{}: not a directory of ctraudit's own (a symlink?): refused",
                    at.display()
                )))
            }
            Err(e) => return Err(named(&at, e.into())),
        };
    }
    Ok(Some(dir))
}

pub(crate) fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The path of an open directory, which the kernel resolves to that very
/// directory whatever has been renamed or planted since.
pub(crate) fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A run directory's name: a decimal number from 1 on, as ctraudit writes
/// it (no sign, no leading zero).
fn number(name: &str) -> Option<u64> {
    if name.is_empty() || name.starts_with('0') || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// The runs kept of a container id, oldest first: the numbered
/// directories (not links) of `<log>/<id>/runs/`. None there: empty.
pub fn list(layout: &Layout, id: &ContainerId) -> io::Result<Vec<u64>> {
    match open_runs(layout, id)? {
        None => Ok(Vec::new()),
        Some(fd) => numbers(layout, id, &fd),
    }
}

pub(crate) fn numbers(layout: &Layout, id: &ContainerId, fd: &OwnedFd) -> io::Result<Vec<u64>> {
    let dir = layout.runs_dir(id);
    let mut runs = Vec::new();
    for (i, entry) in std::fs::read_dir(fd_path(fd))
        .map_err(|e| named(&dir, e))?
        .enumerate()
    {
        if i >= MAX_SCANNED {
            return Err(io::Error::other(format!(
                "{}: more than {MAX_SCANNED} entries: not looked through",
                dir.display()
            )));
        }
        let entry = entry.map_err(|e| named(&dir, e))?;
        // the entry's own type: a link is not followed
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let Some(n) = entry.file_name().to_str().and_then(number) {
            if is_dir {
                runs.push(n);
            }
        }
    }
    runs.sort_unstable();
    Ok(runs)
}

/// Run numbers for a message: `1, 2, 3`, or `57 runs, 1 to 60` when long.
pub fn shown(runs: &[u64]) -> String {
    match runs {
        [] => "none".into(),
        [first, .., last] if runs.len() > 10 => {
            format!("{} runs, {first} to {last}", runs.len())
        }
        _ => runs
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
