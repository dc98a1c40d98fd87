//! The OCI hook: `ctraudit hook <stage>` with the state JSON on stdin.
//!
//! OCI semantics (runtime-spec config.md#posix-platform-hooks): a failing
//! prestart/createRuntime hook fails the container's start, so prestart
//! fails only under `on_error = "deny"`; a poststop hook's failure is only
//! logged by runc, and ctraudit's poststop exits 0 whatever happens.

pub mod cgroup;
pub mod clock;
pub mod failures;
pub mod gc;
pub mod identity;
pub mod lock;
pub mod log;
pub mod meta;
mod poststop;
mod prestart;
pub mod redact;
pub mod state;
pub mod summary;

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::config::{Config, ConfigError, OnError};

/// Opt-out annotation: `io.ctraudit.enable=false` means no audit at all.
pub const ENABLE_ANNOTATION: &str = "io.ctraudit.enable";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    Poststop,
}

impl Stage {
    /// A stage name; `auto` (None) takes the stage from the state's status,
    /// for hooks.d files that list several stages with the same arguments.
    pub fn parse(s: &str) -> Result<Option<Stage>, String> {
        match s {
            "prestart" => Ok(Some(Stage::Prestart)),
            "createRuntime" => Ok(Some(Stage::CreateRuntime)),
            "poststop" => Ok(Some(Stage::Poststop)),
            "auto" => Ok(None),
            _ => Err(format!(
                "hook stage {s:?}: unknown (expected prestart, createRuntime, poststop or auto)"
            )),
        }
    }

    /// The stage a state's status means: runc passes `creating` to
    /// prestart/createRuntime hooks and `stopped` to poststop hooks.
    pub fn of_status(status: &str) -> Option<Stage> {
        match status {
            "creating" | "created" => Some(Stage::Prestart),
            "stopped" => Some(Stage::Poststop),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::Poststop => "poststop",
        }
    }
}

/// The configuration as the hook sees it: a broken file is not fatal by
/// itself; `on_error`, salvaged from the broken file, decides.
pub struct HookConfig {
    pub config: Config,
    pub error: Option<ConfigError>,
}

impl HookConfig {
    pub fn load(path: &Path, explicit: bool, overrides: &crate::config::Overrides) -> HookConfig {
        let (mut config, mut error) = match Config::load(path, explicit) {
            Ok(c) => (c, None),
            // what the file says about how to fail still holds: a config
            // that says `on_error = "deny"` denies even when it is broken
            Err(e) => (crate::config::salvage_file(path), Some(e)),
        };
        if let Err(e) = config.apply(overrides) {
            error.get_or_insert(e);
        }
        HookConfig { config, error }
    }
}

/// Runs one hook stage and returns the process exit code.
pub fn run(stage: &str, hc: HookConfig) -> i32 {
    let cfg = &hc.config;
    let fixed = match Stage::parse(stage) {
        Ok(s) => s,
        Err(e) => {
            log::problem(cfg, &e);
            return 2;
        }
    };
    // until `auto` knows its stage, failing follows prestart's rules
    let provisional = fixed.unwrap_or(Stage::Prestart);
    RESOLVED.store(provisional as u8, Ordering::Relaxed);
    watchdog(cfg);
    let state = match (fixed, &hc.error) {
        // a broken config is the first thing a prestart reports
        (Some(Stage::Prestart | Stage::CreateRuntime), Some(_)) => None,
        _ => match state::read_stdin() {
            Ok(s) => {
                let _ = CONTAINER.set(s.id.to_string());
                Some(s)
            }
            Err(e) => return fail(provisional, cfg, &anyhow::Error::from(e)),
        },
    };
    let stage = match (fixed, &state) {
        (Some(s), _) => s,
        (None, Some(st)) => match Stage::of_status(&st.status) {
            Some(s) => s,
            None => {
                log::problem(cfg, &format!("hook auto: state status {:?} is not a stage ctraudit handles; nothing done", st.status));
                return 0;
            }
        },
        (None, None) => provisional,
    };
    RESOLVED.store(stage as u8, Ordering::Relaxed);
    match stage {
        Stage::Prestart | Stage::CreateRuntime => {
            let result = match &state {
                Some(st) => prestart::run(stage, &hc, st),
                None => Err(anyhow::anyhow!(
                    "config: {}",
                    hc.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
                )),
            };
            match result {
                Ok(()) => 0,
                Err(e) => fail(stage, cfg, &e),
            }
        }
        Stage::Poststop => {
            if let Some(st) = &state {
                if let Err(e) = poststop::run(&hc, st) {
                    return fail(stage, cfg, &e);
                }
            }
            0
        }
    }
}

