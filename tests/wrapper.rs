//! `ctraudit-runc` must be invisible: the same output as runc, argv, stdin
//! and exit code handed over unchanged, nothing of its own on stdout.
//! Names start with `wrapper_`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Bundle, Env, BIN};
use serde_json::{json, Value};

/// A `ctraudit-runc` symlink to the test binary.
fn wrapper(env: &Env) -> PathBuf {
    let p = env.path("ctraudit-runc");
    if !p.exists() {
        std::os::unix::fs::symlink(BIN, &p).unwrap();
    }
    p
}

fn run(cmd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn wrapper_prints_exactly_what_runc_prints() {
    let env = Env::new("");
    let w = wrapper(&env);
    let root = env.path("runc");
    let root = root.to_str().unwrap();
    let bundle = Bundle::new(&env, "same", &["/bin/sleep", "30"]);
    env.run_detached(&bundle.dir, "same");
    for args in [
        vec!["--version"],
        vec!["--root", root, "list"],
        vec!["--root", root, "list", "--format", "json"],
        vec!["--root", root, "state", "same"],
        vec!["--root", root, "state", "no-such-container"],
    ] {
        let ours = run(&w, &args, b"");
        let theirs = run(Path::new("/usr/sbin/runc"), &args, b"");
        assert_eq!(
            (String::from_utf8_lossy(&ours.stdout), ours.status.code()),
            (
                String::from_utf8_lossy(&theirs.stdout),
                theirs.status.code()
            ),
            "{args:?}"
        );
        assert!(
            !ours.stderr.starts_with(b"ctraudit"),
            "{args:?}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
    env.stop("same");
}

/// A fake runtime that records what it was given and exits 42.
fn fake_runtime(env: &Env) -> PathBuf {
    let script = env.path("fake-runc");
    let rec = env.path("fake");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > {r}.argv\ncat > {r}.stdin\necho fake-out\nexit 42\n",
            r = rec.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn recorded_argv(env: &Env) -> Option<Vec<String>> {
    let raw = std::fs::read(env.path("fake.argv")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

const CONFIG_WITH_EXTRAS: &str = r#"{"ociVersion":"1.0.2","x-vendor":{"keep":[1,2,3]},"process":{"args":["sh"]},"root":{"path":"rootfs"},"hooks":{"prestart":[{"path":"/usr/libexec/other-hook","args":["other-hook"]}],"createContainer":[{"path":"/bin/true"}]},"annotations":{"a":"b"}}"#;

#[test]
fn wrapper_hands_argv_stdin_and_exit_code_over_unchanged() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    std::fs::write(
        env.path("w.toml"),
        format!("syslog = false\n[runtime]\npath = \"{}\"\n", fake.display()),
    )
    .unwrap();
    let bundle = env.path("b");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::write(bundle.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
    let own = format!("--ctraudit-config={}", env.path("w.toml").display());
    let log = env.path("runc.log");
    let args = [
        own.as_str(),
        "--root",
        "/run/r",
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--systemd-cgroup",
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pid-file",
        "/run/p.pid",
        "id-1",
    ];
    let out = run(&w, &args, b"stdin-bytes");
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "fake-out\n",
        "nothing of ours on stdout"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(
        recorded_argv(&env).unwrap(),
        args[1..].to_vec(),
        "argv minus the wrapper's own flag"
    );
    assert_eq!(
        std::fs::read(env.path("fake.stdin")).unwrap(),
        b"stdin-bytes"
    );
    assert!(!log.exists(), "nothing to report");

    // every field and foreign hook kept, ours added with a timeout
    let after: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    let mut expect: Value = serde_json::from_str(CONFIG_WITH_EXTRAS).unwrap();
    let hook = |stage: &str| json!({"path": BIN, "args": ["ctraudit", "--config", env.path("w.toml"), "hook", stage], "timeout": 10});
    expect["hooks"]["prestart"]
        .as_array_mut()
        .unwrap()
        .push(hook("prestart"));
    expect["hooks"]["poststop"] = json!([hook("poststop")]);
    assert_eq!(after, expect);

    // injecting twice equals injecting once
    let once = std::fs::read(bundle.join("config.json")).unwrap();
    let out = run(&w, &args, b"");
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(std::fs::read(bundle.join("config.json")).unwrap(), once);

    // other subcommands do not touch the bundle
    std::fs::write(bundle.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
    let out = run(&w, &[own.as_str(), "delete", "--force", "id-1"], b"");
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(recorded_argv(&env).unwrap(), ["delete", "--force", "id-1"]);
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        CONFIG_WITH_EXTRAS
    );
}

#[test]
fn wrapper_broken_config_execs_under_allow_and_refuses_under_deny() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    let bundle = env.path("b");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::write(bundle.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
    let cfg = env.path("w.toml");
    let log = env.path("runc.log");
    let call = |format: &str| {
        run(
            &w,
            &[
                &format!("--ctraudit-config={}", cfg.display()),
                "--log",
                log.to_str().unwrap(),
                "--log-format",
                format,
                "run",
                "-b",
                bundle.to_str().unwrap(),
                "id-2",
            ],
            b"",
        )
    };

    std::fs::write(
        &cfg,
        format!(
            "syslog = false\nbogus = 1\n[runtime]\npath = \"{}\"\n",
            fake.display()
        ),
    )
    .unwrap();
    let out = call("json");
    assert_eq!(out.status.code(), Some(42), "runc still runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fake-out\n");
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        CONFIG_WITH_EXTRAS,
        "no hooks"
    );
    let line: Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(line["level"], "warning");
    let msg = line["msg"].as_str().unwrap();
    assert!(
        msg.starts_with(&format!(
            "ctraudit: config: {}:2:1: unknown field `bogus`",
            cfg.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("; container runs unaudited (on_error = \"allow\")"),
        "{msg}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("ctraudit-runc: config: ") && err.lines().count() == 1,
        "{err}"
    );

    std::fs::remove_file(&log).unwrap();
    std::fs::remove_file(env.path("fake.argv")).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "syslog = false\non_error = \"deny\"\nbogus = 1\n[runtime]\npath = \"{}\"\n",
            fake.display()
        ),
    )
    .unwrap();
    let out = call("text");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(recorded_argv(&env), None, "the runtime was not called");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.starts_with("time=\"") && text.contains(" level=error msg=\"ctraudit: config: "),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("container start refused (on_error = \\\"deny\\\")\""),
        "{text}"
    );
}
