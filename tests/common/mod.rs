//! Test harness for the integration tests: real runc, real BPF.
//!
//! Every `Env` has its own bpffs instance, run/log roots, runc state root
//! and config, and its Drop removes containers, pins and the mount even when
//! the test failed, so tests run side by side and leave the host as it was.
#![allow(dead_code)]

pub mod cc;
pub mod containerd;
pub mod docker;
pub mod output;
pub mod podman;
pub mod wait;
pub mod work;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use std::collections::BTreeSet;

use ctraudit::summary::Summary;
use serde::Deserialize;
use serde_json::{json, Value};

use output::{stderr, stdout};

pub const BIN: &str = env!("CARGO_BIN_EXE_ctraudit");

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "integration tests load BPF and run containers: run them as root (see README)"
    );
}

pub struct Env {
    pub dir: tempfile::TempDir,
    syslog: std::os::unix::net::UnixDatagram,
    syslog_lines: Mutex<Vec<String>>,
    containers: Mutex<Vec<String>>,
}

impl Env {
    /// A fresh set of roots with `config` as config.toml (syslog off).
    pub fn new(config: &str) -> Env {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("ctraudit-test-")
            .tempdir()
            .unwrap();
        for d in ["bpf", "run", "log", "runc"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        // the hooks' syslog lines come here, not to the host's syslog
        let syslog =
            std::os::unix::net::UnixDatagram::bind(dir.path().join("syslog.sock")).unwrap();
        syslog.set_nonblocking(true).unwrap();
        let env = Env {
            dir,
            syslog,
            syslog_lines: Default::default(),
            containers: Default::default(),
        };
        env.write_config(config);
        env
    }

    pub fn write_config(&self, config: &str) {
        let sock = self.path("syslog.sock");
        std::fs::write(
            self.path("config.toml"),
            format!("syslog_socket = \"{}\"\n{config}", sock.display()),
        )
        .unwrap();
    }

    /// Every syslog message the hooks sent so far (RFC 3164 header removed).
    pub fn syslog(&self) -> Vec<String> {
        let mut lines = self.syslog_lines.lock().unwrap();
        let mut buf = [0u8; 8192];
        while let Ok(n) = self.syslog.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            // "<27>Nov 24 17:00:00 ctraudit[123]: text"
            let text = msg.split_once("]: ").map_or(msg.as_str(), |(_, t)| t);
            lines.push(text.trim_end().to_owned());
        }
        lines.clone()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Environment a hook needs to use this Env's roots.
    pub fn hook_env(&self) -> Vec<String> {
        vec![
            format!("CTRAUDIT_BPFFS_ROOT={}", self.path("bpf").display()),
            format!("CTRAUDIT_RUN_ROOT={}", self.path("run").display()),
            format!("CTRAUDIT_LOG_ROOT={}", self.path("log").display()),
            format!("CTRAUDIT_CONFIG={}", self.path("config.toml").display()),
        ]
    }

    /// `ctraudit ARGS` with this Env's roots and config.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.args(args);
        for kv in self.hook_env() {
            let (k, v) = kv.split_once('=').unwrap();
            c.env(k, v);
        }
        c.output().unwrap()
    }

    /// A running container `id` that read `file`, then waits in sleep.
    pub fn sleeper(&self, id: &str, file: &str) {
        let script = format!("/bin/cat {file} >/dev/null; exec /bin/sleep 1000");
        let b = Bundle::new(self, id, &["/bin/sh", "-c", &script]);
        self.run_detached(&b.dir, id);
        self.wait_for_comm(id, "sleep");
    }

    pub fn runc(&self, args: &[&str]) -> Output {
        let root = self.path("runc");
        Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runc is installed")
    }

    /// `runc run` in the foreground; returns its output.
    pub fn run(&self, bundle: &Path, id: &str) -> Output {
        self.containers.lock().unwrap().push(id.to_owned());
        self.runc(&["run", "--bundle", bundle.to_str().unwrap(), id])
    }

    /// `runc run -d`: the container keeps running in the background.
    pub fn run_detached(&self, bundle: &Path, id: &str) {
        self.containers.lock().unwrap().push(id.to_owned());
        self.runc_detached(&["run", "-d", "--bundle", bundle.to_str().unwrap(), id]);
    }

