//! What ctraudit is measured against: the floor (empty raw_tp programs),
//! auditd with rules for the same classes of events, and a bpftrace script
//! that counts syscalls per cgroup. Each one is set up by `start` and torn
//! down by Drop, which restores what it changed on the host.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::util::{must, MountIfMissing};

/// Which programs of bench/floor.bpf.c a `Floor` attaches.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Probe {
    /// Empty programs on raw_tp sys_enter and sys_exit: what any syscall
    /// tracer pays at least.
    Empty,
    /// ABI 1's gate alone: a per-CPU flag, kept by a sched_switch program.
    FlagGate,
    /// The current task's own bpf_storage, through a helper every time.
    TaskGate,
    /// Today's gate alone: a per-CPU memory by pt_regs address, the
    /// task's bpf_storage only for another task.
    RegsGate,
}

impl Probe {
    pub const ALL: [Probe; 4] = [
        Probe::Empty,
        Probe::FlagGate,
        Probe::TaskGate,
        Probe::RegsGate,
    ];

    /// The name prefix of the probe's programs in floor.bpf.c.
    pub fn prefix(self) -> &'static str {
        match self {
            Probe::Empty => "floor_",
            Probe::FlagGate => "flag_",
            Probe::TaskGate => "task_",
            Probe::RegsGate => "regs_",
        }
    }
}

/// One probe of bench/floor.bpf.c, attached until dropped.
pub struct Floor {
    _links: Vec<libbpf_rs::Link>,
    _obj: libbpf_rs::Object,
}

impl Floor {
    /// Builds bench/floor.bpf.c into `dir` (once) and attaches `probe`.
    pub fn start(dir: &Path, probe: Probe) -> Floor {
        let obj_path = dir.join("floor.bpf.o");
        if !obj_path.exists() {
            let src = dir.join("floor.bpf.c");
            std::fs::write(&src, include_str!("floor.bpf.c")).unwrap();
            must(
                Command::new("clang")
                    .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-c"])
                    .arg(concat!("-I", env!("CARGO_MANIFEST_DIR"), "/bpf/include"))
                    .arg(&src)
                    .arg("-o")
                    .arg(&obj_path),
            );
        }
        let ours =
            |p: &libbpf_rs::OpenProgramMut| p.name().to_string_lossy().starts_with(probe.prefix());
        let mut open = libbpf_rs::ObjectBuilder::default()
            .open_file(&obj_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", obj_path.display()));
        for mut p in open.progs_mut() {
            let load = ours(&p);
            p.set_autoload(load);
        }
        let obj = open
            .load()
            .unwrap_or_else(|e| panic!("load {}: {e}", obj_path.display()));
        let links = obj
            .progs_mut()
            .filter(|p| p.name().to_string_lossy().starts_with(probe.prefix()))
            .map(|p| p.attach().expect("attach a floor.bpf.c probe"))
            .collect();
        Floor {
            _links: links,
            _obj: obj,
        }
    }
}

/// auditd with its own config and log in `dir`, and rules recording
/// execve, opens for writing and connect. Audit rules cannot be scoped to a
/// cgroup, so they apply to every process of the host, as they do in
/// production.
pub struct Auditd {
    child: Child,
    was_enabled: String,
    pub log: PathBuf,
}

pub const AUDIT_RULES: &[&str] = &[
    "-a always,exit -F arch=b64 -S execve,execveat -k ctbench_exec",
    "-a always,exit -F arch=b64 -S openat,openat2 -F a2&3 -k ctbench_write",
    "-a always,exit -F arch=b64 -S open -F a1&3 -k ctbench_write",
    "-a always,exit -F arch=b64 -S creat -k ctbench_write",
    "-a always,exit -F arch=b64 -S connect -k ctbench_net",
];

impl Auditd {
    pub fn start(dir: &Path) -> Auditd {
        let conf = dir.join("auditd");
        std::fs::create_dir_all(&conf).unwrap();
        let log = conf.join("audit.log");
        let _ = std::fs::remove_file(&log);
        std::fs::write(
            conf.join("auditd.conf"),
            format!(
                "log_file = {}\nlog_format = RAW\nflush = INCREMENTAL_ASYNC\nfreq = 50\n\
                 num_logs = 1\nmax_log_file = 4000\nmax_log_file_action = ROTATE\n\
                 space_left = 75\nspace_left_action = IGNORE\nadmin_space_left = 50\n\
                 admin_space_left_action = IGNORE\ndisk_full_action = IGNORE\n\
                 disk_error_action = IGNORE\nwrite_logs = yes\n",
                log.display()
            ),
        )
        .unwrap();
        let was_enabled = audit_status("enabled").unwrap_or_else(|| "0".into());
        // one audit daemon per host: never take over the host's own
        if let Some(pid) = audit_status("pid").filter(|p| p != "0") {
            panic!(
                "an audit daemon (pid {pid}) is registered already: stop it for the \
                 benchmark, or leave out the sections with auditd (--only)"
            );
        }
        let child = Command::new("auditd")
            .arg("-c")
            .arg(&conf)
            .arg("-n")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(conf.join("auditd.err")).unwrap())
            .spawn()
            .expect("auditd is installed (make bench-setup)");
        let a = Auditd {
            child,
            was_enabled,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while audit_status("pid").as_deref() != Some(&a.child.id().to_string()) {
            assert!(Instant::now() < deadline, "auditd did not register");
            std::thread::sleep(Duration::from_millis(50));
        }
        must(Command::new("auditctl").arg("-D"));
        for rule in AUDIT_RULES {
            must(Command::new("auditctl").args(rule.split_whitespace()));
        }
        a
    }

    /// Records in its log so far.
    pub fn records(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

fn audit_status(key: &str) -> Option<String> {
    let out = Command::new("auditctl").arg("-s").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ').map(str::to_owned))
}

impl Drop for Auditd {
    fn drop(&mut self) {
        let _ = Command::new("auditctl").arg("-D").output();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
        let _ = Command::new("auditctl")
            .args(["-e", self.was_enabled.trim()])
            .output();
    }
}

/// bpftrace counting syscalls per cgroup and syscall number, host-wide.
pub struct Bpftrace {
    child: Child,
    _tracefs: MountIfMissing,
}

pub const BPFTRACE_SCRIPT: &str =
    "tracepoint:raw_syscalls:sys_enter { @syscalls[cgroup, args->id] = count(); }";

impl Bpftrace {
    pub fn start(dir: &Path) -> Bpftrace {
        // bpftrace reads tracepoint formats from tracefs
        let tracefs = MountIfMissing::new("tracefs", "/sys/kernel/tracing");
        let out = dir.join("bpftrace.out");
        let child = Command::new("bpftrace")
            .args(["-e", BPFTRACE_SCRIPT])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(dir.join("bpftrace.err")).unwrap())
            .spawn()
            .expect("bpftrace is installed (make bench-setup)");
        let b = Bpftrace {
            child,
            _tracefs: tracefs,
        };
        // "Attaching 1 probe..." is printed once the probe is attached
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("Attaching")
        {
            assert!(
                Instant::now() < deadline,
                "bpftrace did not attach: {}",
                std::fs::read_to_string(dir.join("bpftrace.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // the message comes just before the attach itself
        std::thread::sleep(Duration::from_millis(300));
        b
    }
}

impl Drop for Bpftrace {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
