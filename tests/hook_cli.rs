//! The hook's command line and bad input, without BPF or containers: every
//! failure is one clear line, prestart follows on_error, poststop exits 0,
//! and nothing is written anywhere.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::output::stderr;

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

/// Only config.toml: the hook created no root.
fn assert_nothing_written(dir: &Path) {
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
}

/// Only config.toml and the log root's failures.jsonl, whose lines are
/// (stage, problem, verdict): the hook's failure is on disk, and nothing
/// else was written.
fn assert_only_failures(dir: &Path, want: &[(&str, &str, &str)]) {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["config.toml", "log"]);
    let log: Vec<_> = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(log, vec![std::ffi::OsString::from("failures.jsonl")]);
    let text = std::fs::read_to_string(dir.join("log/failures.jsonl")).unwrap();
    let got: Vec<(String, String, String)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("stage"), s("problem"), s("verdict"))
        })
        .collect();
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
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
        assert_only_failures(
            dir.path(),
            &[(
                "prestart",
                msg,
                "container runs unaudited (on_error = \"allow\")",
            )],
        );
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
        assert_only_failures(
            dir.path(),
            &[(
                "createRuntime",
                msg,
                "container start refused (on_error = \"deny\")",
            )],
        );
    }
}

#[test]
fn poststop_always_exits_0() {
    for (input, msg) in BAD_INPUTS.iter().take(4) {
        let dir = tempfile::tempdir().unwrap();
        let o = hook(dir.path(), "on_error = \"deny\"\n", "poststop", input);
        assert_eq!(o.status.code(), Some(0), "{input}");
        assert_eq!(stderr(&o), format!("ctraudit: poststop: {msg}\n"));
        assert_only_failures(
            dir.path(),
            &[(
                "poststop",
                msg,
                "not finished: `ctraudit gc` finishes what is left",
            )],
        );
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
            .env("CTRAUDIT_LOG_ROOT", dir.path().join("log"))
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
        let failures = std::fs::read_to_string(dir.path().join("log/failures.jsonl")).unwrap();
        let line: serde_json::Value = serde_json::from_str(failures.trim()).unwrap();
        assert_eq!(
            (&line["problem"], &line["verdict"]),
            (
                &serde_json::json!("gave up after 300 ms (hooks.deadline_ms)"),
                &serde_json::json!(verdict)
            )
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
    assert_only_failures(
        dir.path(),
        &[(
            "prestart",
            "state JSON: field `id`: container id \"a/b\": contains '/'",
            "container start refused (on_error = \"deny\")",
        )],
    );
}

/// A hook whose stderr is `err` (a full device, or a pipe nobody reads).
fn hook_with_stderr(dir: &Path, config: &str, stage: &str, stdin: &str, err: Stdio) -> Output {
    std::fs::write(dir.join("config.toml"), format!("syslog = false\n{config}")).unwrap();
    let mut child = Command::new(BIN)
        .args(["hook", stage])
        .env("CTRAUDIT_CONFIG", dir.join("config.toml"))
        .env("CTRAUDIT_BPFFS_ROOT", dir.join("bpf"))
        .env("CTRAUDIT_RUN_ROOT", dir.join("run"))
        .env("CTRAUDIT_LOG_ROOT", dir.join("log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// A pipe whose read end is already closed: every write gets EPIPE.
fn closed_pipe() -> Stdio {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    Stdio::from(w)
}

#[test]
fn hooks_exit_as_their_stage_says_when_stderr_is_full_or_closed() {
    let full = || Stdio::from(std::fs::File::create("/dev/full").unwrap());
    let (bad, msg) = BAD_INPUTS[0];
    for (stage, config, code, verdict) in [
        (
            "poststop",
            "on_error = \"deny\"\n",
            0,
            "not finished: `ctraudit gc` finishes what is left",
        ),
        (
            "prestart",
            "",
            0,
            "container runs unaudited (on_error = \"allow\")",
        ),
        (
            "prestart",
            "on_error = \"deny\"\n",
            1,
            "container start refused (on_error = \"deny\")",
        ),
    ] {
        for (what, err) in [("/dev/full", full()), ("a closed pipe", closed_pipe())] {
            let dir = tempfile::tempdir().unwrap();
            let o = hook_with_stderr(dir.path(), config, stage, bad, err);
            assert_eq!(
                o.status.code(),
                Some(code),
                "{stage} {config:?}, stderr {what}"
            );
            // the failure is on disk whatever became of stderr
            assert_only_failures(dir.path(), &[(stage, msg, verdict)]);
        }
    }
}

#[test]
fn a_config_that_is_not_utf8_still_denies_under_deny() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, b"syslog = false\non_error = \"deny\"\n# caf\xe9\n").unwrap();
    let o = Command::new(BIN)
        .args(["hook", "prestart"])
        .env("CTRAUDIT_CONFIG", &cfg)
        .env("CTRAUDIT_LOG_ROOT", dir.path().join("log"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "ctraudit: prestart: config: {}:3:6: not UTF-8 (byte 0xe9); container start refused (on_error = \"deny\")\n",
            cfg.display()
        )
    );
}

#[test]
fn relative_roots_from_the_environment_are_refused_and_nothing_is_written_in_the_cwd() {
    for (var, field) in [
        ("CTRAUDIT_LOG_ROOT", "paths.log"),
        ("CTRAUDIT_RUN_ROOT", "paths.run"),
        ("CTRAUDIT_BPFFS_ROOT", "paths.bpffs"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cwd = tempfile::tempdir().unwrap();
        // the file's roots are the ones used when an override is refused
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "syslog = false\n[paths]\nbpffs = \"{0}/bpf\"\nrun = \"{0}/run\"\nlog = \"{0}/log\"\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let mut child = Command::new(BIN)
            .args(["hook", "prestart"])
            .current_dir(cwd.path())
            .env("CTRAUDIT_CONFIG", dir.path().join("config.toml"))
            .env(var, "relroot")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(b"{}");
        let o = child.wait_with_output().unwrap();
        let flag = var
            .strip_prefix("CTRAUDIT_")
            .unwrap()
            .to_lowercase()
            .replace('_', "-");
        assert_eq!(o.status.code(), Some(0), "{var}");
        assert_eq!(
            stderr(&o),
            format!(
                "ctraudit: prestart: config: --{flag}/{var}: {field}: relroot is not an absolute path; container runs unaudited (on_error = \"allow\")\n"
            )
        );
        assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "{var}");
        let failures = std::fs::read_to_string(dir.path().join("log/failures.jsonl")).unwrap();
        assert!(
            failures.contains("relroot is not an absolute path"),
            "{failures}"
        );
    }
}

#[test]
fn gc_into_a_full_or_closed_stdout_fails_with_a_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "syslog = false\n").unwrap();
    std::fs::create_dir(dir.path().join("run")).unwrap();
    let gc = |out: Stdio| {
        Command::new(BIN)
            .args(["gc", "--dry-run"])
            .env("CTRAUDIT_CONFIG", dir.path().join("config.toml"))
            .env("CTRAUDIT_BPFFS_ROOT", dir.path().join("bpf"))
            .env("CTRAUDIT_RUN_ROOT", dir.path().join("run"))
            .env("CTRAUDIT_LOG_ROOT", dir.path().join("log"))
            .stdout(out)
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let o = gc(Stdio::from(std::fs::File::create("/dev/full").unwrap()));
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(1),
            "ctraudit gc: stdout: No space left on device (os error 28)\n".to_owned()
        )
    );
    let o = gc(closed_pipe());
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(1),
            "ctraudit gc: stdout: Broken pipe (os error 32)\n".to_owned()
        )
    );
}
