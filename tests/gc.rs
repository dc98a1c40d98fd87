//! `ctraudit gc` with real runc: containers whose poststop never ran, pins
//! nobody owns, and ABI versions nothing uses. Names start with `gc_`.

mod common;

use std::process::Command;

use common::{argv, executed, file_paths, Bundle, Env, BIN};
use serde_json::json;

/// gc's stdout, when it succeeded.
fn gc(env: &Env, args: &[&str]) -> String {
    let (code, out, err) = gc_status(env, args);
    assert_eq!(code, Some(0), "{out}{err}");
    out
}

/// A bundle whose config.json carries the prestart hook only.
fn prestart_only(env: &Env, name: &str, args: &[&str]) -> Bundle {
    let b = Bundle::new(env, name, args);
    b.edit(|c| {
        c["hooks"].as_object_mut().unwrap().remove("poststop");
    });
    b
}

/// Waits until every process of the container has exited, while runc
/// (as a dockerd killed mid-way) leaves its cgroup behind.
fn wait_empty(env: &Env, id: &str) {
    let events = env.cgroup_dir(id).join("cgroup.events");
    common::wait::wait_until(
        format_args!("{}: never populated 0", events.display()),
        std::time::Duration::from_secs(5),
        std::time::Duration::from_millis(10),
        || {
            std::fs::read_to_string(&events)
                .unwrap_or_default()
                .contains("populated 0")
        },
    );
}

/// The container stopped when its last process exited, as the kernel saw it.
fn assert_stopped_at_last_exit(s: &serde_json::Value) {
    assert_eq!(
        (&s["times"]["stopped"], &s["times"]["stopped_source"]),
        (&s["times"]["last_event"], &json!("last_exit")),
        "{}",
        s["times"]
    );
}

#[test]
fn gc_finalises_a_container_whose_poststop_never_ran() {
    let env = Env::new("");
    let b = prestart_only(&env, "gone-1", &["/bin/cat", "/etc/passwd"]);
    let out = env.run(&b.dir, "gone-1");
    assert!(out.status.success(), "{out:?}");
    assert!(!env.summary_path("gone-1").exists());
    assert_eq!(
        env.leftovers().len(),
        2,
        "pins and meta stay: {:?}",
        env.leftovers()
    );

    assert_eq!(
        gc(&env, &["--dry-run"]),
        "would finalise container gone-1: its cgroup /gone-1 is gone, and no poststop hook finished it\n"
    );
    assert_eq!(env.leftovers().len(), 2, "--dry-run changes nothing");
    assert!(!env.summary_path("gone-1").exists());

    assert_eq!(
        gc(&env, &[]),
        "finalise container gone-1: its cgroup /gone-1 is gone, and no poststop hook finished it\n\
         detach the programs: no container is audited any more\n"
    );
    let s = env.summary("gone-1");
    assert_eq!(s["ctraudit"]["finalised_by"], "gc");
    assert_eq!(
        executed(&s),
        [(
            "/bin/cat".to_owned(),
            vec!["/bin/cat".to_owned(), "/etc/passwd".to_owned()]
        )]
    );
    assert_eq!(file_paths(&s), ["/etc/passwd"]);
    assert_eq!(
        s["notes"],
        json!(["finalised by `ctraudit gc`: its cgroup /gone-1 is gone, and no poststop hook finished it"])
    );
    // when the container stopped, not when gc ran
    assert_stopped_at_last_exit(&s);
    assert!(env.path("log/gone-1/seccomp.json").exists());
    assert_eq!(env.leftovers(), Vec::<String>::new());

    assert_eq!(gc(&env, &[]), "nothing to do\n", "a second gc does nothing");
}

#[test]
fn gc_leaves_running_containers_and_removes_orphans_and_unused_abis() {
    let env = Env::new("");
    let b = prestart_only(&env, "run-1", &["/bin/sleep", "30"]);
    env.run_detached(&b.dir, "run-1");
    assert_eq!(
        gc(&env, &[]),
        "nothing to do\n",
        "a running container is left alone"
    );
    assert_eq!(env.leftovers().len(), 2);

    // an older ABI's directory that no container uses any more
    std::fs::create_dir_all(env.path("bpf/ctraudit/v0/containers")).unwrap();
    // pins whose meta file is gone
    std::fs::remove_file(env.path("run/containers/run-1.json")).unwrap();
    assert_eq!(
        gc(&env, &[]),
        "remove the pins of container run-1: no meta file\n\
         remove ABI v0: no container uses it (its programs detach)\n\
         detach the programs: no container is audited any more\n"
    );
    assert!(!env.path("bpf/ctraudit/v0").exists());
    assert_eq!(env.leftovers(), Vec::<String>::new());
    assert_eq!(gc(&env, &[]), "nothing to do\n");
    env.stop("run-1");
}

