//! ctraudit's benchmark harness: what auditing costs, measured side by side
//! with running unaudited, with the floor (empty raw_tp programs), auditd
//! and bpftrace, in one run with interleaved repetitions.
//!
//!     make bench            # full run, writes BENCHMARKS.md
//!     make bench-quick      # under 5 minutes
//!     cargo bench --bench overhead -- [--quick] [--only a,b] [--out FILE]
//!
//! Sections (for --only): start, hooks, syscalls, profile, throughput,
//! scale, storms, stream. It needs root, and the packages `make bench-setup`
//! installs. Like the tests, it uses its own bpffs, /run and log roots and
//! private daemons, and puts back what it changes (audit rules, tracefs,
//! kernel.bpf_stats_enabled).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
mod peers;
mod servers;
mod util;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{Env, BIN};
use peers::{Auditd, Bpftrace, Floor, Probe};
use servers::Server;
use util::{median, median_delta, median_ratio, ms, must, pct, timed_with_rss, Knob};

const SECTIONS: &[&str] = &[
    "start",
    "hooks",
    "syscalls",
    "profile",
    "throughput",
    "scale",
    "storms",
    "stream",
];

/// The CPU the measured loops and load generators run on; servers run on
/// the other one.
const LOOP_CPU: &str = "1";
const SERVER_CPU: &str = "0";

struct Opts {
    quick: bool,
    out: PathBuf,
    only: Vec<String>,
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            quick: false,
            out: Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md"),
            only: SECTIONS.iter().map(|s| s.to_string()).collect(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                // cargo bench passes --bench to harness = false targets
                "--bench" => {}
                "--out" => o.out = PathBuf::from(args.next().expect("--out FILE")),
                "--only" => {
                    let list = args.next().expect("--only SECTION[,SECTION]");
                    o.only = list.split(',').map(str::to_owned).collect();
                    for s in &o.only {
                        assert!(
                            SECTIONS.contains(&s.as_str()),
                            "--only: unknown section {s:?} (known: {})",
                            SECTIONS.join(", ")
                        );
                    }
                }
                "-h" | "--help" => {
                    eprintln!(
                        "usage: cargo bench --bench overhead -- [--quick] [--only {}] [--out FILE]",
                        SECTIONS.join(",")
                    );
                    std::process::exit(0);
                }
                other => panic!("unknown argument {other:?} (see --help)"),
            }
        }
        o
    }

    fn runs(&self, quick: usize, full: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One line of the results table.
struct Row {
    measure: String,
    base: String,
    value: String,
    added: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    details: Vec<String>,
    /// Exactness checks that failed (storms): the run fails at the end.
    problems: Vec<String>,
}

impl Report {
    fn row(&mut self, measure: &str, base: String, value: String, added: String) -> &mut Row {
        eprintln!("  {measure}: {base} -> {value} ({added})");
        self.rows.push(Row {
            measure: measure.into(),
            base,
            value,
            added,
            target: String::new(),
            met: None,
        });
        self.rows.last_mut().unwrap()
    }

    fn detail(&mut self, title: &str, body: String) {
        self.details.push(format!("### {title}\n\n{body}"));
    }

    fn check(&mut self, what: String, ok: bool) {
        eprintln!("  {} {what}", if ok { "ok" } else { "MISMATCH" });
        if !ok {
            self.problems.push(what);
        }
    }
}

impl Row {
    fn target(&mut self, target: &str, met: bool) {
        self.target = target.into();
        self.met = Some(met);
    }
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

fn signed(x: f64, unit: &str) -> String {
    format!("{x:+.1} {unit}")
}

fn pct_change(ratio: f64) -> String {
    format!("{:+.1}%", (ratio - 1.0) * 100.0)
}

/// Containers of the harness: runc with the Env's roots, bundles from one
/// `runc spec` template, a shared read-only busybox root with sysloop.
struct Lab<'a> {
    env: &'a Env,
    dir: PathBuf,
    template: Value,
    rootfs: PathBuf,
    next: Cell<u32>,
}

#[derive(Clone, Copy)]
struct Spec<'r> {
    audited: bool,
    rootfs: Option<&'r Path>,
    /// Share the host's network namespace (servers loaded from the host).
    host_net: bool,
    cpus: Option<&'static str>,
}

const PLAIN: Spec<'static> = Spec {
    audited: false,
    rootfs: None,
    host_net: false,
    cpus: None,
};
const AUDITED: Spec<'static> = Spec {
    audited: true,
    ..PLAIN
};

impl<'a> Lab<'a> {
    fn new(env: &'a Env) -> Lab<'a> {
        let dir = env.path("bench");
        std::fs::create_dir_all(dir.join("template")).unwrap();
        must(
            Command::new("runc")
                .arg("spec")
                .current_dir(dir.join("template")),
        );
        let template: Value =
            serde_json::from_slice(&std::fs::read(dir.join("template/config.json")).unwrap())
                .unwrap();
        let src = dir.join("sysloop.c");
        std::fs::write(&src, include_str!("sysloop.c")).unwrap();
        let rootfs = dir.join("rootfs");
        common::make_rootfs(&rootfs);
        must(
            Command::new("gcc")
                .args(["-O2", "-static", "-o"])
                .arg(rootfs.join("sysloop"))
                .arg(&src),
        );
        // the exactness workload of tests/exact.rs, for the contention storm
        let work = common::work::build(&dir);
        std::fs::copy(work, rootfs.join("work")).unwrap();
        Lab {
            env,
            dir,
            template,
            rootfs,
            next: Cell::new(0),
        }
    }

    fn sysloop(&self) -> PathBuf {
        self.rootfs.join("sysloop")
    }

    fn id(&self, prefix: &str) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        format!("{prefix}-{n}")
    }

