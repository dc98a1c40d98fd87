//! `summary.json`, schema `ctraudit.summary/v1` (documented in
//! docs/summary.md): the container's identity from the meta file plus what
//! the kernel aggregated, in a stable order.
//!
//! One typed model for every reader and writer: poststop and gc build it
//! ([`build`]), `seccomp` reads it, and so a renamed field is a compile
//! error rather than a silent `null`. The JSON is an on-disk format: the
//! field order here is the file's, and what serializes must not change.
//! Reading is lenient where summaries on disk may differ: fields that a
//! reader does not need default when missing (older files, hand-made
//! test inputs), unknown fields are ignored (newer files), and only the
//! sections every summary had from the first (`syscalls.counts`,
//! `privileged`, `loss`) are required.

mod build;
mod files;

use std::collections::BTreeMap;

use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::Value;

pub use build::{build, file_kinds, hex_unless_utf8};

pub const SCHEMA: &str = "ctraudit.summary/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub schema: String,
    /// `stopped`: finalised (by poststop or gc) after the container
    /// stopped; `running`: read live, while it runs (`ctraudit report` of a
    /// running container). Summaries from before this field were all
    /// `stopped`.
    #[serde(default = "stopped")]
    pub state: String,
    #[serde(default)]
    pub container: Container,
    #[serde(default)]
    pub ctraudit: Producer,
    #[serde(default)]
    pub times: Times,
    /// How the container's init ended, when that was seen (docs/summary.md,
    /// "exit"); `null` otherwise.
    #[serde(default)]
    pub exit: Option<Exit>,
    #[serde(default)]
    pub processes: Processes,
    #[serde(default)]
    pub files: Vec<File>,
    #[serde(default)]
    pub network: Vec<Endpoint>,
    /// io_uring submissions per opcode (docs/summary.md, "io_uring").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_uring: Vec<IoUringOp>,
    pub privileged: Vec<Privileged>,
    pub syscalls: Syscalls,
    #[serde(default)]
    pub alerts: Vec<Alert>,
    pub loss: Loss,
    #[serde(default)]
    pub notes: Vec<String>,
}

fn stopped() -> String {
    STOPPED.to_owned()
}

