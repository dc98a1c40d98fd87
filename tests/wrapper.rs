//! `ctraudit-runc` must be invisible: the same output as runc, argv, stdin
//! and exit code handed over unchanged, nothing of its own on stdout.
//! Names start with `wrapper_`.

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::output::{stderr, stdout};
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
    let mut c = Command::new(cmd);
    c.args(args).stderr(Stdio::piped());
    output(c, stdin)
}

/// Runs `cmd` (stdout and, unless set, stderr piped) and waits at most a
/// minute: a wrapper that hangs fails its test instead of the whole run.
fn output(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, timer) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if timer.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    killer.join().unwrap();
    assert_ne!(
        out.status.code(),
        None,
        "{cmd:?} hung or was killed: {}",
        stderr(&out)
    );
    out
}

/// runc's log lines with their time taken out.
fn untimed(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut rest = text.as_ref();
    while let Some(i) = rest.find("time=\"") {
        out.push_str(&rest[..i]);
        out.push_str("time=T");
        let after = &rest[i + 6..];
        rest = after.find('"').map_or("", |j| &after[j + 1..]);
    }
    out.push_str(rest);
    out
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Deletes a container the test ran through the wrapper, even when the
/// test fails half-way.
struct Delete<'a>(&'a Env, &'a str);

impl Drop for Delete<'_> {
    fn drop(&mut self) {
        let _ = self.0.runc(&["delete", "-f", self.1]);
    }
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
            (stdout(&ours), ours.status.code()),
            (stdout(&theirs), theirs.status.code()),
            "{args:?}"
        );
        assert!(
            !ours.stderr.starts_with(b"ctraudit"),
            "{args:?}: {}",
            stderr(&ours)
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
    assert_eq!(stdout(&out), "fake-out\n", "nothing of ours on stdout");
    assert_eq!(stderr(&out), "");
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
    assert_eq!(stdout(&out), "fake-out\n");
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
    let err = stderr(&out);
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

/// A config.toml (with the Env's syslog socket) whose runtime is `runtime`.
fn config_with_runtime(env: &Env, runtime: &Path, extra: &str) -> PathBuf {
    env.write_config(&format!(
        "{extra}\n[runtime]\npath = \"{}\"\n",
        runtime.display()
    ));
    env.path("config.toml")
}

/// Issue 12: `eprintln!` panicked on a closed stderr (exit 101) and runc
/// never ran.
#[test]
fn wrapper_survives_a_closed_stderr() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    let cfg = config_with_runtime(&env, &fake, "");
    // no config.json: the wrapper has something to say
    let empty = env.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    drop(read_end);
    let args = ["create", "--bundle", empty.to_str().unwrap(), "id-1"];
    let mut cmd = Command::new(&w);
    cmd.env("CTRAUDIT_CONFIG", &cfg)
        .args(args)
        .stderr(Stdio::from(write_end));
    let out = output(cmd, b"");
    assert_eq!(out.status.code(), Some(42), "runc ran");
    assert_eq!(recorded_argv(&env).unwrap(), args);
    assert_eq!(
        env.syslog(),
        [format!(
            "ctraudit-runc: {}/config.json: No such file or directory (os error 2); container runs unaudited (on_error = \"allow\")",
            empty.display()
        )]
    );
}

