//! The summary built from the meta file and the kernel's record: one
//! function per section, each sorted the way docs/summary.md says.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::json;

use super::{
    Alert, CgroupInfo, Container, Endpoint, Exec, Exit, IoUringOp, Loss, Privileged, Processes,
    Producer, Summary, Syscalls, Times, SCHEMA,
};
use crate::bpf::types::{ct_file_kind as fk, ct_net_flag, ct_net_op, ct_priv_special};
use crate::bpf::{c_bytes, c_str, syscall_name, types, Snapshot};
use crate::meta::Meta;
use crate::sys::clock::rfc3339_of_boot_ns;

pub(super) fn errno_name(e: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(e))
}

fn last_error(failed: u64, errno: i32) -> Option<String> {
    (failed > 0).then(|| errno_name(errno))
}

pub fn file_kinds(mask: u32) -> Vec<&'static str> {
    [
        (fk::CT_FILE_READ, "read"),
        (fk::CT_FILE_WRITE, "write"),
        (fk::CT_FILE_CREATE, "create"),
        (fk::CT_FILE_DELETE, "delete"),
        (fk::CT_FILE_RENAME_FROM, "rename_from"),
        (fk::CT_FILE_RENAME_TO, "rename_to"),
        (fk::CT_FILE_CHMOD, "chmod"),
        (fk::CT_FILE_CHOWN, "chown"),
        (fk::CT_FILE_PATH_ONLY, "path_only"),
        (fk::CT_FILE_BY_FD, "by_fd"),
        (fk::CT_FILE_MKDIR, "mkdir"),
        (fk::CT_FILE_MKNOD, "mknod"),
        (fk::CT_FILE_LINK, "link"),
        (fk::CT_FILE_LINKED, "linked"),
        (fk::CT_FILE_SYMLINK, "symlink"),
        (fk::CT_FILE_TRUNCATE, "truncate"),
        (fk::CT_FILE_SETXATTR, "setxattr"),
        (fk::CT_FILE_REMOVEXATTR, "removexattr"),
        (fk::CT_FILE_TIMES, "times"),
        (fk::CT_FILE_IO_URING, "io_uring"),
    ]
    .into_iter()
    .filter(|(k, _)| mask & k.0 != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The exact bytes in hex, when they are not UTF-8 (text from a container
/// may be any bytes; the summary's strings show them replaced, and this
/// keeps them recoverable).
pub fn hex_unless_utf8(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes)
        .is_err()
        .then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The real path of what ran, when it is not the path it was run by.
fn binary(k: &types::ct_exec_key) -> Option<String> {
    use crate::bpf::types::ct_path_flag as pf;
    if k.binary[0] == 0 {
        return None;
    }
    let b = c_str(&k.binary);
    let b = if k.binary_flags & pf::CT_PATH_CUT.0 != 0 {
        format!("{}{b}", super::files::CUT)
    } else {
        b
    };
    (super::files::normalise(None, &c_str(&k.path)) != b).then_some(b)
}

fn argv_bytes(k: &types::ct_exec_key) -> Vec<u8> {
    let len = (k.argv_len as usize).min(k.argv.len());
    k.argv[..len].iter().map(|&c| c as u8).collect()
}

fn split_argv(k: &types::ct_exec_key) -> Vec<String> {
    let len = (k.argv_len as usize).min(k.argv.len());
    let bytes: Vec<u8> = k.argv[..len].iter().map(|&c| c as u8).collect();
    let mut args: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    // every argument ends in NUL, so a complete argv ends in an empty piece
    if bytes.last() == Some(&0) {
        args.pop();
    }
    args
}

fn endpoint(k: &types::ct_net_key, v: &types::ct_event_val) -> Endpoint {
    let (op, direction) = match ct_net_op(u32::from(k.op)) {
        ct_net_op::CT_NET_CONNECT => ("connect", "outbound"),
        ct_net_op::CT_NET_BIND => ("bind", "local"),
        ct_net_op::CT_NET_LISTEN => ("listen", "local"),
        ct_net_op::CT_NET_ACCEPT => ("accept", "inbound"),
        ct_net_op::CT_NET_SEND => ("send", "outbound"),
        _ => ("unknown", "unknown"),
    };
    let mut address_hex = None;
    let (family, address, port) = match i32::from(k.family) {
        libc::AF_INET => {
            let a = Ipv4Addr::new(k.addr[0], k.addr[1], k.addr[2], k.addr[3]);
            ("ipv4", a.to_string(), Some(k.port))
        }
        libc::AF_INET6 => ("ipv6", Ipv6Addr::from(k.addr).to_string(), Some(k.port)),
        libc::AF_UNIX => {
            let len = (k.unix_len as usize).min(k.unix_path.len());
            let raw: Vec<u8> = k.unix_path[..len].iter().map(|&c| c as u8).collect();
            address_hex = hex_unless_utf8(&raw);
            // abstract sockets start with NUL and are shown as '@name'
            let addr = match raw.split_first() {
                Some((0, rest)) => {
                    format!("@{}", String::from_utf8_lossy(rest).trim_end_matches('\0'))
                }
                _ => c_str(&k.unix_path),
            };
            ("unix", addr, None)
        }
        _ => ("unknown", String::new(), None),
    };
    let proto = match (i32::from(k.family), i32::from(k.sock_type)) {
        (_, 0) => "unknown",
        (libc::AF_UNIX, libc::SOCK_STREAM) => "stream",
        (libc::AF_UNIX, libc::SOCK_DGRAM) => "dgram",
        (libc::AF_UNIX, libc::SOCK_SEQPACKET) => "seqpacket",
        (_, libc::SOCK_STREAM) => "tcp",
        (_, libc::SOCK_DGRAM) => "udp",
        (_, libc::SOCK_RAW) => "raw",
        _ => "other",
    };
    Endpoint {
        op: op.into(),
        direction: direction.into(),
        family: family.into(),
        proto: proto.into(),
        address,
        address_hex,
        port,
        via: (k.flags & ct_net_flag::CT_NET_IO_URING.0 != 0).then(|| "io_uring".to_owned()),
        count: v.count,
        failed: v.failed,
        last_error: last_error(v.failed, v.last_errno),
        first: rfc3339_of_boot_ns(v.first_ns),
        last: rfc3339_of_boot_ns(v.last_ns),
    }
}

/// Names and readable arguments of a privileged event (the meaning of
/// `args` per kind is in ctraudit.bpf.c's decode() and docs/summary.md).
fn privileged(k: &types::ct_priv_key, v: &types::ct_event_val) -> Privileged {
    let detail = c_str(&k.detail);
    let aux = c_str(&k.aux);
    let args_hex: BTreeMap<String, String> = [
        ("detail", hex_unless_utf8(&c_bytes(&k.detail))),
        ("aux", hex_unless_utf8(&c_bytes(&k.aux))),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect();
    let [a0, a1, a2] = k.args;
    let kind = if k.kind == ct_priv_special::CT_PRIV_MEMFD_EXEC.0 {
        "memfd_exec".to_owned()
    } else if k.kind == ct_priv_special::CT_PRIV_CGROUP_MOVE.0 {
        "cgroup_move".to_owned()
    } else if k.kind == ct_priv_special::CT_PRIV_OOM_KILL.0 {
        "oom_kill".to_owned()
    } else {
        syscall_name(k.kind).map_or_else(|| format!("syscall_{}", k.kind), str::to_owned)
    };
    let args = match kind.as_str() {
        "setuid" => json!({ "uid": a0 }),
        "setgid" => json!({ "gid": a0 }),
        "setreuid" => json!({ "ruid": a0 as u32 as i32, "euid": a1 as u32 as i32 }),
        "setregid" => json!({ "rgid": a0 as u32 as i32, "egid": a1 as u32 as i32 }),
        "setresuid" => {
            json!({ "ruid": a0 as u32 as i32, "euid": a1 as u32 as i32, "suid": a2 as u32 as i32 })
        }
        "setresgid" => {
            json!({ "rgid": a0 as u32 as i32, "egid": a1 as u32 as i32, "sgid": a2 as u32 as i32 })
        }
        "capset" => json!({ "effective": format!("{a0:#x}"), "permitted": format!("{a1:#x}") }),
        "ptrace" => json!({
            "request": a0,
            "pid": (a2 != 0).then_some(a2),
            "ns_pid": a1 as u32 as i32,
        }),
        "mount" => json!({ "target": detail, "fstype": aux, "flags": format!("{a0:#x}") }),
        "umount2" => json!({ "target": detail, "flags": format!("{a0:#x}") }),
        "chroot" => json!({ "path": detail }),
        "pivot_root" => json!({ "new_root": detail, "put_old": aux }),
        "init_module" => json!({ "params": detail, "size": a0 }),
        "finit_module" => json!({ "params": detail, "flags": format!("{a0:#x}") }),
        "bpf" => json!({ "cmd": a0 }),
        "unshare" => json!({ "flags": format!("{a0:#x}") }),
        "setns" => json!({ "nstype": format!("{a0:#x}") }),
        "memfd_create" => json!({ "name": detail, "flags": format!("{a0:#x}") }),
        "execveat" => json!({ "path": detail, "flags": format!("{a0:#x}") }),
        "io_uring_setup" => json!({ "entries": a0 }),
        "open_tree" => json!({ "path": detail, "flags": format!("{a0:#x}") }),
        "move_mount" => json!({ "from": aux, "to": detail, "flags": format!("{a0:#x}") }),
        "fsopen" => json!({ "fstype": aux, "flags": format!("{a0:#x}") }),
        "fsmount" => json!({ "flags": format!("{a0:#x}"), "attr_flags": format!("{a1:#x}") }),
        "open_by_handle_at" => json!({ "mount_fd": a0 as u32 as i32, "flags": format!("{a1:#x}") }),
        "clone" | "clone3" => json!({ "namespaces": format!("{a0:#x}") }),
        "memfd_exec" => json!({ "name": detail }),
        "oom_kill" => json!({ "pid": a0, "comm": detail }),
        "cgroup_move" if aux.is_empty() => {
            json!({ "path": detail, "cgroup_id": a0, "hierarchy": a1, "threadgroup": a2 != 0 })
        }
        // clone3 with CLONE_INTO_CGROUP: `path` is the directory's name
        "cgroup_move" => json!({
            "path": detail, "cgroup_id": a0, "hierarchy": a1, "threadgroup": a2 != 0, "via": aux
        }),
        _ => json!({ "args": [a0, a1, a2], "detail": detail }),
    };
    Privileged {
        kind,
        args,
        args_hex,
        count: v.count,
        failed: v.failed,
        last_error: last_error(v.failed, v.last_errno),
        first: rfc3339_of_boot_ns(v.first_ns),
        last: rfc3339_of_boot_ns(v.last_ns),
        first_ns: v.first_ns,
    }
}

/// Count by syscall name of the non-zero entries; numbers the table lacks
/// are named `syscall_<nr>` and collected in `unnamed`.
fn named_counts(per_nr: &[u64], unnamed: &mut Vec<u32>) -> BTreeMap<String, u64> {
    per_nr
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(nr, &n)| {
            let nr = nr as u32;
            let name = syscall_name(nr).map(str::to_owned).unwrap_or_else(|| {
                unnamed.push(nr);
                format!("syscall_{nr}")
            });
            (name, n)
        })
        .collect()
}

/// What redacted exec entries are merged by: path, its hex, argv,
/// truncation, errno.
type MergeKey = (String, Option<String>, Vec<String>, bool, i32);

/// The exec entries that succeeded (`failed` false) or failed, secrets
/// redacted. The kernel keeps one entry per (path, argv, errno); those
/// whose argv differ only in a secret are merged here (counts added, the
/// earliest first and its process, the latest last), so that no secret
/// shows, not even as the number of distinct ones.
fn executed(snap: &Snapshot, redact: &crate::config::Redact, failed: bool) -> Vec<Exec> {
    let mut executed = Vec::with_capacity(snap.execs.len());
    let mut merged: BTreeMap<MergeKey, Exec> = BTreeMap::new();
    for (k, v) in snap.execs.iter().filter(|(k, _)| (k.err != 0) == failed) {
        let (argv, redacted) = crate::config::redact::args(redact, &split_argv(k));
        let e = Exec {
            path: c_str(&k.path),
            path_hex: hex_unless_utf8(&c_bytes(&k.path)),
            binary: binary(k),
            // the raw bytes would show the secret again
            argv_hex: (!redacted)
                .then(|| hex_unless_utf8(&argv_bytes(k)))
                .flatten(),
            argv,
            argv_truncated: k.argv_truncated != 0,
            argv_redacted: redacted,
            count: v.count,
            uid: v.uid,
            pid: v.pid,
            ppid: v.ppid,
            error: (k.err != 0).then(|| errno_name(k.err)),
            first: rfc3339_of_boot_ns(v.first_ns),
            last: rfc3339_of_boot_ns(v.last_ns),
            first_ns: v.first_ns,
        };
        if !redacted {
            // the kernel's key, unique already
            executed.push(e);
            continue;
        }
        let key = (
            e.path.clone(),
            e.path_hex.clone(),
            e.argv.clone(),
            e.argv_truncated,
            k.err,
        );
        match merged.entry(key) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(e);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let m = slot.get_mut();
                m.count = m.count.saturating_add(e.count);
                if e.last > m.last {
                    m.last = e.last;
                }
                if e.first_ns < m.first_ns {
                    (m.first, m.first_ns) = (e.first, e.first_ns);
                    (m.uid, m.pid, m.ppid) = (e.uid, e.pid, e.ppid);
                }
            }
        }
    }
    executed.extend(merged.into_values());
    executed.sort_by(|a, b| (a.first_ns, &a.path, &a.argv).cmp(&(b.first_ns, &b.path, &b.argv)));
    executed
}

