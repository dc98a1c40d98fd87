//! Seccomp profiles from what a container did: the OCI/Docker format
//! (`defaultAction`, `architectures`, `syscalls`), allowing exactly the
//! syscalls the workload used plus what the runtime itself needs after it
//! installs the filter, and namespaces only as the audit saw them made.
//! See docs/seccomp.md for how those sets were found.

mod merge;
mod profile;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use merge::{merge, within};
pub use oci_spec::runtime::Arch;
pub use profile::{arch_name, Action, ArchMap, Arg, Filter, Kernel, Op, Profile, Rule, EPERM};

use crate::summary::{Summary, SCHEMA};

/// What the runtime calls between installing the filter and exec'ing the
/// workload, which the audit (starting at that exec) does not see.
///
/// Measured (docs/seccomp.md): runc 1.1 under a profile whose
/// `defaultAction` is `SCMP_ACT_LOG`, the kernel's audit messages read with
/// printk rate limiting off. Then what runc needs but the probe profile
/// already allowed (the exec fifo's write, execve), and what Go's runtime
/// may call on runc's other threads at any moment (scheduler, signals,
/// memory), so the profile does not depend on timing. Go's threads also
/// call clone, which every profile allows without namespace flags
/// ([`CLONE_NS_MASK`]) rather than by name.
pub const RUNTIME_SYSCALLS: &[&str] = &[
    // measured: runc 1.1 init after InitSeccomp
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "newfstatat",
    "openat",
    "prctl",
    "rt_sigreturn",
    "setgid",
    "setgroups",
    "setuid",
    // runc, allowed by the probe profile: the exec fifo, the exec itself
    "execve",
    "read",
    "write",
    // Go runtime on any thread (and clone, by its own rule)
    "epoll_pwait",
    "exit",
    "exit_group",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "rt_sigaction",
    "rt_sigprocmask",
    "sched_yield",
    "sigaltstack",
    "tgkill",
];

/// Syscalls that only wait, sleep or yield. Whether a workload makes them
/// depends on timing, not on what it does: a shell's `wait` calls
/// rt_sigsuspend only when its child has not exited yet, and refused, the
/// shell retries forever. They grant no access, so every profile allows
/// them, whether or not the audited run happened to need them.
pub const TIMING_SYSCALLS: &[&str] = &[
    "clock_nanosleep",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "futex",
    "nanosleep",
    "pause",
    "poll",
    "ppoll",
    "pselect6",
    "restart_syscall",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "sched_yield",
    "select",
    "wait4",
    "waitid",
];

/// Syscalls that send a signal. Whether a workload sends one depends on
/// timing too: a Python `multiprocessing.Pool` kills, at shutdown, only the
/// workers that have not exited yet (3 of 6 identical runs). The
/// container's pid namespace limits them to its own processes, and
/// Docker's default profile allows them all, so every profile does.
pub const SIGNAL_SYSCALLS: &[&str] = &[
    "kill",
    "pidfd_send_signal",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "tgkill",
    "tkill",
];

/// Docker's default profile's architectures for an x86_64 host.
pub const ARCHITECTURES: &[Arch] = &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32];

/// The namespace flags of clone's first argument, as Docker's default
/// profile masks them: CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET}.
/// CLONE_NEWTIME (0x80) is clone3's and unshare's only: in clone's
/// argument that bit belongs to the exit signal.
pub const CLONE_NS_MASK: u64 = 0x7e02_0000;

/// The namespace flags of unshare (and of clone3's `flags`): the clone
/// ones and CLONE_NEWTIME.
pub const UNSHARE_NS_MASK: u64 = CLONE_NS_MASK | 0x80;

/// ENOSYS: what a refused clone3 returns, so the C library falls back to
/// clone, whose flags a filter can read (Docker's default does the same).
pub const ENOSYS: u32 = 38;

/// How ctraudit's own caveats in a profile's comments begin.
pub const CAVEAT_PREFIX: &str = "ctraudit: ";

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("{what}: neither a ctraudit summary nor a seccomp profile")]
    NotAProfile { what: String },
    #[error("{what}: field `{field}`: {message}")]
    Field {
        what: String,
        field: String,
        message: String,
    },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("{name}: {a} and {b} give it different rules that are not all allowing: a merge cannot keep both")]
    Conflict { name: String, a: String, b: String },
    #[error("{0}")]
    Refused(String),
}

/// Reads a summary.json document (docs/summary.md) into the typed model,
/// a malformed field named by its path (`syscalls.counts.openat`).
pub fn read_summary(what: &str, v: &Value) -> Result<Summary, SeccompError> {
    serde_path_to_error::deserialize(v).map_err(|e| profile::field_error(what, e))
}

