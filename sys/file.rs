//! Files that belong to someone else (a bundle's config.json, Docker's
//! daemon.json): read with a bound, replaced without writing through them.

use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn what(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
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
    }
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
    if !meta.is_file() {
        return Err(refused(format!(
            "{}, not a regular file: not read",
            what(&meta)
        )));
    }
    let too_big = || refused(format!("larger than {}, the most read of it", size(max)));
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok((bytes, meta))
}

/// Replaces the entry `name` of `dir` with a new regular file holding
/// `bytes`, with the mode and owner of `like` (what [`read_regular`] said
/// of the old one).
///
/// The new file is created in `dir` under an unpredictable name (O_EXCL,
/// so never through anything already there) and renamed over `name`: a
/// symlink at `name` is replaced, never written through, so nothing
/// outside `dir` changes, and a reader sees the old file or the new one.
/// It is not flushed: the files this is for live no longer than their
/// container.
pub fn replace_in_dir(dir: &Path, name: &str, bytes: &[u8], like: &Metadata) -> io::Result<()> {
    let prefix = format!(".{name}.");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".ctraudit")
        .rand_bytes(12)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    let f: &File = tmp.as_file();
    let mine = f.metadata()?;
    if (mine.uid(), mine.gid()) != (like.uid(), like.gid()) {
        std::os::unix::fs::fchown(f, Some(like.uid()), Some(like.gid()))?;
    }
    // after the chown, which clears set-id bits
    f.set_permissions(std::fs::Permissions::from_mode(like.mode() & 0o7777))?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
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
}
