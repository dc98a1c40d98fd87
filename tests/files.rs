//! Paths that say what was touched, and the file calls beyond open, with
//! real runc and real BPF (root). Names start with `files_`.

mod common;

use std::path::{Path, PathBuf};

use common::{Bundle, Env};
use serde_json::{json, Value};

/// `paths.c`, built static into `<dir>/paths`.
fn build(dir: &Path) -> PathBuf {
    common::cc::static_program(
        &dir.join("paths.c"),
        include_str!("common/paths.c"),
        &dir.join("paths"),
        &[],
    )
}

/// Runs `/work <mode>` (paths.c at /work) in a runc container, and its summary.
fn run(env: &Env, id: &str, args: &[&str]) -> Value {
    let bin = build(env.dir.path());
    let b = Bundle::with_work(env, id, &bin, args);
    b.edit(|cfg| {
        // mknod of a device node wants CAP_MKNOD (Docker grants it)
        for set in ["bounding", "effective", "permitted"] {
            cfg["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_MKNOD"));
        }
    });
    common::ok(&env.run(&b.dir, id));
    env.summary(id)
}

/// Every entry as (path, the fields that say what it is), in summary order.
fn entries(s: &Value) -> Vec<(String, Value)> {
    s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_owned(), entry(f)))
        .collect()
}

fn entry(f: &Value) -> Value {
    let mut e = json!({
        "access": f["access"],
        "failed_access": f["failed_access"],
        "count": f["count"],
        "failed": f["failed"],
        "relative": f["relative"],
    });
    for k in ["typed", "target", "cut", "device", "last_error"] {
        if let Some(v) = f.get(k).filter(|v| !v.is_null()) {
            e[k] = v.clone();
        }
    }
    e
}

fn want(access: &[&str], count: u64) -> Value {
    json!({"access": access, "failed_access": [], "count": count, "failed": 0, "relative": false})
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

#[test]
fn files_relative_dirfd_padded_and_long_paths_are_the_real_file() {
    let env = Env::new("");
    let s = run(&env, "files-paths", &["/work", "paths"]);
    let d50 = "d".repeat(50);
    let dirs: Vec<String> = (1..=8)
        .map(|n| format!("/tmp/{}", vec![d50.as_str(); n].join("/")))
        .collect();
    // what the kernel keeps of a path as given: its first 255 bytes
    let head = |p: &str| format!("{}…", &p[..255]);
    let long = format!("{}/ff.txt", dirs[7]);
    assert_eq!(long.len(), 419);
    // the real path of the long file: its last components that fit
    let tail = format!("…/{}/ff.txt", [d50.as_str(); 4].join("/"));
    let mut expected = vec![
        ("/etc".to_owned(), want(&["read"], 1)),
        (
            "/etc/hostname".into(),
            // also through the symlink /tmp/hn and /proc/self/root: the
            // first form that differs is kept
            with(want(&["read"], 3), "typed", json!(["hostname"])),
        ),
        (
            "/etc/passwd".into(),
            // the first form that differs is kept (the padded one came
            // second): the entry is the file either way
            // and by its name /etc/passwd, and as /dev/fd/N
            with(want(&["read"], 4), "typed", json!(["../etc/passwd"])),
        ),
        ("/tmp".into(), want(&["read"], 1)),
    ];
    for d in &dirs[..4] {
        expected.push((d.clone(), want(&["mkdir"], 1)));
    }
    // four mkdirs of paths longer than 255 bytes: cut, the same first bytes
    expected.push((
        head(&dirs[4]),
        with(
            with(want(&["mkdir"], 4), "typed", json!([head(&dirs[4])])),
            "cut",
            json!(true),
        ),
    ));
    expected.push((
        "/tmp/hn".into(),
        with(want(&["symlink"], 1), "target", json!("/etc/hostname")),
    ));
    expected.push((
        "/tmp/missing".into(),
        json!({"access": [], "failed_access": ["read"], "count": 1, "failed": 1,
               "relative": false, "typed": ["missing"], "last_error": "ENOENT"}),
    ));
    expected.push((
        "/tmp/relfile".into(),
        with(
            want(&["read", "write", "create", "delete"], 3),
            "typed",
            json!(["relfile"]),
        ),
    ));
    expected.push((
        tail,
        with(
            with(want(&["write", "create"], 1), "typed", json!([head(&long)])),
            "cut",
            json!(true),
        ),
    ));
    assert_eq!(entries(&s), expected);
    // a cut path whose file is not known otherwise is a loss, counted
    // once per cut: the four mkdirs and the long file's real path
    assert_eq!(s["loss"]["paths_cut"], 5);
    assert_eq!(s["loss"]["complete"], false);
    assert_eq!(s["loss"]["read_errors"], 0);
}

#[test]
fn files_calls_beyond_open_are_recorded_with_their_kinds() {
    let env = Env::new("");
    let s = run(&env, "files-ops", &["/work", "ops"]);
    let dev = |t: &str, mode: &str, major: u32, minor: u32| json!({"type": t, "mode": mode, "major": major, "minor": minor});
    let all = want(&["write", "create", "rename_from", "rename_to"], 2);
    assert_eq!(
        entries(&s),
        vec![
            ("/etc/passwd".to_owned(), want(&["linked"], 1)),
            ("/tmp/a".into(), all.clone()),
            ("/tmp/b".into(), all),
            (
                "/tmp/fifo".into(),
                with(want(&["mknod"], 1), "device", dev("fifo", "0600", 0, 0)),
            ),
            ("/tmp/innocent".into(), want(&["read"], 1)),
            (
                "/tmp/innocent".into(),
                with(want(&["link"], 1), "target", json!("/etc/passwd")),
            ),
            ("/tmp/newdir".into(), want(&["mkdir"], 1)),
            (
                "/tmp/null2".into(),
                with(want(&["mknod"], 1), "device", dev("char", "0666", 1, 3)),
            ),
            (
                "/tmp/sl".into(),
                with(want(&["symlink"], 1), "target", json!("/etc/shadow")),
            ),
            (
                "/tmp/t".into(),
                want(
                    &[
                        "write",
                        "create",
                        "truncate",
                        "setxattr",
                        "removexattr",
                        "times"
                    ],
                    5
                ),
            ),
            (
                "/tmp/t2".into(),
                want(
                    &["read", "write", "create", "by_fd", "truncate", "setxattr", "times"],
                    4
                ),
            ),
        ]
    );
    assert_eq!(s["loss"]["complete"], true);
}

#[test]
fn files_execs_name_the_binary_that_ran() {
    let env = Env::new("");
    let s = run(
        &env,
        "files-exec",
        &["/bin/sh", "-c", "cat /etc/hostname; /work fexec"],
    );
    let execs: Vec<Value> = s["processes"]["executed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["path"], e.get("binary"), e["argv"], e["count"]]))
        .collect();
    assert_eq!(
        execs,
        vec![
            json!([
                "/bin/sh",
                "/bin/busybox",
                ["/bin/sh", "-c", "cat /etc/hostname; /work fexec"],
                1
            ]),
            // busybox runs its applets through /proc/self/exe
            json!([
                "/proc/self/exe",
                "/bin/busybox",
                ["cat", "/etc/hostname"],
                1
            ]),
            json!(["/work", null, ["/work", "fexec"], 1]),
            // fexecve: execveat(fd, "", AT_EMPTY_PATH)
            json!(["/dev/fd/3", "/bin/busybox", ["true"], 1]),
        ]
    );
    assert_eq!(s["loss"]["complete"], true);
}