/// Issue 12: serde_json printed `-0` as `-0.0`, which runc refuses
/// ("cannot unmarshal number -0.0 into ... int"), and changed other
/// numbers. Real runc takes the file; every byte but the hooks is kept.
#[test]
fn wrapper_keeps_every_byte_of_config_json_but_the_hooks() {
    let env = Env::new("");
    let w = wrapper(&env);
    let bundle = Bundle::new(&env, "numbers", &["/bin/true"]);
    bundle.edit(|c| {
        c.as_object_mut().unwrap().remove("hooks");
    });
    let path = bundle.dir.join("config.json");
    let pretty = std::fs::read_to_string(&path).unwrap();
    assert!(pretty.ends_with("\n}"));
    let text = pretty
        .replacen(
            "\"process\": {",
            "\"process\": {\n    \"oomScoreAdj\": -0,",
            1,
        )
        .replacen(
            '{',
            "{\n  \"x-big\": 12345678901234567890123,\n  \"x-e\": 1E2,\n  \"x-s\":\t\"\\u00e9\\ud83d\\ude00\\/\" ,",
            1,
        );
    std::fs::write(&path, &text).unwrap();

    // the wrapper's CTRAUDIT_* environment goes to the hooks, in this order
    let mut vars: Vec<(String, String)> = env
        .hook_env()
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    vars.sort();
    let _delete = Delete(&env, "numbers");
    let mut cmd = Command::new(&w);
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .arg("--root")
        .arg(env.path("runc"))
        .args(["run", "--bundle", bundle.dir.to_str().unwrap(), "numbers"])
        .stderr(Stdio::piped());
    let out = output(cmd, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.summary("numbers")["container"]["id"], "numbers");

    let hook_env: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let hook = |stage: &str| {
        json!({"path": BIN, "args": ["ctraudit", "hook", stage], "env": hook_env, "timeout": 10})
            .to_string()
    };
    let at = text.len() - "\n}".len();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!(
            "{},\n  \"hooks\": {{\"prestart\":[{}],\"poststop\":[{}]}}{}",
            &text[..at],
            hook("prestart"),
            hook("poststop"),
            &text[at..]
        )
    );
}