    /// Writes a bundle for `args` and returns its directory.
    fn bundle(&self, id: &str, args: &[String], spec: Spec) -> PathBuf {
        let dir = self.dir.join("bundles").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let mut cfg = self.template.clone();
        cfg["process"]["terminal"] = json!(false);
        cfg["process"]["args"] = json!(args);
        cfg["hostname"] = json!("bench");
        let (root, readonly) = match spec.rootfs {
            Some(r) => (r, false),
            None => (self.rootfs.as_path(), true),
        };
        cfg["root"] = json!({"path": root, "readonly": readonly});
        cfg["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=64m"]}));
        if spec.audited {
            let hook = |stage: &str| json!({"path": BIN, "args": ["ctraudit", "hook", stage], "env": self.env.hook_env(), "timeout": 20});
            cfg["hooks"] = json!({"prestart": [hook("prestart")], "poststop": [hook("poststop")]});
        }
        if spec.host_net {
            cfg["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "network");
        }
        if spec.rootfs.is_some() {
            // servers drop to an unprivileged user, as under Docker's
            // default capabilities
            for set in ["bounding", "effective", "permitted"] {
                let caps = cfg["process"]["capabilities"][set].as_array_mut().unwrap();
                caps.extend(["CAP_SETUID", "CAP_SETGID", "CAP_CHOWN"].map(|c| json!(c)));
            }
        }
        if let Some(cpus) = spec.cpus {
            cfg["linux"]["resources"]["cpu"] = json!({ "cpus": cpus });
        }
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&cfg).unwrap()).unwrap();
        dir
    }

    /// Starts a detached container running `args`; returns its id.
    fn start(&self, prefix: &str, args: &[&str], spec: Spec) -> String {
        let id = self.id(prefix);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let b = self.bundle(&id, &args, spec);
        self.env.run_detached(&b, &id);
        id
    }

    fn keeper(&self, spec: Spec) -> String {
        self.start("keep", &["/bin/sleep", "100000"], spec)
    }

    /// Stops and deletes a container (poststop runs) and its bundle.
    fn stop(&self, id: &str) {
        self.env.stop(id);
        let _ = std::fs::remove_dir_all(self.dir.join("bundles").join(id));
    }

    /// `runc run` in the foreground, start to exit to delete; its wall time.
    fn run_fg(&self, args: &[&str], spec: Spec) -> Duration {
        let id = self.id("fg");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let b = self.bundle(&id, &args, spec);
        let t = Instant::now();
        let out = self
            .env
            .runc(&["run", "--bundle", b.to_str().unwrap(), &id]);
        let d = t.elapsed();
        assert!(
            out.status.success(),
            "runc run {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&b);
        d
    }

    /// sysloop on the host (not audited), on LOOP_CPU: ns per iteration.
    fn host_loop(&self, mode: &str, n: u64) -> f64 {
        let sysloop = self.sysloop();
        loop_ns(
            Command::new("taskset")
                .args(["-c", LOOP_CPU])
                .arg(&sysloop)
                .args([mode, &n.to_string()]),
        )
    }

    /// sysloop inside container `id` (runc exec), on LOOP_CPU.
    fn ct_loop(&self, id: &str, mode: &str, n: u64) -> f64 {
        loop_ns(
            Command::new("taskset")
                .args(["-c", LOOP_CPU, "runc", "--root"])
                .arg(self.env.path("runc"))
                .args(["exec", id, "/sysloop", mode, &n.to_string()]),
        )
    }

    /// Waits until the last poststop has unloaded the programs.
    fn wait_unloaded(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while programs_loaded() {
            assert!(
                Instant::now() < deadline,
                "the programs stayed loaded with no audited container (detach_when_idle)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab<'_> {
    /// Whatever a failed section left running in our runc root.
    fn drop(&mut self) {
        let out = self.env.runc(&["list", "-q"]);
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = self.env.runc(&["delete", "-f", id]);
        }
    }
}

fn loop_ns(cmd: &mut Command) -> f64 {
    let out = must(cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("sysloop printed {text:?}"))
}

fn bpftool_json(args: &[&str]) -> Value {
    let out = must(Command::new("bpftool").arg("-j").args(args));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn programs_loaded() -> bool {
    bpftool_json(&["prog", "show"])
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["name"] == "ct_sys_enter"))
}

/// (run_time_ns, run_cnt) of each loaded program by name.
fn prog_stats() -> BTreeMap<String, (u64, u64)> {
    let mut m = BTreeMap::new();
    for p in bpftool_json(&["prog", "show"])
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(name) = p["name"].as_str() {
            let e = m.entry(name.to_owned()).or_insert((0, 0));
            e.0 += p["run_time_ns"].as_u64().unwrap_or(0);
            e.1 += p["run_cnt"].as_u64().unwrap_or(0);
        }
    }
    m
}