/// The namespace flag sets that `kind` (clone, clone3, unshare) was seen
/// to create successfully, masked with `mask`, from the field `field` of
/// its privileged entries; notes for sets every call of which failed.
fn namespaces(
    what: &str,
    s: &Summary,
    kind: &str,
    field: &str,
    mask: u64,
    notes: &mut Vec<String>,
) -> Result<BTreeSet<u64>, SeccompError> {
    let mut made = BTreeSet::new();
    let mut failed = BTreeMap::new();
    for (i, p) in s.privileged.iter().enumerate() {
        if p.kind != kind {
            continue;
        }
        let text = p.args[field].as_str().unwrap_or_default();
        let flags = text
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| SeccompError::Field {
                what: what.into(),
                field: format!("privileged[{i}].args.{field}"),
                message: format!("`{text}` is not a hex number such as \"0x10000000\""),
            })?;
        if p.count > p.failed {
            made.insert(flags & mask);
        } else {
            failed.insert(flags & mask, p.last_error.clone().unwrap_or_default());
        }
    }
    for (flags, err) in failed {
        if !made.contains(&flags) {
            notes.push(format!(
                "{kind} with namespaces {flags:#x}: every call failed in the audit ({err}), so the profile refuses it"
            ));
        }
    }
    Ok(made)
}

/// The profile a summary earned: the syscalls it used (by name) plus the
/// runtime's, the waits and the signals; clone and unshare only with the
/// namespace flags the audit saw them use, clone3 (whose flags no filter
/// can read) refused with ENOSYS unless the audit saw it make namespaces.
/// Numbers the syscall table does not name cannot be allowed by name;
/// they are returned as notes, and so is an incomplete audit, which is
/// also written into the profile as a comment.
pub fn from_summary(what: &str, s: &Summary) -> Result<(Profile, Vec<String>), SeccompError> {
    let mut names: BTreeSet<String> = RUNTIME_SYSCALLS
        .iter()
        .chain(TIMING_SYSCALLS)
        .chain(SIGNAL_SYSCALLS)
        .map(|s| s.to_string())
        .collect();
    let mut notes = Vec::new();
    for name in s.syscalls.counts.keys() {
        if name.starts_with("syscall_") {
            notes.push(format!(
                "{what}: {name} has no name in the syscall table and is not in the profile"
            ));
        } else {
            names.insert(name.clone());
        }
    }
    for (count, why) in [
        (s.loss.syscalls_compat, "32-bit syscalls"),
        (s.loss.syscalls_unknown, "syscall numbers above 511"),
    ] {
        if count > 0 {
            notes.push(format!(
                "{what}: the workload made {why}: the audit has them counted, not named, so the profile cannot list them"
            ));
        }
    }

    if let Some(n) = io_uring_note(what, s) {
        notes.push(n);
    }

    // namespaces: only the ones the audit saw made
    for n in ["clone", "clone3", "unshare"] {
        names.remove(n);
    }
    let mut ns_notes = Vec::new();
    let clone = namespaces(what, s, "clone", "namespaces", CLONE_NS_MASK, &mut ns_notes)?;
    let clone3 = namespaces(
        what,
        s,
        "clone3",
        "namespaces",
        UNSHARE_NS_MASK,
        &mut ns_notes,
    )?;
    let unshare = namespaces(what, s, "unshare", "flags", UNSHARE_NS_MASK, &mut ns_notes)?;
    notes.extend(ns_notes.into_iter().map(|n| format!("{what}: {n}")));
    let masked = |name: &str, mask: u64, flags: u64| {
        let mut r = Rule::new(vec![name.into()], Action::Allow, None);
        r.args = vec![Arg {
            index: 0,
            value: mask,
            value_two: flags,
            op: Op::MaskedEq,
        }];
        r
    };
    let mut rules = Vec::new();
    // the runtime's threads and every fork: clone without namespace flags
    for flags in std::iter::once(0).chain(clone.into_iter().filter(|f| *f != 0)) {
        rules.push(masked("clone", CLONE_NS_MASK, flags));
    }
    for flags in unshare {
        rules.push(masked("unshare", UNSHARE_NS_MASK, flags));
    }
    if clone3.is_empty() {
        if s.syscalls.counts.contains_key("clone3") {
            notes.push(format!(
                "{what}: clone3 is refused with ENOSYS, as Docker's default does: no filter can read its flags, and the C library falls back to clone"
            ));
        }
        rules.push(Rule::new(
            vec!["clone3".into()],
            Action::Errno,
            Some(ENOSYS),
        ));
    } else {
        let made: Vec<String> = clone3.iter().map(|f| format!("{f:#x}")).collect();
        notes.push(format!(
            "{what}: clone3 is allowed with any flags: the audit saw it make namespaces ({}), and no filter can read its flags",
            made.join(", ")
        ));
        names.insert("clone3".into());
    }

    // an audit that missed something may have missed a syscall
    let mut lost: Vec<String> = Vec::new();
    if s.loss.kernel_data != "complete" {
        lost.push(format!("kernel_data {}", s.loss.kernel_data));
    }
    for (field, n) in s.loss.counters() {
        if n > 0 {
            lost.push(format!("{field} {n}"));
        }
    }
    // counters of a newer ctraudit, after this one's, as the file has them
    for (field, v) in &s.loss.newer {
        match v.as_u64() {
            Some(0) => {}
            Some(n) => lost.push(format!("{field} {n}")),
            None => {
                return Err(SeccompError::Field {
                    what: what.into(),
                    field: format!("loss.{field}"),
                    message: format!("`{v}` is not a count"),
                })
            }
        }
    }
    if !s.loss.problems.is_empty() && lost.is_empty() {
        lost.push(format!("problems: {}", s.loss.problems.join("; ")));
    }
    if !s.loss.complete && lost.is_empty() {
        lost.push("loss.complete false".into());
    }
    let mut allow = Rule::new(names.into_iter().collect(), Action::Allow, None);
    if !lost.is_empty() {
        let lost = lost.join(", ");
        notes.push(format!(
            "{what}: the audit is incomplete ({lost}): the profile may be too tight"
        ));
        allow.comment = Some(format!(
            "{CAVEAT_PREFIX}the audit of {what} is incomplete ({lost}): this profile may be too tight"
        ));
    }
    rules.insert(0, allow);
    let profile = Profile {
        default_action: Action::Errno,
        default_errno_ret: Some(EPERM),
        architectures: ARCHITECTURES.to_vec(),
        arch_map: Vec::new(),
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
        syscalls: rules,
    };
    Ok((profile, notes))
}

