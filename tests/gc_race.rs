//! `ctraudit gc` running while containers stop (issue 12): a container is
//! finalised exactly once, under the lock, and its summary holds its
//! workload exactly, whether its poststop or the gc got there first.
//! Real runc, real BPF (root). Names start with `gc_`.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use common::output::{stderr, text};
use common::{argv, executed, file_paths, strs, Bundle, Env, BIN};
use serde_json::Value;

/// The workload of the report in issue 12: one file written, then a wait
/// in busybox's sleep (which sh runs by re-executing busybox).
const SCRIPT: &str = "echo x>/tmp/x; sleep 0.5";

/// What a summary of SCRIPT must hold, exactly; the differences, if any.
fn wrong(id: &str, s: &Value) -> Option<String> {
    let got = (
        executed(s),
        file_paths(s),
        s["files"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["path"] == "/tmp/x"))
            .map(|f| strs(&f["access"]).join(",")),
        s["processes"]["execs"].as_u64(),
        s["loss"]["complete"].as_bool(),
        s["loss"]["kernel_data"].as_str(),
    );
    let want = (
        vec![
            argv("/bin/sh", &["sh", "-c", SCRIPT]),
            argv("/proc/self/exe", &["sleep", "0.5"]),
        ],
        vec!["/tmp/x".to_owned()],
        Some("write,create".to_owned()),
        Some(2),
        Some(true),
        Some("complete"),
    );
    (got != want).then(|| format!("{id}: {got:?}"))
}

/// `ctraudit gc` run again and again (as `while :; do ctraudit gc; done`)
/// until `stop`; every run's exit status and output.
fn gc_loop(hook_env: &[String], stop: &AtomicBool) -> Vec<(bool, String)> {
    let mut runs = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut c = Command::new(BIN);
        c.arg("gc");
        for kv in hook_env {
            let (k, v) = kv.split_once('=').unwrap();
            c.env(k, v);
        }
        let out = c.output().unwrap();
        runs.push((out.status.success(), text(&out)));
    }
    runs
}

/// What a storm left: the summaries that are wrong, how many summaries
/// say gc finalised them, and how many containers gc said it finalised.
struct Outcome {
    wrong: Vec<String>,
    by_gc: usize,
    gc_said: usize,
}

impl Outcome {
    fn assert_exact(&self, total: usize) {
        assert!(
            self.wrong.is_empty() && self.by_gc == self.gc_said,
            "{} of {total} summaries wrong; gc said it finalised {}, {} summaries say gc: {:#?}",
            self.wrong.len(),
            self.gc_said,
            self.by_gc,
            self.wrong
        );
    }
}

/// Runs `total` containers of SCRIPT, `at_once` at a time, with a gc loop
/// beside them.
fn storm(env: &Env, prefix: &str, total: usize, at_once: usize) -> Outcome {
    let ids: Vec<String> = (0..total).map(|i| format!("{prefix}-{i}")).collect();
    let bundles: Vec<Bundle> = ids
        .iter()
        .map(|id| Bundle::new(env, id, &["sh", "-c", SCRIPT]))
        .collect();
    let stop = AtomicBool::new(false);
    let hook_env = env.hook_env();
    let gc_runs = std::thread::scope(|sc| {
        let gc = sc.spawn(|| gc_loop(&hook_env, &stop));
        for (ids, bundles) in ids.chunks(at_once).zip(bundles.chunks(at_once)) {
            let runs: Vec<_> = ids
                .iter()
                .zip(bundles)
                .map(|(id, b)| sc.spawn(move || (id, env.run(&b.dir, id))))
                .collect();
            for r in runs {
                let (id, out) = r.join().unwrap();
                assert!(out.status.success(), "{id}: {}", stderr(&out));
            }
        }
        stop.store(true, Ordering::Relaxed);
        gc.join().unwrap()
    });
    let failed: Vec<&String> = gc_runs
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, o)| o)
        .collect();
    assert!(failed.is_empty(), "gc failed: {failed:?}");
    let gc_said = gc_runs
        .iter()
        .flat_map(|(_, o)| o.lines())
        .filter(|l| l.starts_with("finalise container "))
        .count();
    // gc says only that it finalised a container whose processes had all
    // exited (its cgroup empty or already removed) before its poststop
    // ran, or that it has nothing to do
    let mut wrong_ones: Vec<String> = gc_runs
        .iter()
        .flat_map(|(_, o)| o.lines())
        .filter(|l| {
            !(*l == "nothing to do"
                || *l == "detach the programs: no container is audited any more"
                || l.starts_with(&format!("finalise container {prefix}-"))
                    && (l.ends_with(" is gone, and no poststop hook finished it")
                        || l.ends_with(
                            " is empty (populated 0), and no poststop hook finished it",
                        )))
        })
        .map(|l| format!("gc said: {l}"))
        .collect();
    eprintln!(
        "{prefix}: {} gc runs, {gc_said} finalised by gc",
        gc_runs.len()
    );

    let mut by_gc = 0;
    for id in &ids {
        let s = env.summary(id);
        match s["ctraudit"]["finalised_by"].as_str() {
            Some("gc") => by_gc += 1,
            Some("poststop") => {}
            other => wrong_ones.push(format!("{id}: finalised_by {other:?}")),
        }
        wrong_ones.extend(wrong(id, &s));
    }
    Outcome {
        wrong: wrong_ones,
        by_gc,
        gc_said,
    }
}

#[test]
fn gc_in_a_loop_while_containers_stop_one_after_another_loses_no_audit() {
    let env = Env::new("");
    storm(&env, "gcr-seq", 10, 1).assert_exact(10);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn gc_in_a_loop_while_containers_stop_eight_at_a_time_loses_no_audit() {
    let env = Env::new("");
    storm(&env, "gcr-par", 40, 8).assert_exact(40);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// The load check of issue 12 with the gc loop beside it: 100 containers,
/// 20 starting at a time, twice (some 20 s on a 2-CPU machine).
#[test]
fn gc_in_a_loop_beside_a_hundred_containers_twenty_at_a_time_loses_no_audit() {
    let env = Env::new("");
    for round in 0..2 {
        storm(&env, &format!("gcr-load{round}"), 100, 20).assert_exact(100);
    }
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
