//! Reading one summary: a regular file, never more than the cap, and below
//! the log root never through a symbolic link.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use super::{ReportError, Result};
use crate::config::{Layout, Limits};
use crate::id::ContainerId;

/// The least a summary may be before `report` refuses it.
pub const MIN_CAP: u64 = 64 << 20;

// What one entry of each bounded set adds to a summary at most, pretty
// printed, with every string at its kernel maximum and made of characters
// JSON writes as `\u0001` (six bytes each): `tests::` measures each (5.3,
// 2.2, 1.0 and 1.5 KiB) and holds these half as much again above. An exec
// is its path (256 bytes) and 256 bytes of argv, the worst being 255 empty
// arguments of a line each, and for a failed exec its errno name.
const EXEC_BYTES: u64 = 9 << 10;
const FILE_BYTES: u64 = 4 << 10;
const NETWORK_BYTES: u64 = 2 << 10;
/// A privileged entry and the alert it raises.
const PRIVILEGED_BYTES: u64 = 4 << 10;
/// Everything else: the syscall tables, notes, and the identity, whose
/// annotations come from a state JSON of at most 1 MiB (hook/state.rs).
const FIXED_BYTES: u64 = 16 << 20;

/// The most `report` reads of one summary: comfortably above the largest
/// summary `limits` allow (7.2 MiB with the default limits, measured
/// by `tests::the_largest_summary_the_default_limits_allow_fits_four_times`),
/// and never below [`MIN_CAP`], so the default limits give 64 MiB. A
/// bigger file is refused before it is read.
pub fn max_summary_bytes(limits: &Limits) -> u64 {
    let sets = u64::from(limits.execs) * EXEC_BYTES
        + u64::from(limits.files) * FILE_BYTES
        + u64::from(limits.network) * NETWORK_BYTES
        + u64::from(limits.privileged) * PRIVILEGED_BYTES;
    (FIXED_BYTES + sets).max(MIN_CAP)
}

/// A summary the operator named by path. Links are followed (the operator
/// chose the path), but only a regular file is opened: a device, FIFO or
/// socket never is, so `/dev/zero` or a FIFO with no writer cannot hang
/// or exhaust memory.
pub fn named(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let io = |error| ReportError::Read {
        path: path.to_owned(),
        error,
    };
    regular(path, &std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        // a file swapped for a FIFO since the check must not block the open
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    bounded(file, path, cap)
}

/// A container's summary below the log root (`Layout::summary_file`),
/// opened one component at a time from the log root, none of them through
/// a link, so a link planted below the log root never leads out of it.
pub fn logged(layout: &Layout, id: &ContainerId, cap: u64) -> Result<Vec<u8>> {
    below(layout, &layout.summary_file(id), cap)
}

/// A file below the log root (a run's summary, `<log>/<id>/runs/<n>/`),
/// read as [`logged`] reads the latest.
pub fn below(layout: &Layout, path: &Path, cap: u64) -> Result<Vec<u8>> {
    let log = layout.log_root();
    let mut dir = File::open(log).map_err(|error| ReportError::Read {
        path: log.to_owned(),
        error,
    })?;
    let mut at = log.to_path_buf();
    let parts: Vec<&std::ffi::OsStr> = path
        .strip_prefix(log)
        .map(|rel| rel.iter().collect())
        .unwrap_or_default();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let last = i + 1 == parts.len();
        let flags = if last {
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY
        } else {
            OFlag::O_RDONLY | OFlag::O_DIRECTORY
        };
        let opened = openat(
            &dir,
            *part,
            flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        );
        dir = match opened {
            Ok(fd) => File::from(fd),
            // O_NOFOLLOW: ELOOP for a link; with O_DIRECTORY, ENOTDIR
            Err(errno) if errno == nix::errno::Errno::ELOOP || is_link(&at) => {
                return Err(ReportError::Link { path: at });
            }
            Err(errno) => {
                return Err(ReportError::Read {
                    path: at,
                    error: errno.into(),
                })
            }
        };
    }
    bounded(dir, path, cap)
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    match crate::sys::file::not_regular(meta) {
        None => Ok(()),
        Some(kind) => Err(ReportError::NotRegular {
            path: path.to_owned(),
            kind,
        }),
    }
}

