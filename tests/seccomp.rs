//! The seccomp profile a container earns runs the same workload again, and
//! nothing more. Real Docker (a private dockerd). Names start with `seccomp_`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::docker::Dockerd;
use common::output::{stderr, stdout};
use common::{ok, Env, BIN};

/// W1: ls, cat, wc, sort, a write, a delete, a loopback connect.
const W1: &str = "/bin/ls /etc > /tmp/list; /bin/cat /tmp/list | /bin/sort | /bin/wc -l; \
    echo data > /tmp/w; /usr/bin/rm /tmp/w; \
    /bin/nc -l -p 7777 >/dev/null & i=0; until echo ping | /bin/nc 127.0.0.1 7777 2>/dev/null; \
    do i=$((i+1)); [ $i -lt 500 ] || exit 7; done; wait; \
    echo done";
/// W2 needs mknod, which W1 never used.
const W2: &str = "/bin/mknod /tmp/fifo p && echo made";
/// W3: another command of the same image.
const W3: &str = "/bin/mkdir /tmp/d && /bin/ls -d /tmp/d";

/// Runs `script` audited; returns its output and its profile's path.
fn audited(env: &Env, d: &Dockerd, script: &str) -> (String, std::path::PathBuf) {
    let (out, id) = d.run_audited(&["--rm"], &["sh", "-c", script]);
    ok(&out);
    let profile = env.path("log").join(&id).join("seccomp.json");
    assert!(profile.exists(), "{}", profile.display());
    (stdout(&out), profile)
}

/// Runs `script` with `runtime` under the profile (not audited).
fn under(d: &Dockerd, runtime: &str, profile: &Path, script: &str) -> Output {
    let opt = format!("seccomp={}", profile.display());
    d.run_unaudited(
        &["--runtime", runtime, "--security-opt", &opt],
        &["sh", "-c", script],
    )
}