/// io_uring's own calls. What a ring does (opens, connects, sends) runs
/// in the kernel without a syscall, so no seccomp filter sees it: a
/// profile that allows these allows every io_uring operation.
pub const IO_URING_SYSCALLS: &[&str] = &["io_uring_setup", "io_uring_enter", "io_uring_register"];

/// The warning for a workload that used io_uring, with what it submitted.
fn io_uring_note(what: &str, s: &Summary) -> Option<String> {
    let calls: u64 = IO_URING_SYSCALLS
        .iter()
        .filter_map(|n| s.syscalls.counts.get(*n))
        .sum();
    if calls == 0 && s.io_uring.is_empty() {
        return None;
    }
    let submitted: u64 = s.io_uring.iter().map(|o| o.count).sum();
    let ops: Vec<String> = s
        .io_uring
        .iter()
        .map(|o| format!("{} {}", o.op.trim_start_matches("IORING_OP_"), o.count))
        .collect();
    let ops = if ops.is_empty() {
        String::new()
    } else {
        format!(": {}", ops.join(", "))
    };
    Some(format!(
        "{what}: the workload used io_uring ({submitted} submissions{ops}); io_uring operations \
         are not filtered by seccomp, so this profile lets every one of them through: \
         --deny-io-uring writes a profile that refuses io_uring_setup, io_uring_enter and \
         io_uring_register"
    ))
}

/// `profile` with io_uring refused: its calls leave every rule, and are
/// refused with EPERM by a rule of their own when the default would let
/// them run.
pub fn deny_io_uring(profile: &Profile) -> Profile {
    let mut p = profile.clone();
    for r in &mut p.syscalls {
        r.names.retain(|n| !IO_URING_SYSCALLS.contains(&n.as_str()));
    }
    p.syscalls.retain(|r| !r.names.is_empty());
    if p.default_action.lets_run() {
        let names = IO_URING_SYSCALLS.iter().map(|n| n.to_string()).collect();
        p.syscalls
            .push(Rule::new(names, Action::Errno, Some(EPERM)));
    }
    p
}

/// Reads a summary.json or a seccomp profile; a profile's caveats (an
/// incomplete audit) come back as notes.
pub fn load(what: &str, v: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    if let Some(schema) = v.get("schema") {
        if schema.as_str() == Some(SCHEMA) {
            return from_summary(what, &read_summary(what, v)?);
        }
        return Err(SeccompError::Field {
            what: what.into(),
            field: "schema".into(),
            message: format!("{schema} is not {SCHEMA}"),
        });
    }
    if v.get("defaultAction").is_some() {
        let p = Profile::parse(what, v)?;
        let notes = p
            .caveats()
            .into_iter()
            .map(|c| format!("{what}: {c}"))
            .collect();
        return Ok((p, notes));
    }
    Err(SeccompError::NotAProfile { what: what.into() })
}

#[cfg(test)]
mod tests;