/// The whole of an open file, checked again to be regular (it may have been
/// replaced since its path was looked at), and refused past `cap` bytes.
fn bounded(file: File, path: &Path, cap: u64) -> Result<Vec<u8>> {
    let io = |error| ReportError::Read {
        path: path.to_owned(),
        error,
    };
    regular(path, &file.metadata().map_err(io)?)?;
    crate::sys::file::read_bounded(&file, cap)
        .map_err(io)?
        .ok_or_else(|| ReportError::TooLarge {
            path: path.to_owned(),
            cap,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::types::*;
    use crate::bpf::Snapshot;
    use crate::meta::{CgroupMeta, Meta};

    fn chars<const N: usize>(b: u8) -> [i8; N] {
        [b as i8; N]
    }

    fn meta() -> Meta {
        Meta {
            id: "c".repeat(64),
            runtime: "containerd".into(),
            name: Some("n".repeat(128)),
            image: Some("i".repeat(256)),
            pod: Some("p".repeat(64)),
            namespace: Some("s".repeat(64)),
            abi: 2,
            stage: "prestart".into(),
            pid: 42,
            cgroup: CgroupMeta {
                id: u64::MAX,
                path: "g".repeat(256),
                level: 3,
            },
            mnt_ns: u32::MAX,
            bundle: "b".repeat(256).into(),
            hostname: Some("h".repeat(64)),
            args: vec!["a".repeat(64); 16],
            annotations: Default::default(),
            registered_at: "2026-01-01T00:00:00.000Z".into(),
            registered_boot_ns: 1,
            notes: vec!["note".repeat(64); 4],
            programs: vec![],
        }
    }

    fn val() -> ct_event_val {
        ct_event_val {
            count: u64::MAX,
            failed: u64::MAX - 1,
            first_ns: u64::MAX / 4,
            last_ns: u64::MAX / 4,
            // the longest errno name
            last_errno: libc::ENOTRECOVERABLE,
            _pad: 0,
        }
    }

    fn exec() -> (ct_exec_key, ct_exec_val) {
        (
            ct_exec_key {
                path: chars(1),
                argv: chars(0),
                argv_len: 256,
                argv_truncated: 1,
                // a failed exec: its entry has an errno name more
                err: libc::ENOTRECOVERABLE,
                ..Default::default()
            },
            ct_exec_val {
                count: u64::MAX,
                first_ns: u64::MAX / 4,
                last_ns: u64::MAX / 4,
                uid: u32::MAX,
                pid: u32::MAX,
                ppid: u32::MAX,
                _pad: 0,
            },
        )
    }

    fn file() -> (ct_file_key, ct_file_val) {
        let v = val();
        (
            ct_file_key {
                path: chars(1),
                flags: u32::MAX,
                _pad: 0,
            },
            ct_file_val {
                count: v.count,
                failed: v.failed,
                first_ns: v.first_ns,
                last_ns: v.last_ns,
                kinds: u32::MAX,
                failed_kinds: u32::MAX,
                last_errno: v.last_errno,
                node_mode: u32::MAX,
                node_dev: u32::MAX,
                flags: u32::MAX,
                typed: chars(1),
                target: chars(1),
            },
        )
    }

    fn endpoint() -> (ct_net_key, ct_event_val) {
        let key = ct_net_key {
            family: 1,
            op: 1,
            port: u16::MAX,
            sock_type: 5,
            addr: [0xff; 16],
            unix_path: chars(1),
            unix_len: 108,
            flags: 0,
        };
        (key, val())
    }

    fn privileged() -> (ct_priv_key, ct_event_val) {
        let key = ct_priv_key {
            kind: 429, // move_mount: the detail, the aux string and flags
            _pad: 0,
            args: [u64::MAX; 3],
            aux: chars(1),
            detail: chars(1),
        };
        (key, val())
    }

    fn empty() -> Snapshot {
        Snapshot {
            maps_read: 6,
            syscalls: vec![1 << 50; crate::bpf::SYSCALL_MAX as usize],
            denied: vec![1 << 50; crate::bpf::SYSCALL_MAX as usize],
            ..Default::default()
        }
    }

    /// summary.json as poststop writes it.
    fn size(meta: &Meta, snap: &Snapshot) -> u64 {
        let s = crate::summary::build(
            meta,
            snap,
            u64::MAX / 4,
            "poststop",
            &Default::default(),
            vec![],
        );
        serde_json::to_vec_pretty(&s).unwrap().len() as u64 + 1
    }

    #[test]
    fn each_set_entry_adds_less_than_its_share_of_the_cap() {
        let m = meta();
        let base = size(&m, &empty());
        let per = |snap: Snapshot| (size(&m, &snap) - base) / 10;
        let shares = [
            (
                "execs",
                per(Snapshot {
                    execs: vec![exec(); 10],
                    ..empty()
                }),
                EXEC_BYTES,
            ),
            (
                "files",
                per(Snapshot {
                    files: vec![file(); 10],
                    ..empty()
                }),
                FILE_BYTES,
            ),
            (
                "network",
                per(Snapshot {
                    net: vec![endpoint(); 10],
                    ..empty()
                }),
                NETWORK_BYTES,
            ),
            (
                "privileged",
                per(Snapshot {
                    privileged: vec![privileged(); 10],
                    ..empty()
                }),
                PRIVILEGED_BYTES,
            ),
        ];
        for (set, bytes, share) in shares {
            assert!(bytes * 3 / 2 <= share, "{set}: {bytes} bytes an entry");
        }
    }

    #[test]
    fn the_largest_summary_the_default_limits_allow_fits_four_times() {
        let limits = Limits::default();
        let mut m = meta();
        // annotations: as many as a state JSON of 1 MiB holds
        m.annotations = (0..(1 << 20) / 16)
            .map(|i| (format!("k{i:07}"), "\u{1}".into()))
            .collect();
        let snap = Snapshot {
            execs: vec![exec(); limits.execs as usize],
            // distinct files: entries that name one file are merged
            files: (0..limits.files)
                .map(|i| {
                    let (mut k, v) = file();
                    for (n, b) in k.path[..4].iter_mut().enumerate() {
                        *b = (1 + (i >> (5 * n)) % 31) as i8;
                    }
                    (k, v)
                })
                .collect(),
            net: vec![endpoint(); limits.network as usize],
            privileged: vec![privileged(); limits.privileged as usize],
            ..empty()
        };
        let largest = size(&m, &snap);
        let cap = max_summary_bytes(&limits);
        assert_eq!(cap, 64 << 20);
        assert!(largest * 4 < cap, "{largest} bytes");
        assert!(
            largest > 7 << 20,
            "{largest} bytes: is this the worst case?"
        );
    }

    #[test]
    fn raised_limits_raise_the_cap_with_them() {
        let max = Limits {
            max_containers: 65_536,
            execs: 1 << 20,
            files: 1 << 20,
            network: 1 << 20,
            privileged: 1 << 20,
            kernel_memory_mib: 2048,
        };
        assert_eq!(max_summary_bytes(&max), (16 << 20) + (1 << 20) * (19 << 10));
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let err = named(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/dev/zero: a character device, not a regular file: a summary is a regular file"
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
        assert!(matches!(
            named(&fifo, 1 << 20),
            Err(ReportError::NotRegular { kind: "a FIFO", .. })
        ));
        assert!(matches!(
            named(dir.path(), 1 << 20),
            Err(ReportError::NotRegular {
                kind: "a directory",
                ..
            })
        ));
    }

    #[test]
    fn a_file_past_the_cap_is_refused_even_when_it_says_it_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, [b' '; 101]).unwrap();
        assert_eq!(named(&p, 101).unwrap().len(), 101);
        assert_eq!(
            named(&p, 100).unwrap_err().to_string(),
            format!(
                "{}: larger than 100 bytes, the most a summary can be (docs/summary.md, \"How report reads\")",
                p.display()
            )
        );
        // /proc files have size 0 and any length
        let environ = Path::new("/proc/self/environ");
        if std::fs::read(environ).unwrap().len() > 1 {
            assert!(matches!(
                named(environ, 1),
                Err(ReportError::TooLarge { cap: 1, .. })
            ));
        }
    }

    #[test]
    fn no_link_below_the_log_root_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(log.join("real")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("summary.json"), "{}").unwrap();
        std::fs::write(log.join("real/summary.json"), "{}").unwrap();
        std::os::unix::fs::symlink(&outside, log.join("dirlink")).unwrap();
        std::fs::create_dir(log.join("filelink")).unwrap();
        std::os::unix::fs::symlink(
            outside.join("summary.json"),
            log.join("filelink/summary.json"),
        )
        .unwrap();
        let id = |s| ContainerId::parse(s).unwrap();
        let layout = Layout::new(dir.path(), dir.path(), &log);
        let logged = |id| logged(&layout, &id, 100);
        assert_eq!(logged(id("real")).unwrap(), b"{}");
        for (name, link) in [
            ("dirlink", "dirlink"),
            ("filelink", "filelink/summary.json"),
        ] {
            assert_eq!(
                logged(id(name)).unwrap_err().to_string(),
                format!(
                    "{}: a symbolic link below the log root: not followed",
                    log.join(link).display()
                )
            );
        }
        assert_eq!(
            logged(id("none")).unwrap_err().to_string(),
            format!(
                "{}: No such file or directory (os error 2)",
                log.join("none").display()
            )
        );
    }
}
