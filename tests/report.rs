//! `ctraudit report` as the operator runs it: the real binary, on summaries
//! built by the library's own summary code (`summary::build`, what
//! poststop writes) and written to a temporary log root. Only
//! `report_of_a_real_container_*` needs root and BPF (it runs a container
//! with runc). Names start with `report_`.

mod common;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ctraudit::bpf::types::*;
use ctraudit::bpf::Snapshot;
use ctraudit::meta::{CgroupMeta, Meta};
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

    fn log(&self) -> String {
        self.path("log").display().to_string()
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

fn exec(path: &[u8], argv: &[u8]) -> (ct_exec_key, ct_exec_val) {
    (
        ct_exec_key {
            path: chars(path),
            argv: chars(argv),
            argv_len: argv.len() as u32,
            argv_truncated: 0,
            err: 0,
            _pad: 0,
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
    let s = ctraudit::summary::build(
        meta,
        snap,
        5_000_000_000,
        "poststop",
        &Default::default(),
        notes,
    );
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

/// Everything a container controls, forged: the file of the issue (which
/// clears the screen and forges an `alerts: 0` line), an exec path and
/// argv with escapes, a newline and a right-to-left override, a socket
/// path with a C1 CSI, a mount target with a zero-width space; and a name,
/// image and hostname from its metadata with controls too.
fn forged(id: &str) -> Value {
    let mut m = meta(id);
    m.name = Some("web\u{1b}]0;owned\u{7}".into());
    m.image = Some("nginx\r\u{1b}[1Aimage ok".into());
    m.hostname = Some("h\u{202e}gpj.exe".into());
    let mut snap = snapshot();
    snap.stats.execs = 1;
    snap.execs = vec![exec(
        b"/bin/\x1b[31mls",
        "ls\0a\\b\0\n\u{2066}x\0".as_bytes(),
    )];
    snap.files = vec![file(b"/tmp/\x1b[2J\nalerts: 0")];
    snap.net = vec![(
        ct_net_key {
            family: 1,
            op: 1,
            port: 0,
            sock_type: 1,
            addr: [0; 16],
            unix_path: chars("/run/\u{9b}2J.sock".as_bytes()),
            unix_len: 0,
            flags: 0,
        },
        val(1, 0, 0),
    )];
    snap.privileged = vec![(
        ct_priv_key {
            kind: 165, // mount
            _pad: 0,
            args: [0, 0, 0],
            aux: chars(b"tmpfs"),
            detail: chars("/mnt\u{200b}".as_bytes()),
        },
        val(1, 1, 1),
    )];
    summary(&m, &snap, vec!["bundle\r\nnotes: 0".into()])
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

#[test]
fn report_escapes_every_string_a_container_controls() {
    let r = Roots::new();
    r.write("c1", &forged("c1"));
    let text = ok(&r.report(&["c1"]));
    assert_eq!(
        text,
        r#"container c1
  name     web\x1b]0;owned\x07
  image    nginx\r\x1b[1Aimage ok
  hostname h\u{202e}gpj.exe
  runtime  docker
  cgroup   /docker/c1
  ran      2026-01-01T00:00:00.500Z .. 2026-01-01T00:00:04.000Z  (2.5 s)

processes: 1 execs, 0 forks, 0 exits
     1x  /bin/\x1b[31mls  [ls a\\b \n\u{2066}x]

files: 1
  /tmp/\x1b[2J\nalerts: 0          write,create

network: 1
  connect  stream /run/\u{9b}2J.sock  1x

privileged: 1
  mount        {"target":"/mnt\u200b","fstype":"tmpfs","flags":"0x0"}  1x, 1 failed EPERM

syscalls: 5 calls, 1 distinct
  openat 5

alerts: 1
  [medium] privileged.mount: mount 1 time(s), 1 failed (EPERM)

notes: 1
  bundle\r\nnotes: 0
"#
    );
    // nothing a terminal acts on: no control character but the newlines
    // that end lines, no C1, no format character
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && ctraudit::report::escape::hidden(c)),
        "{text:?}"
    );
}

#[test]
fn report_escapes_a_summary_edited_by_hand_in_any_field() {
    let r = Roots::new();
    let mut v = plain("c1");
    v["container"]["cgroup"]["path"] = json!("/\u{1b}c");
    v["syscalls"]["counts"] = json!({"open\u{1b}[2Jat": 5});
    v["syscalls"]["denied"] = json!({"mount\n": {"x": "\u{85}"}});
    v["processes"]["execs"] = json!("\u{1b}[5m");
    v["alerts"] = json!([{"rule": "r\u{8}", "severity": "hi\u{7f}gh", "message": "\u{feff}m"}]);
    v["loss"]["complete"] = json!(false);
    v["loss"]["problems"] = json!(["gone\u{9b}"]);
    r.write("c1", &v);
    let text = ok(&r.report(&["c1"]));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        r"  cgroup   /\x1bc",
        r"processes: \x1b[5m execs, 0 forks, 0 exits",
        r"  open\x1b[2Jat 5",
        r#"  refused by seccomp: mount\n {"x":"\u0085"}"#,
        r"  [hi\x7fgh] r\x08: \u{feff}m",
    ] {
        assert!(lines.contains(&want), "{want:?} in\n{text}");
    }
    let incomplete = lines
        .iter()
        .find(|l| l.starts_with("INCOMPLETE: "))
        .unwrap();
    assert!(
        incomplete.contains(r#""problems":["gone\u009b"]"#),
        "{incomplete}"
    );
    assert!(!text
        .chars()
        .any(|c| c != '\n' && ctraudit::report::escape::hidden(c)));
}

#[test]
fn report_json_is_the_file_byte_for_byte_when_nothing_needs_escaping() {
    let r = Roots::new();
    // C0 controls are escaped by JSON itself (\u001b): nothing to do
    let mut v = forged("c1");
    v["container"]["hostname"] = json!("h");
    v["processes"]["executed"][0]["argv"] = json!(["ls"]);
    v["network"][0]["address"] = json!("/run/s");
    v["privileged"][0]["args"]["target"] = json!("/mnt");
    let p = r.write("c1", &v);
    let out = r.report(&["--json", "c1"]);
    assert_eq!(out.stdout, std::fs::read(&p).unwrap());
    assert_eq!((out.status.code(), stderr(&out).as_str()), (Some(0), ""));
}

#[test]
fn report_json_escapes_what_json_leaves_raw_and_stays_the_same_document() {
    let r = Roots::new();
    let p = r.write("c1", &forged("c1"));
    let file = std::fs::read_to_string(&p).unwrap();
    assert!(
        file.contains('\u{9b}') && file.contains('\u{202e}'),
        "raw in the file"
    );
    let out = ok(&r.report(&["--json", "c1"]));
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        serde_json::from_str::<Value>(&file).unwrap()
    );
    assert_eq!(
        out,
        file.replace('\u{9b}', r"\u009b")
            .replace('\u{202e}', r"\u202e")
            .replace('\u{2066}', r"\u2066")
            .replace('\u{200b}', r"\u200b")
    );
    assert!(!out
        .chars()
        .any(|c| c != '\n' && ctraudit::report::escape::hidden(c)));
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

#[test]
fn report_refuses_what_is_not_a_regular_file() {
    let r = Roots::new();
    fails(
        &r.report(&["/dev/zero"]),
        "/dev/zero: a character device, not a regular file: a summary is a regular file",
    );
    let fifo = r.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    fails(
        &r.report(&[fifo.to_str().unwrap()]),
        &format!(
            "{}: a FIFO, not a regular file: a summary is a regular file",
            fifo.display()
        ),
    );
    // below the log root too
    std::fs::create_dir(r.path("log/c1")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", r.summary_path("c1")).unwrap();
    fails(
        &r.report(&["c1"]),
        &format!(
            "{}: a symbolic link below the log root: not followed",
            r.summary_path("c1").display()
        ),
    );
    std::fs::create_dir(r.path("log/c2")).unwrap();
    nix::unistd::mkfifo(&r.summary_path("c2"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    fails(
        &r.report(&["c2"]),
        &format!(
            "{}: a FIFO, not a regular file: a summary is a regular file",
            r.summary_path("c2").display()
        ),
    );
}

#[test]
fn report_refuses_a_summary_larger_than_the_cap_without_reading_it() {
    let r = Roots::new();
    let p = r.path("log/c1/summary.json");
    std::fs::create_dir(r.path("log/c1")).unwrap();
    // sparse: 64 MiB and one byte, nothing of it on disk
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&p)
        .unwrap();
    f.set_len((64 << 20) + 1).unwrap();
    fails(
        &r.report(&["c1"]),
        &format!(
            "{}: larger than 64 MiB, the most a summary can be (docs/summary.md, \"How report reads\")",
            p.display()
        ),
    );
}

#[test]
fn report_refuses_json_that_is_not_a_summary() {
    let r = Roots::new();
    let doc = |name: &str, text: &str| {
        let p = r.path(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let cases = [
        (
            doc("other.json", r#"{"a": 1}"#),
            "field `schema` is missing",
        ),
        (
            doc("list.json", "[]"),
            "field `schema` is missing: the document is an array",
        ),
        (
            doc("v2.json", r#"{"schema": "ctraudit.summary/v2\u001b[2J"}"#),
            r#"field `schema` is "ctraudit.summary/v2\u001b[2J", not "ctraudit.summary/v1""#,
        ),
        (
            doc(
                "seccomp.json",
                r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#,
            ),
            "field `schema` is missing",
        ),
    ];
    for (path, problem) in &cases {
        for args in [&[path.as_str()][..], &["--json", path]] {
            fails(
                &r.report(args),
                &format!("{path}: not a ctraudit summary: {problem}"),
            );
        }
    }
    let mut v = plain("c1");
    v.as_object_mut().unwrap().remove("files");
    let p = r.write("c1", &v);
    fails(
        &r.report(&["c1"]),
        &format!(
            "{}: not a ctraudit summary: field `files` is missing",
            p.display()
        ),
    );
    v["files"] = json!("none");
    r.write("c1", &v);
    fails(
        &r.report(&["c1"]),
        &format!(
            "{}: not a ctraudit summary: field `files` is a string, not an array",
            p.display()
        ),
    );
    let p = doc("broken.json", "{\"schema\": ");
    fails(
        &r.report(&[&p]),
        &format!("{p}: not JSON: EOF while parsing a value at line 1 column 11"),
    );
}

#[test]
fn report_finds_a_container_by_id_prefix_or_name_as_docker_does() {
    let r = Roots::new();
    let id = "4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b";
    r.write(id, &plain(id));
    let mut other = plain("4f2a");
    other["container"]["name"] = json!("db");
    r.write("4f2a", &other);
    let by_id = ok(&r.report(&[id]));
    assert!(by_id.starts_with(&format!("container {id}\n  name     web\n")));
    for target in ["4f1c", "4f1c0b6c2d8e", "web", "/web"] {
        assert_eq!(ok(&r.report(&[target])), by_id, "{target}");
    }
    assert!(ok(&r.report(&["db"])).starts_with("container 4f2a\n"));
    assert_eq!(
        r.report(&["--json", "/web"]).stdout,
        std::fs::read(r.summary_path(id)).unwrap()
    );
    let log = r.log();
    fails(
        &r.report(&["4f"]),
        &format!("4f is ambiguous under {log}: the id prefix of 2 containers: 4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b4f1c0b6c2d8e9a7b, 4f2a"),
    );
    fails(
        &r.report(&["9f"]),
        &format!("no container matches 9f under {log}: not an id, a unique id prefix, nor a name"),
    );
    fails(
        &r.report(&["/cache"]),
        &format!("no container named cache under {log}, and no file /cache"),
    );
    let mut twin = plain("77");
    twin["container"]["name"] = json!("db");
    r.write("77", &twin);
    fails(
        &r.report(&["db"]),
        &format!("db is ambiguous under {log}: the name of 2 containers: 4f2a, 77"),
    );
}

#[test]
fn report_never_follows_a_link_out_of_the_log_root() {
    let r = Roots::new();
    let outside = r.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("summary.json"),
        serde_json::to_vec(&plain("evil")).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, r.path("log/evil")).unwrap();
    let log = r.log();
    fails(
        &r.report(&["evil"]),
        &format!("{log}/evil: a symbolic link below the log root: not followed"),
    );
    // a link is no candidate for a prefix or a name
    fails(
        &r.report(&["ev"]),
        &format!("no container matches ev under {log}: not an id, a unique id prefix, nor a name"),
    );
    fails(
        &r.report(&["web"]),
        &format!("no container matches web under {log}: not an id, a unique id prefix, nor a name"),
    );
    // a path the operator gives is theirs to follow
    let text = ok(&r.report(&[outside.join("summary.json").to_str().unwrap()]));
    assert!(text.starts_with("container evil\n"));
}

#[test]
fn report_of_an_unknown_id_names_what_it_tried() {
    let r = Roots::new();
    fails(
        &r.report(&["c1"]),
        &format!(
            "no container matches c1 under {}: not an id, a unique id prefix, nor a name",
            r.log()
        ),
    );
    // a container that has a directory and no summary (yet)
    std::fs::create_dir(r.path("log/c1")).unwrap();
    fails(
        &r.report(&["c1"]),
        &format!(
            "{}: No such file or directory (os error 2)",
            r.summary_path("c1").display()
        ),
    );
    // a file named without a '/' is looked for as a container first
    std::fs::write(
        r.path("summary.json"),
        serde_json::to_vec(&plain("c2")).unwrap(),
    )
    .unwrap();
    let o = r
        .command(&["summary.json"])
        .current_dir(r.dir.path())
        .output()
        .unwrap();
    fails(
        &o,
        &format!(
            "no container matches summary.json under {}: not an id, a unique id prefix, nor a name; \
             for the file here, write ./summary.json",
            r.log()
        ),
    );
    let o = r
        .command(&["./summary.json"])
        .current_dir(r.dir.path())
        .output()
        .unwrap();
    assert!(ok(&o).starts_with("container c2\n"));
    let missing: &Path = &r.path("nothing.json");
    fails(
        &r.report(&[missing.to_str().unwrap()]),
        &format!(
            "{}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
}

/// The issue's own example, end to end: a real container creates the file
/// whose name would clear the screen and forge `alerts: 0`, and its report
/// shows the name escaped on its own line. Root and BPF (runc and hooks).
#[test]
fn report_of_a_real_container_shows_a_forged_file_name_escaped() {
    let env = common::Env::new("");
    let bundle = common::Bundle::new(
        &env,
        "forge",
        &["sh", "-c", r#": > "$(printf '/tmp/\033[2J\nalerts: 0')""#],
    );
    common::ok(&env.run(&bundle.dir, "forge"));
    let s = env.summary("forge");
    assert!(
        common::file_paths(&s).contains(&"/tmp/\u{1b}[2J\nalerts: 0".to_owned()),
        "{}",
        s["files"]
    );
    let mut cmd = Command::new(BIN);
    cmd.args(["report", "forge"]);
    for kv in env.hook_env() {
        let (k, v) = kv.split_once('=').unwrap();
        cmd.env(k, v);
    }
    let text = ok(&cmd.output().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&r"  /tmp/\x1b[2J\nalerts: 0          write,create"),
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("alerts: ")).count(),
        1,
        "{text}"
    );
    assert!(!text
        .chars()
        .any(|c| c != '\n' && ctraudit::report::escape::hidden(c)));
}