/// Builds the summary. `stopped_ns` is CLOCK_BOOTTIME when the finaliser
/// (`finalised_by`) found the container stopped.
pub fn build(
    meta: &Meta,
    snap: &Snapshot,
    stopped_ns: u64,
    finalised_by: &str,
    redact: &crate::config::Redact,
    mut notes: Vec<String>,
) -> Summary {
    let st = &snap.stats;
    let privileged = privileged_events(snap);
    let syscalls = syscalls(snap, &mut notes);
    let (loss, lost_counts) = loss(snap);
    let alerts = alerts(&privileged, &loss, lost_counts);
    notes.extend(meta.notes.iter().cloned());
    Summary {
        schema: SCHEMA.to_owned(),
        state: super::STOPPED.to_owned(),
        container: container(meta),
        ctraudit: Producer {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            abi: meta.abi,
            finalised_by: finalised_by.to_owned(),
        },
        times: times(meta, snap, stopped_ns, finalised_by),
        exit: exit(meta, st, &mut notes),
        processes: Processes {
            execs: st.execs,
            forks: st.forks,
            threads: st.threads,
            exits: st.exits,
            oom_kills: st.oom_kills,
            executed: executed(snap, redact, false),
            failed_execs: executed(snap, redact, true),
        },
        files: super::files::files(snap),
        network: network(snap),
        io_uring: io_uring(snap),
        privileged,
        syscalls,
        alerts,
        loss,
        notes,
    }
}