/// A hook that could not do its job: poststop never fails the container;
/// prestart does only under `on_error = "deny"`.
fn fail(stage: Stage, cfg: &Config, e: &anyhow::Error) -> i32 {
    let problem = format!("{e:#}");
    if stage == Stage::Poststop {
        log::problem(cfg, &format!("poststop: {problem}"));
        record_failure(
            cfg,
            stage,
            &problem,
            "not finished: `ctraudit gc` finishes what is left",
        );
        return 0;
    }
    let verdict = match cfg.on_error {
        OnError::Allow => "container runs unaudited (on_error = \"allow\")",
        OnError::Deny => "container start refused (on_error = \"deny\")",
    };
    log::problem(cfg, &format!("{}: {problem}; {verdict}", stage.name()));
    record_failure(cfg, stage, &problem, verdict);
    i32::from(cfg.on_error == OnError::Deny)
}

/// The container the hook is for, once its state is read.
static CONTAINER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A line in `<log>/failures.jsonl` for this hook's container.
pub(crate) fn record_failure(cfg: &Config, stage: Stage, problem: &str, verdict: &str) {
    let id = CONTAINER.get().map(String::as_str);
    failures::record(cfg, id, stage.name(), problem, verdict);
}

/// Ends the hook at `hooks.deadline_ms`, before the runtime's own hook
/// timeout would: a hook the runtime kills fails the container even under
/// `on_error = "allow"`. Whatever was half done is found again by poststop
/// (the meta file is written before the kernel registration).
fn watchdog(cfg: &Config) {
    let ms = cfg.hooks.deadline_ms;
    let cfg = cfg.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        // the stage known by now (`auto` resolves it from the state)
        let stage = match RESOLVED.load(Ordering::Relaxed) {
            s if s == Stage::Poststop as u8 => Stage::Poststop,
            s if s == Stage::CreateRuntime as u8 => Stage::CreateRuntime,
            _ => Stage::Prestart,
        };
        give_up(stage, &cfg, ms);
    });
}

/// The stage the hook runs, for the watchdog (an `auto` hook learns it late).
static RESOLVED: AtomicU8 = AtomicU8::new(Stage::Prestart as u8);

/// Set once prestart has registered the container: a deadline reached
/// after that (the syslog line, the exit) must not say it runs unaudited.
static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// prestart: the kernel audits the container from now on.
pub(crate) fn registered() {
    REGISTERED.store(true, Ordering::SeqCst);
}

/// The exit code and the words of a hook that reached its deadline.
fn deadline_verdict(stage: Stage, on_error: OnError, registered: bool) -> (i32, &'static str) {
    match (stage, on_error) {
        (Stage::Poststop, _) => (0, "container state kept for `ctraudit gc`"),
        (_, _) if registered => (0, "the container was registered before: it is audited"),
        (_, OnError::Allow) => (0, "container runs unaudited (on_error = \"allow\")"),
        (_, OnError::Deny) => (1, "container start refused (on_error = \"deny\")"),
    }
}

fn give_up(stage: Stage, cfg: &Config, ms: u64) -> ! {
    let (code, verdict) = deadline_verdict(stage, cfg.on_error, REGISTERED.load(Ordering::SeqCst));
    let problem = format!("gave up after {ms} ms (hooks.deadline_ms)");
    log::problem(cfg, &format!("{}: {problem}; {verdict}", stage.name()));
    record_failure(cfg, stage, &problem, verdict);
    std::process::exit(code);
}