#[test]
fn seccomp_profile_replays_the_workload_on_runc_and_refuses_the_rest() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (first, profile) = audited(&env, &d, W1);
    assert!(first.ends_with("done\n"), "{first}");

    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(p["defaultErrnoRet"], 1);
    assert_eq!(
        p["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let names: Vec<&str> = p["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for used in ["openat", "connect", "unlinkat", "execve", "wait4"] {
        assert!(names.contains(&used), "{used} in {names:?}");
    }
    assert!(!names.contains(&"mknod") && !names.contains(&"mknodat"));

    // the same workload, the same output, under the profile alone
    let again = under(&d, "runc", &profile, W1);
    ok(&again);
    assert_eq!(stdout(&again), first);

    // W2 works without the profile, and fails with EPERM under it
    let free = d.run_unaudited(&[], &["sh", "-c", W2]);
    ok(&free);
    assert_eq!(stdout(&free), "made\n");
    let refused = under(&d, "runc", &profile, W2);
    assert!(!refused.status.success());
    assert_eq!(stdout(&refused), "");
    let err = stderr(&refused);
    assert!(err.contains("Operation not permitted"), "{err}");
}

#[test]
fn seccomp_merge_runs_two_commands_of_one_image() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (_, p1) = audited(&env, &d, W1);
    let (out3, p3) = audited(&env, &d, W3);
    assert_eq!(out3, "/tmp/d\n");
    // W3 alone does not run under W1's profile: it needs mkdir
    assert!(!under(&d, "runc", &p1, W3).status.success());

    let merged = env.path("merged.json");
    let out = std::process::Command::new(BIN)
        .args([
            "seccomp",
            "--merge",
            p1.to_str().unwrap(),
            p3.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&out);
    std::fs::write(&merged, &out.stdout).unwrap();
    ok(&under(&d, "runc", &merged, W1));
    let w3 = under(&d, "runc", &merged, W3);
    ok(&w3);
    assert_eq!(stdout(&w3), "/tmp/d\n");

    // several targets without --merge is a one-line error
    let out = std::process::Command::new(BIN)
        .args(["seccomp", p1.to_str().unwrap(), p3.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "ctraudit seccomp: 2 targets: pass --merge for one profile that runs them all\n"
    );
}

#[test]
fn seccomp_profile_replays_on_crun_where_crun_runs() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    d.add_runtime("crun", "/usr/bin/crun");
    let probe = d.run_unaudited(&["--runtime", "crun"], &["/bin/true"]);
    if !probe.status.success() {
        // Debian 12's crun 1.8 refuses hybrid cgroup hosts such as this one:
        // that, and only that, may stop the replay (docs/seccomp.md)
        let err = stderr(&probe);
        assert!(
            err.contains("cgroups in hybrid mode not supported"),
            "crun failed otherwise: {err}"
        );
        eprintln!("seccomp_profile_replays_on_crun_where_crun_runs: replay on crun skipped: crun refuses hybrid cgroups here");
        return;
    }
    let (first, profile) = audited(&env, &d, W1);
    let again = under(&d, "crun", &profile, W1);
    ok(&again);
    assert_eq!(stdout(&again), first);
    assert!(!under(&d, "crun", &profile, W2).status.success());
}

#[test]
fn seccomp_base_profile_blocks_stay_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.json");
    let base = dir.path().join("base.json");
    std::fs::write(
        &p,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mkdir","mount","openat","unshare"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    // like Docker's default: allow by name, unshare only with conditions
    std::fs::write(
        &base,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mkdir","openat"],"action":"SCMP_ACT_ALLOW"},
            {"names":["unshare"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "seccomp",
            "--base",
            base.to_str().unwrap(),
            p.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["syscalls"][0]["names"],
        serde_json::json!(["mkdir", "openat"])
    );
    // unshare keeps the base's condition; mount, which the base never allows, goes
    assert_eq!(
        v["syscalls"][1],
        serde_json::json!({"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}})
    );
    assert_eq!(
        stderr(&out),
        "ctraudit seccomp: mount: blocked by the base profile, left out\n\
         ctraudit seccomp: unshare: only as the base profile allows it (its conditions kept)\n"
    );
}

/// `ctraudit ARGS`, its output.
fn ctraudit(args: &[&str]) -> Output {
    std::process::Command::new(BIN).args(args).output().unwrap()
}

/// Runs `cmd` audited with `docker run` options `opts`; returns its output
/// and the container's log directory (summary.json, seccomp.json).
fn audited_with(env: &Env, d: &Dockerd, opts: &[&str], cmd: &[&str]) -> (Output, PathBuf) {
    let mut flags = vec!["--rm"];
    flags.extend_from_slice(opts);
    let (out, id) = d.run_audited(&flags, cmd);
    let dir = env.path("log").join(&id);
    assert!(dir.join("seccomp.json").exists(), "{}", dir.display());
    (out, dir)
}

/// Runs `cmd` on runc under `profile` (not audited) with options `opts`.
fn under_with(d: &Dockerd, profile: &Path, opts: &[&str], cmd: &[&str]) -> Output {
    let opt = format!("seccomp={}", profile.display());
    let mut flags = vec!["--security-opt", opt.as_str()];
    flags.extend_from_slice(opts);
    d.run_unaudited(&flags, cmd)
}

fn json_of(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The rules of `profile` that name exactly `name`.
fn rules_for(profile: &serde_json::Value, name: &str) -> Vec<serde_json::Value> {
    profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["names"] == serde_json::json!([name]))
        .cloned()
        .collect()
}

/// The names of a profile's first rule (the unconditional allow list).
fn allow_list(profile: &serde_json::Value) -> Vec<String> {
    assert_eq!(profile["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
    assert!(profile["syscalls"][0].get("args").is_none());
    profile["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

/// seccomp_probe.c, built static into `dir`.
fn probe(dir: &Path) -> PathBuf {
    let src = dir.join("probe.c");
    std::fs::write(&src, include_str!("seccomp_probe.c")).unwrap();
    let bin = dir.join("probe");
    let out = std::process::Command::new("gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc is installed (.ci/setup)");
    ok(&out);
    bin
}

/// Docker's mask of namespace flags in clone's first argument:
/// CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET}.
const CLONE_NS_MASK: u64 = 0x7e02_0000;

fn clone_rule(namespaces: u64) -> serde_json::Value {
    serde_json::json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NS_MASK, "valueTwo": namespaces, "op": "SCMP_CMP_MASKED_EQ"}]})
}

/// Docker's default refuses clone with CLONE_NEW* flags to a container
/// without CAP_SYS_ADMIN. A learned profile refuses it too, unless the
/// audit saw the container create those very namespaces.
#[test]
fn seccomp_clone_creates_only_the_namespaces_the_audit_saw() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let probe = probe(env.dir.path());
    let mount = format!("{}:/probe:ro", probe.display());
    let nobody = ["--user", "65534", "--cap-drop", "ALL", "-v", &mount];
    // CLONE_NEWUSER|CLONE_NEWNET; and with CLONE_NEWPID
    let (user_net, user_net_pid) = ("0x50000000", "0x70000000");

    // without a filter, this host lets an unprivileged process make them
    let mut free = vec!["--security-opt", "seccomp=unconfined"];
    free.extend_from_slice(&nobody);
    let free = d.run_unaudited(&free, &["/probe", "clone", user_net]);
    assert_eq!(stdout(&free), "clone 0x50000000: ok\n", "{}", stderr(&free));

    // learned from a run that only forks: clone without namespace flags
    let (out, dir) = audited_with(&env, &d, &["-v", &mount], &["/probe", "clone", "0"]);
    assert_eq!(stdout(&out), "clone 0: ok\n", "{}", stderr(&out));
    let profile = dir.join("seccomp.json");
    let run = under_with(&d, &profile, &nobody, &["/probe", "clone", "0", user_net]);
    assert_eq!(
        stdout(&run),
        "clone 0: ok\nclone 0x50000000: Operation not permitted\n",
        "{}",
        stderr(&run)
    );
    let p = json_of(&profile);
    assert!(!allow_list(&p).contains(&"clone".to_owned()));
    assert_eq!(rules_for(&p, "clone"), [clone_rule(0)]);
    // clone3, whose flags seccomp cannot read, says ENOSYS: libc falls back to clone
    let run = under_with(&d, &profile, &nobody, &["/probe", "clone3", "0"]);
    assert_eq!(stdout(&run), "clone3 0: Function not implemented\n");

    // learned from a run that made a user and a network namespace
    let mut opts = vec!["--security-opt", "seccomp=unconfined"];
    opts.extend_from_slice(&nobody);
    let (out, dir) = audited_with(&env, &d, &opts, &["/probe", "clone", user_net]);
    assert_eq!(stdout(&out), "clone 0x50000000: ok\n", "{}", stderr(&out));
    let profile = dir.join("seccomp.json");
    let p = json_of(&profile);
    assert_eq!(
        rules_for(&p, "clone"),
        [clone_rule(0), clone_rule(0x5000_0000)]
    );
    let run = under_with(
        &d,
        &profile,
        &nobody,
        &["/probe", "clone", "0", user_net, user_net_pid],
    );
    assert_eq!(
        stdout(&run),
        "clone 0: ok\nclone 0x50000000: ok\nclone 0x70000000: Operation not permitted\n",
        "{}",
        stderr(&run)
    );
}

/// A base profile shaped like Docker's default: the learned names
/// unconditionally but for arch_prctl (on x86 only), clone (without
/// namespace flags, or with CAP_SYS_ADMIN) and clone3 (ENOSYS without
/// CAP_SYS_ADMIN).
fn docker_like_base(names: &[String]) -> serde_json::Value {
    let plain: Vec<&String> = names
        .iter()
        .filter(|n| !["arch_prctl", "clone", "clone3", "unshare"].contains(&n.as_str()))
        .collect();
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "syscalls": [
            {"names": plain, "action": "SCMP_ACT_ALLOW"},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["clone", "clone3", "unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NS_MASK, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
        ]
    })
}

/// A profile given back to `ctraudit seccomp`, alone or in a merge, keeps
/// its conditional rules: without arch_prctl (allowed on x86 only by the
/// base) no static binary even starts.
#[test]
fn seccomp_a_profile_read_back_keeps_its_conditional_rules() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (out3, p3) = audited(&env, &d, W3);
    assert_eq!(out3, "/tmp/d\n");
    let summary = p3.with_file_name("summary.json");
    let summary = summary.to_str().unwrap();
    let base = env.path("base.json");
    std::fs::write(
        &base,
        docker_like_base(&allow_list(&json_of(&p3))).to_string(),
    )
    .unwrap();
    let write = |name: &str, args: &[&str]| {
        let out = ctraudit(args);
        ok(&out);
        let path = env.path(name);
        std::fs::write(&path, &out.stdout).unwrap();
        (path, out)
    };

    let (a, _) = write(
        "a.json",
        &["seccomp", "--base", base.to_str().unwrap(), summary],
    );
    let a_json = json_of(&a);
    assert_eq!(
        rules_for(&a_json, "arch_prctl"),
        [
            serde_json::json!({"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}})
        ]
    );
    assert_eq!(stdout(&under(&d, "runc", &a, W3)), "/tmp/d\n");

    // read back alone: exactly the same profile
    let (b, out) = write("b.json", &["seccomp", a.to_str().unwrap()]);
    assert_eq!(stderr(&out), "");
    assert_eq!(
        std::fs::read_to_string(&b).unwrap(),
        std::fs::read_to_string(&a).unwrap()
    );
    assert_eq!(stdout(&under(&d, "runc", &b, W3)), "/tmp/d\n");

    // merged with the plain profile of the same run: still runs
    let (c, _) = write(
        "c.json",
        &["seccomp", "--merge", a.to_str().unwrap(), summary],
    );
    let w3 = under(&d, "runc", &c, W3);
    ok(&w3);
    assert_eq!(stdout(&w3), "/tmp/d\n");

    // a merge that loses a condition says so
    let old = env.path("old.json");
    std::fs::write(
        &old,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["clone","mkdir"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let out = ctraudit(&[
        "seccomp",
        "--merge",
        a.to_str().unwrap(),
        old.to_str().unwrap(),
    ]);
    ok(&out);
    assert_eq!(
        stderr(&out),
        format!(
            "ctraudit seccomp: clone: {} allows it with any arguments, so the conditions {} puts on it are dropped\n",
            old.display(),
            a.display()
        )
    );
    // and one that would change what a profile refuses, and how, is refused
    let other = env.path("other.json");
    std::fs::write(
        &other,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":95}]}"#,
    )
    .unwrap();
    let out = ctraudit(&[
        "seccomp",
        "--merge",
        a.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!(
            "ctraudit seccomp: clone3: {} and {} give it different rules that are not all allowing: a merge cannot keep both\n",
            a.display(),
            other.display()
        )
    );
}

/// Whether a process is still alive to be signalled depends on timing (a
/// pool's shutdown kills only the workers that have not exited yet), so
/// signals inside the container are allowed whether or not the learned
/// run sent one.
#[test]
fn seccomp_a_signal_the_learned_run_never_sent_is_allowed() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (_, p3) = audited(&env, &d, W3);
    let s = json_of(&p3.with_file_name("summary.json"));
    assert!(s["syscalls"]["counts"].get("kill").is_none());
    let run = under(&d, "runc", &p3, "sleep 30 & kill $!; wait $!; echo $?");
    assert_eq!(stdout(&run), "143\n", "{}", stderr(&run));
}

/// A profile learned from an incomplete audit may be too tight: the
/// command says so on stderr, and the profile says so in its first rule's
/// comment (Docker's format has one), which the command repeats when it
/// reads the profile back.
#[test]
fn seccomp_an_incomplete_audit_warns_that_the_profile_may_be_too_tight() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    let (_, p3) = audited(&env, &d, W3);
    let mut s = json_of(&p3.with_file_name("summary.json"));
    assert_eq!(s["loss"]["complete"], true);
    let out = ctraudit(&[
        "seccomp",
        p3.with_file_name("summary.json").to_str().unwrap(),
    ]);
    ok(&out);
    assert_eq!(stderr(&out), "", "a complete audit: no warning");

    s["loss"]["complete"] = false.into();
    s["loss"]["tasks_lost"] = 2.into();
    let lossy = env.path("lossy.json");
    std::fs::write(&lossy, s.to_string()).unwrap();
    let out = ctraudit(&["seccomp", lossy.to_str().unwrap()]);
    ok(&out);
    let l = lossy.display();
    assert_eq!(
        stderr(&out),
        format!("ctraudit seccomp: {l}: the audit is incomplete (tasks_lost 2): the profile may be too tight\n")
    );
    let profile = env.path("lossy-seccomp.json");
    std::fs::write(&profile, &out.stdout).unwrap();
    let p = json_of(&profile);
    assert_eq!(
        p["syscalls"][0]["comment"],
        format!("ctraudit: the audit of {l} is incomplete (tasks_lost 2): this profile may be too tight")
    );
    // Docker takes the comment, and the profile still runs the workload;
    // so does runc, given it as a bundle's linux.seccomp
    assert_eq!(stdout(&under(&d, "runc", &profile, W3)), "/tmp/d\n");
    let b = common::Bundle::new(&env, "lossy", &["sh", "-c", W3]);
    b.edit(|c| c["linux"]["seccomp"] = p.clone());
    let run = env.run(&b.dir, "lossy");
    ok(&run);
    assert_eq!(stdout(&run), "/tmp/d\n");
    let out = ctraudit(&["seccomp", profile.to_str().unwrap()]);
    ok(&out);
    assert_eq!(
        stderr(&out),
        format!(
            "ctraudit seccomp: {}: ctraudit: the audit of {l} is incomplete (tasks_lost 2): this profile may be too tight\n",
            profile.display()
        )
    );
}

/// Unknown actions, and any other malformed field of a profile or summary,
/// are one-line errors that name the field, never a guess and never a
/// panic.
#[test]
fn seccomp_malformed_input_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let cases: &[(&str, &str)] = &[
        (
            r#"{"defaultAction":"SCMP_ACT_BOGUS"}"#,
            "field `defaultAction`: unknown action `SCMP_ACT_BOGUS`",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"},{"names":["mkdir"],"action":"allow"}]}"#,
            "field `syscalls[1].action`: unknown action `allow`",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}"#,
            "field `syscalls[0].args[0].op`: unknown operator `SCMP_CMP_LIKE`",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
            "field `syscalls[0].args[0].index`: 6 is not an argument index (0 to 5)",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}"#,
            "field `syscalls[0].names`: invalid type: string \"read\", expected a sequence",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ALLOW"}]}"#,
            "field `syscalls[0].names`: no syscall named",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","comment":"x","syscalls":[]}"#,
            "field `comment`: unknown field",
        ),
        (
            r#"{"schema":"ctraudit.summary/v1","syscalls":{"counts":{"openat":"x"}}}"#,
            "field `syscalls.counts.openat`: invalid type: string \"x\", expected u64",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let bad = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&bad, text).unwrap();
        for args in [
            vec!["seccomp", bad.to_str().unwrap()],
            vec![
                "seccomp",
                "--base",
                bad.to_str().unwrap(),
                good.to_str().unwrap(),
            ],
        ] {
            let out = ctraudit(&args);
            assert_eq!(out.status.code(), Some(1), "{text}: {}", stderr(&out));
            assert_eq!(stdout(&out), "");
            assert_eq!(
                stderr(&out),
                format!("ctraudit seccomp: {}: {want}\n", bad.display()),
                "{text}"
            );
        }
    }
}

/// A reader that has gone (`ctraudit seccomp ID | true`) is an error with
/// its reason, not a panic.
#[test]
fn seccomp_a_closed_stdout_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    // a pipe whose read end is closed before the command writes
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = std::process::Command::new(BIN)
        .args(["seccomp", good.to_str().unwrap()])
        .stdout(write)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "ctraudit seccomp: writing the profile to stdout: Broken pipe (os error 32)\n"
    );
}