/// How the container's init ended: the exit the kernel saw of the process
/// whose exec was the container's first, when that is the init prestart
/// was told of (else a note says why it is not known).
fn exit(meta: &Meta, st: &types::ct_stats, notes: &mut Vec<String>) -> Option<Exit> {
    if st.init_exited == 0 {
        return None;
    }
    if i64::from(st.init_tgid) != i64::from(meta.pid) {
        notes.push(format!(
            "the container's first exec was by pid {}, not by its init (pid {}): how the container ended is not known",
            st.init_tgid, meta.pid
        ));
        return None;
    }
    // task->exit_code: the status in bits 8..15, or the signal in 0..6
    let code = st.init_exit_code;
    let signal = code & 0x7f;
    Some(Exit {
        code: (signal == 0).then_some((code >> 8) & 0xff),
        signal: (signal != 0).then_some(signal),
        oom_killed: st.init_oom != 0,
    })
}

/// Who the container is, from the meta file prestart wrote.
fn container(meta: &Meta) -> Container {
    Container {
        id: meta.id.clone(),
        name: meta.name.clone(),
        image: meta.image.clone(),
        runtime: meta.runtime.clone(),
        pod: meta.pod.clone(),
        namespace: meta.namespace.clone(),
        hostname: meta.hostname.clone(),
        args: meta.args.clone(),
        bundle: meta.bundle.display().to_string(),
        cgroup: CgroupInfo {
            id: meta.cgroup.id,
            path: meta.cgroup.path.clone(),
        },
        annotations: meta.annotations.clone(),
        // numbered by the finaliser, with the lock held (hook/runs.rs)
        run: None,
    }
}

fn times(meta: &Meta, snap: &Snapshot, stopped_ns: u64, finalised_by: &str) -> Times {
    let st = &snap.stats;
    let start_ns = if st.first_exec_ns > 0 {
        st.first_exec_ns
    } else {
        meta.registered_boot_ns
    };
    let end_ns = if st.last_event_ns >= start_ns && st.last_event_ns > 0 {
        st.last_event_ns
    } else {
        stopped_ns
    };
    // A container stops when its last process exits, and the kernel timed
    // that exit: after the workload's exits, the last exec or exit is the
    // last exit. Only a record read whole is trusted for it (a detached
    // exit program leaves the last exec standing). Else all that is known
    // is that it had stopped when its finaliser ran, which for gc may be
    // hours later.
    let (stop_ns, stopped_source) = if st.exits > 0
        && st.last_event_ns > 0
        && st.last_event_ns <= stopped_ns
        && snap.problems.is_empty()
    {
        (st.last_event_ns, "last_exit")
    } else {
        (stopped_ns, finalised_by)
    };
    Times {
        registered: meta.registered_at.clone(),
        first_exec: (st.first_exec_ns > 0).then(|| rfc3339_of_boot_ns(st.first_exec_ns)),
        last_event: (st.last_event_ns > 0).then(|| rfc3339_of_boot_ns(st.last_event_ns)),
        stopped: rfc3339_of_boot_ns(stop_ns),
        stopped_source: stopped_source.to_owned(),
        duration_seconds: (end_ns.saturating_sub(start_ns) as f64 / 1e6).round() / 1e3,
        checkpoint: None,
    }
}

