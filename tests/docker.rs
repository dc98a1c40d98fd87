//! Integration tests with a real (private) dockerd and `--runtime ctraudit`.
//! Names start with `docker_` so they can be selected.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::docker::{Dockerd, IMAGE};
use common::output::stdout;
use common::{argv, assert_workload_summary, executed, file_paths, ok, set, Env, WORKLOAD};
use serde_json::{json, Value};

#[test]
fn docker_run_audits_the_workload_with_name_and_image() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (out, id) = d.run_audited(&["--name", "web1"], &["sh", "-c", WORKLOAD]);
    ok(&out);
    assert_eq!(id.len(), 64, "the OCI id is Docker's full id");
    let s = env.summary(&id);
    assert_eq!(s["container"]["id"], id.as_str());
    assert_eq!(s["container"]["name"], "web1");
    assert_eq!(s["container"]["image"], IMAGE);
    assert_eq!(s["container"]["runtime"], "docker");
    assert_eq!(s["notes"], json!([]));
    assert_workload_summary(&s);
    let net = s["network"].as_array().unwrap();
    let connect = net.iter().find(|n| n["op"] == "connect").unwrap();
    assert_eq!(connect["address"], "127.0.0.1");
    // Docker's default seccomp profile refuses mount before it runs: still
    // an attempt on record, as a privileged event and as a denied syscall
    assert_eq!(s["syscalls"]["denied"]["mount"], 1);
    assert!(
        s["syscalls"]["counts"].get("mount").is_none(),
        "refused, so not used"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn docker_exec_is_attributed_and_stop_and_kill_give_the_right_duration() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    // the containers' durations start after this and end before `elapsed`
    let started = Instant::now();
    let (out, stopped) = d.run_audited(&["-d"], &["/bin/sleep", "100"]);
    ok(&out);
    let (out, killed) = d.run_audited(&["-d"], &["/bin/sleep", "100"]);
    ok(&out);
    let out = d.docker(&["exec", &stopped, "/bin/cat", "/etc/hostname"]);
    ok(&out);
    assert_eq!(stdout(&out).trim(), &stopped[..12]);

    std::thread::sleep(Duration::from_millis(1500));
    // busybox sleep as pid 1 ignores SIGTERM: -t 1 means SIGKILL after 1 s
    ok(&d.docker(&["stop", "-t", "1", &stopped]));
    ok(&d.docker(&["kill", &killed]));
    let elapsed = started.elapsed().as_secs_f64();
    for id in [&stopped, &killed] {
        ok(&d.docker(&["rm", id]));
    }

    let s = env.summary(&stopped);
    assert_eq!(
        set(executed(&s)),
        set(vec![
            argv("/bin/sleep", &["/bin/sleep", "100"]),
            argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
        ])
    );
    assert_eq!(
        s["privileged"],
        json!([]),
        "docker exec's setup is not the container's"
    );
    let dur = s["times"]["duration_seconds"].as_f64().unwrap();
    assert!(
        (2.0..=elapsed).contains(&dur),
        "stop: {dur} s, test saw {elapsed} s"
    );

    let k = env.summary(&killed);
    assert_eq!(
        set(executed(&k)),
        set(vec![argv("/bin/sleep", &["/bin/sleep", "100"])])
    );
    let dur = k["times"]["duration_seconds"].as_f64().unwrap();
    assert!(
        (1.5..=elapsed).contains(&dur),
        "kill: {dur} s, test saw {elapsed} s"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn docker_run_rm_leaves_a_summary() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (out, id) = d.run_audited(&["--rm"], &["/bin/cat", "/etc/passwd"]);
    ok(&out);
    let s = env.summary(&id);
    assert_eq!(
        set(executed(&s)),
        set(vec![argv("/bin/cat", &["/bin/cat", "/etc/passwd"])])
    );
    assert_eq!(file_paths(&s), ["/etc/passwd"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn docker_ten_containers_in_parallel_get_ten_separate_summaries() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let runs: Vec<(String, String)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let d = &d;
                sc.spawn(move || {
                    let script = format!("echo {i} > /tmp/marker-{i}; /bin/cat /tmp/marker-{i}");
                    let (out, id) = d.run_audited(&["--rm"], &["sh", "-c", &script]);
                    ok(&out);
                    (id, script)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: BTreeSet<&String> = runs.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 10);
    for (i, (id, script)) in runs.iter().enumerate() {
        let s = env.summary(id);
        assert_eq!(
            set(executed(&s)),
            set(vec![
                argv("/bin/sh", &["sh", "-c", script]),
                argv("/bin/cat", &["/bin/cat", &format!("/tmp/marker-{i}")]),
            ]),
            "{id}"
        );
        assert_eq!(file_paths(&s), [format!("/tmp/marker-{i}")], "{id}");
    }
    assert_eq!(env.leftovers(), Vec::<String>::new());
    assert!(
        env.syslog().iter().all(|l| !l.contains("unaudited")),
        "{:?}",
        env.syslog()
    );
}

#[test]
fn docker_exclusion_by_name_and_broken_config_run_unaudited() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "[exclude]\nnames = [\"skip-*\"]");
    let (out, skipped) = d.run_audited(&["--rm", "--name", "skip-me"], &["/bin/true"]);
    ok(&out);
    let (out, audited) = d.run_audited(&["--rm", "--name", "keep-me"], &["/bin/true"]);
    ok(&out);
    assert!(!env.summary_path(&skipped).exists());
    assert_eq!(env.summary(&audited)["container"]["name"], "keep-me");
    assert!(
        env.syslog().contains(&format!(
            "container {skipped} not audited: name \"skip-me\" matches exclude.names \"skip-*\""
        )),
        "{:?}",
        env.syslog()
    );

    // a broken config under on_error = allow: the container still runs
    std::fs::write(
        &d.ct_config,
        Dockerd::config_text(&env, &d.dir, "bogus_key = 1"),
    )
    .unwrap();
    let (out, id) = d.run_audited(&["--rm"], &["/bin/echo", "still runs"]);
    ok(&out);
    assert_eq!(stdout(&out), "still runs\n");
    assert!(!env.summary_path(&id).exists());
    let log = env.syslog();
    assert!(
        log.iter()
            .any(|l| l.starts_with("ctraudit-runc: config: ")
                && l.contains("unknown field `bogus_key`")),
        "{log:?}"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn docker_install_registers_the_runtime_and_reloads_dockerd() {
    let env = Env::new("");
    // dockerd starts without the ctraudit runtime; install adds it
    let d = Dockerd::start_with(&env, "", false);
    let original = std::fs::read(&d.daemon_json).unwrap();
    let ct = |args: &[&str]| {
        std::process::Command::new(common::BIN)
            .args(args)
            .arg("--daemon-json")
            .arg(&d.daemon_json)
            .output()
            .unwrap()
    };
    let rt = d.runtime.to_str().unwrap();
    let cfg = d.ct_config.to_str().unwrap();
    let out = ct(&[
        "install",
        "docker",
        "--runtime-path",
        rt,
        "--ctraudit-config",
        cfg,
        "--restart",
    ]);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("reloaded dockerd (SIGHUP to pid"), "{text}");
    let v: Value = serde_json::from_slice(&std::fs::read(&d.daemon_json).unwrap()).unwrap();
    assert_eq!(v["runtimes"]["ctraudit"]["path"], rt);

    // dockerd picked it up without a restart
    d.wait_for_runtime("ctraudit");
    let (out, id) = d.run_audited(&["--rm", "--name", "installed"], &["/bin/true"]);
    ok(&out);
    let s = env.summary(&id);
    assert_eq!(
        (
            s["container"]["name"].as_str(),
            s["container"]["runtime"].as_str()
        ),
        (Some("installed"), Some("docker"))
    );
    assert_eq!(
        set(executed(&s)),
        set(vec![argv("/bin/true", &["/bin/true"])])
    );

    // a second install changes nothing
    let out = ct(&[
        "install",
        "docker",
        "--runtime-path",
        rt,
        "--ctraudit-config",
        cfg,
    ]);
    ok(&out);
    assert!(stdout(&out).contains("already set up, nothing changed"));

    let out = ct(&["uninstall", "docker", "--restart"]);
    ok(&out);
    assert_eq!(std::fs::read(&d.daemon_json).unwrap(), original);
}