/// Sum of bytes_memlock of the maps pinned in `dir`.
fn pinned_bytes(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.map(|e| e.unwrap().path())
        .map(|p| {
            bpftool_json(&["map", "show", "pinned", p.to_str().unwrap()])["bytes_memlock"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum()
}

/// The pin layout the hooks use, on the harness's roots.
fn layout(env: &Env) -> ctraudit::config::paths::Layout {
    ctraudit::config::paths::Layout::new(&env.path("bpf"), &env.path("run"), &env.path("log"))
}

fn kib(b: u64) -> String {
    format!("{:.0} KiB", b as f64 / 1024.0)
}

// ---- 1. container start latency -------------------------------------------

fn section_start(lab: &Lab, rep: &mut Report, o: &Opts) {
    let warm_n = o.runs(30, 60);
    let cold_n = o.runs(6, 15);
    {
        eprintln!("start: docker run, {warm_n} warm and {cold_n} cold pairs");
        let d = common::docker::Dockerd::start(lab.env, "detach_when_idle = true");
        let run = |runtime: &str| {
            let t = Instant::now();
            let out = d.docker(&[
                "run",
                "--rm",
                "--runtime",
                runtime,
                common::docker::IMAGE,
                "true",
            ]);
            let e = t.elapsed();
            common::ok(&out);
            ms(e)
        };
        let runtimes = ("ctraudit", "runc");
        pairs(lab, rep, "docker run --rm", runtimes, warm_n, cold_n, &run);
        let summaries = std::fs::read_dir(lab.env.path("log")).map_or(0, |d| d.count());
        rep.check(
            format!(
                "a summary for every audited docker run ({summaries} >= {})",
                warm_n + cold_n
            ),
            summaries >= warm_n + cold_n,
        );
    }
    {
        eprintln!("start: ctr run, {warm_n} warm and {cold_n} cold pairs");
        let c = common::containerd::Containerd::start(lab.env, "detach_when_idle = true");
        let n = Cell::new(0);
        let run = |runtime: &str| {
            let id = format!("ctr-{}", n.get());
            n.set(n.get() + 1);
            let t = Instant::now();
            let out = c.run(&["--runtime", runtime], &id, &["true"]);
            let e = t.elapsed();
            common::ok(&out);
            ms(e)
        };
        let runtimes = ("io.containerd.ctraudit.v2", "io.containerd.runc.v2");
        pairs(lab, rep, "ctr run --rm", runtimes, warm_n, cold_n, &run);
    }
}

/// Interleaved start pairs: warm (a keeper container holds the programs
/// loaded), then cold (nothing audited before each run: the run loads the
/// programs and its poststop unloads them, detach_when_idle).
fn pairs(
    lab: &Lab,
    rep: &mut Report,
    what: &str,
    (audited, plain): (&str, &str),
    warm_n: usize,
    cold_n: usize,
    run: &dyn Fn(&str) -> f64,
) {
    // one of each first: image and page caches
    run(plain);
    let keeper = lab.keeper(AUDITED);
    run(audited);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..warm_n {
        if i % 2 == 0 {
            a.push(run(audited));
            b.push(run(plain));
        } else {
            b.push(run(plain));
            a.push(run(audited));
        }
    }
    lab.stop(&keeper);
    lab.wait_unloaded();
    let (mut cold, mut cold_base) = (Vec::new(), Vec::new());
    for _ in 0..cold_n {
        cold_base.push(run(plain));
        assert!(!programs_loaded());
        cold.push(run(audited));
        lab.wait_unloaded();
    }
    let (a50, b50) = (pct(&a, 50.0), pct(&b, 50.0));
    let added = a50 - b50;
    rep.row(
        &format!("{what}, warm, p50 (ms)"),
        f1(b50),
        f1(a50),
        format!("{} ({:.3}x)", signed(added, "ms"), a50 / b50),
    )
    .target("≤ +10 ms, ≤ 1.03x", added <= 10.0 && a50 / b50 <= 1.03);
    let (a95, b95) = (pct(&a, 95.0), pct(&b, 95.0));
    rep.row(
        &format!("{what}, warm, p95 (ms)"),
        f1(b95),
        f1(a95),
        format!("{} ({:.3}x)", signed(a95 - b95, "ms"), a95 / b95),
    );
    let (c50, cb50) = (pct(&cold, 50.0), pct(&cold_base, 50.0));
    rep.row(
        &format!("{what}, cold (loads the programs), p50 (ms)"),
        f1(cb50),
        f1(c50),
        signed(c50 - cb50, "ms"),
    )
    .target("≤ +150 ms", c50 - cb50 <= 150.0);
    rep.detail(
        &format!("{what}: start latency"),
        format!(
            "{warm_n} warm pairs, interleaved (order alternating), and {cold_n} cold pairs. \
             Milliseconds, wall time of the client command.\n\n\
             | | runtime | p50 | p95 | min | max |\n|---|---|---|---|---|---|\n\
             | warm | {plain} | {} | {} | {} | {} |\n| warm | {audited} | {} | {} | {} | {} |\n\
             | cold | {plain} | {} | {} | {} | {} |\n| cold | {audited} | {} | {} | {} | {} |\n",
            f1(b50),
            f1(b95),
            f1(pct(&b, 0.0)),
            f1(pct(&b, 100.0)),
            f1(a50),
            f1(a95),
            f1(pct(&a, 0.0)),
            f1(pct(&a, 100.0)),
            f1(cb50),
            f1(pct(&cold_base, 95.0)),
            f1(pct(&cold_base, 0.0)),
            f1(pct(&cold_base, 100.0)),
            f1(c50),
            f1(pct(&cold, 95.0)),
            f1(pct(&cold, 0.0)),
            f1(pct(&cold, 100.0)),
        ),
    );
}

// ---- hooks on their own -------------------------------------------------------

fn section_hooks(lab: &Lab, rep: &mut Report, o: &Opts) {
    let n = o.runs(20, 50);
    eprintln!("hooks: {n} warm and {n} cold prestart/poststop pairs");
    let hook = |stage: &str, state: &Value| {
        let mut cmd = Command::new(BIN);
        cmd.args(["hook", stage]);
        for kv in lab.env.hook_env() {
            let (k, v) = kv.split_once('=').unwrap();
            cmd.env(k, v);
        }
        timed_with_rss(&lab.sysloop(), &cmd, state.to_string().as_bytes())
    };
    let mut results: BTreeMap<&str, (Vec<f64>, u64)> = BTreeMap::new();
    let mut record = |key: &'static str, (d, rss): (Duration, u64)| {
        let e = results.entry(key).or_default();
        e.0.push(ms(d));
        e.1 = e.1.max(rss);
    };
    for warm in [true, false] {
        let keeper = warm.then(|| lab.keeper(AUDITED));
        for _ in 0..n {
            let id = lab.id("hook");
            let b = lab.bundle(&id, &["/bin/sleep".into(), "100000".into()], PLAIN);
            lab.env
                .runc_detached(&["create", "--bundle", b.to_str().unwrap(), &id]);
            let st: Value = serde_json::from_slice(&lab.env.runc(&["state", &id]).stdout).unwrap();
            let mut state = json!({"ociVersion": "1.0.2", "id": id, "status": "created",
                "pid": st["pid"], "bundle": b, "annotations": {}});
            if !warm {
                assert!(!programs_loaded());
            }
            record(
                if warm {
                    "prestart, warm"
                } else {
                    "prestart, cold (loads)"
                },
                hook("prestart", &state),
            );
            must(
                Command::new("runc")
                    .arg("--root")
                    .arg(lab.env.path("runc"))
                    .args(["delete", "-f", &id]),
            );
            state["status"] = json!("stopped");
            record(
                if warm {
                    "poststop, others still audited"
                } else {
                    "poststop, last container (unloads)"
                },
                hook("poststop", &state),
            );
            assert!(lab.env.summary_path(&id).exists(), "no summary for {id}");
            if !warm {
                lab.wait_unloaded();
            }
            let _ = std::fs::remove_dir_all(&b);
        }
        if let Some(k) = keeper {
            lab.stop(&k);
            lab.wait_unloaded();
        }
    }
    let mut t = String::from(
        "Each hook run by hand on a `runc create`d container, stdin the OCI state, \
         as the runtime runs it (through `sysloop rss`, which adds a fork). \
         Milliseconds of wall time; peak RSS of the hook process.\n\n\
         | hook | p50 ms | p95 ms | max ms | peak RSS |\n|---|---|---|---|---|\n",
    );
    for (k, (v, rss)) in &results {
        writeln!(
            t,
            "| {k} | {} | {} | {} | {rss} KiB |",
            f1(pct(v, 50.0)),
            f1(pct(v, 95.0)),
            f1(pct(v, 100.0))
        )
        .unwrap();
        rep.row(
            &format!("hook {k}, p50 (ms)"),
            "-".into(),
            f1(pct(v, 50.0)),
            format!("p95 {} ms, peak RSS {rss} KiB", f1(pct(v, 95.0))),
        );
    }
    rep.detail("Hooks on their own", t);
}

// ---- 2. syscall overhead ------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    /// ctraudit not loaded, nothing attached.
    Idle,
    /// Empty raw_tp programs on sys_enter and sys_exit.
    Floor,
    /// ABI 1's gate alone: a per-CPU flag kept by sched_switch.
    FlagGate,
    /// The current task's bpf_storage, through a helper every time.
    TaskGate,
    /// Today's gate alone: a per-CPU memory by pt_regs address.
    RegsGate,
    /// ctraudit loaded (an audited container runs).
    Ctraudit,
    Auditd,
    Bpftrace,
}

const SETUPS: [Setup; 8] = [
    Setup::Idle,
    Setup::Floor,
    Setup::FlagGate,
    Setup::TaskGate,
    Setup::RegsGate,
    Setup::Ctraudit,
    Setup::Auditd,
    Setup::Bpftrace,
];

/// What a setup holds until dropped.
enum Held {
    None,
    Floor(#[allow(dead_code)] Floor),
    Keeper(String),
    Auditd(Auditd),
    Bpftrace(#[allow(dead_code)] Bpftrace),
}

fn enter(lab: &Lab, s: Setup) -> Held {
    match s {
        Setup::Idle => {
            assert!(
                !programs_loaded(),
                "ctraudit's programs are attached while the harness audits nothing: \
                 run it on a host where no other container is audited"
            );
            Held::None
        }
        Setup::Floor => Held::Floor(Floor::start(&lab.dir, Probe::Empty)),
        Setup::FlagGate => Held::Floor(Floor::start(&lab.dir, Probe::FlagGate)),
        Setup::TaskGate => Held::Floor(Floor::start(&lab.dir, Probe::TaskGate)),
        Setup::RegsGate => Held::Floor(Floor::start(&lab.dir, Probe::RegsGate)),
        Setup::Ctraudit => Held::Keeper(lab.keeper(AUDITED)),
        Setup::Auditd => Held::Auditd(Auditd::start(&lab.dir)),
        Setup::Bpftrace => Held::Bpftrace(Bpftrace::start(&lab.dir)),
    }
}

fn leave(lab: &Lab, held: Held) {
    if let Held::Keeper(id) = held {
        lab.stop(&id);
        lab.wait_unloaded();
    }
}

fn section_syscalls(lab: &Lab, rep: &mut Report, o: &Opts) {
    let rounds = o.runs(3, 9);
    let (n_ppid, n_open) = (1_000_000u64, 100_000u64);
    eprintln!("syscalls: {rounds} rounds of {} setups", SETUPS.len());
    let plain = lab.keeper(PLAIN);
    // (setup, where, loop) -> ns per iteration, one per round
    let mut m: BTreeMap<(String, &str, &str), Vec<f64>> = BTreeMap::new();
    for r in 0..rounds {
        for k in 0..SETUPS.len() {
            let s = SETUPS[(k + r) % SETUPS.len()];
            let held = enter(lab, s);
            // what starting the setup left behind (exiting hook and runtime
            // processes, a daemon's start-up) settles before measuring
            std::thread::sleep(Duration::from_millis(500));
            for (mode, n) in [("getppid", n_ppid), ("open", n_open)] {
                let key = |w| (format!("{s:?}"), w, mode);
                // host and container loops alternate which goes first
                for w in if r % 2 == 0 {
                    ["host", "container"]
                } else {
                    ["container", "host"]
                } {
                    let ns = match w {
                        "host" => lab.host_loop(mode, n),
                        _ => lab.ct_loop(&plain, mode, n),
                    };
                    m.entry(key(w)).or_default().push(ns);
                }
                if let Held::Keeper(id) = &held {
                    m.entry(key("audited"))
                        .or_default()
                        .push(lab.ct_loop(id, mode, n));
                }
            }
            leave(lab, held);
        }
    }
    lab.stop(&plain);
    let get = |s: Setup, w: &str, mode: &str| m[&(format!("{s:?}"), w, mode)].clone();
    let mut t = String::from(
        "ns per iteration, median over rounds; every setup ran once per round, in rotating \
         order. `host`: a host process; `container`: a container that is not audited; \
         `audited`: an audited container. getppid is counted but not decoded; open+close \
         is decoded (openat) plus counted (close).\n\n\
         | setup | loop | host | container | audited |\n|---|---|---|---|---|\n",
    );
    for s in SETUPS {
        for mode in ["getppid", "open"] {
            let cell = |w| {
                m.get(&(format!("{s:?}"), w, mode))
                    .map_or("-".into(), |v| f1(median(v)))
            };
            writeln!(
                t,
                "| {s:?} | {mode} | {} | {} | {} |",
                cell("host"),
                cell("container"),
                cell("audited")
            )
            .unwrap();
        }
    }
    rep.detail("Syscall overhead (raw)", t);
    for mode in ["getppid", "open"] {
        let idle = get(Setup::Idle, "host", mode);
        let idle_ct = get(Setup::Idle, "container", mode);
        let floor = median_delta(&get(Setup::Floor, "host", mode), &idle);
        let unaudited = median_delta(&get(Setup::Ctraudit, "host", mode), &idle);
        let audited = median_delta(&get(Setup::Ctraudit, "audited", mode), &idle_ct);
        let base = f1(median(&idle));
        let label = if mode == "getppid" {
            "getppid"
        } else {
            "open+close"
        };
        // getppid: one syscall; open+close: two
        let per = if mode == "getppid" { 1.0 } else { 2.0 };
        rep.row(
            &format!("{label}: floor, empty raw_tp (ns/iter)"),
            base.clone(),
            f1(median(&get(Setup::Floor, "host", mode))),
            signed(floor, "ns"),
        );
        let r = rep.row(
            &format!("{label}: ctraudit loaded, process not audited (ns/iter)"),
            base.clone(),
            f1(median(&get(Setup::Ctraudit, "host", mode))),
            format!(
                "{} (floor {})",
                signed(unaudited, "ns"),
                signed(floor, "ns")
            ),
        );
        if mode == "getppid" {
            r.target("≤ floor + 15 ns", unaudited <= floor + 15.0 * per);
        }
        for (s, name) in [
            (Setup::FlagGate, "gate alone, ABI 1's per-CPU flag"),
            (
                Setup::TaskGate,
                "gate alone, the task's bpf_storage by helper",
            ),
            (Setup::RegsGate, "gate alone, by pt_regs address (today's)"),
        ] {
            let h = get(s, "host", mode);
            rep.row(
                &format!("{label}: {name}, host (ns/iter)"),
                base.clone(),
                f1(median(&h)),
                format!(
                    "{} (floor {})",
                    signed(median_delta(&h, &idle), "ns"),
                    signed(floor, "ns")
                ),
            );
        }
        let r = rep.row(
            &format!("{label}: audited container (ns/iter)"),
            f1(median(&idle_ct)),
            f1(median(&get(Setup::Ctraudit, "audited", mode))),
            format!("{} (floor {})", signed(audited, "ns"), signed(floor, "ns")),
        );
        if mode == "getppid" {
            r.target("≤ floor + 40 ns", audited <= floor + 40.0 * per);
        }
        for (s, name) in [
            (Setup::Auditd, "auditd rules loaded"),
            (Setup::Bpftrace, "bpftrace per-cgroup count"),
        ] {
            let c = get(s, "container", mode);
            rep.row(
                &format!("{label}: {name}, container (ns/iter)"),
                f1(median(&idle_ct)),
                f1(median(&c)),
                signed(median_delta(&c, &idle_ct), "ns"),
            );
        }
    }
}

// ---- where the time goes: run_time_ns per program -----------------------------

fn section_profile(lab: &Lab, rep: &mut Report, o: &Opts) {
    let n = o.runs(1_000_000, 3_000_000) as u64;
    eprintln!("profile: kernel.bpf_stats_enabled, {n} getppid per case");
    let keeper = lab.keeper(AUDITED);
    let mut t = String::from(
        "With `kernel.bpf_stats_enabled=1` (which adds its own clock reads, so these \
         are not the numbers above): mean run time of each program per invocation, \
         from `run_time_ns / run_cnt` over one loop.\n\n\
         | case | program | runs | ns per run |\n|---|---|---|---|\n",
    );
    {
        let _stats = Knob::set("/proc/sys/kernel/bpf_stats_enabled", "1");
        let mut measure = |case: &str, f: &dyn Fn()| {
            let before = prog_stats();
            f();
            let after = prog_stats();
            for (name, (time, cnt)) in &after {
                let probe = Probe::ALL.iter().any(|p| name.starts_with(p.prefix()));
                if !(name.starts_with("ct_sys") || probe) {
                    continue;
                }
                let (t0, c0) = before.get(name).copied().unwrap_or((0, 0));
                let runs = cnt - c0;
                if runs > 0 {
                    writeln!(
                        t,
                        "| {case} | {name} | {runs} | {:.1} |",
                        (time - t0) as f64 / runs as f64
                    )
                    .unwrap();
                }
            }
        };
        measure("host process, getppid", &|| {
            lab.host_loop("getppid", n);
        });
        measure("audited container, getppid", &|| {
            lab.ct_loop(&keeper, "getppid", n);
        });
        // each decoder's cost per call (docs/design.md, "Decoding at sys_exit")
        for (case, mode) in [
            ("audited container, open+close", "open"),
            ("audited container, relative open+close", "open-relative"),
            ("audited container, sendto without address", "sendto"),
            ("audited container, sendto with an address", "sendto-addr"),
            ("audited container, mkdir+rmdir", "mkdir"),
            ("audited container, fchmod (by descriptor)", "fchmod"),
            ("audited container, failed execve", "exec-fail"),
        ] {
            measure(case, &|| {
                lab.ct_loop(&keeper, mode, n / 10);
            });
        }
        lab.stop(&keeper);
        lab.wait_unloaded();
        // each probe of floor.bpf.c alone: the floor, and the gates
        for probe in Probe::ALL {
            let _floor = Floor::start(&lab.dir, probe);
            measure(&format!("host process, getppid ({probe:?})"), &|| {
                lab.host_loop("getppid", n);
            });
        }
    }
    rep.detail("Where the time goes (bpf_stats)", t);
}

// ---- 3 and 4. server throughput, with peers -------------------------------------

fn section_throughput(lab: &Lab, rep: &mut Report, o: &Opts) {
    let rounds = o.runs(2, 5);
    let setups = [
        Setup::Idle,
        Setup::Floor,
        Setup::Ctraudit,
        Setup::Auditd,
        Setup::Bpftrace,
    ];
    eprintln!(
        "throughput: {rounds} rounds of {} setups x 2 servers",
        setups.len()
    );
    let mut ports = BTreeMap::new();
    for s in Server::ALL {
        let port = common::free_port();
        s.make_rootfs(&lab.dir.join(format!("rootfs-{}", s.name())), port);
        ports.insert(s, port);
    }
    let mut m: BTreeMap<(Server, String), Vec<f64>> = BTreeMap::new();
    let mut audit_records = Vec::new();
    for r in 0..rounds {
        for k in 0..setups.len() {
            let s = setups[(k + r) % setups.len()];
            // the server is the audited container; the peers are host-wide
            let held = if s == Setup::Ctraudit {
                Held::None
            } else {
                enter(lab, s)
            };
            for server in Server::ALL {
                let rootfs = lab.dir.join(format!("rootfs-{}", server.name()));
                let spec = Spec {
                    audited: s == Setup::Ctraudit,
                    rootfs: Some(&rootfs),
                    host_net: true,
                    cpus: Some(SERVER_CPU),
                };
                let port = ports[&server];
                let args = server.args(port);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let id = lab.start(server.name(), &args, spec);
                // its stderr is runc's (Env::runc_detached)
                util::wait_port(port, server.name(), &lab.env.path("runc-detached.stderr"));
                let rps = server.load(port, LOOP_CPU, o.quick);
                m.entry((server, format!("{s:?}"))).or_default().push(rps);
                lab.stop(&id);
            }
            if s == Setup::Ctraudit {
                lab.wait_unloaded();
            }
            if let Held::Auditd(a) = &held {
                audit_records.push(a.records());
            }
            leave(lab, held);
        }
    }
    let mut t = String::from(
        "Requests per second, one server container pinned to CPU 0, the load generator on \
         CPU 1, loopback (the container shares the host's network namespace). Every setup \
         ran once per round in rotating order; a fresh server container per run. The loss \
         is the median over rounds of the per-round ratio to the unaudited run.\n\n\
         | server | load | setup | median req/s | loss |\n|---|---|---|---|---|\n",
    );
    for server in Server::ALL {
        let base = m[&(server, "Idle".into())].clone();
        for s in setups {
            let v = &m[&(server, format!("{s:?}"))];
            let loss = 1.0 - median_ratio(v, &base);
            writeln!(
                t,
                "| {} | {} | {s:?} | {:.0} | {:.1}% |",
                server.name(),
                server.load_name(),
                median(v),
                loss * 100.0
            )
            .unwrap();
            if s == Setup::Idle {
                continue;
            }
            let who = match s {
                Setup::Floor => "floor (empty raw_tp)",
                Setup::Ctraudit => "ctraudit",
                Setup::Auditd => "auditd",
                _ => "bpftrace",
            };
            let r = rep.row(
                &format!("{} throughput, {who} (req/s)", server.name()),
                format!("{:.0}", median(&base)),
                format!("{:.0}", median(v)),
                pct_change(median_ratio(v, &base)),
            );
            if s == Setup::Ctraudit {
                r.target("≤ 3% loss", loss <= 0.03);
            }
        }
    }
    writeln!(
        t,
        "\nauditd wrote {audit_records:?} records per round (its rules: `{}`).",
        peers::AUDIT_RULES.join("`, `")
    )
    .unwrap();
    rep.detail("Server throughput", t);
}

// ---- 5 and 6. memory and scale ----------------------------------------------

fn section_scale(lab: &Lab, rep: &mut Report, o: &Opts) {
    let levels = [1usize, 10, 100];
    let starts = o.runs(6, 15);
    let n = 1_000_000u64;
    eprintln!("scale: {levels:?} audited containers");
    // level 0: nothing loaded
    let plain = lab.keeper(PLAIN);
    let base_ct = median(
        &(0..3)
            .map(|_| lab.ct_loop(&plain, "getppid", n))
            .collect::<Vec<_>>(),
    );
    let base_host = median(
        &(0..3)
            .map(|_| lab.host_loop("getppid", n))
            .collect::<Vec<_>>(),
    );
    let mut keepers: Vec<String> = Vec::new();
    let mut t = String::from(
        "With N audited containers running (`sleep`), one more measured: getppid ns in \
         one of them and on the host (not audited), the foreground `runc run` of `true` \
         with the hooks against without (p50 over interleaved pairs, ms), and the \
         kernel memory of ctraudit's maps (bytes_memlock from bpftool).\n\n",
    );
    writeln!(
        t,
        "Nothing loaded: getppid {} ns in a container, {} ns on the host.\n",
        f1(base_ct),
        f1(base_host)
    )
    .unwrap();
    t.push_str("| audited containers | getppid audited (ns) | getppid host (ns) | runc run, hooks (ms) | runc run, plain (ms) | per container | global maps | total |\n|---|---|---|---|---|---|---|---|\n");
    let task_bytes = std::mem::size_of::<ctraudit::bpf::types::ct_task>();
    for level in levels {
        while keepers.len() < level {
            keepers.push(lab.keeper(AUDITED));
        }
        let audited = median(
            &(0..3)
                .map(|_| lab.ct_loop(&keepers[0], "getppid", n))
                .collect::<Vec<_>>(),
        );
        let host = median(
            &(0..3)
                .map(|_| lab.host_loop("getppid", n))
                .collect::<Vec<_>>(),
        );
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for i in 0..starts {
            let pair = [AUDITED, PLAIN];
            for spec in if i % 2 == 0 { pair } else { [PLAIN, AUDITED] } {
                let d = ms(lab.run_fg(&["/bin/true"], spec));
                if spec.audited {
                    with.push(d)
                } else {
                    without.push(d)
                }
            }
        }
        let layout = layout(lab.env);
        let per: Vec<u64> = keepers
            .iter()
            .map(|k| pinned_bytes(&layout.containers_pin_dir().join(k)))
            .collect();
        let global = pinned_bytes(&layout.global_maps_dir());
        let total = global + per.iter().sum::<u64>();
        writeln!(
            t,
            "| {level} | {} | {} | {} | {} | {} | {} | {} |",
            f1(audited),
            f1(host),
            f1(pct(&with, 50.0)),
            f1(pct(&without, 50.0)),
            kib(per[0]),
            kib(global),
            kib(total)
        )
        .unwrap();
        rep.row(
            &format!("getppid, audited, {level} audited containers running (ns)"),
            f1(base_ct),
            f1(audited),
            signed(audited - base_ct, "ns"),
        );
        rep.row(
            &format!("runc run, {level} audited containers running, p50 (ms)"),
            f1(pct(&without, 50.0)),
            f1(pct(&with, 50.0)),
            signed(pct(&with, 50.0) - pct(&without, 50.0), "ms"),
        );
        // the live side: a read of every container's maps, no agent
        let wall = |args: &[&str]| -> f64 {
            let runs: Vec<f64> = (0..5)
                .map(|_| {
                    let t0 = Instant::now();
                    let out = lab.env.cli(args);
                    assert!(out.status.success(), "ctraudit {args:?}: {out:?}");
                    ms(t0.elapsed())
                })
                .collect();
            median(&runs)
        };
        let ps = wall(&["ps"]);
        let report = wall(&["report", &keepers[0]]);
        rep.row(
            &format!("ctraudit ps, {level} audited containers running, median (ms)"),
            "-".into(),
            f1(ps),
            String::new(),
        );
        rep.row(
            &format!("ctraudit report of a running container, {level} running, median (ms)"),
            "-".into(),
            f1(report),
            String::new(),
        );
        if level == 1 {
            rep.row(
                "kernel memory per audited container (default sizes)",
                "-".into(),
                kib(per[0]),
                format!("global maps {}", kib(global)),
            )
            .target("≤ 2 MiB", per[0] <= 2 << 20);
        }
        if level == 100 {
            rep.row(
                "kernel memory, 100 audited containers",
                "-".into(),
                kib(total),
                format!("{} in global maps", kib(global)),
            );
        }
    }
    writeln!(
        t,
        "\nNot in bytes_memlock: each audited task's task-storage entry ({task_bytes} bytes of \
         `struct ct_task` plus the kernel's per-element overhead), allocated at its exec or fork \
         and freed at its exit."
    )
    .unwrap();
    for k in &keepers {
        lab.stop(k);
    }
    lab.stop(&plain);
    lab.wait_unloaded();
    rep.detail("Memory and scale", t);
}

// ---- 8. the stream ---------------------------------------------------------------

/// From an entry new to a set (the kernel's time of it) to `ctraudit watch`
/// printing it (read here, CLOCK_BOOTTIME), over distinct failed opens in
/// an audited container, with the watch on the other CPU.
fn section_stream(lab: &Lab, rep: &mut Report, o: &Opts) {
    use std::io::BufRead;
    let n = o.runs(500, 2000) as u64;
    eprintln!("stream: {n} first-seen files, watch latency");
    let keeper = lab.keeper(AUDITED);
    let mut watch = Command::new("taskset");
    watch.args(["-c", "0", BIN, "watch", "--json", &keeper]);
    for kv in lab.env.hook_env() {
        let (k, v) = kv.split_once('=').unwrap();
        watch.env(k, v);
    }
    let mut child = watch
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ctraudit watch");
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lat = Vec::new();
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let now = ctraudit::sys::clock::boot_ns();
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["kind"] == "file" {
                let at = v["boot_ns"].as_u64().unwrap_or(now);
                lat.push(now.saturating_sub(at) as f64 / 1e3);
            }
        }
        lat
    });
    lab.ct_loop(&keeper, "open-distinct", n);
    // the last ones reach the watch within its next poll
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();
    let lat = reader.join().unwrap_or_default();
    lab.stop(&keeper);
    lab.wait_unloaded();
    rep.row(
        "stream: new entry to `watch` printing it, p50 (µs)",
        "-".into(),
        f1(pct(&lat, 50.0)),
        format!(
            "p99 {} µs, {} of {n} events seen",
            f1(pct(&lat, 99.0)),
            lat.len()
        ),
    );
}