    /// A runc command that leaves a process behind (`run -d`, `exec -d`):
    /// that process inherits runc's stdio, so no pipes, or waiting for their
    /// EOF would wait for the process.
    pub fn runc_detached(&self, args: &[&str]) {
        let err = self.path("runc-detached.stderr");
        let status = Command::new("runc")
            .arg("--root")
            .arg(self.path("runc"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "runc {args:?}: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }

    /// Stops a detached container and deletes it, which runs poststop.
    pub fn stop(&self, id: &str) {
        let _ = self.runc(&["kill", id, "KILL"]);
        // the delete below fails, and says so, if it is still running
        wait::poll_until(Duration::from_secs(2), Duration::from_millis(20), || {
            let st = self.runc(&["state", id]);
            !stdout(&st).contains("\"running\"")
        });
        let out = self.runc(&["delete", id]);
        assert!(out.status.success(), "runc delete {id}: {}", stderr(&out));
    }

    pub fn summary_path(&self, id: &str) -> PathBuf {
        self.path("log").join(id).join("summary.json")
    }

    pub fn summary(&self, id: &str) -> Value {
        let p = self.summary_path(id);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The summary as the library's typed model reads it.
    pub fn summary_typed(&self, id: &str) -> Summary {
        typed(&self.summary(id))
    }

    /// Names under the containers pin directory and the /run meta directory.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        for d in [
            self.abi_dir().join("containers"),
            self.path("run/containers"),
        ] {
            if let Ok(rd) = std::fs::read_dir(&d) {
                left.extend(rd.map(|e| e.unwrap().path().display().to_string()));
            }
        }
        left
    }

    /// The container's meta file, as prestart wrote it.
    pub fn meta(&self, id: &str) -> Value {
        let p = self.path(&format!("run/containers/{id}.json"));
        serde_json::from_str(
            &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap()
    }

    /// The container's cgroup2 directory (hybrid or pure v2 host).
    pub fn cgroup_dir(&self, id: &str) -> PathBuf {
        let meta = self.meta(id);
        let rel = meta["cgroup"]["path"]
            .as_str()
            .unwrap()
            .trim_start_matches('/')
            .to_owned();
        ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .into_iter()
            .map(|r| Path::new(r).join(&rel))
            .find(|p| p.join("cgroup.procs").exists())
            .expect("the container's cgroup2 directory")
    }

    pub fn init_pid(&self, id: &str) -> i64 {
        self.meta(id)["pid"].as_i64().unwrap()
    }

    /// Waits until the container's init process runs `comm`.
    pub fn wait_for_comm(&self, id: &str, comm: &str) {
        let pid = self.init_pid(id);
        wait::wait_until(
            format_args!("{id}: its init never became {comm}"),
            Duration::from_secs(5),
            Duration::from_millis(10),
            || {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .unwrap_or_default()
                    .trim()
                    == comm
            },
        );
    }

    /// The pin directory of this build's ABI, `<bpffs>/ctraudit/v<ABI>`.
    pub fn abi_dir(&self) -> PathBuf {
        self.path(&format!("bpf/ctraudit/v{}", ctraudit::bpf::ABI_VERSION))
    }

    pub fn bpffs_mounted(&self) -> bool {
        nix::sys::statfs::statfs(&self.path("bpf"))
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::BPF_FS_MAGIC)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.containers.lock().unwrap().iter() {
            let _ = self.runc(&["kill", id, "KILL"]);
            let _ = self.runc(&["delete", "-f", id]);
        }
        let _ = std::fs::remove_dir_all(self.path("bpf/ctraudit"));
        let _ = nix::mount::umount2(&self.path("bpf"), nix::mount::MntFlags::MNT_DETACH);
    }
}

impl Bundle {
    /// A bundle whose root also holds `work` (work::build) at /work.
    pub fn with_work(env: &Env, name: &str, work: &Path, args: &[&str]) -> Bundle {
        let b = Bundle::new(env, name, args);
        std::fs::copy(work, b.dir.join("rootfs/work")).unwrap();
        b
    }
}

/// Busybox applets linked into /bin of the test rootfs.
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "nc", "sleep", "mount", "unshare", "echo", "true", "hostname", "wc", "sort",
    "mkdir", "mknod",
];

/// A runc bundle on the test root filesystem, with the ctraudit hooks.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    pub fn new(env: &Env, name: &str, args: &[&str]) -> Bundle {
        let dir = env.path(&format!("bundles/{name}"));
        make_rootfs(&dir.join("rootfs"));

