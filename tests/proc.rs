//! Process lifecycle, with real runc and real BPF (root): failed execs,
//! execveat, tasks that move out of the container's cgroup, and how the
//! container ended. Names start with `proc_` so they can be selected.
//!
//! The workloads are tests/common/proc.c, built static and run as the
//! container's /proc_t; every check is an equality.

mod common;

use std::path::{Path, PathBuf};

use common::work::no_loss;
use common::{argv, executed, ok, Bundle, Env};
use serde_json::{json, Value};

/// `proc.c`, built static into `<dir>/proc_t`.
fn build(env: &Env) -> PathBuf {
    let dir = env.dir.path();
    common::cc::static_program(
        &dir.join("proc.c"),
        include_str!("common/proc.c"),
        &dir.join("proc_t"),
        &[],
    )
}

/// A bundle running `args` with proc_t at /proc_t.
fn bundle(env: &Env, name: &str, bin: &Path, args: &[&str]) -> Bundle {
    let b = Bundle::new(env, name, args);
    std::fs::copy(bin, b.dir.join("rootfs/proc_t")).unwrap();
    b
}

/// `processes.failed_execs` as (path, argv, error, count).
fn failed_execs(s: &Value) -> Vec<(String, Vec<String>, String, u64)> {
    common::typed(s)
        .processes
        .failed_execs
        .into_iter()
        .map(|e| (e.path, e.argv, e.error.unwrap_or_default(), e.count))
        .collect()
}

fn failed(
    path: &str,
    args: &[&str],
    error: &str,
    count: u64,
) -> (String, Vec<String>, String, u64) {
    let (path, args) = argv(path, args);
    (path, args, error.to_owned(), count)
}

/// A privileged entry as (kind, args, count, failed, last_error).
type Priv = (String, Value, u64, u64, Option<String>);

/// `privileged` as [`Priv`]s.
fn privileged(s: &Value) -> Vec<Priv> {
    common::typed(s)
        .privileged
        .into_iter()
        .map(|p| (p.kind, p.args, p.count, p.failed, p.last_error))
        .collect()
}

fn count(s: &Value, name: &str) -> Value {
    s["syscalls"]["counts"]
        .get(name)
        .cloned()
        .unwrap_or(json!(0))
}

#[test]
fn proc_failed_execs_are_listed_with_path_argv_and_error() {
    let env = Env::new("");
    let bin = build(&env);
    let b = bundle(&env, "failexec", &bin, &["/proc_t", "failexec"]);
    ok(&env.run(&b.dir, "failexec"));
    let s = env.summary("failexec");
    assert_eq!(
        executed(&s),
        vec![argv("/proc_t", &["/proc_t", "failexec"])]
    );
    assert_eq!(
        failed_execs(&s),
        vec![
            failed("/nonexistent", &["/nonexistent", "a", "b"], "ENOENT", 2),
            failed("/etc/passwd", &["/etc/passwd"], "EACCES", 1),
        ]
    );
    let t = common::typed(&s);
    let init = &t.processes.executed[0];
    for f in &t.processes.failed_execs {
        assert_eq!(
            (f.pid, f.ppid, f.uid, f.argv_truncated),
            (init.pid, init.ppid, 0, false),
            "{f:?}"
        );
    }
    assert_eq!(
        (count(&s, "execve"), &s["processes"]["execs"]),
        (json!(4), &json!(1))
    );
    assert_eq!(s["loss"], no_loss());
}

#[test]
fn proc_execveat_and_fexecve_are_privileged_events() {
    let env = Env::new("");
    let bin = build(&env);
    let b = bundle(&env, "execveat", &bin, &["/proc_t", "execveat"]);
    ok(&env.run(&b.dir, "execveat"));
    let s = env.summary("execveat");
    assert_eq!(
        executed(&s),
        vec![
            argv("/proc_t", &["/proc_t", "execveat"]),
            argv("/dev/fd/3/true", &["true"]),
            argv("/dev/fd/3", &["true"]),
        ]
    );
    assert_eq!(
        privileged(&s),
        vec![
            (
                "execveat".to_owned(),
                json!({"path": "/dev/fd/3/true", "flags": "0x0"}),
                1,
                0,
                None
            ),
            (
                "execveat".to_owned(),
                json!({"path": "/dev/fd/3", "flags": "0x1000"}),
                1,
                0,
                None
            ),
            (
                "execveat".to_owned(),
                json!({"path": "nope", "flags": "0x0"}),
                1,
                1,
                Some("ENOENT".to_owned())
            ),
        ]
    );
    assert_eq!(
        failed_execs(&s),
        vec![failed("nope", &["nope"], "ENOENT", 1)]
    );
    assert_eq!(
        (count(&s, "execve"), count(&s, "execveat")),
        (json!(1), json!(3))
    );
    assert_eq!(s["loss"], no_loss());
}

