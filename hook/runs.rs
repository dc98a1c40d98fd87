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
//! Reading the runs kept (`list`) is `report`'s (report/runs.rs), which
//! reads them too; numbering, writing and removing them is here.
//!
//! Below the log root no symbolic link is followed: the per-container
//! directory and `runs/` are opened with `O_NOFOLLOW|O_DIRECTORY` and then
//! used only through that descriptor (`/proc/self/fd/<fd>`), so a link
//! planted in place of either can neither be listed nor lead a removal out
//! of the log root; a run directory that is a link is no run.

use std::io;
use std::path::PathBuf;

use crate::config::Layout;
use crate::id::ContainerId;
use crate::report::runs::{fd_path, named, numbers, open_runs};
pub use crate::report::runs::{list, shown, MAX_SCANNED, SECCOMP, SUMMARY};
use crate::sys::file::{make_dir, write_atomic, Persist};

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

/// The most runs a finaliser removes: one a run in the steady state; what
/// a lowered `retention.runs` leaves beyond that is gc's, so that a hook
/// never spends its deadline removing directories.
pub const PRUNED_BY_FINALISE: usize = 16;

/// Removes the oldest runs beyond the `keep` latest (the latest is always
/// kept), at most `most` of them, and returns their numbers; `dry_run`
/// only says which. A removal that fails stops there, with the error.
pub fn prune(
    layout: &Layout,
    id: &ContainerId,
    keep: u32,
    most: usize,
    dry_run: bool,
) -> io::Result<Vec<u64>> {
    let Some(fd) = open_runs(layout, id)? else {
        return Ok(Vec::new());
    };
    let runs = numbers(layout, id, &fd)?;
    let old = beyond(&runs, keep);
    let old = old[..old.len().min(most)].to_vec();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
        assert_eq!(prune(&l, &id, 1, usize::MAX, true).unwrap(), [1, 2]);
        assert_eq!(
            list(&l, &id).unwrap(),
            [1, 2, 10],
            "a dry run removes nothing"
        );
        assert_eq!(prune(&l, &id, 1, 1, false).unwrap(), [1], "at most one");
        assert_eq!(prune(&l, &id, 1, usize::MAX, false).unwrap(), [2]);
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
        assert_eq!(
            prune(&l, &id, 1, usize::MAX, false)
                .unwrap_err()
                .to_string(),
            want
        );
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
