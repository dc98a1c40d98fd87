//! The exactness workloads (`work.c`) and what their summaries must hold,
//! shared by tests/exact.rs and the benchmark's contention storm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// `work.c`, built static into `<dir>/work`.
pub fn build(dir: &Path) -> PathBuf {
    super::cc::static_program(
        &dir.join("work.c"),
        include_str!("work.c"),
        &dir.join("work"),
        &["-pthread"],
    )
}

/// Parameters of `work plan`: each part runs in a process of its own, all
/// side by side.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub spin: u64,
    pub threads: u64,
    pub per_thread: u64,
    pub procs: u64,
    pub per_proc: u64,
    pub files: u64,
    pub churn: u64,
    pub pipes: u64,
}

/// One check of a summary: what, the summary's value, the exact want.
pub type Check = (String, Value, Value);

impl Plan {
    pub fn args(&self) -> Vec<String> {
        let p = self;
        let mut a = vec!["/work".to_owned(), "plan".to_owned()];
        for n in [
            p.spin,
            p.threads,
            p.per_thread,
            p.procs,
            p.per_proc,
            p.files,
            p.churn,
            p.pipes,
        ] {
            a.push(n.to_string());
        }
        a
    }

    /// Processes the plan forks: one per part, PROCS, one per churn round,
    /// and the pipes' peer.
    pub fn forks(&self) -> u64 {
        let parts = [
            self.spin,
            self.threads,
            self.procs,
            self.files,
            self.churn,
            self.pipes,
        ]
        .iter()
        .filter(|&&n| n > 0)
        .count() as u64;
        parts + self.procs + self.churn + u64::from(self.pipes > 0)
    }

    /// The exact counts of these syscalls (checked against `strace -f -c`
    /// of the same binary: see work.c). Where a seccomp filter refuses
    /// clone3 with ENOSYS (Docker's default profile does), glibc makes each
    /// thread with clone instead, and the refused clone3 is denied.
    pub fn counts(&self, clone3_refused: bool) -> BTreeMap<&'static str, u64> {
        let forks = self.forks();
        let (clone3, threads_by_clone) = if clone3_refused {
            (0, self.threads)
        } else {
            (self.threads, 0)
        };
        [
            (
                "getppid",
                self.spin + self.threads * self.per_thread + self.procs * self.per_proc,
            ),
            ("openat", self.files),
            ("close", self.files),
            ("read", 2 * self.pipes),
            ("write", 2 * self.pipes),
            // the container's init exec'ing /work, then every churn round
            ("execve", 1 + self.churn),
            ("clone", forks + threads_by_clone),
            ("clone3", clone3),
            ("wait4", forks),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }

    /// Every check a summary of this plan must pass, exactly.
    pub fn checks(&self, s: &Value, clone3_refused: bool) -> Vec<Check> {
        let mut out: Vec<Check> = Vec::new();
        let counts = &s["syscalls"]["counts"];
        for (name, want) in self.counts(clone3_refused) {
            out.push((
                format!("syscalls.counts.{name}"),
                counts.get(name).cloned().unwrap_or(json!(0)),
                json!(want),
            ));
        }
        let denied = if clone3_refused && self.threads > 0 {
            json!({ "clone3": self.threads })
        } else {
            json!({})
        };
        out.push((
            "syscalls.denied".into(),
            s["syscalls"]["denied"].clone(),
            denied,
        ));
        // the files, as two differences that must both be empty (a whole
        // list of a thousand paths would drown a failure's message)
        // and the directory they are in, made by mkdir
        let want: std::collections::BTreeSet<String> = (0..self.files)
            .map(|i| format!("/tmp/work/f{i}"))
            .chain((self.files > 0).then(|| "/tmp/work".to_owned()))
            .collect();
        let got: std::collections::BTreeSet<String> = super::file_paths(s).into_iter().collect();
        out.push((
            "files[] not made by the plan".into(),
            json!(got.difference(&want).collect::<Vec<_>>()),
            json!([]),
        ));
        out.push((
            "files the plan made, missing from files[]".into(),
            json!(want.difference(&got).collect::<Vec<_>>()),
            json!([]),
        ));
        out.push((
            "files[] entries".into(),
            json!(s["files"].as_array().map_or(0, Vec::len)),
            json!(self.files + u64::from(self.files > 0)),
        ));
        let p = &s["processes"];
        for (what, want) in [
            ("execs", 1 + self.churn),
            ("forks", self.forks()),
            ("threads", self.threads),
            ("exits", 1 + self.forks()),
        ] {
            out.push((format!("processes.{what}"), p[what].clone(), json!(want)));
        }
        out.push(("loss".into(), s["loss"].clone(), no_loss()));
        out
    }
}

/// The `loss` section of a summary that lost nothing.
pub fn no_loss() -> Value {
    json!({
        "complete": true,
        "kernel_data": "complete",
        "problems": [],
        "execs_overflow": 0,
        "files_overflow": 0,
        "network_overflow": 0,
        "privileged_overflow": 0,
        "syscalls_unknown": 0,
        "syscalls_compat": 0,
        "tasks_lost": 0,
        "read_errors": 0,
        "map_errors": 0,
        "events_without_maps": 0,
        "enters_missed": 0,
        "program_misses": 0,
        "paths_cut": 0,
        "stream_dropped": 0
    })
}

/// Processes on the host, outside every container, that keep both CPUs
/// busy: two busy loops (shell builtins only: no syscalls) and a fork/exec
/// loop, as a build beside the containers would. Killed on drop.
pub struct HostLoad(Vec<Child>);

impl HostLoad {
    pub fn start() -> HostLoad {
        let mut kids = Vec::new();
        for script in [
            "while :; do :; done",
            "while :; do :; done",
            "while :; do /bin/true; done",
        ] {
            kids.push(
                Command::new("sh")
                    .args(["-c", script])
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        HostLoad(kids)
    }
}

impl Drop for HostLoad {
    fn drop(&mut self) {
        for k in &mut self.0 {
            let _ = k.kill();
            let _ = k.wait();
        }
    }
}
