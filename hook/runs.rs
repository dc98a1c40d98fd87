//! Every run of a container id, kept: `<log>/<id>/runs/<n>/summary.json`
//! and `seccomp.json`, n = 1, 2, 3, ... The latest run is also at
//! `<log>/<id>/summary.json` and `seccomp.json`, the same bytes, so a
//! reader of one file per container reads the latest run.
//!
//! A run's number is given when the run is finalised, with the global lock
//! held (hook/poststop.rs `finalise`): one more than the highest run
//! directory there is. `[retention] runs` bounds how many are kept: the
//! oldest beyond it are removed by finalise and by `ctraudit gc`.
//!
//! Below the log root no symbolic link is followed: the per-container
//! directory and `runs/` are opened with `O_NOFOLLOW|O_DIRECTORY` and then
//! used only through that descriptor (`/proc/self/fd/<fd>`), so a link
//! planted in place of either can neither be listed nor lead a removal out
//! of the log root; a run directory that is a link is no run.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use crate::config::Layout;
use crate::id::ContainerId;
use crate::sys::file::{make_dir, write_atomic, Persist};

/// The most entries of one `runs/` directory looked through: ten times
/// the most runs `retention.runs` keeps.
pub const MAX_SCANNED: usize = 10 * crate::config::MAX_RUNS as usize;

pub const SUMMARY: &str = "summary.json";
pub const SECCOMP: &str = "seccomp.json";

/// `<log>/<id>/runs/`, opened without following a link at `<id>` or at
/// `runs`; None when either is not there.
fn open_runs(layout: &Layout, id: &ContainerId) -> io::Result<Option<OwnedFd>> {
    let root = File::open(layout.log_root()).map_err(|e| named(layout.log_root(), e))?;
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

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The path of an open directory, which the kernel resolves to that very
/// directory whatever has been renamed or planted since.
fn fd_path(fd: &OwnedFd) -> PathBuf {
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

fn numbers(layout: &Layout, id: &ContainerId, fd: &OwnedFd) -> io::Result<Vec<u64>> {
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

/// The number the next run gets: one more than the highest kept.
pub fn next(runs: &[u64]) -> u64 {
    runs.last().map_or(1, |n| n.saturating_add(1))
}

/// Writes run `n`'s summary, then the same bytes as the latest at
/// `<log>/<id>/summary.json`. The caller holds the global lock.
pub fn write_summary(layout: &Layout, id: &ContainerId, n: u64, json: &[u8]) -> io::Result<()> {
    let run = layout.run_log_dir(id, n);
    make_dir(&layout.log_dir(id))?;
    make_dir(&layout.runs_dir(id))?;
    make_dir(&run)?;
    write_atomic(&run.join(SUMMARY), json, Persist::Durable)
        .map_err(|e| named(&run.join(SUMMARY), e))?;
    let top = layout.summary_file(id);
    write_atomic(&top, json, Persist::Durable).map_err(|e| named(&top, e))
}

/// Writes run `n`'s profile, and the same bytes beside the latest summary.
pub fn write_profile(layout: &Layout, id: &ContainerId, n: u64, json: &[u8]) -> io::Result<()> {
    let path = layout.run_log_dir(id, n).join(SECCOMP);
    write_atomic(&path, json, Persist::Durable).map_err(|e| named(&path, e))?;
    let top = layout.seccomp_file(id);
    write_atomic(&top, json, Persist::Durable).map_err(|e| named(&top, e))
}

/// Whether run `n` and the latest both have a profile.
pub fn has_profiles(layout: &Layout, id: &ContainerId, n: u64) -> bool {
    let regular = |p: PathBuf| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    regular(layout.run_log_dir(id, n).join(SECCOMP)) && regular(layout.seccomp_file(id))
}

/// The runs past the `keep` latest, oldest first: what [`prune`] removes.
pub fn beyond(runs: &[u64], keep: u32) -> &[u64] {
    let keep = (keep as usize).max(1);
    &runs[..runs.len().saturating_sub(keep)]
}

/// Removes the oldest runs beyond the `keep` latest (the latest is always
/// kept) and returns their numbers; `dry_run` only says which. A removal
/// that fails stops there, with the error.
pub fn prune(layout: &Layout, id: &ContainerId, keep: u32, dry_run: bool) -> io::Result<Vec<u64>> {
    let Some(fd) = open_runs(layout, id)? else {
        return Ok(Vec::new());
    };
    let runs = numbers(layout, id, &fd)?;
    let old = beyond(&runs, keep).to_vec();
    if dry_run {
        return Ok(old);
    }
    let base = fd_path(&fd);
    for n in &old {
        // through the descriptor: `runs/` is the one listed; remove_dir_all
        // does not follow a link at or below the run directory
        std::fs::remove_dir_all(base.join(n.to_string()))
            .map_err(|e| named(&layout.run_log_dir(id, *n), e))?;
    }
    Ok(old)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(dir: &Path) -> Layout {
        Layout::new(&dir.join("bpf"), &dir.join("run"), &dir.join("log"))
    }

    #[test]
    fn only_numbered_directories_are_runs_and_the_next_follows_the_highest() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let id = ContainerId::parse("c1").unwrap();
        std::fs::create_dir_all(l.log_root()).unwrap();
        assert_eq!(list(&l, &id).unwrap(), Vec::<u64>::new());
        assert_eq!(next(&[]), 1);
        for n in ["1", "2", "10", "07", "x", "-3", ".tmp"] {
            std::fs::create_dir_all(l.runs_dir(&id).join(n)).unwrap();
        }
        std::fs::write(l.runs_dir(&id).join("11"), b"").unwrap();
        std::os::unix::fs::symlink("/", l.runs_dir(&id).join("12")).unwrap();
        let runs = list(&l, &id).unwrap();
        assert_eq!(runs, [1, 2, 10]);
        assert_eq!(next(&runs), 11);
        assert_eq!(beyond(&runs, 2), [1]);
        assert_eq!(beyond(&runs, 20), Vec::<u64>::new());
        assert_eq!(prune(&l, &id, 1, true).unwrap(), [1, 2]);
        assert_eq!(
            list(&l, &id).unwrap(),
            [1, 2, 10],
            "a dry run removes nothing"
        );
        assert_eq!(prune(&l, &id, 1, false).unwrap(), [1, 2]);
        assert_eq!(list(&l, &id).unwrap(), [10]);
        assert!(
            std::path::Path::new("/etc").exists(),
            "the link is not followed"
        );
    }

    #[test]
    fn a_link_in_place_of_the_runs_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        let id = ContainerId::parse("c1").unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(elsewhere.join("1")).unwrap();
        std::fs::create_dir_all(elsewhere.join("2")).unwrap();
        std::fs::create_dir_all(l.log_dir(&id)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, l.runs_dir(&id)).unwrap();
        let want = format!(
            "{}: not a directory of ctraudit's own (a symlink?): refused",
            l.runs_dir(&id).display()
        );
        assert_eq!(list(&l, &id).unwrap_err().to_string(), want);
        assert_eq!(prune(&l, &id, 1, false).unwrap_err().to_string(), want);
        assert!(elsewhere.join("1").exists());
        assert!(write_summary(&l, &id, 3, b"{}").is_err());
        assert!(!elsewhere.join("3").exists());
    }

    #[test]
    fn runs_are_shown_in_full_or_as_a_span() {
        assert_eq!(shown(&[]), "none");
        assert_eq!(shown(&[2, 3]), "2, 3");
        let many: Vec<u64> = (1..=12).collect();
        assert_eq!(shown(&many), "12 runs, 1 to 12");
    }
}
