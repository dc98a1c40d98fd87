//! The global lock: one hook (or one step of `ctraudit gc`) at a time
//! mounts bpffs, loads the programs, changes the kernel tables and
//! finalises a container. Held for milliseconds; waiting is bounded so a
//! stuck holder can never hang a container start.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

pub struct Lock(#[allow(dead_code)] Flock<File>);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: flock: {errno}")]
    Flock { path: String, errno: Errno },
    #[error("{path}: still locked after {ms} ms (another ctraudit hook is stuck?)")]
    Timeout { path: String, ms: u64 },
}

/// Takes the lock, waiting at most `timeout_ms`.
///
/// The wait sleeps in the kernel (a blocking `flock` on a helper thread),
/// not in a poll: the kernel wakes a waiter the moment the holder lets go,
/// so a waiter is not starved by a holder that takes the lock again and
/// again (gc takes it once per container), and is not late by a poll period.
pub fn acquire(path: &Path, timeout_ms: u64) -> Result<Lock, LockError> {
    let name = path.display().to_string();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| LockError::Open {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        // a link planted at the lock's name is never followed out of /run
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| LockError::Open {
            path: name.clone(),
            source,
        })?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => return Ok(Lock(lock)),
        Err((file, Errno::EWOULDBLOCK)) => file,
        Err((_, errno)) => return Err(LockError::Flock { path: name, errno }),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut file = file;
        let result = loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Err((f, Errno::EINTR)) => file = f,
                Ok(lock) => break Ok(lock),
                Err((_, errno)) => break Err(errno),
            }
        };
        // when the caller gave up waiting, the lock taken late is dropped
        // here, which releases it at once
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_millis(timeout_ms)) {
        Ok(Ok(lock)) => Ok(Lock(lock)),
        Ok(Err(errno)) => Err(LockError::Flock { path: name, errno }),
        Err(_) => Err(LockError::Timeout {
            path: name,
            ms: timeout_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_waiter_gets_the_lock_as_soon_as_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = acquire(&path, 100).unwrap();
        let waiter = std::thread::spawn({
            let path = path.clone();
            move || acquire(&path, 5_000).map(|_| Instant::now())
        });
        std::thread::sleep(Duration::from_millis(50));
        let let_go = Instant::now();
        drop(held);
        let got = waiter.join().unwrap().unwrap();
        assert!(
            got.duration_since(let_go) < Duration::from_millis(40),
            "{:?}",
            got.duration_since(let_go)
        );
    }

    #[test]
    fn a_lock_held_too_long_times_out_and_is_free_again_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = acquire(&path, 100).unwrap();
        let e = acquire(&path, 30).err().unwrap();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: still locked after 30 ms (another ctraudit hook is stuck?)",
                path.display()
            )
        );
        drop(held);
        // the helper of the waiter that gave up lets go of what it got late
        assert!(acquire(&path, 1_000).is_ok());
    }

    #[test]
    fn a_link_at_the_lock_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        let path = dir.path().join("lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let e = acquire(&path, 10).err().unwrap();
        assert!(matches!(e, LockError::Open { .. }), "{e}");
        assert!(!target.exists(), "nothing created through the link");
    }
}