// ---- 7. storms -------------------------------------------------------------------

fn section_storms(lab: &Lab, rep: &mut Report, o: &Opts) {
    let (execs, opens) = (10_000u64, 1_000_000u64);
    let _ = o;
    eprintln!("storms: {execs} execs, {opens} opens");
    let limits = ctraudit::config::Config::default().limits;
    let mut t = String::from(
        "One audited container each; the counts the summary must hold are known \
         exactly. Every exec has its own argv and every open its own path, so the \
         bounded sets fill and the rest must be counted as overflow.\n\n\
         | storm | unaudited (s) | audited (s) | check | expected | summary |\n|---|---|---|---|---|---|\n",
    );
    // exec storm: sh runs /bin/true i for i in 0..execs
    let script = format!("i=0; while [ $i -lt {execs} ]; do /bin/true $i; i=$((i+1)); done");
    let args = ["/bin/sh", "-c", script.as_str()];
    let plain_s = lab.run_fg(&args, PLAIN).as_secs_f64();
    let (audited_s, s) = run_audited(lab, &args);
    let distinct = execs + 1; // sh itself, then every /bin/true i
    let set = limits.execs as u64;
    let exec_checks = [
        (
            "syscalls.counts.execve",
            s["syscalls"]["counts"]["execve"].as_u64(),
            distinct,
        ),
        (
            "processes.execs",
            s["processes"]["execs"].as_u64(),
            distinct,
        ),
        ("processes.forks", s["processes"]["forks"].as_u64(), execs),
        (
            "processes.exits",
            s["processes"]["exits"].as_u64(),
            execs + 1,
        ),
        (
            "processes.executed entries",
            s["processes"]["executed"]
                .as_array()
                .map(|a| a.len() as u64),
            set,
        ),
        (
            "loss.execs_overflow",
            s["loss"]["execs_overflow"].as_u64(),
            distinct - set,
        ),
    ];
    storm_rows(rep, &mut t, "exec storm", plain_s, audited_s, &exec_checks);

    // open storm: sysloop opens /tmp/storm/0 .. /tmp/storm/N-1 (ENOENT)
    let args = [
        "/sysloop",
        "open-distinct",
        &opens.to_string(),
        "/tmp/storm",
    ];
    let plain_s = lab.run_fg(&args, PLAIN).as_secs_f64();
    let (audited_s, s) = run_audited(lab, &args);
    let files = s["files"].as_array().cloned().unwrap_or_default();
    let set = limits.files as u64;
    let recorded: u64 = files.iter().filter_map(|f| f["count"].as_u64()).sum();
    let open_checks = [
        (
            "syscalls.counts.openat",
            s["syscalls"]["counts"]["openat"].as_u64(),
            opens,
        ),
        ("files entries", Some(files.len() as u64), set),
        ("files[].count summed", Some(recorded), set),
        (
            "loss.files_overflow",
            s["loss"]["files_overflow"].as_u64(),
            opens - set,
        ),
        (
            "loss.complete",
            Some(s["loss"]["complete"].as_bool().unwrap_or(true) as u64),
            0,
        ),
    ];
    storm_rows(rep, &mut t, "open storm", plain_s, audited_s, &open_checks);
    contention_storm(lab, rep, o, &mut t);
    rep.detail("Storms", t);
}