        let out = Command::new("runc")
            .arg("spec")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        let cfg_path = dir.join("config.json");
        let mut cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
        cfg["process"]["terminal"] = json!(false);
        cfg["process"]["args"] = json!(args);
        cfg["root"]["readonly"] = json!(false);
        cfg["hostname"] = json!(name);
        let hook = |stage: &str| json!({"path": BIN, "args": ["ctraudit", "hook", stage], "env": env.hook_env(), "timeout": 20});
        cfg["hooks"] = json!({"prestart": [hook("prestart")], "poststop": [hook("poststop")]});
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        Bundle { dir }
    }

    pub fn edit(&self, f: impl FnOnce(&mut Value)) {
        let p = self.dir.join("config.json");
        let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        f(&mut cfg);
        std::fs::write(&p, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    }
}

/// The test root filesystem: busybox-static plus coreutils `rm` (which
/// calls unlinkat, where busybox calls unlink) with its libraries.
pub fn make_rootfs(rootfs: &Path) {
    for d in ["bin", "etc", "tmp", "proc", "dev", "sys", "mnt", "usr/bin"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox"))
        .expect("busybox-static is installed");
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(rootfs.join("etc/hostname"), "audited\n").unwrap();
    copy_with_libs("/usr/bin/rm", rootfs);
    std::fs::copy("/etc/ld.so.cache", rootfs.join("etc/ld.so.cache")).unwrap();
}

/// Builds the test root filesystem at `<dir>/rootfs` (with `work` at /work)
/// and pipes its tar into
/// `import` (`docker import - IMAGE`, `podman import - IMAGE`).
pub fn import_rootfs(dir: &Path, mut import: Command) {
    let rootfs = dir.join("rootfs");
    make_rootfs(&rootfs);
    // images carry the exactness workload too, at /work
    std::fs::copy(work::build(dir), rootfs.join("work")).unwrap();
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = import.stdin(tar.stdout.take().unwrap()).output().unwrap();
    assert!(tar.wait().unwrap().success());
    assert!(out.status.success(), "{import:?}: {}", stderr(&out));
}

/// Copies `bin` into `rootfs` at the same path, with the libraries ldd lists.
pub fn copy_with_libs(bin: &str, rootfs: &Path) {
    let dest = |p: &str| rootfs.join(p.trim_start_matches('/'));
    let copy = |p: &str| {
        let d = dest(p);
        std::fs::create_dir_all(d.parent().unwrap()).unwrap();
        std::fs::copy(std::fs::canonicalize(p).unwrap(), &d).unwrap();
    };
    copy(bin);
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    for line in stdout(&ldd).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = line.split_whitespace().find(|w| w.starts_with('/'));
        if let Some(p) = path {
            copy(p);
        }
    }
}

/// The libraries `ldd` lists for a host binary (what its loader opens).
pub fn libs_of(bin: &str) -> Vec<String> {
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    stdout(&ldd)
        .lines()
        .filter(|l| l.contains("=>"))
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(str::to_owned)
        })
        .collect()
}

/// A summary read as JSON, through the library's typed model: a field the
/// model and the file name differently fails here, not as a silent null.
pub fn typed(s: &Value) -> Summary {
    Summary::deserialize(s).unwrap_or_else(|e| panic!("not a summary: {e}: {s}"))
}

/// `executed` as (path, argv) pairs, in order of first exec.
pub fn executed(s: &Value) -> Vec<(String, Vec<String>)> {
    typed(s)
        .processes
        .executed
        .into_iter()
        .map(|e| (e.path, e.argv))
        .collect()
}

/// The paths in `files`, in the summary's order (sorted by path).
pub fn file_paths(s: &Value) -> Vec<String> {
    typed(s).files.into_iter().map(|f| f.path).collect()
}