/// A cgroup2 directory outside every container's, removed on drop (it is
/// empty by then: the container's processes have exited).
struct Cgroup(PathBuf);

impl Cgroup {
    fn new(name: &str) -> Cgroup {
        let dir = Path::new("/sys/fs/cgroup/unified").join(name);
        std::fs::create_dir(&dir).unwrap();
        Cgroup(dir)
    }

    fn id(&self) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&self.0).unwrap())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// CAP_SYS_ADMIN and the host's cgroup2 hierarchy, writable, at /mnt/cg.
fn may_move(b: &Bundle) {
    b.edit(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt/cg",
            "type": "bind",
            "source": "/sys/fs/cgroup/unified",
            "options": ["rbind", "rw"]
        }));
    });
}

#[test]
fn proc_a_task_that_moves_out_of_the_cgroup_stays_audited_and_the_move_is_privileged() {
    let env = Env::new("");
    let bin = build(&env);
    let name = format!("ctraudit-test-move-{}", std::process::id());
    let dest = Cgroup::new(&name);
    let procs = format!("/mnt/cg/{name}/cgroup.procs");
    let b = bundle(&env, "mover", &bin, &["/proc_t", "move", &procs]);
    may_move(&b);
    let out = env.run(&b.dir, "mover");
    ok(&out);
    assert_eq!(common::output::stdout(&out), "audited\n", "cat's output");
    let s = env.summary("mover");
    assert_eq!(
        executed(&s),
        vec![
            argv("/proc_t", &["/proc_t", "move", &procs]),
            argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
        ]
    );
    assert_eq!(
        common::file_paths(&s),
        vec!["/etc/hostname".to_owned(), procs.clone()]
    );
    assert_eq!(
        privileged(&s),
        vec![(
            "cgroup_move".to_owned(),
            json!({"path": format!("/{name}"), "cgroup_id": dest.id(), "hierarchy": 0, "threadgroup": true}),
            1,
            0,
            None
        )]
    );
    assert_eq!(
        (
            &s["processes"]["execs"],
            &s["processes"]["exits"],
            count(&s, "execve")
        ),
        (&json!(2), &json!(1), json!(2))
    );
    assert_eq!(s["loss"], no_loss());
}

#[test]
fn proc_a_child_cloned_into_another_cgroup_stays_audited_and_the_move_is_privileged() {
    let env = Env::new("");
    let bin = build(&env);
    let name = format!("ctraudit-test-clone-{}", std::process::id());
    let dest = Cgroup::new(&name);
    let dir = format!("/mnt/cg/{name}");
    let b = bundle(&env, "cloner", &bin, &["/proc_t", "clone3", &dir]);
    may_move(&b);
    ok(&env.run(&b.dir, "cloner"));
    let s = env.summary("cloner");
    assert_eq!(
        executed(&s),
        vec![
            argv("/proc_t", &["/proc_t", "clone3", &dir]),
            argv("/bin/true", &["true"]),
        ]
    );
    assert_eq!(
        privileged(&s),
        vec![(
            "cgroup_move".to_owned(),
            json!({"path": name, "cgroup_id": dest.id(), "hierarchy": 0, "threadgroup": true, "via": "clone3"}),
            1,
            0,
            None
        )]
    );
    assert_eq!(
        (
            &s["processes"]["forks"],
            &s["processes"]["exits"],
            count(&s, "clone3")
        ),
        (&json!(1), &json!(2), json!(1))
    );
    assert_eq!(s["loss"], no_loss());
}

/// `exit`, `processes.oom_kills` and the `oom_kill` privileged entries.
fn ending(s: &Value) -> (Value, Value, Vec<Priv>) {
    let kills = privileged(s)
        .into_iter()
        .filter(|p| p.0 == "oom_kill")
        .collect();
    (
        s["exit"].clone(),
        s["processes"]["oom_kills"].clone(),
        kills,
    )
}