/// [`Summary::state`] of a finalised summary.
pub const STOPPED: &str = "stopped";
/// [`Summary::state`] of one read while the container runs.
pub const RUNNING: &str = "running";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Container {
    pub id: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub runtime: String,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    pub hostname: Option<String>,
    pub args: Vec<String>,
    pub bundle: String,
    pub cgroup: CgroupInfo,
    pub annotations: BTreeMap<String, String>,
    /// Which run of this container id the summary is (1, 2, ...: the
    /// directory `<log>/<id>/runs/<run>/`), given when it is finalised;
    /// absent in summaries from before runs were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CgroupInfo {
    pub id: u64,
    pub path: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Producer {
    pub version: String,
    pub abi: u32,
    /// `poststop` or `gc`.
    pub finalised_by: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Times {
    pub registered: String,
    pub first_exec: Option<String>,
    pub last_event: Option<String>,
    /// When the container stopped, as well as it is known: see
    /// `stopped_source`.
    pub stopped: String,
    /// Where `stopped` comes from: `last_exit` (the kernel's time of the
    /// workload's last process exit), else the clock of the finaliser that
    /// found it stopped, `poststop` or `gc` (it had stopped by then).
    pub stopped_source: String,
    /// From the first exec to the last process event (or the stop).
    pub duration_seconds: f64,
    /// When the checkpoint this summary was finalised from was taken
    /// (`stopped_source: "checkpoint"`): what the container did after it
    /// is not in the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

/// The end of the container's init process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Exit {
    /// Its exit status, when it exited (`null` when a signal killed it).
    pub code: Option<i32>,
    /// The signal that killed it, or `null`.
    pub signal: Option<i32>,
    /// The OOM killer chose it.
    pub oom_killed: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Processes {
    pub execs: u64,
    pub forks: u64,
    pub threads: u64,
    pub exits: u64,
    /// Tasks of the container the OOM killer chose (each also an
    /// `oom_kill` entry in `privileged`).
    pub oom_kills: u64,
    pub executed: Vec<Exec>,
    /// execve/execveat calls that failed, one entry per (path, argv,
    /// error), in order of first attempt: `error` is set.
    pub failed_execs: Vec<Exec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Exec {
    pub path: String,
    /// The path's exact bytes, in hex, when they are not UTF-8 (`path`
    /// then shows them replaced by U+FFFD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// The file that ran, by its real path, when `path` (as invoked:
    /// `/proc/self/exe`, `/dev/fd/3`, a symlink) says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    pub argv: Vec<String>,
    /// The argv bytes as the kernel kept them (NUL-separated), in hex, when
    /// an argument is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_hex: Option<String>,
    pub argv_truncated: bool,
    /// A secret in argv was replaced (config.toml's `[redact]`); entries
    /// that differed only in their secrets are one entry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub argv_redacted: bool,
    pub count: u64,
    pub uid: u32,
    pub pid: u32,
    pub ppid: u32,
    /// A failed exec's errno name (`ENOENT`); absent for execs that
    /// succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub first: String,
    pub last: String,
    /// `first` as the kernel's CLOCK_BOOTTIME, to sort and merge by; not
    /// in the file (0 when read back).
    #[serde(skip)]
    first_ns: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct File {
    /// The file, absolute in the container's filesystem: the real path of
    /// the file opened (or worked on by descriptor), or the path given
    /// made absolute from the cwd or dirfd it was relative to. A path cut
    /// to fit starts (real) or ends (as given) with `…`, and `cut` says so.
    pub path: String,
    /// The path's exact bytes, in hex, when they are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// True only when a relative path could not be made absolute.
    pub relative: bool,
    /// The paths the calls passed, where they differ from `path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub typed: Vec<String>,
    /// `link`: the existing path the new name was made for; `symlink`:
    /// the link's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The path was longer than ctraudit keeps (counted in
    /// `loss.paths_cut` when what the call worked on is not known).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    /// `mknod`: what node was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Kinds of access, in [`file_kinds`]' order (`read`, `write`, ...).
    pub access: Vec<String>,
    pub failed_access: Vec<String>,
    pub count: u64,
    pub failed: u64,
    pub last_error: Option<String>,
    pub first: String,
    pub last: String,
}

/// A node made by mknod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Device {
    /// `char`, `block`, `fifo`, `socket`, `regular` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Permission bits, in octal.
    pub mode: String,
    pub major: u32,
    pub minor: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// `connect`, `bind`, `listen`, `accept`, `send` (or `unknown`).
    pub op: String,
    /// `outbound`, `local`, `inbound` (or `unknown`).
    pub direction: String,
    /// `ipv4`, `ipv6`, `unix` (or `unknown`).
    pub family: String,
    /// `tcp`, `udp`, `raw`; for unix sockets `stream`, `dgram`,
    /// `seqpacket`; else `other` or `unknown`.
    pub proto: String,
    pub address: String,
    /// A unix socket path's exact bytes, in hex, when they are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_hex: Option<String>,
    pub port: Option<u16>,
    /// `io_uring` when the call was submitted through io_uring (its result
    /// is then not known: `failed` stays 0); absent for a syscall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub count: u64,
    pub failed: u64,
    pub last_error: Option<String>,
    pub first: String,
    pub last: String,
}

/// One io_uring opcode an audited task submitted, and how many times.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IoUringOp {
    /// `IORING_OP_OPENAT`, ... (`IORING_OP_<n>` for a number this build
    /// does not name).
    pub op: String,
    pub count: u64,
    pub first: String,
    pub last: String,
}

/// A privileged event. `kind`, `count` and `failed` are required when read
/// back: a profile's namespace rules are made from them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Privileged {
    pub kind: String,
    /// Per kind (docs/summary.md): numbers, and flags as `0x` hex text.
    #[serde(default)]
    pub args: Value,
    /// The exact bytes, in hex, of the string arguments (`detail`, `aux` in
    /// the kernel's key) that are not UTF-8.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args_hex: BTreeMap<String, String>,
    pub count: u64,
    pub failed: u64,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub first: String,
    #[serde(default)]
    pub last: String,
    #[serde(skip)]
    first_ns: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Syscalls {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub distinct: usize,
    /// Count per syscall name, sorted by name.
    pub counts: BTreeMap<String, u64>,
    /// Syscalls refused before they ran (the runtime's seccomp filter), by
    /// name: attempts, not counted in `total` or `counts`.
    #[serde(default)]
    pub denied: BTreeMap<String, u64>,
    /// Numbers used that the syscall table does not name (counted in
    /// `counts` as `syscall_<nr>`).
    #[serde(default)]
    pub unnamed: Vec<u32>,
    /// Calls the kernel failed with EFAULT: their path or address was
    /// unreadable to the kernel too (counted in `counts`; not a loss).
    #[serde(default)]
    pub faulted: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Alert {
    pub rule: String,
    /// `high` or `medium`.
    pub severity: String,
    pub message: String,
}

/// A loss counter as read back: a count, else the one-line error that says
/// which value is not one (the field comes from the path).
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    v.as_u64()
        .ok_or_else(|| de::Error::custom(format!("`{v}` is not a count")))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Loss {
    /// True when nothing was lost: the kernel's whole record was read, every
    /// set had room, every syscall number was counted, and no kernel
    /// mechanism failed.
    pub complete: bool,
    /// How much of the kernel's record was read: `complete`, `partial`, or
    /// `missing` (the summary then holds only what prestart knew). Text,
    /// not an enum: a reader takes any other word as less than whole.
    pub kernel_data: String,
    /// What could not be read, or was taken away while the container ran.
    #[serde(default)]
    pub problems: Vec<String>,
    #[serde(default, deserialize_with = "count")]
    pub execs_overflow: u64,
    #[serde(default, deserialize_with = "count")]
    pub files_overflow: u64,
    #[serde(default, deserialize_with = "count")]
    pub network_overflow: u64,
    #[serde(default, deserialize_with = "count")]
    pub privileged_overflow: u64,
    #[serde(default, deserialize_with = "count")]
    pub syscalls_unknown: u64,
    /// 32-bit (int 0x80) syscalls: counted in `total`, not by name.
    #[serde(default, deserialize_with = "count")]
    pub syscalls_compat: u64,
    /// Tasks that could not be given audit state (kernel memory): they and
    /// their children went unaudited.
    #[serde(default, deserialize_with = "count")]
    pub tasks_lost: u64,
    #[serde(default, deserialize_with = "count")]
    pub read_errors: u64,
    /// Inserts into a set that failed although it was not full, and events
    /// that found one of the container's maps missing.
    #[serde(default, deserialize_with = "count")]
    pub map_errors: u64,
    /// Events that found none of the container's maps, not even its stats.
    #[serde(default, deserialize_with = "count")]
    pub events_without_maps: u64,
    /// Syscalls whose sys_enter was missed (counted as run).
    #[serde(default, deserialize_with = "count")]
    pub enters_missed: u64,
    /// Runs the kernel skipped of ctraudit's programs while the container
    /// ran (recursion_misses; host-wide, so any task's miss counts here).
    #[serde(default, deserialize_with = "count")]
    pub program_misses: u64,
    /// Paths longer than ctraudit keeps whose file is not known otherwise.
    #[serde(default, deserialize_with = "count")]
    pub paths_cut: u64,
    /// First-seen entries the stream (`ctraudit watch`, `events.jsonl`)
    /// had no room for. They are in the sets all the same, so they do not
    /// make the summary incomplete; only the stream misses them.
    #[serde(default, deserialize_with = "count")]
    pub stream_dropped: u64,
    /// Fields a newer ctraudit wrote that this one does not know: read
    /// back so that a counter it added still marks the audit incomplete.
    /// Never written by this version (always empty when built).
    #[serde(flatten)]
    pub newer: serde_json::Map<String, Value>,
}

impl Loss {
    /// The counters by name, in the file's order.
    pub fn counters(&self) -> [(&'static str, u64); 13] {
        [
            ("execs_overflow", self.execs_overflow),
            ("files_overflow", self.files_overflow),
            ("network_overflow", self.network_overflow),
            ("privileged_overflow", self.privileged_overflow),
            ("syscalls_unknown", self.syscalls_unknown),
            ("syscalls_compat", self.syscalls_compat),
            ("tasks_lost", self.tasks_lost),
            ("read_errors", self.read_errors),
            ("map_errors", self.map_errors),
            ("events_without_maps", self.events_without_maps),
            ("enters_missed", self.enters_missed),
            ("program_misses", self.program_misses),
            ("paths_cut", self.paths_cut),
        ]
    }
}

/// The one line for syslog at stop.
pub fn syslog_line(s: &Summary) -> String {
    format!(
        "container {} stopped: {} execs, {} files, {} endpoints, {} privileged events, {} syscalls ({} distinct), {} alerts{}",
        s.container.id,
        s.processes.execs,
        s.files.len(),
        s.network.len(),
        s.privileged.len(),
        s.syscalls.total,
        s.syscalls.distinct,
        s.alerts.len(),
        if s.loss.complete { "" } else { ", INCOMPLETE (see loss)" }
    )
}