/// The workload of tests/exact.rs (threads, processes, fork/exec churn,
/// pipes, distinct files, all at once) while processes outside every
/// container keep both CPUs busy; unaudited and audited runs alternate
/// under the same load. Every count of every audited run must be exact.
fn contention_storm(lab: &Lab, rep: &mut Report, o: &Opts, t: &mut String) {
    use common::work::{HostLoad, Plan};
    let plan = Plan {
        spin: 2_000_000,
        threads: 4,
        per_thread: 500_000,
        procs: 4,
        per_proc: 500_000,
        files: 1_000,
        churn: 1_000,
        pipes: 50_000,
    };
    let rounds = o.runs(1, 3);
    eprintln!("storms: contention, {rounds} round(s)");
    let args = plan.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let load = HostLoad::start();
    let (mut plain, mut audited, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = Vec::new();
    for round in 0..rounds {
        plain.push(lab.run_fg(&args, PLAIN).as_secs_f64());
        let (secs, s) = run_audited(lab, &args);
        audited.push(secs);
        last = plan.checks(&s, false);
        for (what, got, want) in &last {
            if got != want {
                failed.push(format!("round {round}: {what} = {got}, expected {want}"));
            }
        }
    }
    drop(load);
    let (p, a) = (median(&plain), median(&audited));
    writeln!(
        t,
        "\nContention storm: `work plan` ({} getppid, {} threads, {} processes, {} files, \
         {} fork+exec, {} pipe round trips) with two busy loops and a fork/exec loop \
         on the host; {rounds} round(s), medians.\n",
        plan.counts(false)["getppid"],
        plan.threads,
        plan.procs,
        plan.files,
        plan.churn,
        plan.pipes
    )
    .unwrap();
    writeln!(
        t,
        "| check (last round) | expected | summary |\n|---|---|---|"
    )
    .unwrap();
    for (what, got, want) in &last {
        let short = |v: &serde_json::Value| {
            let s = v.to_string();
            match s.char_indices().nth(40) {
                Some((cut, _)) => format!("{}…", &s[..cut]),
                None => s,
            }
        };
        writeln!(t, "| `{what}` | {} | {} |", short(want), short(got)).unwrap();
    }
    rep.check(
        format!("contention storm: every count exact in {rounds} round(s) ({failed:?})"),
        failed.is_empty(),
    );
    rep.row(
        "contention storm: wall time (s)",
        format!("{p:.2}"),
        format!("{a:.2}"),
        format!("{:.3}x", a / p),
    )
    .target("counters exact", failed.is_empty());
}

fn run_audited(lab: &Lab, args: &[&str]) -> (f64, Value) {
    let id = lab.id("storm");
    let b = lab.bundle(
        &id,
        &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        AUDITED,
    );
    let t = Instant::now();
    common::ok(&lab.env.runc(&["run", "--bundle", b.to_str().unwrap(), &id]));
    let secs = t.elapsed().as_secs_f64();
    (secs, lab.env.summary(&id))
}

fn storm_rows(
    rep: &mut Report,
    t: &mut String,
    storm: &str,
    plain: f64,
    audited: f64,
    checks: &[(&str, Option<u64>, u64)],
) {
    let mut all = true;
    for (what, got, want) in checks {
        let ok = *got == Some(*want);
        all &= ok;
        writeln!(
            t,
            "| {storm} | {plain:.2} | {audited:.2} | `{what}` | {want} | {} |",
            got.map_or("missing".into(), |g| g.to_string())
        )
        .unwrap();
        rep.check(format!("{storm}: {what} = {want} (summary: {got:?})"), ok);
    }
    rep.row(
        &format!("{storm}: wall time (s)"),
        format!("{plain:.2}"),
        format!("{audited:.2}"),
        format!("{:.3}x", audited / plain),
    )
    .target("counters exact", all);
}

// ---- the report -------------------------------------------------------------------

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|k| k.parse::<u64>().ok())
        .map_or("?".into(), |k| format!("{:.0} GiB", k as f64 / 1048576.0));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "| | |\n|---|---|\n| kernel | {} |\n| CPU | {cpu} x {cpus} |\n| memory | {mem} |\n\
         | runc | {} |\n| docker | {} |\n| containerd | {} |\n| redis | {} |\n| nginx | {} |\n\
         | auditd | {} |\n| bpftrace | {} |\n",
        util::version_of("uname", &["-r"]),
        util::version_of("runc", &["--version"]),
        util::version_of("dockerd", &["--version"]),
        util::version_of("containerd", &["--version"]),
        util::version_of("redis-server", &["--version"]),
        util::version_of("nginx", &["-v"]),
        util::version_of("auditctl", &["-v"]),
        util::version_of("bpftrace", &["--version"]),
    )
}