/// The endpoints, sorted by op, address and port.
fn network(snap: &Snapshot) -> Vec<Endpoint> {
    let mut network: Vec<Endpoint> = snap.net.iter().map(|(k, v)| endpoint(k, v)).collect();
    network.sort_by(|a, b| (&a.op, &a.address, a.port).cmp(&(&b.op, &b.address, b.port)));
    network
}

/// The name of io_uring opcode `op` (enum io_uring_op, Linux 6.18).
pub fn io_uring_op_name(op: u64) -> String {
    const NAMES: [&str; 63] = [
        "NOP",
        "READV",
        "WRITEV",
        "FSYNC",
        "READ_FIXED",
        "WRITE_FIXED",
        "POLL_ADD",
        "POLL_REMOVE",
        "SYNC_FILE_RANGE",
        "SENDMSG",
        "RECVMSG",
        "TIMEOUT",
        "TIMEOUT_REMOVE",
        "ACCEPT",
        "ASYNC_CANCEL",
        "LINK_TIMEOUT",
        "CONNECT",
        "FALLOCATE",
        "OPENAT",
        "CLOSE",
        "FILES_UPDATE",
        "STATX",
        "READ",
        "WRITE",
        "FADVISE",
        "MADVISE",
        "SEND",
        "RECV",
        "OPENAT2",
        "EPOLL_CTL",
        "SPLICE",
        "PROVIDE_BUFFERS",
        "REMOVE_BUFFERS",
        "TEE",
        "SHUTDOWN",
        "RENAMEAT",
        "UNLINKAT",
        "MKDIRAT",
        "SYMLINKAT",
        "LINKAT",
        "MSG_RING",
        "FSETXATTR",
        "SETXATTR",
        "FGETXATTR",
        "GETXATTR",
        "SOCKET",
        "URING_CMD",
        "SEND_ZC",
        "SENDMSG_ZC",
        "READ_MULTISHOT",
        "WAITID",
        "FUTEX_WAIT",
        "FUTEX_WAKE",
        "FUTEX_WAITV",
        "FIXED_FD_INSTALL",
        "FTRUNCATE",
        "BIND",
        "LISTEN",
        "RECV_ZC",
        "EPOLL_WAIT",
        "READV_FIXED",
        "WRITEV_FIXED",
        "PIPE",
    ];
    usize::try_from(op)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("IORING_OP_{op}"), |n| format!("IORING_OP_{n}"))
}

fn is_io_uring(k: &types::ct_priv_key) -> bool {
    k.kind == ct_priv_special::CT_PRIV_IO_URING.0
}

/// The io_uring submissions per opcode, sorted by opcode name.
fn io_uring(snap: &Snapshot) -> Vec<IoUringOp> {
    let mut ops: Vec<IoUringOp> = snap
        .privileged
        .iter()
        .filter(|(k, _)| is_io_uring(k))
        .map(|(k, v)| IoUringOp {
            op: io_uring_op_name(k.args[0]),
            count: v.count,
            first: rfc3339_of_boot_ns(v.first_ns),
            last: rfc3339_of_boot_ns(v.last_ns),
        })
        .collect();
    ops.sort_by(|a, b| a.op.cmp(&b.op));
    ops
}

/// The privileged events, in order of their first call.
fn privileged_events(snap: &Snapshot) -> Vec<Privileged> {
    let mut privileged: Vec<Privileged> = snap
        .privileged
        .iter()
        .filter(|(k, _)| !is_io_uring(k))
        .map(|(k, v)| privileged(k, v))
        .collect();
    privileged.sort_by(|a, b| (a.first_ns, &a.kind).cmp(&(b.first_ns, &b.kind)));
    privileged
}

/// The syscall counts by name; a note for numbers the table does not name.
fn syscalls(snap: &Snapshot, notes: &mut Vec<String>) -> Syscalls {
    let st = &snap.stats;
    let mut unnamed = Vec::new();
    let counts = named_counts(&snap.syscalls, &mut unnamed);
    let denied = named_counts(&snap.denied, &mut unnamed);
    unnamed.sort_unstable();
    unnamed.dedup();
    if !unnamed.is_empty() {
        notes.push(format!(
            "syscall numbers missing from the syscall table: {unnamed:?} (counted as syscall_<nr>)"
        ));
    }
    let total = counts.values().sum::<u64>() + st.syscalls_unknown + st.syscalls_compat;
    Syscalls {
        total,
        distinct: counts.len(),
        counts,
        denied,
        unnamed,
        faulted: st.faults,
    }
}

/// What was lost, and the sum of its counters (non-zero: the activity was
/// not all recorded in detail).
fn loss(snap: &Snapshot) -> (Loss, u64) {
    let st = &snap.stats;
    let counted = st.execs_overflow
        + st.files_overflow
        + st.net_overflow
        + st.priv_overflow
        + st.syscalls_unknown
        + st.syscalls_compat
        + st.tasks_lost
        + st.read_errors
        + st.map_errors
        + st.enters_missed
        + st.paths_cut
        + snap.without_maps
        + snap.program_misses;
    let loss = Loss {
        complete: counted == 0 && snap.kernel_data() == "complete",
        kernel_data: snap.kernel_data().to_owned(),
        problems: snap.problems.clone(),
        execs_overflow: st.execs_overflow,
        files_overflow: st.files_overflow,
        network_overflow: st.net_overflow,
        privileged_overflow: st.priv_overflow,
        syscalls_unknown: st.syscalls_unknown,
        syscalls_compat: st.syscalls_compat,
        tasks_lost: st.tasks_lost,
        read_errors: st.read_errors,
        map_errors: st.map_errors,
        events_without_maps: snap.without_maps,
        enters_missed: st.enters_missed,
        program_misses: snap.program_misses,
        paths_cut: st.paths_cut,
        stream_dropped: st.stream_dropped,
        newer: Default::default(),
    };
    (loss, counted)
}