/// Issue 12: runc got `runc` as argv[0], and names itself by it in its
/// errors; called directly it says its path.
#[test]
fn wrapper_gives_runc_its_own_path_as_argv0() {
    let env = Env::new("");
    let w = wrapper(&env);
    let runc = Path::new("/usr/sbin/runc");
    let cfg = config_with_runtime(&env, runc, "");
    let dir = env.path("b");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
    let mut c = Command::new(&w);
    c.current_dir(&dir)
        .env("CTRAUDIT_CONFIG", &cfg)
        .arg("--root")
        .arg(env.path("runc"))
        .arg("create")
        .stderr(Stdio::piped());
    let out = output(c, b"");
    assert_eq!(
        untimed(&out.stderr),
        "time=T level=error msg=\"/usr/sbin/runc: \\\"create\\\" requires exactly 1 argument(s)\"\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Issue 12: `run -h` rewrote ./config.json, `create --help` without one
/// printed the wrapper's complaint to stderr and the --log file, and so
/// did calls runc refuses. They are runc's alone, argv[0] included.
#[test]
fn wrapper_help_and_refused_calls_are_runcs_alone() {
    let env = Env::new("");
    let w = wrapper(&env);
    let runc = Path::new("/usr/sbin/runc");
    let cfg = config_with_runtime(&env, runc, "");
    let root = env.path("runc");
    let calls: [(&[&str], bool); 7] = [
        (&["run", "-h"], true),
        (&["create", "--help"], false),
        (&["restore", "-h"], true),
        (&["run", "--bogus-flag", "x"], true),
        (&["create"], true),
        (&["create"], false),
        (&["run", "-d", "x", "--keep"], true),
    ];
    for (i, (args, with_config)) in calls.into_iter().enumerate() {
        let seen: Vec<_> = [w.as_path(), runc]
            .into_iter()
            .enumerate()
            .map(|(who, cmd)| {
                let dir = env.path(&format!("call-{i}-{who}"));
                std::fs::create_dir(&dir).unwrap();
                if with_config {
                    std::fs::write(dir.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
                }
                let log = env.path(&format!("call-{i}-{who}.log"));
                let mut c = Command::new(cmd);
                c.current_dir(&dir)
                    .env("CTRAUDIT_CONFIG", &cfg)
                    .arg("--root")
                    .arg(&root)
                    .arg("--log")
                    .arg(&log)
                    .args(args)
                    .stderr(Stdio::piped());
                let out = output(c, b"");
                let config = std::fs::read_to_string(dir.join("config.json")).ok();
                (
                    out.status.code(),
                    stdout(&out),
                    untimed(&out.stderr),
                    std::fs::read(&log).map(|l| untimed(&l)).ok(),
                    entries(&dir),
                    config,
                )
            })
            .collect();
        assert_eq!(seen[0], seen[1], "{args:?}");
        let config = with_config.then(|| CONFIG_WITH_EXTRAS.to_owned());
        assert_eq!(seen[0].5, config, "{args:?}: config.json untouched");
    }
    // a flag no runc knows is noted where only the operator looks
    assert_eq!(
        env.syslog(),
        ["ctraudit-runc: run: flag -bogus-flag is not one ctraudit knows runc to accept; the hooks were not added"]
    );
}

/// A flag no runc known here takes may be a newer runc's: under "deny"
/// the start is refused rather than run unaudited.
#[test]
fn wrapper_refuses_a_start_with_an_unknown_flag_under_deny() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    let cfg = config_with_runtime(&env, &fake, "on_error = \"deny\"");
    let dir = env.path("b");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG_WITH_EXTRAS).unwrap();
    let mut c = Command::new(&w);
    c.current_dir(&dir)
        .env("CTRAUDIT_CONFIG", &cfg)
        .args(["run", "--newer-flag", "x", "id-5"])
        .stderr(Stdio::piped());
    let out = output(c, b"");
    assert_eq!(
        stderr(&out),
        "ctraudit-runc: run: flag -newer-flag is not one ctraudit knows runc to accept; the hooks were not added; container start refused (on_error = \"deny\")\n"
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(recorded_argv(&env), None, "runc was not called");
    assert_eq!(
        std::fs::read_to_string(dir.join("config.json")).unwrap(),
        CONFIG_WITH_EXTRAS
    );
}

/// Issue 12: a bundle's config.json symlinked to a file outside the bundle
/// (even mode 0444) had its target rewritten. runc only reads it; the
/// wrapper now replaces the link in the bundle and keeps the mode.
#[test]
fn wrapper_never_writes_through_a_symlinked_config_json() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    let cfg = config_with_runtime(&env, &fake, "");
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("spec.json");
    std::fs::write(&target, CONFIG_WITH_EXTRAS).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::metadata(&target).unwrap();
    let bundle = env.path("b");
    std::fs::create_dir(&bundle).unwrap();
    std::os::unix::fs::symlink(&target, bundle.join("config.json")).unwrap();

    let own = format!("--ctraudit-config={}", cfg.display());
    let out = run(
        &w,
        &[&own, "run", "-b", bundle.to_str().unwrap(), "id-3"],
        b"",
    );
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(stderr(&out), "");

    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        CONFIG_WITH_EXTRAS
    );
    let after = std::fs::metadata(&target).unwrap();
    assert_eq!(
        (after.ino(), after.mode(), after.mtime(), after.mtime_nsec()),
        (
            before.ino(),
            before.mode(),
            before.mtime(),
            before.mtime_nsec()
        )
    );
    assert_eq!(entries(&outside), ["spec.json"]);
    assert_eq!(entries(&bundle), ["config.json"], "no temporary file left");
    let link = std::fs::symlink_metadata(bundle.join("config.json")).unwrap();
    assert!(link.file_type().is_file(), "the link became a regular file");
    assert_eq!(link.mode() & 0o7777, 0o444, "with the target's mode");
    let hook = |stage: &str| {
        json!({"path": BIN, "args": ["ctraudit", "--config", cfg, "hook", stage], "timeout": 10})
            .to_string()
    };
    let expect = CONFIG_WITH_EXTRAS.replace(
        "\"createContainer\":[{\"path\":\"/bin/true\"}]",
        &format!(
            "\"createContainer\":[{{\"path\":\"/bin/true\"}}],\"poststop\":[{}]",
            hook("poststop")
        ),
    );
    let expect = expect.replace(
        "\"args\":[\"other-hook\"]}]",
        &format!("\"args\":[\"other-hook\"]}},{}]", hook("prestart")),
    );
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        expect
    );
}