/// Issue 12: when dockerd is killed and restarted onto another containerd,
/// the old containers' cgroups stay, empty (`populated 0`), and gc took
/// them for running. Their poststop, if it ever comes, finds them done.
#[test]
fn gc_finalises_a_container_whose_cgroup_is_left_empty() {
    let env = Env::new("");
    let b = Bundle::new(
        &env,
        "gc-empty-1",
        &["/bin/sh", "-c", "echo x > /tmp/x; exec /bin/sleep 1000"],
    );
    env.run_detached(&b.dir, "gc-empty-1");
    env.wait_for_comm("gc-empty-1", "sleep");
    assert_eq!(gc(&env, &[]), "nothing to do\n", "running: populated 1");
    // its processes end; nobody runs `runc delete`, so the cgroup stays
    assert!(env.runc(&["kill", "gc-empty-1", "KILL"]).status.success());
    wait_empty(&env, "gc-empty-1");
    let cgroup = env.cgroup_dir("gc-empty-1");

    assert_eq!(
        gc(&env, &[]),
        "finalise container gc-empty-1: its cgroup /gc-empty-1 is empty (populated 0), and no poststop hook finished it\n\
         detach the programs: no container is audited any more\n"
    );
    assert!(
        cgroup.exists(),
        "the runtime's cgroup is not gc's to remove"
    );
    let s = env.summary("gc-empty-1");
    let want = (
        vec![
            argv(
                "/bin/sh",
                &["/bin/sh", "-c", "echo x > /tmp/x; exec /bin/sleep 1000"],
            ),
            argv("/bin/sleep", &["/bin/sleep", "1000"]),
        ],
        vec!["/tmp/x".to_owned()],
        json!(true),
    );
    assert_eq!(
        (executed(&s), file_paths(&s), s["loss"]["complete"].clone()),
        want
    );
    assert_stopped_at_last_exit(&s);
    assert_eq!(env.leftovers(), Vec::<String>::new());

    // the runtime comes back to it: its poststop has nothing left to do,
    // and the summary stays gc's, whole
    let before = std::fs::read(env.summary_path("gc-empty-1")).unwrap();
    let out = env.runc(&["delete", "gc-empty-1"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read(env.summary_path("gc-empty-1")).unwrap(),
        before
    );
}

/// A finaliser that died after writing the summary and before removing
/// the meta file leaves both: the next one finds no kernel record, and
/// must not replace the whole summary by an empty one.
#[test]
fn gc_and_poststop_never_replace_a_summary_by_a_worse_one() {
    let env = Env::new("");
    let b = Bundle::new(
        &env,
        "gc-twice",
        &["/bin/sh", "-c", "echo x > /tmp/x; exec /bin/sleep 1000"],
    );
    env.run_detached(&b.dir, "gc-twice");
    env.wait_for_comm("gc-twice", "sleep");
    assert!(env.runc(&["kill", "gc-twice", "KILL"]).status.success());
    wait_empty(&env, "gc-twice");
    let meta = std::fs::read(env.path("run/containers/gc-twice.json")).unwrap();
    gc(&env, &[]);
    let whole = std::fs::read_to_string(env.summary_path("gc-twice")).unwrap();
    let profile = std::fs::read_to_string(env.path("log/gc-twice/seccomp.json")).unwrap();

    // the meta file back, its pins and registration gone: `runc delete`
    // runs poststop, which finds nothing of the kernel's record
    std::fs::write(env.path("run/containers/gc-twice.json"), &meta).unwrap();
    std::fs::remove_file(env.path("log/gc-twice/seccomp.json")).unwrap();
    let out = env.runc(&["delete", "gc-twice"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(env.summary_path("gc-twice")).unwrap(),
        whole,
        "the summary from the whole record stays"
    );
    assert_eq!(
        std::fs::read_to_string(env.path("log/gc-twice/seccomp.json")).unwrap(),
        profile,
        "and the profile missing beside it is made again from it"
    );
    // the same registration is one run, not a second
    let runs: Vec<String> = std::fs::read_dir(env.path("log/gc-twice/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs, ["1"]);
    assert_eq!(
        std::fs::read_to_string(env.path("log/gc-twice/runs/1/summary.json")).unwrap(),
        whole
    );
    assert_eq!(
        std::fs::read_to_string(env.path("log/gc-twice/runs/1/seccomp.json")).unwrap(),
        profile
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// gc with its exit code, stdout and stderr.
fn gc_status(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = Command::new(BIN);
    c.arg("gc").args(args);
    for kv in env.hook_env() {
        let (k, v) = kv.split_once('=').unwrap();
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Issue 12: a directory named like a meta file stopped gc, and a meta
/// file with a field a newer release adds was deleted as "unreadable".
/// gc goes on past every bad entry, reports it, and removes nothing it
/// cannot read.
#[test]
fn gc_goes_on_past_bad_entries_and_keeps_what_it_cannot_read() {
    let env = Env::new("");
    let b = prestart_only(&env, "newer-1", &["/bin/cat", "/etc/passwd"]);
    assert!(env.run(&b.dir, "newer-1").status.success());
    let meta = env.path("run/containers/newer-1.json");
    let mut m = env.meta("newer-1");
    m["sandbox"] = json!({"kind": "kata"});
    std::fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();
    let dir = env.path("run/containers/a-dir.json");
    std::fs::create_dir(&dir).unwrap();
    let garbage = env.path("run/containers/garbage.json");
    std::fs::write(&garbage, "{").unwrap();

    let (code, out, err) = gc_status(&env, &[]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            Some(0),
            format!(
                "keep {d}: unreadable: {d}: not a regular file (a directory)\n\
                 keep {g}: unreadable: {g}: EOF while parsing an object at line 1 column 1\n\
                 finalise container newer-1: its cgroup /newer-1 is gone, and no poststop hook finished it\n\
                 detach the programs: no container is audited any more\n",
                d = dir.display(),
                g = garbage.display()
            )
            .as_str(),
            ""
        )
    );
    let s = env.summary("newer-1");
    assert_eq!(
        s["notes"],
        json!([
            "finalised by `ctraudit gc`: its cgroup /newer-1 is gone, and no poststop hook finished it",
            "the meta file has fields this ctraudit does not know (written by a newer release?): sandbox"
        ])
    );
    assert_eq!(file_paths(&s), ["/etc/passwd"]);
    assert!(
        dir.is_dir() && garbage.is_file(),
        "kept for a person to look at"
    );
    std::fs::remove_dir(&dir).unwrap();
    std::fs::remove_file(&garbage).unwrap();
    assert_eq!(gc(&env, &[]), "nothing to do\n");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// Issue 12: pins removed by hand while the container ran left its kernel
/// registration (and slot) behind for ever, and the programs never
/// detached. gc frees a registration that no meta file or pin names.
#[test]
fn gc_frees_a_registration_nothing_points_at() {
    let env = Env::new("");
    let b = prestart_only(&env, "orphan-1", &["/bin/sleep", "30"]);
    env.run_detached(&b.dir, "orphan-1");
    let cgroup = env.meta("orphan-1")["cgroup"]["id"].as_u64().unwrap();
    std::fs::remove_dir_all(env.abi_dir().join("containers/orphan-1")).unwrap();
    std::fs::remove_file(env.path("run/containers/orphan-1.json")).unwrap();
    let line = format!(
        "free slot 0 of cgroup {cgroup}: registered in the kernel, but no meta file or pin names it\n"
    );
    assert_eq!(gc(&env, &["--dry-run"]), format!("would {line}"));
    assert_eq!(
        gc(&env, &[]),
        format!("{line}detach the programs: no container is audited any more\n")
    );
    assert_eq!(gc(&env, &[]), "nothing to do\n");
    assert!(
        !env.abi_dir().join("maps/containers").exists(),
        "programs detached"
    );
    env.stop("orphan-1");
}