/// One alert per privileged event, then the audit's own: a kernel record
/// not read whole, activity not recorded in detail (`counted` > 0).
fn alerts(privileged: &[Privileged], loss: &Loss, counted: u64) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = privileged
        .iter()
        .map(|p| Alert {
            rule: format!("privileged.{}", p.kind),
            severity: if p.kind == "memfd_exec" || p.failed < p.count {
                "high"
            } else {
                "medium"
            }
            .to_owned(),
            message: format!(
                "{} {} time(s), {} failed{}",
                p.kind,
                p.count,
                p.failed,
                p.last_error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
        })
        .collect();
    if !loss.problems.is_empty() {
        alerts.push(Alert {
            rule: "audit.kernel_data".into(),
            severity: "high".into(),
            message: format!(
                "the kernel's record of this container is {}: {}",
                loss.kernel_data,
                loss.problems.join("; ")
            ),
        });
    }
    if counted > 0 {
        let causes: Vec<String> = loss
            .counters()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n} ({})", remedy(name)))
            .collect();
        alerts.push(Alert {
            rule: "audit.incomplete".into(),
            severity: "medium".into(),
            message: format!(
                "part of the activity was not recorded in detail: {}",
                causes.join("; ")
            ),
        });
    }
    alerts
}

/// What a loss counter means for the operator: what would help, or why
/// nothing in the configuration can.
fn remedy(counter: &str) -> &'static str {
    match counter {
        "execs_overflow" => "the set was full: raise limits.execs in config.toml",
        "files_overflow" => "the set was full: raise limits.files in config.toml",
        "network_overflow" => "the set was full: raise limits.network in config.toml",
        "privileged_overflow" => "the set was full: raise limits.privileged in config.toml",
        "syscalls_unknown" => "numbers past ctraudit's syscall table, from a newer kernel: counted in total, not named",
        "syscalls_compat" => "32-bit syscalls, counted in total but neither named nor decoded: no limit changes that",
        "tasks_lost" => "tasks that got no audit state, for want of kernel memory: they and their children went unaudited",
        "read_errors" => "the detail of an event could not be read from the calling process",
        "map_errors" => "an event could not be stored: see the kernel log and `loss`",
        "events_without_maps" => "the container's maps were gone (pins removed or bpffs unmounted while it ran)",
        "enters_missed" => "syscalls seen only at their exit, counted as run",
        "paths_cut" => "paths longer than the 255 bytes kept, of files not known otherwise: their start is in `files`, marked `cut`",
        "program_misses" => "runs of ctraudit's programs the kernel skipped (recursion_misses, host-wide)",
        _ => "see `loss` in docs/summary.md",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::types::*;
    use crate::meta::CgroupMeta;
    use crate::summary::syslog_line;
    use serde_json::Value;

    fn chars<const N: usize>(s: &[u8]) -> [i8; N] {
        let mut a = [0i8; N];
        for (i, b) in s.iter().enumerate() {
            a[i] = *b as i8;
        }
        a
    }

    fn meta() -> Meta {
        Meta {
            id: "c1".into(),
            runtime: "containerd".into(),
            name: Some("app".into()),
            image: Some("nginx:1.25".into()),
            pod: Some("pod-a".into()),
            namespace: Some("ns-a".into()),
            abi: 1,
            stage: "prestart".into(),
            pid: 42,
            cgroup: CgroupMeta {
                id: 99,
                path: "/c1".into(),
                level: 1,
            },
            mnt_ns: 4026532000,
            bundle: "/b".into(),
            hostname: Some("h".into()),
            args: vec!["sh".into()],
            annotations: [
                (
                    "io.kubernetes.cri.sandbox-name".to_owned(),
                    "pod-a".to_owned(),
                ),
                (
                    "io.kubernetes.cri.sandbox-namespace".to_owned(),
                    "ns-a".to_owned(),
                ),
            ]
            .into(),
            registered_at: "2026-01-01T00:00:00.000Z".into(),
            registered_boot_ns: 1_000_000_000,
            notes: vec![],
            programs: vec![],
        }
    }

    fn val(count: u64, failed: u64, errno: i32) -> ct_event_val {
        ct_event_val {
            count,
            failed,
            first_ns: 2_000_000_000,
            last_ns: 2_000_000_000,
            last_errno: errno,
            _pad: 0,
        }
    }

    fn snapshot() -> Snapshot {
        let mut syscalls = vec![0u64; crate::bpf::SYSCALL_MAX as usize];
        syscalls[257] = 5; // openat
        syscalls[42] = 1; // connect
        syscalls[500] = 2; // not in the table
        let mut denied = vec![0u64; crate::bpf::SYSCALL_MAX as usize];
        denied[165] = 1; // mount, refused by seccomp
        Snapshot {
            denied,
            stats: ct_stats {
                execs: 2,
                forks: 1,
                exits: 2,
                first_exec_ns: 1_500_000_000,
                last_event_ns: 4_000_000_000,
                files_overflow: 3,
                syscalls_compat: 4,
                ..Default::default()
            },
            syscalls,
            execs: vec![
                (
                    ct_exec_key {
                        path: chars(b"/bin/ls"),
                        argv: chars(b"/bin/ls\0-l\0/etc\0"),
                        argv_len: 16,
                        argv_truncated: 0,
                        ..Default::default()
                    },
                    ct_exec_val {
                        count: 1,
                        first_ns: 3_000_000_000,
                        last_ns: 3_000_000_000,
                        uid: 0,
                        pid: 7,
                        ppid: 6,
                        _pad: 0,
                    },
                ),
                (
                    ct_exec_key {
                        path: chars(b"/bin/sh"),
                        argv: chars(b"sh\0-c\0"),
                        argv_len: 6,
                        argv_truncated: 0,
                        ..Default::default()
                    },
                    ct_exec_val {
                        count: 1,
                        first_ns: 1_500_000_000,
                        last_ns: 1_500_000_000,
                        uid: 0,
                        pid: 6,
                        ppid: 1,
                        _pad: 0,
                    },
                ),
            ],
            files: vec![(
                ct_file_key {
                    path: chars(b"data/x"),
                    ..Default::default()
                },
                ct_file_val {
                    count: 3,
                    failed: 1,
                    first_ns: 2_000_000_000,
                    last_ns: 2_000_000_000,
                    kinds: (ct_file_kind::CT_FILE_WRITE.0 | ct_file_kind::CT_FILE_CREATE.0),
                    failed_kinds: ct_file_kind::CT_FILE_DELETE.0,
                    last_errno: 2,
                    ..Default::default()
                },
            )],
            net: vec![
                (
                    ct_net_key {
                        family: 2,
                        op: 1,
                        port: 8080,
                        sock_type: 1,
                        addr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        unix_path: [0; 108],
                        unix_len: 0,
                        flags: 0,
                    },
                    val(2, 1, 111),
                ),
                (
                    ct_net_key {
                        family: 1,
                        op: 2,
                        port: 0,
                        sock_type: 1,
                        addr: [0; 16],
                        unix_path: chars(b"\0abs"),
                        unix_len: 4,
                        flags: 0,
                    },
                    val(1, 0, 0),
                ),
            ],
            privileged: vec![(
                ct_priv_key {
                    kind: 165,
                    _pad: 0,
                    args: [0x8000, 0, 0],
                    aux: chars(b"tmpfs"),
                    detail: chars(b"/mnt"),
                },
                val(1, 1, 1),
            )],
            maps_read: 6,
            ..Default::default()
        }
    }

    #[test]
    fn summary_encodes_every_section() {
        let s = build(
            &meta(),
            &snapshot(),
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["schema"], "ctraudit.summary/v1");
        assert_eq!(v["container"]["pod"], "pod-a");
        assert_eq!(v["container"]["namespace"], "ns-a");
        assert_eq!(v["container"]["runtime"], "containerd");
        assert_eq!(
            (
                v["container"]["name"].as_str(),
                v["container"]["image"].as_str()
            ),
            (Some("app"), Some("nginx:1.25"))
        );
        assert_eq!(v["container"]["cgroup"], json!({"id": 99, "path": "/c1"}));
        // first exec 1.5 s, last event 4.0 s
        assert_eq!(v["times"]["duration_seconds"], 2.5);

        // in order of first exec; argv split on NUL
        let ex = &v["processes"]["executed"];
        assert_eq!(ex[0]["path"], "/bin/sh");
        assert_eq!(ex[0]["argv"], json!(["sh", "-c"]));
        assert_eq!(ex[1]["argv"], json!(["/bin/ls", "-l", "/etc"]));
        assert_eq!(
            (ex[1]["pid"].as_u64(), ex[1]["ppid"].as_u64()),
            (Some(7), Some(6))
        );

        let f = &v["files"][0];
        assert_eq!(f["path"], "data/x");
        assert_eq!(f["relative"], true);
        assert_eq!(f["access"], json!(["write", "create"]));
        assert_eq!(f["failed_access"], json!(["delete"]));
        assert_eq!(f["last_error"], "ENOENT");

        // sorted by op: bind (unix, abstract) before connect
        assert_eq!(v["network"][0]["address"], "@abs");
        assert_eq!(v["network"][0]["family"], "unix");
        assert_eq!(v["network"][0]["port"], Value::Null);
        let c = &v["network"][1];
        assert_eq!(
            (
                &c["op"],
                &c["direction"],
                &c["proto"],
                &c["address"],
                &c["port"],
                &c["last_error"]
            ),
            (
                &json!("connect"),
                &json!("outbound"),
                &json!("tcp"),
                &json!("10.0.0.1"),
                &json!(8080),
                &json!("ECONNREFUSED")
            )
        );

        let p = &v["privileged"][0];
        assert_eq!(p["kind"], "mount");
        assert_eq!(
            p["args"],
            json!({"target": "/mnt", "fstype": "tmpfs", "flags": "0x8000"})
        );
        assert_eq!(p["last_error"], "EPERM");

        assert_eq!(
            v["syscalls"]["counts"],
            json!({"connect": 1, "openat": 5, "syscall_500": 2})
        );
        assert_eq!(v["syscalls"]["unnamed"], json!([500]));
        assert_eq!(v["syscalls"]["denied"], json!({"mount": 1}));
        assert_eq!(
            v["syscalls"]["total"],
            1 + 5 + 2 + 4,
            "compat syscalls count in the total"
        );
        assert_eq!(v["syscalls"]["distinct"], 3);

        assert_eq!(v["loss"]["complete"], false);
        assert_eq!(v["loss"]["files_overflow"], 3);
        assert_eq!(v["loss"]["syscalls_compat"], 4);
        let rules: Vec<&str> = v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["privileged.mount", "audit.incomplete"]);
        assert_eq!(
            v["notes"],
            json!([
                "syscall numbers missing from the syscall table: [500] (counted as syscall_<nr>)"
            ])
        );
        assert_eq!(
            syslog_line(&s),
            "container c1 stopped: 2 execs, 1 files, 2 endpoints, 1 privileged events, \
             12 syscalls (3 distinct), 2 alerts, INCOMPLETE (see loss)"
        );
    }

    fn loss_of(snap: &Snapshot) -> (Value, Vec<String>) {
        let s = build(
            &meta(),
            snap,
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        );
        let v = serde_json::to_value(&s).unwrap();
        let rules = v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["rule"].as_str().unwrap().to_owned())
            .filter(|r| r.starts_with("audit."))
            .collect();
        (v["loss"].clone(), rules)
    }

    #[test]
    fn a_quiet_complete_record_is_complete() {
        let snap = Snapshot {
            maps_read: 6,
            syscalls: vec![0; 512],
            denied: vec![0; 512],
            ..Default::default()
        };
        let (loss, rules) = loss_of(&snap);
        assert_eq!(
            (&loss["complete"], &loss["kernel_data"]),
            (&json!(true), &json!("complete"))
        );
        assert_eq!(rules, Vec::<String>::new());
    }

    #[test]
    fn every_kernel_failure_makes_the_record_incomplete() {
        let base = || Snapshot {
            maps_read: 6,
            ..Default::default()
        };
        let cases: Vec<(&str, Snapshot)> = vec![
            ("read_errors", {
                let mut s = base();
                s.stats.read_errors = 1;
                s
            }),
            ("map_errors", {
                let mut s = base();
                s.stats.map_errors = 1;
                s
            }),
            ("enters_missed", {
                let mut s = base();
                s.stats.enters_missed = 1;
                s
            }),
            ("tasks_lost", {
                let mut s = base();
                s.stats.tasks_lost = 1;
                s
            }),
            ("events_without_maps", {
                let mut s = base();
                s.without_maps = 1;
                s
            }),
            ("program_misses", {
                let mut s = base();
                s.program_misses = 1;
                s
            }),
        ];
        for (field, snap) in cases {
            let (loss, rules) = loss_of(&snap);
            assert_eq!(
                (&loss["complete"], &loss[field]),
                (&json!(false), &json!(1)),
                "{field}"
            );
            assert_eq!(rules, ["audit.incomplete"], "{field}");
        }
    }

    #[test]
    fn a_record_not_read_whole_says_what_is_missing() {
        let snap = Snapshot {
            maps_read: 5,
            problems: vec!["open /b/files: No such file or directory (os error 2)".into()],
            ..Default::default()
        };
        let s = build(
            &meta(),
            &snap,
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            (&v["loss"]["complete"], &v["loss"]["kernel_data"]),
            (&json!(false), &json!("partial"))
        );
        assert_eq!(
            v["alerts"],
            json!([{
                "rule": "audit.kernel_data",
                "severity": "high",
                "message": "the kernel's record of this container is partial: open /b/files: No such file or directory (os error 2)"
            }])
        );
        assert_eq!(v["notes"], json!([]));
        let none = Snapshot {
            problems: vec!["no bpffs at /b".into()],
            ..Default::default()
        };
        let (loss, rules) = loss_of(&none);
        assert_eq!(
            (&loss["complete"], &loss["kernel_data"]),
            (&json!(false), &json!("missing"))
        );
        assert_eq!(rules, ["audit.kernel_data"]);
    }

    #[test]
    fn calls_failed_with_efault_are_not_a_loss() {
        let mut snap = Snapshot {
            maps_read: 6,
            ..Default::default()
        };
        snap.stats.faults = 3;
        let s = build(
            &meta(),
            &snap,
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["syscalls"]["faulted"], 3);
        assert_eq!(v["loss"]["complete"], true);
    }

    #[test]
    fn secrets_in_argv_are_redacted_and_entries_that_differ_only_in_them_merged() {
        let mut snap = snapshot();
        let exec = |argv: &[u8], first_ns: u64, pid: u32| {
            (
                ct_exec_key {
                    path: chars(b"/bin/mysql"),
                    argv: chars(argv),
                    argv_len: argv.len() as u32,
                    argv_truncated: 0,
                    ..Default::default()
                },
                ct_exec_val {
                    count: 2,
                    first_ns,
                    last_ns: first_ns + 1_000_000,
                    uid: 0,
                    pid,
                    ppid: 1,
                    _pad: 0,
                },
            )
        };
        snap.execs = vec![
            exec(b"mysql\0--password=hunter2\0", 4_000_000_000, 11),
            exec(b"mysql\0--password=\xffsecret\0", 2_000_000_000, 10),
            exec(b"mysql\0--user=a\0", 3_000_000_000, 12),
        ];
        let v = serde_json::to_value(build(
            &meta(),
            &snap,
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        ))
        .unwrap();
        let ex = v["processes"]["executed"].as_array().unwrap();
        assert_eq!(ex.len(), 2, "{ex:?}");
        assert_eq!(
            (
                &ex[0]["argv"],
                &ex[0]["argv_redacted"],
                &ex[0]["argv_hex"],
                &ex[0]["count"],
                &ex[0]["pid"],
                &ex[0]["first"],
                &ex[0]["last"]
            ),
            (
                &json!(["mysql", "--password=<redacted>"]),
                &json!(true),
                &Value::Null,
                &json!(4),
                &json!(10),
                &json!(rfc3339_of_boot_ns(2_000_000_000)),
                &json!(rfc3339_of_boot_ns(4_001_000_000))
            )
        );
        assert_eq!(
            (&ex[1]["argv"], &ex[1]["argv_redacted"], &ex[1]["count"]),
            (&json!(["mysql", "--user=a"]), &Value::Null, &json!(2))
        );
        let text = v.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("736563726574"),
            "{text}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_stay_recoverable_in_hex() {
        let mut snap = snapshot();
        snap.files[0].0.path = chars(b"/tmp/\xff\x1b[2J");
        snap.execs[0].0.path = chars(b"/bin/\xc3");
        snap.execs[0].0.argv = chars(b"a\0\xfe\0");
        snap.execs[0].0.argv_len = 4;
        snap.net[1].0.unix_path = chars(b"/s\xff");
        snap.net[1].0.unix_len = 3;
        snap.privileged[0].0.detail = chars(b"/mn\xe9");
        let v = serde_json::to_value(build(
            &meta(),
            &snap,
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        ))
        .unwrap();
        let f = &v["files"][0];
        assert_eq!(
            (&f["path"], &f["path_hex"]),
            (
                &json!("/tmp/\u{fffd}\u{1b}[2J"),
                &json!("2f746d702fff1b5b324a")
            )
        );
        let e = v["processes"]["executed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path_hex"].is_string())
            .unwrap();
        assert_eq!(
            (&e["path_hex"], &e["argv"], &e["argv_hex"]),
            (
                &json!("2f62696e2fc3"),
                &json!(["a", "\u{fffd}"]),
                &json!("6100fe00")
            )
        );
        assert_eq!(v["network"][0]["address_hex"], "2f73ff");
        assert_eq!(
            v["privileged"][0]["args_hex"],
            json!({"detail": "2f6d6ee9"})
        );
        // text that is UTF-8 has no hex beside it
        let v = serde_json::to_value(build(
            &meta(),
            &snapshot(),
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        ))
        .unwrap();
        for key in ["path_hex", "argv_hex"] {
            assert!(v["processes"]["executed"][0].get(key).is_none(), "{key}");
        }
        assert!(v["files"][0].get("path_hex").is_none());
        assert!(v["privileged"][0].get("args_hex").is_none());
    }

    #[test]
    fn the_exit_of_the_init_only_and_how_it_ended() {
        let exit_of = |tgid: u32, code: i32, oom: u32| {
            let mut snap = snapshot();
            snap.stats.init_tgid = tgid;
            snap.stats.init_exited = 1;
            snap.stats.init_exit_code = code;
            snap.stats.init_oom = oom;
            let s = build(
                &meta(),
                &snap,
                5_000_000_000,
                "poststop",
                &Default::default(),
                vec![],
            );
            let v = serde_json::to_value(&s).unwrap();
            (v["exit"].clone(), v["notes"].clone())
        };
        assert_eq!(
            exit_of(42, 0, 0).0,
            json!({"code": 0, "signal": null, "oom_killed": false})
        );
        assert_eq!(
            exit_of(42, 9, 1).0,
            json!({"code": null, "signal": 9, "oom_killed": true})
        );
        // SIGSEGV with a core dump (0x80)
        assert_eq!(
            exit_of(42, 11 | 0x80, 0).0,
            json!({"code": null, "signal": 11, "oom_killed": false})
        );
        let (exit, notes) = exit_of(7, 0, 0);
        assert_eq!(exit, Value::Null);
        assert_eq!(
            notes,
            json!([
                "syscall numbers missing from the syscall table: [500] (counted as syscall_<nr>)",
                "the container's first exec was by pid 7, not by its init (pid 42): how the container ended is not known"
            ])
        );
        // not seen at all: null, and nothing to say
        let s = build(
            &meta(),
            &snapshot(),
            5_000_000_000,
            "poststop",
            &Default::default(),
            vec![],
        );
        assert_eq!(s.exit, None);
    }

    #[test]
    fn argv_keeps_a_trailing_empty_argument_and_truncation() {
        let k = ct_exec_key {
            path: chars(b"/x"),
            argv: chars(b"a\0\0"),
            argv_len: 3,
            argv_truncated: 0,
            ..Default::default()
        };
        assert_eq!(split_argv(&k), ["a", ""]);
        let k = ct_exec_key {
            argv: chars(b"abc\0de"),
            argv_len: 6,
            argv_truncated: 1,
            ..k
        };
        assert_eq!(split_argv(&k), ["abc", "de"]);
    }

    #[test]
    fn file_kinds_are_named_in_a_fixed_order() {
        assert_eq!(file_kinds(0), Vec::<&str>::new());
        assert_eq!(file_kinds(0x3ff).len(), 10);
        assert_eq!(
            file_kinds(ct_file_kind::CT_FILE_READ.0 | ct_file_kind::CT_FILE_CHMOD.0),
            ["read", "chmod"]
        );
    }
    /// summary.json as written, with its clock-dependent text (wall-clock
    /// times, the version) fixed.
    fn pinned_json(mut s: Summary) -> String {
        s.ctraudit.version = "V".into();
        s.times.stopped = "T".into();
        s.times.registered = "R".into();
        s.times.first_exec = s.times.first_exec.map(|_| "F".into());
        s.times.last_event = s.times.last_event.map(|_| "L".into());
        for e in &mut s.processes.executed {
            (e.first, e.last) = ("a".into(), "b".into());
        }
        for e in &mut s.processes.failed_execs {
            (e.first, e.last) = ("a".into(), "b".into());
        }
        for e in &mut s.files {
            (e.first, e.last) = ("a".into(), "b".into());
        }
        for e in &mut s.network {
            (e.first, e.last) = ("a".into(), "b".into());
        }
        for e in &mut s.privileged {
            (e.first, e.last) = ("a".into(), "b".into());
        }
        let mut json = serde_json::to_vec_pretty(&s).unwrap();
        json.push(b'\n');
        String::from_utf8(json).unwrap()
    }

    /// summary.json is an on-disk format: the typed model writes the very
    /// bytes the untyped one did (golden.json was written by
    /// `hook/summary.rs` before the move), and reads them back unchanged.
    #[test]
    fn the_file_is_byte_for_byte_the_format_and_reads_back() {
        let mut snap = snapshot();
        snap.files[0].0.path = chars(b"/tmp/\xff\x1b[2J");
        snap.execs[0].0.argv = chars(b"mysql\0--password=hunter2\0");
        snap.execs[0].0.argv_len = 25;
        snap.execs.push((
            ct_exec_key {
                path: chars(b"/bin/nope"),
                argv: chars(b"nope\0-x\0"),
                argv_len: 8,
                argv_truncated: 0,
                err: libc::ENOENT,
                ..Default::default()
            },
            ct_exec_val {
                count: 2,
                first_ns: 3_500_000_000,
                last_ns: 3_600_000_000,
                uid: 0,
                pid: 7,
                ppid: 6,
                _pad: 0,
            },
        ));
        // the init (meta pid 42) exited with status 3
        (
            snap.stats.init_tgid,
            snap.stats.init_exited,
            snap.stats.init_exit_code,
        ) = (42, 1, 3 << 8);
        let redact = crate::config::Config::default().redact;
        let s = build(
            &meta(),
            &snap,
            5_000_000_000,
            "poststop",
            &redact,
            vec!["n".into()],
        );
        let mut s = s;
        // what the finaliser gives it (hook/runs.rs)
        s.container.run = Some(2);
        let golden = include_str!("golden.json");
        assert_eq!(pinned_json(s), golden);
        let back: Summary = serde_json::from_str(golden).unwrap();
        assert_eq!(pinned_json(back), golden);
    }
}
