//! Every run of a container id is kept (`<log>/<id>/runs/<n>/`), the
//! latest also at `<log>/<id>/summary.json`; `[retention] runs` bounds
//! them. Real runc and a private dockerd (root). Names start with `runs_`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::docker::Dockerd;
use common::output::{stderr, stdout};
use common::{argv, executed, ok, Bundle, Env};
use serde_json::Value;

fn run_dir(env: &Env, id: &str, n: u64) -> PathBuf {
    env.path("log").join(id).join("runs").join(n.to_string())
}

/// The numbers of the run directories there are, in order.
fn runs(env: &Env, id: &str) -> Vec<u64> {
    let mut n: Vec<u64> = std::fs::read_dir(env.path("log").join(id).join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    n.sort();
    n
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// One row of `report --runs`, as report writes it.
fn row(n: u64, s: &Value) -> String {
    let t = &s["times"];
    let started = t["first_exec"]
        .as_str()
        .or(t["registered"].as_str())
        .unwrap();
    format!(
        "{n:>5}  {started:<24}  {:<24}  {:<8}  {}",
        t["stopped"].as_str().unwrap(),
        s["ctraudit"]["finalised_by"].as_str().unwrap(),
        if s["loss"]["complete"] == true {
            "yes"
        } else {
            "no"
        }
    )
    .trim_end()
    .to_owned()
}

#[test]
fn runs_runc_keeps_each_run_and_gc_prunes_past_retention() {
    let env = Env::new("");
    let id = "again";
    let b = Bundle::new(&env, id, &["/bin/echo", "one"]);
    for word in ["one", "two", "three"] {
        b.edit(|c| c["process"]["args"] = serde_json::json!(["/bin/echo", word]));
        let out = env.run(&b.dir, id);
        assert!(out.status.success(), "runc run: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{word}\n"));
    }
    assert_eq!(
        runs(&env, id),
        [1, 2, 3],
        "the default retention keeps all three"
    );
    for (n, word) in [(1, "one"), (2, "two"), (3, "three")] {
        let s = json(&run_dir(&env, id, n).join("summary.json"));
        assert_eq!(s["container"]["run"], n, "run {n}");
        assert_eq!(executed(&s), [argv("/bin/echo", &["/bin/echo", word])]);
        assert!(run_dir(&env, id, n).join("seccomp.json").exists());
    }

    // retention lowered: gc removes the oldest run, and only it
    env.write_config("[retention]\nruns = 2\n");
    let out = env.cli(&["gc", "--dry-run"]);
    assert_eq!(
        stdout(&out),
        "would remove run 1 of container again: past retention.runs = 2\n"
    );
    assert_eq!(runs(&env, id), [1, 2, 3], "a dry run removes nothing");
    let out = env.cli(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "remove run 1 of container again: past retention.runs = 2\n"
    );
    assert_eq!(runs(&env, id), [2, 3]);
    let out = env.cli(&["gc"]);
    assert_eq!(stdout(&out), "nothing to do\n");

    let top = env.path("log").join(id);
    assert_eq!(
        std::fs::read(top.join("summary.json")).unwrap(),
        std::fs::read(run_dir(&env, id, 3).join("summary.json")).unwrap(),
        "the latest run, byte for byte"
    );
    assert_eq!(
        std::fs::read(top.join("seccomp.json")).unwrap(),
        std::fs::read(run_dir(&env, id, 3).join("seccomp.json")).unwrap()
    );

    // report: the latest, one run, the list
    let latest = env.cli(&["report", id]);
    ok(&latest);
    assert_eq!(
        stdout(&latest),
        stdout(&env.cli(&["report", top.join("summary.json").to_str().unwrap()]))
    );
    assert!(
        stdout(&latest).contains("  run      3\n"),
        "{}",
        stdout(&latest)
    );
    let two = env.cli(&["report", id, "--run", "2"]);
    ok(&two);
    assert_eq!(
        stdout(&two),
        stdout(&env.cli(&[
            "report",
            run_dir(&env, id, 2).join("summary.json").to_str().unwrap()
        ]))
    );
    let list = env.cli(&["report", id, "--runs"]);
    ok(&list);
    let lines: Vec<String> = stdout(&list).lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        [
            "container again: 2 runs kept (retention.runs = 2)".to_owned(),
            "  run  started                   stopped                   ended by  complete"
                .to_owned(),
            row(2, &json(&run_dir(&env, id, 2).join("summary.json"))),
            row(3, &json(&run_dir(&env, id, 3).join("summary.json"))),
        ]
    );
    let gone = env.cli(&["report", id, "--run", "1"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(
        stderr(&gone),
        "ctraudit report: container again: no run 1 (runs kept: 2, 3)\n"
    );

    // seccomp: the union of the runs kept, or one run
    let all = env.cli(&["seccomp", id]);
    ok(&all);
    let r2 = run_dir(&env, id, 2).join("summary.json");
    let r3 = run_dir(&env, id, 3).join("summary.json");
    let merged = env.cli(&[
        "seccomp",
        "--merge",
        r2.to_str().unwrap(),
        r3.to_str().unwrap(),
    ]);
    ok(&merged);
    assert_eq!(stdout(&all), stdout(&merged));
    assert_eq!(
        stderr(&all),
        "ctraudit seccomp: container again: the union of 2 runs (2, 3)\n"
    );
    let one = env.cli(&["seccomp", id, "--run", "2"]);
    ok(&one);
    assert_eq!(
        stdout(&one).as_bytes(),
        std::fs::read(run_dir(&env, id, 2).join("seccomp.json")).unwrap()
    );
    assert_eq!(
        stderr(&one),
        "ctraudit seccomp: container again: run 2 only (2 runs kept)\n"
    );
    let gone = env.cli(&["seccomp", id, "--run", "1"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(stdout(&gone), "");
    assert_eq!(
        stderr(&gone),
        "ctraudit seccomp: container again: no run 1 (runs kept: 2, 3)\n"
    );

    // a fourth run is number 4, and its finaliser keeps the latest two
    b.edit(|c| c["process"]["args"] = serde_json::json!(["/bin/echo", "four"]));
    ok(&env.run(&b.dir, id));
    assert_eq!(runs(&env, id), [3, 4]);
    let s = env.summary(id);
    assert_eq!(s["container"]["run"], 4);
    assert_eq!(executed(&s), [argv("/bin/echo", &["/bin/echo", "four"])]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runs_a_retention_of_zero_is_refused_in_one_line() {
    let env = Env::new("[retention]\nruns = 0\n");
    let out = env.cli(&["gc"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "ctraudit gc: {}: retention.runs: 0 is out of range 1..=100000: at least the latest run is kept\n",
            env.path("config.toml").display()
        )
    );
    env.write_config("[retention]\nruns = 100001\n");
    let out = env.cli(&["report", "x"]);
    assert_eq!(
        stderr(&out),
        format!(
            "ctraudit report: {}: retention.runs: 100001 is out of range 1..=100000\n",
            env.path("config.toml").display()
        )
    );
}

#[test]
fn runs_docker_restart_keeps_every_run() {
    let env = Env::new("");
    let d = Dockerd::start(&env, "");
    // each start counts itself in the container's own file system
    let script = "n=$(/bin/cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n >/n; /bin/echo run$n";
    let (out, id) = d.run_audited(&[], &["sh", "-c", script]);
    ok(&out);
    assert_eq!(stdout(&out), "run1\n");
    for n in [2u64, 3] {
        ok(&d.docker(&["restart", &id]));
        common::wait::wait_until(
            format!("run {n} finalised"),
            Duration::from_secs(30),
            Duration::from_millis(50),
            || run_dir(&env, &id, n).join("seccomp.json").exists() && env.leftovers().is_empty(),
        );
    }
    ok(&d.docker(&["rm", &id]));
    assert_eq!(runs(&env, &id), [1, 2, 3]);
    let mut bodies = Vec::new();
    for n in 1..=3u64 {
        let s = json(&run_dir(&env, &id, n).join("summary.json"));
        assert_eq!(s["container"]["run"], n);
        assert_eq!(s["container"]["id"], id.as_str());
        let echo = format!("run{n}");
        let want = [
            argv("/bin/sh", &["sh", "-c", script]),
            argv("/bin/cat", &["/bin/cat", "/n"]),
            argv("/bin/echo", &["/bin/echo", &echo]),
        ];
        assert_eq!(executed(&s), want, "run {n}");
        bodies.push(std::fs::read(run_dir(&env, &id, n).join("summary.json")).unwrap());
    }
    assert_ne!(bodies[0], bodies[1]);
    assert_ne!(bodies[1], bodies[2]);
    assert_eq!(
        std::fs::read(env.summary_path(&id)).unwrap(),
        bodies[2],
        "the latest run is the top-level summary"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn runs_a_log_from_before_runs_were_kept_becomes_run_1() {
    let env = Env::new("");
    let id = "older";
    let b = Bundle::new(&env, id, &["/bin/echo", "old"]);
    ok(&env.run(&b.dir, id));
    // as a release before runs wrote it: no runs/, no container.run
    let dir = env.path("log").join(id);
    std::fs::remove_dir_all(dir.join("runs")).unwrap();
    let mut s = env.summary(id);
    s["container"].as_object_mut().unwrap().remove("run");
    let mut old = serde_json::to_vec_pretty(&s).unwrap();
    old.push(b'\n');
    std::fs::write(dir.join("summary.json"), &old).unwrap();
    let old_profile = std::fs::read(dir.join("seccomp.json")).unwrap();

    b.edit(|c| c["process"]["args"] = serde_json::json!(["/bin/echo", "new"]));
    ok(&env.run(&b.dir, id));
    assert_eq!(runs(&env, id), [1, 2]);
    assert_eq!(
        std::fs::read(run_dir(&env, id, 1).join("summary.json")).unwrap(),
        old,
        "the earlier container's summary, byte for byte"
    );
    assert_eq!(
        std::fs::read(run_dir(&env, id, 1).join("seccomp.json")).unwrap(),
        old_profile
    );
    let s = env.summary(id);
    assert_eq!(s["container"]["run"], 2);
    assert_eq!(executed(&s), [argv("/bin/echo", &["/bin/echo", "new"])]);
    assert_eq!(
        std::fs::read(env.summary_path(id)).unwrap(),
        std::fs::read(run_dir(&env, id, 2).join("summary.json")).unwrap()
    );
    let list = env.cli(&["report", id, "--runs"]);
    ok(&list);
    assert_eq!(stdout(&list).lines().count(), 4, "{}", stdout(&list));
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// A fresh host has no log root until the first container ends: poststop
/// makes it, as every other directory of ctraudit's, and writes run 1.
#[test]
fn runs_the_first_container_on_a_host_without_a_log_root_gets_its_summary() {
    let env = Env::new("");
    std::fs::remove_dir(env.path("log")).unwrap();
    let id = "first";
    let b = Bundle::new(&env, id, &["/bin/echo", "hi"]);
    let out = env.run(&b.dir, id);
    assert!(out.status.success(), "runc run: {}", stderr(&out));
    assert_eq!(runs(&env, id), [1]);
    let s = json(&run_dir(&env, id, 1).join("summary.json"));
    assert_eq!(executed(&s), [argv("/bin/echo", &["/bin/echo", "hi"])]);
    assert_eq!(json(&env.path("log").join(id).join("summary.json")), s);
    assert!(
        !env.path("log").join("failures.jsonl").exists(),
        "no failure: {:?}",
        std::fs::read_to_string(env.path("log").join("failures.jsonl"))
    );
}
