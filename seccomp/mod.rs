//! Seccomp profiles from what a container did: the OCI/Docker format
//! (`defaultAction`, `architectures`, `syscalls`), allowing exactly the
//! syscalls the workload used plus what the runtime itself needs after it
//! installs the filter. See docs/seccomp.md for how that set was found.

mod merge;
mod profile;

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

pub use merge::{merge, within};
pub use profile::{Action, ArchMap, Arg, Filter, Kernel, Op, Profile, Rule, EPERM};

/// What the runtime calls between installing the filter and exec'ing the
/// workload, which the audit (starting at that exec) does not see.
///
/// Measured (docs/seccomp.md): runc 1.1 under a profile whose
/// `defaultAction` is `SCMP_ACT_LOG`, the kernel's audit messages read with
/// printk rate limiting off. Then what runc needs but the probe profile
/// already allowed (the exec fifo's write, execve), and what Go's runtime
/// may call on runc's other threads at any moment (scheduler, signals,
/// memory), so the profile does not depend on timing.
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
    // Go runtime on any thread
    "clone",
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

/// Docker's default profile's architectures for an x86_64 host.
pub const ARCHITECTURES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// ENOSYS: what a refused clone3 returns, so the C library falls back to
/// clone (as Docker's default profile does).
pub const ENOSYS: u32 = 38;

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

/// The parts of a summary.json (docs/summary.md) a profile is made from.
#[derive(Deserialize)]
struct SummaryView {
    syscalls: SyscallsView,
    loss: LossView,
}

#[derive(Deserialize)]
struct SyscallsView {
    counts: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct LossView {
    /// Every field, in the summary's order.
    #[serde(flatten)]
    counters: serde_json::Map<String, Value>,
}

/// The profile a summary earned: the syscalls it used (by name) plus the
/// runtime's and the waits; clone3, when not used, refused with ENOSYS.
/// Numbers the syscall table does not name cannot be allowed by name;
/// they are returned as notes.
pub fn from_summary(what: &str, summary: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    let s: SummaryView =
        serde_path_to_error::deserialize(summary).map_err(|e| profile::field_error(what, e))?;
    let mut names: BTreeSet<String> = RUNTIME_SYSCALLS
        .iter()
        .chain(TIMING_SYSCALLS)
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
    let count = |field: &str| s.loss.counters.get(field).and_then(Value::as_u64);
    for (field, why) in [
        ("syscalls_compat", "32-bit syscalls"),
        ("syscalls_unknown", "syscall numbers above 511"),
    ] {
        if count(field).unwrap_or(0) > 0 {
            notes.push(format!(
                "{what}: the workload made {why}: the audit has them counted, not named, so the profile cannot list them"
            ));
        }
    }
    let mut rules = Vec::new();
    if !names.contains("clone3") {
        rules.push(Rule::new(
            vec!["clone3".into()],
            Action::Errno,
            Some(ENOSYS),
        ));
    }
    rules.insert(
        0,
        Rule::new(names.into_iter().collect(), Action::Allow, None),
    );
    let profile = Profile {
        default_action: Action::Errno,
        default_errno_ret: Some(EPERM),
        architectures: ARCHITECTURES.iter().map(|a| a.to_string()).collect(),
        arch_map: Vec::new(),
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
        syscalls: rules,
    };
    Ok((profile, notes))
}

/// Reads a summary.json or a seccomp profile.
pub fn load(what: &str, v: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    if let Some(schema) = v.get("schema") {
        if schema.as_str() == Some(crate::hook::summary::SCHEMA) {
            return from_summary(what, v);
        }
        return Err(SeccompError::Field {
            what: what.into(),
            field: "schema".into(),
            message: format!("{schema} is not {}", crate::hook::summary::SCHEMA),
        });
    }
    if v.get("defaultAction").is_some() {
        return Ok((Profile::parse(what, v)?, Vec::new()));
    }
    Err(SeccompError::NotAProfile { what: what.into() })
}

#[cfg(test)]
mod tests;