#[test]
fn proc_the_exit_of_the_init_is_in_the_summary() {
    let env = Env::new("");
    let bin = build(&env);
    let b = bundle(&env, "exit3", &bin, &["/proc_t", "exit", "3"]);
    let out = env.run(&b.dir, "exit3");
    assert_eq!(out.status.code(), Some(3), "runc run passes the status on");
    let s = env.summary("exit3");
    assert_eq!(
        ending(&s),
        (
            json!({"code": 3, "signal": null, "oom_killed": false}),
            json!(0),
            vec![]
        )
    );
    assert_eq!(s["loss"], no_loss());

    let b = bundle(&env, "killed", &bin, &["/proc_t", "sleep"]);
    env.run_detached(&b.dir, "killed");
    env.wait_for_comm("killed", "proc_t");
    env.stop("killed");
    let s = env.summary("killed");
    assert_eq!(
        ending(&s),
        (
            json!({"code": null, "signal": 9, "oom_killed": false}),
            json!(0),
            vec![]
        )
    );
    assert_eq!(s["loss"], no_loss());
}

#[test]
fn proc_an_oom_kill_is_counted_listed_and_ends_the_container() {
    let env = Env::new("");
    let bin = build(&env);
    let b = bundle(&env, "oom", &bin, &["/proc_t", "oom"]);
    let limit = 32u64 << 20;
    b.edit(|c| {
        c["linux"]["resources"]["memory"] = json!({"limit": limit, "swap": limit});
    });
    let out = env.run(&b.dir, "oom");
    assert_eq!(out.status.code(), Some(137), "killed by SIGKILL");
    let s = env.summary("oom");
    let pid = common::typed(&s).processes.executed[0].pid;
    assert_eq!(
        ending(&s),
        (
            json!({"code": null, "signal": 9, "oom_killed": true}),
            json!(1),
            vec![(
                "oom_kill".to_owned(),
                json!({"pid": pid, "comm": "proc_t"}),
                1,
                0,
                None
            )]
        )
    );
    assert_eq!(s["loss"], no_loss());
}

#[test]
fn proc_failed_execs_that_find_the_set_full_are_counted_as_overflow() {
    // two entries: the init's exec and the first failed path; the
    // second attempt at that path finds its entry, /etc/passwd finds none
    let env = Env::new("[limits]\nexecs = 2\n");
    let bin = build(&env);
    let b = bundle(&env, "full", &bin, &["/proc_t", "failexec"]);
    ok(&env.run(&b.dir, "full"));
    let s = env.summary("full");
    assert_eq!(
        executed(&s),
        vec![argv("/proc_t", &["/proc_t", "failexec"])]
    );
    assert_eq!(
        failed_execs(&s),
        vec![failed(
            "/nonexistent",
            &["/nonexistent", "a", "b"],
            "ENOENT",
            2
        )]
    );
    let mut loss = no_loss();
    loss["complete"] = json!(false);
    loss["execs_overflow"] = json!(1);
    assert_eq!(s["loss"], loss);
    assert_eq!(count(&s, "execve"), json!(4), "every attempt is counted");
}

#[test]
fn proc_ptrace_names_its_target_by_host_pid_as_executed_does() {
    let env = Env::new("");
    let bin = build(&env);
    let b = bundle(&env, "ptrace", &bin, &["/proc_t", "ptrace"]);
    let out = env.run(&b.dir, "ptrace");
    ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ns: u32 = stdout
        .trim()
        .strip_prefix("child ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("proc_t ptrace printed {stdout:?}"));
    let s = env.summary("ptrace");
    let sleep: Vec<_> = common::typed(&s)
        .processes
        .executed
        .into_iter()
        .filter(|e| e.path == "/bin/sleep")
        .collect();
    assert_eq!(sleep.len(), 1, "one exec of /bin/sleep: {s}");
    let host = sleep[0].pid;
    // the container's pid namespace is not the host's
    assert_ne!(host, ns);
    let (attach, detach) = (16, 17);
    assert_eq!(
        privileged(&s),
        vec![
            (
                "ptrace".to_owned(),
                json!({"request": attach, "pid": host, "ns_pid": ns}),
                1,
                0,
                None
            ),
            (
                "ptrace".to_owned(),
                json!({"request": detach, "pid": host, "ns_pid": ns}),
                1,
                0,
                None
            ),
            (
                "ptrace".to_owned(),
                json!({"request": attach, "pid": null, "ns_pid": 999999}),
                1,
                1,
                Some("ESRCH".to_owned())
            ),
        ]
    );
    assert_eq!(count(&s, "ptrace"), json!(3));
    assert_eq!(s["loss"], no_loss());
}
