//! The hook's command line and bad input, without BPF or containers: every
//! failure is one clear line, prestart follows on_error, poststop exits 0,
//! and nothing is written anywhere.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ctraudit");

fn hook(dir: &Path, config: &str, stage: &str, stdin: &str) -> Output {
    std::fs::write(dir.join("config.toml"), format!("syslog = false\n{config}")).unwrap();
    let mut child = Command::new(BIN)
        .args(["hook", stage])
        .env("CTRAUDIT_CONFIG", dir.join("config.toml"))
        .env("CTRAUDIT_BPFFS_ROOT", dir.join("bpf"))
        .env("CTRAUDIT_RUN_ROOT", dir.join("run"))
        .env("CTRAUDIT_LOG_ROOT", dir.join("log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // the hook may exit before reading stdin (bad stage, bad config): EPIPE is fine
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Only config.toml: the hook created no root.
fn assert_nothing_written(dir: &Path) {
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
}

const BAD_INPUTS: &[(&str, &str)] = &[
    (
        "{not json",
        "state JSON: key must be a string at line 1 column 2",
    ),
    (
        r#"{"ociVersion":"1","status":"created","bundle":"/b"}"#,
        "state JSON: field `id` is missing",
    ),
    (
        r#"{"ociVersion":"1","id":"a/b","status":"created","pid":1,"bundle":"/b"}"#,
        "state JSON: field `id`: container id \"a/b\": contains '/'",
    ),
    (
        r#"{"ociVersion":"1","id":"..","status":"created","pid":1,"bundle":"/b"}"#,
        "state JSON: field `id`: container id \"..\": contains '..'",
    ),
    (
        r#"{"ociVersion":"1","id":"c","status":"created","bundle":"/b"}"#,
        "state JSON: field `pid` is missing (the container has no init process)",
    ),
];

#[test]
fn prestart_bad_input_under_allow_exits_0_with_one_line() {
    for (input, msg) in BAD_INPUTS {
        let dir = tempfile::tempdir().unwrap();
        let o = hook(dir.path(), "", "prestart", input);
        assert_eq!(o.status.code(), Some(0), "{input}");
        assert_eq!(
            stderr(&o),
            format!("ctraudit: prestart: {msg}; container runs unaudited (on_error = \"allow\")\n")
        );
        assert!(o.stdout.is_empty());
        assert_nothing_written(dir.path());
    }
}

#[test]
fn prestart_bad_input_under_deny_fails_with_one_line() {
    for (input, msg) in BAD_INPUTS {
        let dir = tempfile::tempdir().unwrap();
        let o = hook(dir.path(), "on_error = \"deny\"\n", "createRuntime", input);
        assert_eq!(o.status.code(), Some(1), "{input}");
        assert_eq!(
            stderr(&o),
            format!(
                "ctraudit: createRuntime: {msg}; container start refused (on_error = \"deny\")\n"
            )
        );
        assert_nothing_written(dir.path());
    }
}

#[test]
fn poststop_always_exits_0() {
    for (input, msg) in BAD_INPUTS.iter().take(4) {
        let dir = tempfile::tempdir().unwrap();
        let o = hook(dir.path(), "on_error = \"deny\"\n", "poststop", input);
        assert_eq!(o.status.code(), Some(0), "{input}");
        assert_eq!(stderr(&o), format!("ctraudit: poststop: {msg}\n"));
        assert_nothing_written(dir.path());
    }
    // a container that was never registered: nothing to do, nothing said
    let dir = tempfile::tempdir().unwrap();
    let o = hook(
        dir.path(),
        "",
        "poststop",
        r#"{"ociVersion":"1","id":"never","status":"stopped","bundle":"/b"}"#,
    );
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    assert_nothing_written(dir.path());
}

#[test]
fn unknown_stage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = hook(dir.path(), "", "poststart", "{}");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "ctraudit: hook stage \"poststart\": unknown (expected prestart, createRuntime, poststop or auto)\n"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn broken_config_is_named_and_follows_its_own_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = hook(
        dir.path(),
        "on_error = \"deny\"\n[limits]\nexecs = -1\n",
        "prestart",
        "{}",
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.starts_with(&format!(
            "ctraudit: prestart: config: {}:4:9: ",
            dir.path().join("config.toml").display()
        )),
        "{e}"
    );
    assert!(
        e.ends_with("; container start refused (on_error = \"deny\")\n"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn a_stuck_hook_gives_up_at_its_deadline_before_the_runtime_kills_it() {
    for (policy, code, verdict) in [
        (
            "allow",
            0,
            "container runs unaudited (on_error = \"allow\")",
        ),
        ("deny", 1, "container start refused (on_error = \"deny\")"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            format!("syslog = false\non_error = \"{policy}\"\n[hooks]\nlock_timeout_ms = 100\ndeadline_ms = 300\n"),
        )
        .unwrap();
        // stdin stays open and empty: the hook waits for the state forever
        let child = Command::new(BIN)
            .args(["hook", "prestart"])
            .env("CTRAUDIT_CONFIG", dir.path().join("config.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = child;
        let held_open = child.stdin.take();
        let start = std::time::Instant::now();
        let o = child.wait_with_output().unwrap();
        drop(held_open);
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(o.status.code(), Some(code), "{policy}");
        assert_eq!(
            stderr(&o),
            format!("ctraudit: prestart: gave up after 300 ms (hooks.deadline_ms); {verdict}\n")
        );
    }
}

#[test]
fn auto_stage_follows_the_state_status() {
    let dir = tempfile::tempdir().unwrap();
    // poststart (status running) is not ctraudit's: nothing done, exit 0
    let o = hook(
        dir.path(),
        "on_error = \"deny\"\n",
        "auto",
        r#"{"ociVersion":"1","id":"c","status":"running","pid":1,"bundle":"/b"}"#,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr(&o),
        "ctraudit: hook auto: state status \"running\" is not a stage ctraudit handles; nothing done\n"
    );
    // stopped means poststop: a container never registered needs nothing
    let o = hook(
        dir.path(),
        "on_error = \"deny\"\n",
        "auto",
        r#"{"ociVersion":"1","id":"c","status":"stopped","bundle":"/b"}"#,
    );
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    // creating means prestart, with prestart's failure policy
    let o = hook(
        dir.path(),
        "on_error = \"deny\"\n",
        "auto",
        r#"{"ociVersion":"1","id":"a/b","status":"creating","pid":1,"bundle":"/b"}"#,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("ctraudit: prestart: state JSON: field `id`"),
        "{}",
        stderr(&o)
    );
    assert_nothing_written(dir.path());
}