/// Issue 12: a config.json that is /dev/zero made the wrapper grow to
/// 4.2 GB, a FIFO hung it for ever. Neither is read, nor a file past the
/// limit; `on_error` decides, at once.
#[test]
fn wrapper_refuses_devices_fifos_and_huge_config_json_without_reading() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fake = fake_runtime(&env);
    let bundle = env.path("b");
    std::fs::create_dir(&bundle).unwrap();
    let config = bundle.join("config.json");
    type Make = fn(&Path);
    let cases: [(&str, Make); 3] = [
        ("a character device, not a regular file: not read", |p| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
        ("a FIFO, not a regular file: not read", |p| {
            nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap()
        }),
        ("larger than 8 MiB, the most read of it", |p| {
            std::fs::File::create(p)
                .unwrap()
                .set_len((8 << 20) + 1)
                .unwrap()
        }),
    ];
    for (why, make) in cases {
        for on_error in ["allow", "deny"] {
            let _ = std::fs::remove_file(&config);
            let _ = std::fs::remove_file(env.path("fake.argv"));
            make(&config);
            let cfg = config_with_runtime(&env, &fake, &format!("on_error = \"{on_error}\""));
            let mut cmd = Command::new(&w);
            cmd.env("CTRAUDIT_CONFIG", &cfg)
                .args(["create", "-b", bundle.to_str().unwrap(), "id-4"])
                .stderr(Stdio::piped());
            let out = output(cmd, b"");
            let verdict = match on_error {
                "allow" => "container runs unaudited (on_error = \"allow\")",
                _ => "container start refused (on_error = \"deny\")",
            };
            assert_eq!(
                stderr(&out),
                format!("ctraudit-runc: {}: {why}; {verdict}\n", config.display()),
                "{why}"
            );
            let ran = recorded_argv(&env).is_some();
            assert_eq!(
                (out.status.code(), ran),
                if on_error == "allow" {
                    (Some(42), true)
                } else {
                    (Some(1), false)
                },
                "{why}, {on_error}"
            );
            assert_eq!(entries(&bundle), ["config.json"]);
        }
    }
}

