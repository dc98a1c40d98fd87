//! The first promise, exactness, under load (real runc, real BPF; root).
//! Names start with `exact_` so they can be selected.
//!
//! Every workload here (tests/common/work.c) makes a number of syscalls
//! known in advance, and each summary must hold exactly those counts: no
//! tolerance. The host around the containers is kept busy with processes
//! that are not audited (busy loops, a fork/exec loop), as on a real node,
//! and the workloads themselves run threads, processes, fork/exec churn
//! and pipes that block and wake at every step.

mod common;

use std::path::{Path, PathBuf};

use common::work::{HostLoad, Plan};
use common::{Bundle, Env};
use serde_json::{json, Value};

const BIG: Plan = Plan {
    spin: 1_000_000,
    threads: 4,
    per_thread: 250_000,
    procs: 4,
    per_proc: 250_000,
    files: 800,
    churn: 300,
    pipes: 20_000,
};

const SMALL: Plan = Plan {
    spin: 400_000,
    threads: 4,
    per_thread: 100_000,
    procs: 4,
    per_proc: 100_000,
    files: 400,
    churn: 150,
    pipes: 10_000,
};

/// Asserts that summary `s` holds exactly what `plan` did: every check,
/// compared whole, so a failure shows every count that was off.
fn assert_exact(s: &Value, plan: &Plan, what: &str) {
    assert_exact_with(s, plan, false, what)
}

fn assert_exact_with(s: &Value, plan: &Plan, clone3_refused: bool, what: &str) {
    let checks = plan.checks(s, clone3_refused);
    let got: Vec<(&String, &Value)> = checks.iter().map(|(w, g, _)| (w, g)).collect();
    let want: Vec<(&String, &Value)> = checks.iter().map(|(w, _, v)| (w, v)).collect();
    assert_eq!(got, want, "{what}");
}

fn work(env: &Env) -> PathBuf {
    common::work::build(env.dir.path())
}

/// Runs `plan` in one container named `id` and returns its summary.
fn run_plan(env: &Env, work: &Path, id: &str, plan: &Plan) -> Value {
    let args = plan.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let b = Bundle::with_work(env, id, work, &args);
    let out = env.run(&b.dir, id);
    common::ok(&out);
    env.summary(id)
}

#[test]
fn exact_counts_under_host_contention() {
    let env = Env::new("detach_when_idle = false\n");
    let work = work(&env);
    let _load = HostLoad::start();
    for round in 0..3 {
        let id = format!("busy-{round}");
        let s = run_plan(&env, &work, &id, &BIG);
        assert_exact(&s, &BIG, &id);
    }
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn exact_counts_with_two_then_four_audited_containers_at_once() {
    let env = Env::new("detach_when_idle = false\n");
    let work = work(&env);
    let _load = HostLoad::start();
    for n in [2, 4] {
        let ids: Vec<String> = (0..n).map(|i| format!("at-once-{n}-{i}")).collect();
        let (env, work) = (&env, &work);
        std::thread::scope(|sc| {
            let runs: Vec<_> = ids
                .iter()
                .map(|id| sc.spawn(move || (id, run_plan(env, work, id, &SMALL))))
                .collect();
            for r in runs {
                let (id, s) = r.join().unwrap();
                assert_exact(&s, &SMALL, id);
            }
        });
    }
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// Under a seccomp filter (as in every Docker container) a syscall that
/// ran is counted as run, and only the one the filter refused is denied.
#[test]
fn exact_under_a_seccomp_filter_only_the_refused_call_is_denied() {
    let env = Env::new("detach_when_idle = false\n");
    let work = work(&env);
    let _load = HostLoad::start();
    let filter = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    for round in 0..2 {
        let id = format!("filtered-{round}");
        let args = SMALL.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let b = Bundle::with_work(&env, &id, &work, &args);
        b.edit(|c| c["linux"]["seccomp"] = filter.clone());
        common::ok(&env.run(&b.dir, &id));
        assert_exact(&env.summary(&id), &SMALL, &id);
    }
    let b = Bundle::with_work(&env, "refused", &work, &["/work", "mount"]);
    b.edit(|c| c["linux"]["seccomp"] = filter.clone());
    common::ok(&env.run(&b.dir, "refused"));
    let s = env.summary("refused");
    assert_eq!(s["syscalls"]["denied"], json!({"mount": 1}));
    assert_eq!(s["syscalls"]["counts"].get("mount"), None);
    assert_eq!(s["loss"]["complete"], true, "{}", s["loss"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// The same through Docker (`--runtime ctraudit`) under its default
/// seccomp profile, which refuses clone3 (glibc then makes threads with
/// clone): two rounds, then four containers at once, under host load.
#[test]
fn exact_docker_containers_under_host_contention() {
    use common::docker::Dockerd;
    let env = Env::new("detach_when_idle = false\n");
    let d = Dockerd::start(&env, "detach_when_idle = false");
    let _load = HostLoad::start();
    let run = |plan: &Plan| {
        let work = plan.args();
        let cmd: Vec<&str> = work.iter().map(String::as_str).collect();
        let (out, id) = d.run_audited(&["--rm"], &cmd);
        common::ok(&out);
        env.summary(&id)
    };
    for round in 0..2 {
        let what = format!("docker round {round}");
        assert_exact_with(&run(&SMALL), &SMALL, true, &what);
    }
    std::thread::scope(|sc| {
        let runs: Vec<_> = (0..4).map(|_| sc.spawn(|| run(&SMALL))).collect();
        for (i, r) in runs.into_iter().enumerate() {
            let what = format!("docker at once {i}");
            assert_exact_with(&r.join().unwrap(), &SMALL, true, &what);
        }
    });
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
