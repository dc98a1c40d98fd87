//! `ctraudit install docker` / `uninstall docker` on a daemon.json the test
//! owns (the machine's /etc/docker/daemon.json is never touched; the live
//! reload is tested against a private dockerd in tests/docker.rs).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::output::{stderr, stdout};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_ctraudit");
const RUNTIME: &str = "/usr/local/bin/ctraudit-runc";
const ORIGINAL: &str = "{\n    \"log-driver\": \"json-file\",\n    \"registry-mirrors\": [\"https://mirror.example\"],\n    \"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 20000, \"Soft\": 20000}}\n}\n";

fn ct(daemon_json: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--daemon-json")
        .arg(daemon_json)
        .output()
        .unwrap()
}

#[test]
fn install_keeps_other_keys_is_idempotent_and_uninstall_restores_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("daemon.json");
    std::fs::write(&f, ORIGINAL).unwrap();

    let o = ct(
        &f,
        &["install", "docker", "--default", "--runtime-path", RUNTIME],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        stdout(&o),
        format!(
            "{f}: runtime \"ctraudit\" -> {RUNTIME} (default runtime)\nbackup of the previous file: {f}.ctraudit-backup\n\
                          dockerd must reload (systemctl reload docker, or kill -HUP) to use it: run again with --restart\n",
            f = f.display()
        )
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    let orig: Value = serde_json::from_str(ORIGINAL).unwrap();
    for key in ["log-driver", "registry-mirrors", "default-ulimits"] {
        assert_eq!(v[key], orig[key], "{key}");
    }
    assert_eq!(v["runtimes"], json!({"ctraudit": {"path": RUNTIME}}));
    assert_eq!(v["default-runtime"], "ctraudit");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("daemon.json.ctraudit-backup")).unwrap(),
        ORIGINAL
    );

    let installed = std::fs::read(&f).unwrap();
    let o = ct(
        &f,
        &["install", "docker", "--default", "--runtime-path", RUNTIME],
    );
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        format!("{}: already set up, nothing changed\n", f.display())
    );
    assert_eq!(
        std::fs::read(&f).unwrap(),
        installed,
        "a second install changes nothing"
    );

    let o = ct(&f, &["uninstall", "docker"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        ORIGINAL,
        "byte for byte"
    );
    assert!(!dir.path().join("daemon.json.ctraudit-backup").exists());
    let o = ct(&f, &["uninstall", "docker"]);
    assert_eq!(
        stdout(&o),
        format!(
            "{}: ctraudit is not registered, nothing changed\n",
            f.display()
        )
    );
}

#[test]
fn invalid_json_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("daemon.json");
    let broken = "{\n  \"log-driver\": \"json-file\",\n  \"debug\": yes\n}\n";
    std::fs::write(&f, broken).unwrap();
    let o = ct(&f, &["install", "docker", "--runtime-path", RUNTIME]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
                        "ctraudit install: {}:3:12: not valid JSON (expected value at line 3 column 12); the file was not changed\n",
            f.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), broken);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup, no temp file"
    );
}

#[test]
fn dry_run_prints_and_changes_nothing_and_a_missing_file_is_created_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("daemon.json");
    let o = ct(
        &f,
        &["install", "docker", "--dry-run", "--runtime-path", RUNTIME],
    );
    assert!(o.status.success());
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&o)).unwrap(),
        json!({"runtimes": {"ctraudit": {"path": RUNTIME}}})
    );
    assert!(!f.exists(), "--dry-run wrote nothing");

    let o = ct(&f, &["install", "docker", "--runtime-path", RUNTIME]);
    assert!(o.status.success());
    assert!(f.exists());
    let o = ct(&f, &["uninstall", "docker"]);
    assert!(o.status.success());
    assert!(!f.exists(), "the file install created is gone again");
}

/// Issue 12: install printed daemon.json again through serde_json, so
/// `-0` became `-0.0`, `12345678901234567890123` `1.2345678901234568e+22`
/// and `1E2` `100.0`. Now only the new members are added.
#[test]
fn install_keeps_every_number_and_byte_of_daemon_json() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("daemon.json");
    let head = "{\n  \"max-concurrent-downloads\": -0,\n  \"x-big\": 12345678901234567890123,\n  \"x-e\": 1E2,\n  \"labels\": [\"\\u00e9\\ud83d\\ude00\\/\"],\n  \"dup\": 1, \"dup\": 2";
    let tail = "\n}\n";
    let original = format!("{head}{tail}");
    std::fs::write(&f, &original).unwrap();

    let o = ct(&f, &["install", "docker", "--runtime-path", RUNTIME]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{head}, \"runtimes\": {{\"ctraudit\":{{\"path\":\"{RUNTIME}\"}}}}{tail}")
    );
    let o = ct(&f, &["uninstall", "docker"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), original);
}

/// Issue 12: an existing runtimes.ctraudit that runs something else was
/// replaced without a word. Install says what is there and needs --force.
#[test]
fn install_replaces_another_ctraudit_runtime_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("daemon.json");
    let theirs = "{\"runtimes\": {\"ctraudit\": {\"path\": \"/opt/other/runc\"}}}\n";
    std::fs::write(&f, theirs).unwrap();

    let o = ct(&f, &["install", "docker", "--runtime-path", RUNTIME]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "ctraudit install: {}: runtimes.ctraudit is already {{\"path\": \"/opt/other/runc\"}}, not {{\"path\":\"{RUNTIME}\"}}; the file was not changed (--force replaces it)\n",
            f.display()
        )
    );
    assert_eq!(stdout(&o), "");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), theirs);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup"
    );

    let o = ct(
        &f,
        &["install", "docker", "--force", "--runtime-path", RUNTIME],
    );
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        stdout(&o),
        format!(
            "{f}: runtimes.ctraudit was {{\"path\": \"/opt/other/runc\"}}, replaced (--force)\n\
             {f}: runtime \"ctraudit\" -> {RUNTIME}\nbackup of the previous file: {f}.ctraudit-backup\n\
             dockerd must reload (systemctl reload docker, or kill -HUP) to use it: run again with --restart\n",
            f = f.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{{\"runtimes\": {{\"ctraudit\": {{\"path\":\"{RUNTIME}\"}}}}}}\n")
    );
    // the same entry again is no conflict and no change
    let o = ct(&f, &["install", "docker", "--runtime-path", RUNTIME]);
    assert_eq!(
        stdout(&o),
        format!("{}: already set up, nothing changed\n", f.display())
    );
}