/// Whether a rewritten file is flushed to its device before it replaces the
/// old one. Summaries and the daemons' configs must survive a crash; the
/// per-container state under /run and a bundle's config.json live no longer
/// than the container (and /run no longer than the boot), so their fsync
/// would only add to every container start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Persist {
    Durable,
    Volatile,
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half.
///
/// Nothing planted in ctraudit's directories can redirect the write: the
/// directory is opened without following a symlink (a per-container
/// directory that is one is refused), the temporary file gets an
/// unpredictable name and is created `O_EXCL|O_NOFOLLOW`, and the rename
/// replaces whatever is at `path` (a symlink there is replaced, its target
/// untouched).
pub fn write_atomic(path: &Path, bytes: &[u8], persist: Persist) -> std::io::Result<()> {
    use nix::fcntl::{openat, renameat, OFlag};
    use nix::sys::stat::Mode;
    use std::io::Write;
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n),
        _ => {
            return Err(std::io::Error::other(format!(
                "{}: not a file path",
                path.display()
            )))
        }
    };
    let dir = own_dir(dir)?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{:016x}", random_u64()));
    let tmp = Path::new(&tmp_name);
    let fd = openat(
        &dir,
        tmp,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o640),
    )?;
    let mut f = std::fs::File::from(fd);
    let result = (|| {
        f.write_all(bytes)?;
        if persist == Persist::Durable {
            f.sync_all()?;
        }
        renameat(&dir, tmp, &dir, Path::new(name)).map_err(std::io::Error::from)
    })();
    if result.is_err() {
        let _ = nix::unistd::unlinkat(&dir, tmp, nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
    result
}

/// One of ctraudit's own directories, opened as itself: a symlink there is
/// refused (`O_NOFOLLOW|O_DIRECTORY`), whoever planted it.
fn own_dir(dir: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use nix::fcntl::{open, OFlag};
    open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| match e {
        nix::Error::ELOOP | nix::Error::ENOTDIR => std::io::Error::other(format!(
            "{}: not a directory of ctraudit's own (a symlink?): refused",
            dir.display()
        )),
        e => std::io::Error::from(e),
    })
}

/// 64 unpredictable bits: std's hasher keys come from the OS's randomness.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// Rewrites a file that belongs to someone else (a bundle's config.json,
/// daemon.json) atomically: through a symlink to its target, keeping its
/// mode and owner, via a temporary file created exclusively (never one
/// already sitting at that name) in the same directory.
pub fn replace_file(path: &Path, bytes: &[u8], persist: Persist) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let old = std::fs::metadata(&target).ok();
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file");
    let tmp = dir.join(format!(".{name}.ctraudit-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp); // a leftover of ours (or a planted link): the name, not its target
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(old.as_ref().map_or(0o644, |m| m.mode() & 0o7777))
            .open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(m) = &old {
            std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()))?;
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        }
        if persist == Persist::Durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads `path` whole, refusing what would hang or flood the reader: a