pub fn file<'a>(s: &'a Value, path: &str) -> &'a Value {
    s["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no file {path} in {}", s["files"]))
}

pub fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// A free TCP port on loopback for a test's listener.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Unmounts everything mounted below `dir`, deepest first.
pub fn unmount_below(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<String> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_owned))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p.as_str(), nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The foundation workload (issue 2), run by every route: ls and cat, a
/// write and delete of /tmp/f (coreutils rm, which calls unlinkat), a
/// loopback connect to a listener in the same container, a refused mount.
/// busybox's sh runs applets in-process unless they are named by path, so
/// every binary meant to be exec'd is named by path; the connect retries
/// while the listener starts, a bounded number of times.
pub const WORKLOAD: &str = "/bin/ls /etc; /bin/cat /etc/passwd; echo hi > /tmp/f; /usr/bin/rm /tmp/f; \
    /bin/nc -l -p 7777 >/dev/null & \
    i=0; until echo ping | /bin/nc 127.0.0.1 7777; do i=$((i+1)); [ $i -lt 500 ] || exit 7; done; wait; \
    /bin/mount -t tmpfs none /mnt; true";

pub fn set(v: Vec<(String, Vec<String>)>) -> BTreeSet<(String, Vec<String>)> {
    v.into_iter().collect()
}

pub fn argv(path: &str, args: &[&str]) -> (String, Vec<String>) {
    (
        path.to_owned(),
        args.iter().map(|s| s.to_string()).collect(),
    )
}

pub fn ok(out: &Output) {
    assert!(out.status.success(), "{}\n{}", stdout(out), stderr(out));
}

/// What every route must report for WORKLOAD, exactly.
pub fn assert_workload_summary(s: &Value) {
    assert_eq!(
        set(executed(s)),
        set(vec![
            argv("/bin/sh", &["sh", "-c", WORKLOAD]),
            argv("/bin/ls", &["/bin/ls", "/etc"]),
            argv("/bin/cat", &["/bin/cat", "/etc/passwd"]),
            argv("/usr/bin/rm", &["/usr/bin/rm", "/tmp/f"]),
            argv("/bin/nc", &["/bin/nc", "-l", "-p", "7777"]),
            argv("/bin/nc", &["/bin/nc", "127.0.0.1", "7777"]),
            argv("/bin/mount", &["/bin/mount", "-t", "tmpfs", "none", "/mnt"]),
        ])
    );
    // the files, and the dynamic loader of coreutils rm: ld.so.cache, libraries
    let mut want: Vec<String> = [
        "/dev/null",
        "/etc",
        "/etc/ld.so.cache",
        "/etc/passwd",
        "/tmp/f",
    ]
    .map(String::from)
    .to_vec();
    want.extend(libs_of("/usr/bin/rm"));
    want.sort();
    assert_eq!(file_paths(s), want);
    let s = typed(s);
    let access = |path: &str| {
        s.files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no file {path} in {:?}", s.files))
            .access
            .clone()
    };
    assert_eq!(access("/etc/passwd"), ["read"]);
    assert_eq!(access("/etc"), ["read"]);
    assert_eq!(access("/tmp/f"), ["write", "create", "delete"]);
    let ops: BTreeSet<(&str, &str, u64)> = s
        .network
        .iter()
        .map(|n| (n.op.as_str(), n.proto.as_str(), u64::from(n.port.unwrap())))
        .collect();
    assert_eq!(
        ops,
        [
            ("accept", "tcp", 7777),
            ("bind", "tcp", 7777),
            ("connect", "tcp", 7777),
            ("listen", "tcp", 7777)
        ]
        .into()
    );
    let pr = &s.privileged;
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(
        (pr[0].kind.as_str(), pr[0].last_error.as_deref()),
        ("mount", Some("EPERM"))
    );
    assert_eq!(
        (pr[0].args["target"].as_str(), pr[0].args["fstype"].as_str()),
        (Some("/mnt"), Some("tmpfs"))
    );
    assert_eq!(s.syscalls.counts.get("unlinkat"), Some(&1), "coreutils rm");
}
