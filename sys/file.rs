//! Files that belong to someone else (a bundle's config.json, Docker's
//! daemon.json): read with a bound, replaced without writing through them.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::fcntl::{openat, renameat, OFlag};

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// What a file is when it is not a regular one ("a FIFO", "a directory"),
/// or None for a regular file.
pub fn not_regular(m: &Metadata) -> Option<&'static str> {
    let t = m.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// All of an open file, or None when it holds more than `max` bytes
/// (checked on what is read, not only what fstat says: files in /proc say
/// 0, and a file may grow meanwhile).
pub fn read_bounded(mut file: &File, max: u64) -> io::Result<Option<Vec<u8>>> {
    if file.metadata()?.len() > max {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    (&mut file).take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn size(bytes: u64) -> String {
    if bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// The contents of `path` and what fstat(2) said of it, when it is a
/// regular file of at most `max` bytes.
///
/// Symlinks are followed, as the file's own reader (runc, dockerd) follows
/// them. The open never waits (O_NONBLOCK: a FIFO without a writer would
/// hold it for ever) and nothing is read before fstat says the file is
/// regular, so `/dev/zero` or a FIFO is refused without a byte read. The
/// read stops at `max + 1` bytes, so a file that grows meanwhile is
/// refused too.
pub fn read_regular(path: &Path, max: u64) -> io::Result<(Vec<u8>, Metadata)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = not_regular(&meta) {
        return Err(refused(format!("{kind}, not a regular file: not read")));
    }
    match read_bounded(&file, max)? {
        Some(bytes) => Ok((bytes, meta)),
        None => Err(refused(format!(
            "larger than {}, the most read of it",
            size(max)
        ))),
    }
}

/// Replaces the entry `name` of `dir` with a new regular file holding
/// `bytes`, with the mode and owner of `like` (what [`read_regular`] said
/// of the old one).
///
/// A symlink at `name` is replaced, never written through, so nothing
/// outside `dir` changes ([`replace_at`]). It is not flushed: the files
/// this is for live no longer than their container.
pub fn replace_in_dir(dir: &Path, name: &str, bytes: &[u8], like: &Metadata) -> io::Result<()> {
    let fd = open_dir(dir, OFlag::empty())?;
    replace_at(
        &fd,
        name.as_ref(),
        bytes,
        Mode::Like(like),
        Persist::Volatile,
    )
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

/// The mode and owner a replacing file gets.
enum Mode<'a> {
    /// Those of the file it replaces.
    Like(&'a Metadata),
    /// This mode (less the umask), owned by ctraudit.
    New(u32),
}

/// The one atomic writer: `bytes` to the entry `name` of the open directory
/// `dir`, through a temporary file and a rename, so readers see the old file
/// or the new one, never half.
///
/// The temporary file gets an unpredictable name and is created
/// `O_EXCL|O_NOFOLLOW` in `dir`, so never through anything already there
/// (`.ctraudit` at its end says whose it is, in a directory of someone
/// else's). The rename replaces whatever is at `name`: a symlink there is
/// replaced, its target untouched. On failure the temporary file is removed.
fn replace_at(
    dir: &OwnedFd,
    name: &OsStr,
    bytes: &[u8],
    mode: Mode,
    persist: Persist,
) -> io::Result<()> {
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{:016x}.ctraudit", random_u64()));
    let tmp = Path::new(&tmp_name);
    let create = match mode {
        Mode::Like(_) => 0o600,
        Mode::New(m) => m,
    };
    let fd = openat(
        dir,
        tmp,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::from_bits_truncate(create),
    )?;
    let mut f = File::from(fd);
    let result = (|| {
        f.write_all(bytes)?;
        if let Mode::Like(like) = mode {
            let mine = f.metadata()?;
            if (mine.uid(), mine.gid()) != (like.uid(), like.gid()) {
                std::os::unix::fs::fchown(&f, Some(like.uid()), Some(like.gid()))?;
            }
            // after the chown, which clears set-id bits
            f.set_permissions(std::fs::Permissions::from_mode(like.mode() & 0o7777))?;
        }
        if persist == Persist::Durable {
            f.sync_all()?;
        }
        renameat(dir, tmp, dir, Path::new(name)).map_err(io::Error::from)
    })();
    if result.is_err() {
        let _ = nix::unistd::unlinkat(dir, tmp, nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
    result
}

/// `path` split into its directory and its name.
fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => Ok((d, n)),
        _ => Err(io::Error::other(format!(
            "{}: not a file path",
            path.display()
        ))),
    }
}

/// Writes `bytes` to `path` in one of ctraudit's own directories
/// ([`replace_at`]), mode 0640.
///
/// Nothing planted in ctraudit's directories can redirect the write: the
/// directory is opened without following a symlink (a per-container
/// directory that is one is refused), and a symlink at `path` is replaced,
/// its target untouched.
pub fn write_atomic(path: &Path, bytes: &[u8], persist: Persist) -> io::Result<()> {
    let (dir, name) = split(path)?;
    replace_at(&own_dir(dir)?, name, bytes, Mode::New(0o640), persist)
}

fn open_dir(dir: &Path, extra: OFlag) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | extra,
        nix::sys::stat::Mode::empty(),
    )
}

/// One of ctraudit's own directories, opened as itself: a symlink there is
/// refused (`O_NOFOLLOW|O_DIRECTORY`), whoever planted it.
fn own_dir(dir: &Path) -> io::Result<OwnedFd> {
    open_dir(dir, OFlag::O_NOFOLLOW).map_err(|e| match e {
        nix::Error::ELOOP | nix::Error::ENOTDIR => io::Error::other(format!(
            "{}: not a directory of ctraudit's own (a symlink?): refused",
            dir.display()
        )),
        e => io::Error::from(e),
    })
}

/// 64 unpredictable bits: std's hasher keys come from the OS's randomness.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// Rewrites a file that belongs to someone else (daemon.json, containerd's
/// config.toml, a hooks.d file) atomically ([`replace_at`]): through a
/// symlink to its target (the operator's configuration management may keep
/// the real file elsewhere), keeping its mode and owner (a new file: 0644).
pub fn replace_file(path: &Path, bytes: &[u8], persist: Persist) -> io::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let old = std::fs::metadata(&target).ok();
    let (dir, name) = split(&target)?;
    let mode = match &old {
        Some(m) => Mode::Like(m),
        None => Mode::New(0o644),
    };
    replace_at(&open_dir(dir, OFlag::empty())?, name, bytes, mode, persist)
}