/// Issue 12: a config.toml that never arrives (a FIFO nobody writes) hung
/// the wrapper for ever. It is refused at once, as not a regular file,
/// without waiting for a writer (the deadline behind it, for work that is
/// slow for other reasons, is tested in shim/deadline.rs), and runc gets
/// the call as it came.
#[test]
fn wrapper_hands_over_to_runc_when_its_config_is_a_fifo() {
    let env = Env::new("");
    let w = wrapper(&env);
    let fifo = env.path("config.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let own = format!("--ctraudit-config={}", fifo.display());
    let root = env.path("runc");
    let missing = env.path("no-bundle");
    let start = [
        own.as_str(),
        "--root",
        root.to_str().unwrap(),
        "create",
        "--bundle",
        missing.to_str().unwrap(),
        "late",
    ];
    let version = [own.as_str(), "--version"];
    let call = |args: &[&str]| {
        let mut c = Command::new(&w);
        c.args(args).stderr(Stdio::piped());
        output(c, b"")
    };
    // side by side
    let (late_start, late_version) = std::thread::scope(|s| {
        let a = s.spawn(|| call(&start));
        let b = s.spawn(|| call(&version));
        (a.join().unwrap(), b.join().unwrap())
    });
    let runc = |args: &[&str]| {
        let mut c = Command::new("/usr/bin/runc");
        c.args(args).stderr(Stdio::piped());
        output(c, b"")
    };
    let direct = runc(&start[1..]);
    assert_eq!(late_start.status.code(), direct.status.code());
    assert_eq!(late_start.stdout, direct.stdout);
    assert_eq!(
        untimed(&late_start.stderr),
        format!(
            "ctraudit-runc: config: {}: cannot read: a FIFO, not a regular file: not read; container runs unaudited (on_error = \"allow\")\n{}",
            fifo.display(),
            untimed(&direct.stderr)
        )
    );
    let direct = runc(&version[1..]);
    assert_eq!(
        (
            late_version.status.code(),
            late_version.stdout,
            late_version.stderr
        ),
        (direct.status.code(), direct.stdout, direct.stderr)
    );
}

/// A fake containerd-shim-runc-v2 that records its argv and cwd.
fn fake_shim(env: &Env) -> PathBuf {
    let script = env.path("fake-shim");
    let rec = env.path("shim");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > {r}.argv\npwd > {r}.cwd\nexit 7\n",
            r = rec.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Issue 12, the containerd shim: the same injection, so the same
/// classes of problem (a closed stderr, a symlinked or FIFO config.json,
/// numbers).
#[test]
fn wrapper_containerd_shim_keeps_bytes_links_and_its_stderr() {
    let env = Env::new("");
    let shim = env.path("containerd-shim-ctraudit-v2");
    std::os::unix::fs::symlink(BIN, &shim).unwrap();
    let fake = fake_shim(&env);
    env.write_config(&format!("[containerd]\nshim = \"{}\"\n", fake.display()));
    let cfg = env.path("config.toml");
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.join("spec.json");
    let text =
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"oomScoreAdj\":-0,\"args\":[\"sh\"]},\"x\":1E2}";
    std::fs::write(&target, text).unwrap();
    let bundle = env.path("b");
    std::fs::create_dir(&bundle).unwrap();
    std::os::unix::fs::symlink(&target, bundle.join("config.json")).unwrap();
    let args = [
        "-namespace",
        "k8s.io",
        "-id",
        "c1",
        "-address",
        "/run/x.sock",
        "start",
    ];
    let shim_call = || {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        drop(read_end);
        let mut c = Command::new(&shim);
        c.current_dir(&bundle)
            .env("CTRAUDIT_CONFIG", &cfg)
            .args(args)
            .stderr(Stdio::from(write_end));
        output(c, b"")
    };
    let out = shim_call();
    assert_eq!(out.status.code(), Some(7), "the real shim ran");
    assert_eq!(
        std::fs::read_to_string(env.path("shim.argv")).unwrap(),
        args.map(|a| format!("{a}\0")).concat()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
    assert!(std::fs::symlink_metadata(bundle.join("config.json"))
        .unwrap()
        .file_type()
        .is_file());
    let hook = |stage: &str| {
        json!({"path": BIN, "args": ["ctraudit", "hook", stage], "env": [format!("CTRAUDIT_CONFIG={}", cfg.display())], "timeout": 10})
            .to_string()
    };
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        format!(
            "{},\"hooks\":{{\"prestart\":[{}],\"poststop\":[{}]}}}}",
            &text[..text.len() - 1],
            hook("prestart"),
            hook("poststop")
        )
    );

    // a FIFO config.json: not read, the container starts unaudited, and
    // containerd (which reads the shim's output as its address) hears nothing
    std::fs::remove_file(bundle.join("config.json")).unwrap();
    nix::unistd::mkfifo(
        &bundle.join("config.json"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = shim_call();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        env.syslog(),
        ["containerd-shim-ctraudit-v2: container c1: ./config.json: a FIFO, not a regular file: not read; container runs unaudited (on_error = \"allow\")"]
    );
    // under deny the shim fails, and says so on the closed stderr without a panic
    env.write_config(&format!(
        "on_error = \"deny\"\n[containerd]\nshim = \"{}\"\n",
        fake.display()
    ));
    std::fs::remove_file(env.path("shim.argv")).unwrap();
    let out = shim_call();
    assert_eq!(out.status.code(), Some(1));
    assert!(!env.path("shim.argv").exists(), "the real shim was not run");
}
