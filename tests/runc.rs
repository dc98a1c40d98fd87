//! Integration tests with real runc and real BPF (root; see README).
//! Names start with `runc_` so they can be selected.

mod common;

use std::process::Command;
use std::time::Duration;

use common::output::{stderr, stdout};
use common::{
    argv, assert_workload_summary, executed, file, file_paths, ok, set, strs, Bundle, Env, WORKLOAD,
};
use ctraudit::bpf::ABI_VERSION as ABI;
use serde_json::Value;

#[test]
fn runc_workload_summary_has_exact_content_and_nothing_from_the_host() {
    let env = Env::new("");
    let bundle = Bundle::new(&env, "work", &["sh", "-c", WORKLOAD]);

    // a host process doing the same kind of work at the same time
    let marker = format!("/tmp/ctraudit-host-marker-{}", std::process::id());
    let host_script = format!(
        "for i in $(seq 1 200); do cat /etc/passwd >/dev/null; echo x > {marker}; rm -f {marker}; done"
    );
    let mut host = Command::new("sh")
        .arg("-c")
        .arg(&host_script)
        .spawn()
        .unwrap();
    let out = env.run(&bundle.dir, "work");
    host.wait().unwrap();
    assert!(out.status.success(), "runc run: {}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "hostname\nld.so.cache\npasswd\nroot:x:0:0:root:/root:/bin/sh\n",
        "the workload's own output"
    );

    let s = env.summary("work");
    assert_eq!(s["schema"], "ctraudit.summary/v1");
    assert_eq!(s["container"]["id"], "work");
    assert_eq!(s["container"]["hostname"], "work");
    assert_eq!(strs(&s["container"]["args"]), ["sh", "-c", WORKLOAD]);
    assert_eq!(s["container"]["cgroup"]["path"], "/work");

    // exactly the workload: binaries, files, endpoints, the refused mount
    assert_workload_summary(&s);
    assert_eq!(
        executed(&s)[0].0,
        "/bin/sh",
        "the workload's first exec comes first"
    );
    // every process but the container's init was forked inside it, and all exited
    assert_eq!(
        s["processes"]["exits"].as_u64().unwrap(),
        s["processes"]["forks"].as_u64().unwrap() + 1,
        "{}",
        s["processes"]
    );
    let execs: u64 = s["processes"]["executed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(s["processes"]["execs"].as_u64().unwrap(), execs);

    // /tmp/f: opened, then deleted by unlinkat
    let f = file(&s, "/tmp/f");
    assert_eq!(strs(&f["access"]), ["write", "create", "delete"]);
    assert_eq!(
        (
            f["count"].as_u64(),
            f["failed"].as_u64(),
            f["relative"].as_bool()
        ),
        (Some(2), Some(0), Some(false))
    );

    // the endpoint, with its port: one successful connect (earlier tries
    // may be refused while the listener starts)
    let net = s["network"].as_array().unwrap();
    let connect = net
        .iter()
        .find(|n| n["op"] == "connect")
        .expect("a connect");
    assert_eq!(
        (
            &connect["family"],
            &connect["proto"],
            &connect["address"],
            &connect["port"],
            &connect["direction"]
        ),
        (
            &Value::from("ipv4"),
            &Value::from("tcp"),
            &Value::from("127.0.0.1"),
            &Value::from(7777),
            &Value::from("outbound")
        )
    );
    assert_eq!(
        connect["count"].as_u64().unwrap() - connect["failed"].as_u64().unwrap(),
        1
    );
    if connect["failed"].as_u64().unwrap() > 0 {
        assert_eq!(connect["last_error"], "ECONNREFUSED");
    }

    // the privileged event: a mount, refused
    let pr = s["privileged"].as_array().unwrap();
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(
        (pr[0]["count"].as_u64(), pr[0]["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["alerts"][0]["rule"], "privileged.mount");

    // syscalls by name, with counts
    let counts = &s["syscalls"]["counts"];
    let count = |name: &str| {
        counts[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no {name} in {counts}"))
    };
    assert_eq!(count("unlinkat"), 1, "coreutils rm");
    assert_eq!(count("mount"), 1);
    // every file event is one openat or the one unlinkat
    let file_events: u64 = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(count("openat") + 1, file_events, "{counts}");
    assert_eq!(count("connect"), connect["count"].as_u64().unwrap());
    assert_eq!((count("bind"), count("listen"), count("accept")), (1, 1, 1));
    // execve counts failed attempts too (sh searching PATH)
    assert!(count("execve") >= s["processes"]["execs"].as_u64().unwrap());
    let total: u64 = counts
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(s["syscalls"]["total"].as_u64().unwrap(), total);
    // runc's own setup (pivot_root, mount, setns, ...) happens before the
    // workload's first exec and is not part of the audit
    assert!(
        counts.get("pivot_root").is_none() && counts.get("setns").is_none(),
        "{counts}"
    );
    assert_eq!(
        s["syscalls"]["denied"],
        serde_json::json!({}),
        "runc spec sets no seccomp filter"
    );
    assert_eq!(s["loss"]["complete"], true);

    // syslog: one line at start, one at stop, and the unload (the default
    // detach_when_idle: it was the only container)
    let log = env.syslog();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[2], "no container audited any more: programs detached");
    assert!(
        log[0].starts_with("container work audited: cgroup /work ("),
        "{log:?}"
    );
    assert_eq!(
        log[1],
        format!(
            "container work stopped: {} execs, {} files, 4 endpoints, 1 privileged events, {} syscalls ({} distinct), 1 alerts",
            s["processes"]["execs"],
            file_paths(&s).len(),
            s["syscalls"]["total"],
            s["syscalls"]["distinct"]
        )
    );

    // the host process appears nowhere
    let text = std::fs::read_to_string(env.summary_path("work")).unwrap();
    assert!(
        !text.contains("ctraudit-host-marker"),
        "host activity leaked into the summary"
    );

    // after poststop: no pins, no /run files
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_exec_session_and_nested_cgroup_are_attributed_to_the_container() {
    let env = Env::new("");
    let bundle = Bundle::new(&env, "execd", &["/bin/sleep", "30"]);
    env.run_detached(&bundle.dir, "execd");

    let out = env.runc(&["exec", "execd", "/bin/cat", "/etc/hostname"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "audited\n");

    // a process moved into a cgroup nested below the container's, then exec'ing
    let nested = env.cgroup_dir("execd").join("nested");
    std::fs::create_dir(&nested).unwrap();
    let pidfile = env.path("exec.pid");
    env.runc_detached(&[
        "exec",
        "-d",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "execd",
        "/bin/sh",
        "-c",
        "until [ -e /tmp/go ]; do :; done; exec /bin/cat /etc/passwd >/dev/null",
    ]);
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    // moved once it is audited (after its exec of sh), so that the move
    // is always the container's privileged event
    common::wait::wait_until(
        format_args!("{pid} never exec'd sh"),
        Duration::from_secs(5),
        Duration::from_millis(10),
        || std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() == "sh\n",
    );
    let nested_id = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&nested).unwrap());
    std::fs::write(nested.join("cgroup.procs"), &pid).unwrap();
    std::fs::write(bundle.dir.join("rootfs/tmp/go"), "").unwrap();
    // the exec'd process is reparented to the container's init, which
    // (sleep) never reaps it: wait for it to become a zombie
    let stat = format!("/proc/{pid}/stat");
    common::wait::poll_until(Duration::from_secs(5), Duration::from_millis(20), || {
        let st = std::fs::read_to_string(&stat).unwrap_or_default();
        st.is_empty()
            || st
                .rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
    });
    let _ = std::fs::remove_dir(&nested);
    env.stop("execd");

    let s = env.summary("execd");
    assert_eq!(
        set(executed(&s)),
        set(vec![
            argv("/bin/sleep", &["/bin/sleep", "30"]),
            argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
            argv(
                "/bin/sh",
                &[
                    "/bin/sh",
                    "-c",
                    "until [ -e /tmp/go ]; do :; done; exec /bin/cat /etc/passwd >/dev/null"
                ]
            ),
            argv("/bin/cat", &["/bin/cat", "/etc/passwd"]),
        ])
    );
    assert_eq!(strs(&file(&s, "/etc/hostname")["access"]), ["read"]);
    assert_eq!(strs(&file(&s, "/etc/passwd")["access"]), ["read"]);
    // runc exec's setns and the rest of its setup happen before its exec;
    // the move into the nested cgroup is the one privileged event
    let pr = s["privileged"].as_array().unwrap();
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(
        (&pr[0]["kind"], &pr[0]["args"], &pr[0]["count"]),
        (
            &Value::from("cgroup_move"),
            &serde_json::json!({"path": "/execd/nested", "cgroup_id": nested_id, "hierarchy": 0, "threadgroup": true}),
            &Value::from(1)
        )
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_two_containers_at_once_get_separate_summaries() {
    let env = Env::new("");
    let a = Bundle::new(
        &env,
        "ctr-a",
        &[
            "sh",
            "-c",
            "/bin/cat /etc/passwd >/dev/null; echo a > /tmp/only-a; /bin/sleep 1",
        ],
    );
    let b = Bundle::new(
        &env,
        "ctr-b",
        &[
            "sh",
            "-c",
            "/bin/ls /etc >/dev/null; echo b > /tmp/only-b; /bin/sleep 1",
        ],
    );
    std::thread::scope(|sc| {
        let ta = sc.spawn(|| env.run(&a.dir, "ctr-a"));
        let tb = sc.spawn(|| env.run(&b.dir, "ctr-b"));
        for t in [ta, tb] {
            let out = t.join().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
    });
    let sa = env.summary("ctr-a");
    let sb = env.summary("ctr-b");
    assert_eq!(
        set(executed(&sa)),
        set(vec![
            argv(
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "/bin/cat /etc/passwd >/dev/null; echo a > /tmp/only-a; /bin/sleep 1"
                ]
            ),
            argv("/bin/cat", &["/bin/cat", "/etc/passwd"]),
            argv("/bin/sleep", &["/bin/sleep", "1"]),
        ])
    );
    assert_eq!(
        set(executed(&sb)),
        set(vec![
            argv(
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "/bin/ls /etc >/dev/null; echo b > /tmp/only-b; /bin/sleep 1"
                ]
            ),
            argv("/bin/ls", &["/bin/ls", "/etc"]),
            argv("/bin/sleep", &["/bin/sleep", "1"]),
        ])
    );
    assert_eq!(file_paths(&sa), ["/dev/null", "/etc/passwd", "/tmp/only-a"]);
    assert_eq!(file_paths(&sb), ["/dev/null", "/etc", "/tmp/only-b"]);
    assert_ne!(
        sa["container"]["cgroup"]["id"],
        sb["container"]["cgroup"]["id"]
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_broken_config_under_allow_runs_unaudited() {
    let env = Env::new("[limits]\nfiels = 3\n");
    let bundle = Bundle::new(&env, "allow", &["/bin/echo", "ran"]);
    let out = env.run(&bundle.dir, "allow");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "ran\n");
    // runc drops a successful hook's stderr: syslog carries the reason
    assert_eq!(
        env.syslog(),
        [format!(
            "prestart: config: {}:3:1: limits: unknown field `fiels`, expected one of `max_containers`, `execs`, \
             `files`, `network`, `privileged`, `kernel_memory_mib` (did you mean `files`?); container runs unaudited (on_error = \"allow\")",
            env.path("config.toml").display()
        )]
    );
    assert!(!env.summary_path("allow").exists());
    assert!(!env.bpffs_mounted(), "nothing was loaded");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_broken_config_under_deny_refuses_the_start() {
    let env = Env::new("on_error = \"deny\"\n[limits]\nfiles = \"lots\"\n");
    let bundle = Bundle::new(&env, "deny", &["/bin/echo", "ran"]);
    let out = env.run(&bundle.dir, "deny");
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "", "the workload never ran");
    assert_eq!(
        env.syslog(),
        [format!(
            "prestart: config: {}:4:9: limits.files: invalid type: string \"lots\", expected u32; \
             container start refused (on_error = \"deny\")",
            env.path("config.toml").display()
        )]
    );
    // runc's error carries the hook's stderr (quoted)
    assert!(stderr(&out).contains("container start refused"));
    assert!(!env.summary_path("deny").exists());
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_bpf_unavailable_follows_on_error() {
    // a bpffs root that cannot be mounted stands for "BPF unsupported"
    let env = Env::new("");
    let not_a_dir = env.path("not-a-dir");
    std::fs::write(&not_a_dir, "").unwrap();
    let root = format!("[paths]\nbpffs = \"{}\"\n", not_a_dir.display());
    let bundle = Bundle::new(&env, "nobpf", &["/bin/echo", "ran"]);
    // the env var would override the file: drop it for this bundle
    bundle.edit(|c| {
        for stage in ["prestart", "poststop"] {
            let envs = c["hooks"][stage][0]["env"].as_array_mut().unwrap();
            envs.retain(|e| !e.as_str().unwrap().starts_with("CTRAUDIT_BPFFS_ROOT="));
        }
    });

    env.write_config(&root);
    let out = env.run(&bundle.dir, "nobpf");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ran\n");
    let log = env.syslog();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].starts_with("prestart: ")
            && log[0].contains(&format!("{}: File exists", not_a_dir.display())),
        "{log:?}"
    );
    assert!(
        log[0].ends_with("; container runs unaudited (on_error = \"allow\")"),
        "{log:?}"
    );
    assert!(!env.summary_path("nobpf").exists());

    env.write_config(&format!("on_error = \"deny\"\n{root}"));
    let out = env.run(&bundle.dir, "nobpf2");
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("container start refused"));
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_opt_out_annotation_means_no_audit() {
    let env = Env::new("");
    let bundle = Bundle::new(&env, "optout", &["/bin/echo", "ran"]);
    bundle.edit(|c| c["annotations"] = serde_json::json!({"io.ctraudit.enable": "false"}));
    let out = env.run(&bundle.dir, "optout");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert!(!env.summary_path("optout").exists());
    assert!(!env.bpffs_mounted(), "an opted-out container loads nothing");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_host_process_placed_in_the_cgroup_counts_only_once_inside_the_container() {
    let env = Env::new("");
    let bundle = Bundle::new(&env, "placed", &["/bin/sleep", "30"]);
    env.run_detached(&bundle.dir, "placed");
    let procs = env.cgroup_dir("placed").join("cgroup.procs");
    let init = env.init_pid("placed");

    // a host process in the container's cgroup but in the host's mount
    // namespace, as runc >= 1.4 places its exec helper: not the container
    let script = format!(
        "echo $$ > {}; exec /bin/cat /etc/os-release",
        procs.display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // the same, then joining the container's mount namespace and exec'ing
    // there, as that helper does: from that exec on, it is the container
    let script = format!(
        "echo $$ > {}; exec nsenter -t {init} -m /bin/cat /etc/hostname",
        procs.display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "audited\n", "read the container's file");
    env.stop("placed");

    let s = env.summary("placed");
    assert_eq!(
        set(executed(&s)),
        set(vec![
            argv("/bin/sleep", &["/bin/sleep", "30"]),
            argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
        ])
    );
    assert_eq!(
        file_paths(&s),
        ["/etc/hostname"],
        "nothing of the host side (/etc/os-release, nsenter's setns)"
    );
    assert_eq!(s["privileged"], Value::Array(vec![]));
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_many_containers_starting_at_once_share_one_load() {
    // programs kept loaded when idle, to count the links afterwards
    let env = Env::new("detach_when_idle = false\n");
    let ids: Vec<String> = (0..8).map(|i| format!("par-{i}")).collect();
    let bundles: Vec<Bundle> = ids
        .iter()
        .map(|id| Bundle::new(&env, id, &["sh", "-c", &format!("echo {id} > /tmp/{id}")]))
        .collect();
    std::thread::scope(|sc| {
        let runs: Vec<_> = ids
            .iter()
            .zip(&bundles)
            .map(|(id, b)| sc.spawn(|| env.run(&b.dir, id)))
            .collect();
        for r in runs {
            let out = r.join().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
    });
    for id in &ids {
        let s = env.summary(id);
        assert_eq!(file_paths(&s), [format!("/tmp/{id}")], "{id}");
        assert_eq!(s["processes"]["execs"], 1, "{id}");
    }
    // one set of global programs: every hook found them or loaded them alone
    let mut links: Vec<String> = std::fs::read_dir(env.path(&format!("bpf/ctraudit/v{ABI}/links")))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    links.sort();
    assert_eq!(
        links,
        [
            "ct_cgroup_attach",
            "ct_exec",
            "ct_exit",
            "ct_fork",
            "ct_io_uring_submit",
            "ct_oom",
            "ct_sys_enter",
            "ct_sys_exit"
        ]
    );
    assert_eq!(
        env.syslog()
            .iter()
            .filter(|l| l.contains("unaudited"))
            .count(),
        0
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runc_detach_when_idle_unloads_after_the_last_container_and_reloads_for_the_next() {
    let env = Env::new("detach_when_idle = true\n");
    let links = env.path(&format!("bpf/ctraudit/v{ABI}/links"));
    for (i, id) in ["idle-1", "idle-2"].into_iter().enumerate() {
        let b = Bundle::new(&env, id, &["/bin/cat", "/etc/hostname"]);
        let out = env.run(&b.dir, id);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            executed(&env.summary(id)),
            [argv("/bin/cat", &["/bin/cat", "/etc/hostname"])],
            "run {i}: audited, after a reload for the second"
        );
        assert!(
            !links.exists(),
            "run {i}: the programs are detached once idle"
        );
    }
    assert!(env
        .syslog()
        .contains(&"no container audited any more: programs detached".to_owned()));
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// The map ids of a running container's pinned maps, by name.
fn map_ids(env: &Env, id: &str) -> Vec<(String, u32)> {
    use libbpf_rs::MapCore;
    let dir = env.path(&format!("bpf/ctraudit/v{ABI}/containers/{id}"));
    let mut ids: Vec<(String, u32)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            let m = libbpf_rs::MapHandle::from_pinned_path(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, m.info().unwrap().info.id)
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn runc_a_reused_slot_starts_empty() {
    // the second container takes over the first one's maps (no outer-table
    // update at start), which must hold nothing of the first one; with the
    // programs kept loaded in between, as while any other container runs
    let env = Env::new("detach_when_idle = false\n");
    let a = Bundle::new(
        &env,
        "reuse-a",
        &[
            "/bin/sh",
            "-c",
            "echo a > /tmp/a; /bin/ls /etc >/dev/null; /bin/mount -t tmpfs none /mnt; exec /bin/sleep 1000",
        ],
    );
    env.run_detached(&a.dir, "reuse-a");
    env.wait_for_comm("reuse-a", "sleep");
    let first = map_ids(&env, "reuse-a");
    assert_eq!(first.len(), 6, "{first:?}");
    env.stop("reuse-a");
    let s = env.summary("reuse-a");
    assert_eq!(strs(&file(&s, "/tmp/a")["access"]), ["write", "create"]);

    let b = Bundle::new(&env, "reuse-b", &["/bin/sleep", "1000"]);
    env.run_detached(&b.dir, "reuse-b");
    env.wait_for_comm("reuse-b", "sleep");
    assert_eq!(
        map_ids(&env, "reuse-b"),
        first,
        "the slot's maps are reused"
    );
    env.stop("reuse-b");
    let s = env.summary("reuse-b");
    assert_eq!(executed(&s), [argv("/bin/sleep", &["/bin/sleep", "1000"])]);
    assert_eq!(file_paths(&s), Vec::<String>::new());
    assert_eq!(s["network"], serde_json::json!([]));
    assert_eq!(s["privileged"], serde_json::json!([]));
    assert_eq!(s["processes"]["execs"], 1);
    assert_eq!(s["processes"]["forks"], 0);
    let counts = s["syscalls"]["counts"].as_object().unwrap();
    for name in ["openat", "mount", "write", "wait4"] {
        assert!(
            !counts.contains_key(name),
            "{name} of reuse-a in {counts:?}"
        );
    }
    assert_eq!(s["loss"]["complete"], true);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// Issue 12: `--password=...` on a command line landed in summary.json and
/// syslog. Secrets are redacted in the container's args, in every exec's
/// argv (the kernel's copy included), and so in syslog and the meta file.
#[test]
fn runc_secrets_on_command_lines_are_redacted_everywhere_they_are_written() {
    let env = Env::new("");
    let script = "/bin/true --token=abc123; exec /bin/true --password hunter2";
    let bundle = Bundle::new(
        &env,
        "secret",
        &["/bin/sh", "-c", script, "sh", "--password=hunter3"],
    );
    ok(&env.run(&bundle.dir, "secret"));
    let s = env.summary("secret");
    let redacted_script = "/bin/true --token=<redacted>; exec /bin/true --password <redacted>";
    assert_eq!(
        executed(&s),
        [
            argv(
                "/bin/sh",
                &[
                    "/bin/sh",
                    "-c",
                    redacted_script,
                    "sh",
                    "--password=<redacted>"
                ]
            ),
            argv("/bin/true", &["/bin/true", "--token=<redacted>"]),
            argv("/bin/true", &["/bin/true", "--password", "<redacted>"]),
        ]
    );
    let flags: Vec<&Value> = s["processes"]["executed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["argv_redacted"])
        .collect();
    assert_eq!(flags, [&Value::Bool(true); 3]);
    assert_eq!(
        s["container"]["args"],
        serde_json::json!([
            "/bin/sh",
            "-c",
            redacted_script,
            "sh",
            "--password=<redacted>"
        ])
    );
    assert_eq!(s["loss"]["complete"], true, "{}", s["loss"]);
    // nowhere on disk, nor in syslog
    let mut written = env.syslog().join("\n");
    for f in ["log/secret/summary.json", "log/secret/seccomp.json"] {
        written.push_str(&std::fs::read_to_string(env.path(f)).unwrap());
    }
    for secret in ["abc123", "hunter2", "hunter3"] {
        assert!(!written.contains(secret), "{secret} in {written}");
    }
}
