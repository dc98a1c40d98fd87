//! Bad input and planted files against real runc containers (root): the
//! audit of a container is never lost or redirected because of them.
//! Names start with `bad_` so they can be selected.

mod common;

use std::process::{Command, Stdio};

use common::output::stderr;
use common::{argv, executed, Bundle, Env, BIN};

/// A second runc root in the Env's directory; its containers are removed
/// on drop, even when the test failed.
struct SecondRoot(std::path::PathBuf);

impl SecondRoot {
    fn new(env: &Env) -> SecondRoot {
        let root = env.path("runc-2");
        std::fs::create_dir_all(&root).unwrap();
        SecondRoot(root)
    }

    /// runc with no pipes: a container `run -d` leaves behind inherits
    /// them, and waiting for their end would wait for the container.
    fn runc(&self, args: &[&str]) -> std::process::ExitStatus {
        Command::new("runc")
            .arg("--root")
            .arg(&self.0)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    }

    fn stop(&self, id: &str) {
        let _ = self.runc(&["kill", id, "KILL"]);
        common::wait::poll_until(
            std::time::Duration::from_secs(2),
            std::time::Duration::from_millis(20),
            || self.runc(&["delete", id]).success(),
        );
    }
}

impl Drop for SecondRoot {
    fn drop(&mut self) {
        for id in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let id = id.file_name().to_string_lossy().into_owned();
            let _ = self.runc(&["delete", "-f", &id]);
        }
    }
}