const BEGIN: &str = "<!-- bench:begin (generated by `make bench`; edit outside these markers) -->";
const END: &str = "<!-- bench:end -->";

fn render(rep: &Report, o: &Opts, started: &str, took: Duration) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "{BEGIN}\n\n## Results\n\nRun {started}, {} mode, {:.0} s, sections: {}.\n",
        if o.quick { "quick" } else { "full" },
        took.as_secs_f64(),
        o.only.join(", ")
    )
    .unwrap();
    s.push_str(
        "| measure | baseline | with ctraudit | added | target | |\n|---|---|---|---|---|---|\n",
    );
    for r in &rep.rows {
        let met = match r.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {met} |",
            r.measure, r.base, r.value, r.added, r.target
        )
        .unwrap();
    }
    s.push_str("\n## Machine\n\n");
    s.push_str(&machine());
    s.push_str("\n## Details\n\n");
    for d in &rep.details {
        s.push_str(d);
        s.push('\n');
    }
    if !rep.problems.is_empty() {
        s.push_str("### Exactness failures\n\n");
        for p in &rep.problems {
            writeln!(s, "- {p}").unwrap();
        }
        s.push('\n');
    }
    s.push_str(END);
    s.push('\n');
    s
}

/// Replaces the generated block of `path`, keeping what is written around it.
fn write_report(path: &Path, block: &str) {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len() + 1..]),
        _ => format!("# ctraudit benchmarks\n\n{block}"),
    };
    std::fs::write(path, new).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn main() {
    let o = Opts::parse();
    common::require_root();
    let started = util::version_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let t0 = Instant::now();
    let env = Env::new("detach_when_idle = true\n");
    let lab = Lab::new(&env);
    let mut rep = Report::default();
    for s in &o.only {
        eprintln!("== {s}");
        match s.as_str() {
            "start" => section_start(&lab, &mut rep, &o),
            "hooks" => section_hooks(&lab, &mut rep, &o),
            "syscalls" => section_syscalls(&lab, &mut rep, &o),
            "profile" => section_profile(&lab, &mut rep, &o),
            "throughput" => section_throughput(&lab, &mut rep, &o),
            "scale" => section_scale(&lab, &mut rep, &o),
            "storms" => section_storms(&lab, &mut rep, &o),
            "stream" => section_stream(&lab, &mut rep, &o),
            _ => unreachable!("checked in Opts::parse"),
        }
    }
    let block = render(&rep, &o, &started, t0.elapsed());
    println!("{block}");
    write_report(&o.out, &block);
    eprintln!("wrote {}", o.out.display());
    assert!(
        rep.problems.is_empty(),
        "exactness failures: {:#?}",
        rep.problems
    );
}
