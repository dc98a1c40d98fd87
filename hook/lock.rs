//! The global lock: one hook at a time mounts bpffs, loads the programs,
//! and changes the kernel tables. Held for milliseconds; waiting is bounded
//! so a stuck holder can never hang a container start.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

pub struct Lock(#[allow(dead_code)] Flock<File>);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: still locked after {ms} ms (another ctraudit hook is stuck?)")]
    Timeout { path: String, ms: u64 },
}

pub fn acquire(path: &Path, timeout_ms: u64) -> Result<Lock, LockError> {
    let name = path.display().to_string();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| LockError::Open {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| LockError::Open {
            path: name.clone(),
            source,
        })?;
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Lock(lock)),
            Err((f, _)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => {
                return Err(LockError::Timeout {
                    path: name,
                    ms: timeout_ms,
                })
            }
        }
    }
}