#[test]
fn bad_a_second_prestart_for_a_live_id_leaves_the_first_audit_whole() {
    let env = Env::new("");
    env.sleeper("twice", "/etc/hostname");
    let meta = std::fs::read(env.path("run/containers/twice.json")).unwrap();
    // the same id under another runc root, in a cgroup of its own
    let other = SecondRoot::new(&env);
    let b = Bundle::new(&env, "twice-b", &["/bin/sleep", "1000"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = serde_json::json!("/twice-b"));
    let run = other.runc(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), "twice"]);
    assert!(run.success(), "runc run -d under the second root");
    let line = env
        .syslog()
        .into_iter()
        .find(|l| l.contains("this one is not"))
        .expect("the second prestart says why it does not audit");
    assert!(
        line.starts_with(
            "prestart: container twice: a container with this id is audited already (registered "
        ) && line.ends_with("; this one is not; container runs unaudited (on_error = \"allow\")"),
        "{line}"
    );
    assert_eq!(
        std::fs::read(env.path("run/containers/twice.json")).unwrap(),
        meta,
        "the first container's meta, byte for byte"
    );
    // the second one stops first: its poststop must not finalise the first
    other.stop("twice");
    assert_eq!(
        std::fs::read(env.path("run/containers/twice.json")).unwrap(),
        meta,
        "the first container's meta is still there after the second's poststop"
    );
    assert!(!env.path("log/twice/summary.json").exists());
    let left = env
        .syslog()
        .into_iter()
        .find(|l| l.contains("left to its own poststop"))
        .expect("the second poststop says why it does nothing");
    assert_eq!(
        left,
        format!(
            "poststop: container twice: the audited container with this id has bundle {}, not {}: left to its own poststop",
            env.path("bundles/twice").display(),
            b.dir.display()
        )
    );
    env.stop("twice");
    let s = env.summary("twice");
    assert_eq!(
        executed(&s),
        [
            argv(
                "/bin/sh",
                &[
                    "/bin/sh",
                    "-c",
                    "/bin/cat /etc/hostname >/dev/null; exec /bin/sleep 1000"
                ]
            ),
            argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
            argv("/bin/sleep", &["/bin/sleep", "1000"]),
        ]
    );
    assert_eq!(s["loss"]["complete"], true, "{}", s["loss"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn bad_a_symlinked_log_directory_is_never_written_through() {
    let env = Env::new("");
    env.sleeper("linked", "/etc/hostname");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(env.path("log")).unwrap();
    std::os::unix::fs::symlink(outside.path(), env.path("log/linked")).unwrap();
    env.stop("linked");
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing written through the link"
    );
    // the kernel's record was kept: with the link gone, gc finishes the job
    assert_eq!(env.leftovers().len(), 2, "{:?}", env.leftovers());
    std::fs::remove_file(env.path("log/linked")).unwrap();
    let mut gc = Command::new(BIN);
    gc.arg("gc");
    for kv in env.hook_env() {
        let (k, v) = kv.split_once('=').unwrap();
        gc.env(k, v);
    }
    common::ok(&gc.output().unwrap());
    let s = env.summary("linked");
    assert_eq!(s["ctraudit"]["finalised_by"], "gc");
    assert_eq!(
        executed(&s)[1],
        argv("/bin/cat", &["/bin/cat", "/etc/hostname"])
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn bad_a_symlinked_run_directory_is_refused_before_anything_is_written() {
    let env = Env::new("");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(env.path("run")).unwrap();
    std::os::unix::fs::symlink(outside.path(), env.path("run/containers")).unwrap();
    let b = Bundle::new(&env, "runlink", &["/bin/true"]);
    let out = env.run(&b.dir, "runlink");
    assert!(
        out.status.success(),
        "under allow the container runs: {out:?}"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(
        env.syslog(),
        [format!(
            "prestart: {}: not a directory of ctraudit's own (a symlink?): refused; container runs unaudited (on_error = \"allow\")",
            env.path("run/containers").display()
        )]
    );
    assert!(!env.summary_path("runlink").exists());
}

// ---- the corpus: tests/data/bad_input/ ----------------------------------

#[derive(serde::Deserialize)]
struct Corpus<T> {
    case: Vec<T>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StateCase {
    input: String,
    error: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigCase {
    config: String,
    error: String,
}

fn corpus<T: serde::de::DeserializeOwned>(name: &str) -> Vec<T> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bad_input")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str::<Corpus<T>>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .case
}

/// `ctraudit hook prestart` in a directory of its own: (exit code, stderr),
/// and whether it wrote anything but config.toml and the failures log.
fn prestart_alone(config: &str, stdin: &str) -> (Option<i32>, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, format!("syslog = false\n{config}\n")).unwrap();
    let mut child = Command::new(BIN)
        .args(["hook", "prestart"])
        .env("CTRAUDIT_CONFIG", &cfg)
        .env("CTRAUDIT_BPFFS_ROOT", dir.path().join("bpf"))
        .env("CTRAUDIT_RUN_ROOT", dir.path().join("run"))
        .env("CTRAUDIT_LOG_ROOT", dir.path().join("log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let o = child.wait_with_output().unwrap();
    let mut written: Vec<String> = walk(dir.path())
        .into_iter()
        .filter(|p| p != "config.toml" && p != "log" && p != "log/failures.jsonl")
        .collect();
    written.sort();
    let err = stderr(&o);
    let err = err.replace(&cfg.display().to_string(), "<path>");
    (o.status.code(), err, written)
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let rel = p.strip_prefix(dir).unwrap().display().to_string();
        if p.is_dir() {
            out.extend(walk(&p).into_iter().map(|s| format!("{rel}/{s}")));
        }
        out.push(rel);
    }
    out
}

#[test]
fn bad_corpus_state_json_each_gets_its_one_line() {
    let cases: Vec<StateCase> = corpus("state.toml");
    let got: Vec<(Option<i32>, String, Vec<String>)> =
        cases.iter().map(|c| prestart_alone("", &c.input)).collect();
    let want: Vec<(Option<i32>, String, Vec<String>)> = cases
        .iter()
        .map(|c| {
            (
                Some(0),
                format!(
                    "ctraudit: prestart: {}; container runs unaudited (on_error = \"allow\")\n",
                    c.error
                ),
                vec![],
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn bad_corpus_config_toml_each_gets_its_one_line() {
    let cases: Vec<ConfigCase> = corpus("config.toml");
    let got: Vec<(Option<i32>, String, Vec<String>)> = cases
        .iter()
        .map(|c| prestart_alone(&c.config, ""))
        .collect();
    let want: Vec<(Option<i32>, String, Vec<String>)> = cases
        .iter()
        .map(|c| {
            (
                Some(0),
                format!(
                    "ctraudit: prestart: config: <path>:{}; container runs unaudited (on_error = \"allow\")\n",
                    c.error
                ),
                vec![],
            )
        })
        .collect();
    assert_eq!(got, want);
}