/// FIFO, a device or a socket (opened without blocking, then checked to be a
/// regular file), and a file of more than `cap` bytes. `follow = false`
/// refuses a symlink too.
pub fn read_regular(path: &Path, cap: u64, follow: bool) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > cap {
        return Err(std::io::Error::other(format!("larger than {cap} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // the file may grow after fstat: never read past the cap
    f.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

/// Creates one of ctraudit's own directories (never a runtime's), mode 0750,
/// and refuses one that is a symlink, or sits in one: it and its parent
/// (the root or the directory of per-container files) must be real
/// directories, so nothing written there lands outside ctraudit's roots.
/// Its errors name the directory.
pub fn make_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let levels = [path.parent().filter(|p| p.parent().is_some()), Some(path)];
    let check = |creating: bool| -> std::io::Result<()> {
        for p in levels.into_iter().flatten() {
            // before creating, a level that is not there yet is fine
            if creating && std::fs::symlink_metadata(p).is_err() {
                continue;
            }
            drop(own_dir(p)?);
        }
        Ok(())
    };
    check(true)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    check(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_and_unknown_is_named() {
        assert_eq!(Stage::parse("prestart"), Ok(Some(Stage::Prestart)));
        assert_eq!(
            Stage::parse("createRuntime"),
            Ok(Some(Stage::CreateRuntime))
        );
        assert_eq!(Stage::parse("poststop"), Ok(Some(Stage::Poststop)));
        assert_eq!(Stage::parse("auto"), Ok(None));
        assert_eq!(
            Stage::parse("poststart").unwrap_err(),
            "hook stage \"poststart\": unknown (expected prestart, createRuntime, poststop or auto)"
        );
        assert_eq!(Stage::of_status("creating"), Some(Stage::Prestart));
        assert_eq!(Stage::of_status("stopped"), Some(Stage::Poststop));
        assert_eq!(Stage::of_status("running"), None);
    }

    #[test]
    fn a_deadline_after_the_registration_says_the_container_is_audited() {
        use OnError::*;
        for policy in [Allow, Deny] {
            assert_eq!(
                deadline_verdict(Stage::Prestart, policy, true),
                (0, "the container was registered before: it is audited")
            );
        }
        assert_eq!(deadline_verdict(Stage::CreateRuntime, Deny, false).0, 1);
        assert_eq!(
            deadline_verdict(Stage::Prestart, Allow, false),
            (0, "container runs unaudited (on_error = \"allow\")")
        );
        assert_eq!(deadline_verdict(Stage::Poststop, Deny, true).0, 0);
    }

    #[test]
    fn replace_file_writes_through_a_symlink_and_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("config.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace_file(&link, b"new", Persist::Durable).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "still a link"
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[test]
    fn atomic_write_never_follows_a_symlink_out_of_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();

        // the file itself a symlink: replaced by a file, its target untouched
        let own = dir.path().join("own");
        std::fs::create_dir(&own).unwrap();
        std::os::unix::fs::symlink(&victim, own.join("summary.json")).unwrap();
        write_atomic(&own.join("summary.json"), b"new", Persist::Durable).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let m = std::fs::symlink_metadata(own.join("summary.json")).unwrap();
        assert!(m.file_type().is_file());

        // its directory a symlink: refused, nothing written through it
        let linked = dir.path().join("linked");
        std::os::unix::fs::symlink(outside.path(), &linked).unwrap();
        let e = write_atomic(&linked.join("summary.json"), b"x", Persist::Durable).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: not a directory of ctraudit's own (a symlink?): refused",
                linked.display()
            )
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
        let e = make_dir(&linked).unwrap_err();
        assert!(e.to_string().ends_with("(a symlink?): refused"), "{e}");
        // below a symlinked root: refused as well
        let e = make_dir(&linked.join("c1")).unwrap_err();
        assert!(e.to_string().ends_with("(a symlink?): refused"), "{e}");
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            1,
            "nothing made through the link"
        );
    }

    #[test]
    fn read_regular_refuses_fifos_devices_symlinks_and_the_oversized() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = |p: &Path, follow| read_regular(p, 8, follow).unwrap_err().to_string();
        assert_eq!(e(&fifo, true), "not a regular file");
        assert_eq!(e(Path::new("/dev/zero"), true), "not a regular file");
        let big = dir.path().join("big");
        std::fs::write(&big, b"123456789").unwrap();
        assert_eq!(e(&big, true), "larger than 8 bytes");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert_eq!(
            e(&link, false),
            "Too many levels of symbolic links (os error 40)"
        );
        std::fs::write(&big, b"12345678").unwrap();
        assert_eq!(read_regular(&link, 8, true).unwrap(), b"12345678");
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        write_atomic(&p, b"one", Persist::Durable).unwrap();
        write_atomic(&p, b"two", Persist::Volatile).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("summary.json")]);
    }
}