/// Creates one of ctraudit's own directories (never a runtime's), mode 0750,
/// and refuses one that is a symlink, or sits in one: it and its parent
/// (the root or the directory of per-container files) must be real
/// directories, so nothing written there lands outside ctraudit's roots.
/// Its errors name the directory.
pub fn make_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let levels = [path.parent().filter(|p| p.parent().is_some()), Some(path)];
    let check = |creating: bool| -> io::Result<()> {
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
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    check(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn err(r: io::Result<(Vec<u8>, Metadata)>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn only_regular_files_are_read_and_only_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // returns at once: nobody writes to the FIFO
        assert_eq!(
            err(read_regular(&fifo, MIB)),
            "a FIFO, not a regular file: not read"
        );
        assert_eq!(
            err(read_regular(Path::new("/dev/zero"), MIB)),
            "a character device, not a regular file: not read"
        );
        assert_eq!(
            err(read_regular(dir.path(), MIB)),
            "a directory, not a regular file: not read"
        );
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(MIB + 1).unwrap();
        assert_eq!(
            err(read_regular(&big, MIB)),
            "larger than 1 MiB, the most read of it"
        );
        f.set_len(MIB).unwrap();
        assert_eq!(read_regular(&big, MIB).unwrap().0.len() as u64, MIB);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert_eq!(read_regular(&link, MIB).unwrap().0.len() as u64, MIB);
        assert_eq!(
            read_regular(&dir.path().join("none"), MIB)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_link_is_replaced_by_a_file_and_its_target_is_left_alone() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("spec.json");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
        let bundle = tempfile::tempdir().unwrap();
        let link = bundle.path().join("config.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        let (_, meta) = read_regular(&link, MIB).unwrap();
        replace_in_dir(bundle.path(), "config.json", b"new", &meta).unwrap();

        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        let m = std::fs::symlink_metadata(&link).unwrap();
        assert!(m.file_type().is_file(), "a regular file now");
        assert_eq!(m.mode() & 0o7777, 0o444);
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        let names = |d: &Path| {
            let mut v: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(bundle.path()), ["config.json"], "no temp file left");
        assert_eq!(names(outside.path()), ["spec.json"]);
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
