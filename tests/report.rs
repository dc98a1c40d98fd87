//! `ctraudit report` as the operator runs it: the real binary, on summaries
//! built by the library's own summary code (`hook::summary::build`, what
//! poststop writes) and written to a temporary log root. No root,
//! no BPF. Names start with `report_`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ctraudit::bpf::types::*;
use ctraudit::bpf::Snapshot;
use ctraudit::hook::meta::{CgroupMeta, Meta};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ctraudit");

/// A log root and a config of its own; no BPF, no root.
struct Roots {
    dir: tempfile::TempDir,
}

impl Roots {
    fn new() -> Roots {
        let dir = tempfile::Builder::new()
            .prefix("ctraudit-report-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("log")).unwrap();
        std::fs::write(dir.path().join("config.toml"), "syslog = false\n").unwrap();
        Roots { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn summary_path(&self, id: &str) -> PathBuf {
        self.path("log").join(id).join("summary.json")
    }

    /// Writes `<log>/<id>/summary.json` as poststop does (pretty, newline).
    fn write(&self, id: &str, summary: &Value) -> PathBuf {
        let p = self.summary_path(id);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut bytes = serde_json::to_vec_pretty(summary).unwrap();
        bytes.push(b'\n');
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("report")
            .args(args)
            .env("CTRAUDIT_CONFIG", self.path("config.toml"))
            .env("CTRAUDIT_LOG_ROOT", self.path("log"))
            .env("CTRAUDIT_RUN_ROOT", self.path("run"))
            .env("CTRAUDIT_BPFFS_ROOT", self.path("bpf"))
            .stdin(Stdio::null());
        c
    }

    fn report(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Succeeded, said nothing on stderr: the report.
fn ok(o: &Output) -> String {
    assert_eq!(
        (o.status.code(), stderr(o).as_str()),
        (Some(0), ""),
        "{}",
        stdout(o)
    );
    stdout(o)
}

/// Failed with exit code 1, nothing on stdout, and this one line on stderr.
fn fails(o: &Output, line: &str) {
    assert_eq!(
        (o.status.code(), stdout(o).as_str(), stderr(o).as_str()),
        (Some(1), "", format!("ctraudit report: {line}\n").as_str())
    );
}

fn chars<const N: usize>(s: &[u8]) -> [i8; N] {
    let mut a = [0i8; N];
    for (i, b) in s.iter().enumerate() {
        a[i] = *b as i8;
    }
    a
}

fn meta(id: &str) -> Meta {
    Meta {
        id: id.into(),
        runtime: "docker".into(),
        name: Some("web".into()),
        image: Some("nginx:1.25".into()),
        pod: None,
        namespace: None,
        abi: ctraudit::bpf::ABI_VERSION,
        stage: "prestart".into(),
        pid: 42,
        cgroup: CgroupMeta {
            id: 99,
            path: format!("/docker/{id}"),
            level: 2,
        },
        mnt_ns: 4026532000,
        bundle: "/b".into(),
        hostname: Some("web-1".into()),
        args: vec!["sh".into()],
        annotations: Default::default(),
        registered_at: "2026-01-01T00:00:00.000Z".into(),
        registered_boot_ns: 1_000_000_000,
        notes: vec![],
        programs: vec![],
    }
}

fn exec(path: &[u8], argv: &[u8]) -> (ct_exec_key, ct_exec_val) {
    (
        ct_exec_key {
            path: chars(path),
            argv: chars(argv),
            argv_len: argv.len() as u32,
            argv_truncated: 0,
        },
        ct_exec_val {
            count: 1,
            first_ns: 1_500_000_000,
            last_ns: 1_500_000_000,
            uid: 0,
            pid: 7,
            ppid: 1,
            _pad: 0,
        },
    )
}

fn file(path: &[u8]) -> (ct_file_key, ct_file_val) {
    (
        ct_file_key { path: chars(path) },
        ct_file_val {
            count: 1,
            failed: 0,
            first_ns: 2_000_000_000,
            last_ns: 2_000_000_000,
            kinds: ct_file_kind::CT_FILE_WRITE.0 | ct_file_kind::CT_FILE_CREATE.0,
            failed_kinds: 0,
            last_errno: 0,
            _pad: 0,
        },
    )
}

/// The summary poststop would write for `meta` and `snap`, with fixed times.
fn summary(meta: &Meta, snap: &Snapshot, notes: Vec<String>) -> Value {
    let s = ctraudit::hook::summary::build(meta, snap, 5_000_000_000, "poststop", notes);
    let mut v = serde_json::to_value(&s).unwrap();
    v["times"] = json!({
        "registered": "2026-01-01T00:00:00.000Z",
        "first_exec": "2026-01-01T00:00:00.500Z",
        "last_event": "2026-01-01T00:00:03.000Z",
        "stopped": "2026-01-01T00:00:04.000Z",
        "duration_seconds": 2.5
    });
    v
}

fn snapshot() -> Snapshot {
    let mut syscalls = vec![0u64; ctraudit::bpf::SYSCALL_MAX as usize];
    syscalls[257] = 5; // openat
    Snapshot {
        maps_read: 6,
        syscalls,
        denied: vec![0u64; ctraudit::bpf::SYSCALL_MAX as usize],
        ..Default::default()
    }
}

/// An ordinary container: what a report looked like before any escaping.
fn plain(id: &str) -> Value {
    let mut snap = snapshot();
    snap.stats.execs = 1;
    snap.execs = vec![exec(b"/bin/ls", b"ls\0-l\0")];
    snap.files = vec![file(b"/etc/passwd")];
    summary(&meta(id), &snap, vec![])
}

#[test]
fn report_shows_an_ordinary_container_as_before() {
    let r = Roots::new();
    r.write("c1", &plain("c1"));
    assert_eq!(
        ok(&r.report(&["c1"])),
        "container c1
  name     web
  image    nginx:1.25
  hostname web-1
  runtime  docker
  cgroup   /docker/c1
  ran      2026-01-01T00:00:00.500Z .. 2026-01-01T00:00:04.000Z  (2.5 s)

processes: 1 execs, 0 forks, 0 exits
     1x  /bin/ls  [ls -l]

files: 1
  /etc/passwd                      write,create

network: 0

privileged: 0

syscalls: 5 calls, 1 distinct
  openat 5

alerts: 0
"
    );
}

/// `report` with stdout on `out`.
fn report_into(r: &Roots, args: &[&str], out: Stdio) -> Output {
    r.command(args)
        .stdout(out)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn report_to_a_full_disk_is_an_error_not_a_panic() {
    let r = Roots::new();
    r.write("c1", &plain("c1"));
    for args in [&["c1"][..], &["--json", "c1"]] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = report_into(&r, args, full.into());
        fails(
            &o,
            "cannot write the report: No space left on device (os error 28)",
        );
    }
    // stderr on the full disk too: nothing can be said, but no panic's 101
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = r
        .command(&["c1"])
        .stdout(full.try_clone().unwrap())
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn report_to_a_closed_pipe_is_an_error_not_a_panic() {
    let r = Roots::new();
    r.write("c1", &plain("c1"));
    for args in [&["c1"][..], &["--json", "c1"]] {
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let o = report_into(&r, args, Stdio::from(write));
        fails(&o, "cannot write the report: Broken pipe (os error 32)");
    }
}
