//! `ctraudit-runc`: a runc-compatible wrapper (Docker's `daemon.json`
//! runtimes, containerd's `BinaryName`). On `create` and `run` it injects the
//! ctraudit hooks into the bundle, then execs the real runtime with the same
//! arguments; every other call goes straight through.
//!
//! runc's flags are not parsed with clap: anything clap does not know would
//! change the call. Only what is needed is read (the global flags that take a
//! value, the subcommand, `--bundle`/`-b`, and `--log`/`--log-format` for
//! reporting), and argv reaches runc exactly as it came, minus the one
//! wrapper-only flag `--ctraudit-config=PATH`, with the runtime's own path
//! as argv[0]. The wrapper never writes to stdout: runc's stdout belongs to
//! its caller (`runc state`, `list`, ...); its own problems go to stderr,
//! never with a panic (`sys::stderr`).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use super::inject::{prepare, HookSpec};
use crate::config::{self, Config, OnError};

/// runc's global flags that take a value (runc `main.go`). urfave/cli accepts
/// one or two dashes and `--flag=value` as well as `--flag value`.
const GLOBAL_WITH_VALUE: &[&str] = &["log", "log-format", "root", "criu", "rootless"];
/// Default search path for the real runtime.
const RUNC_PATHS: &[&str] = &[
    "/usr/bin/runc",
    "/usr/sbin/runc",
    "/usr/local/bin/runc",
    "/usr/local/sbin/runc",
];
/// The wrapper's own flag, for Docker's `runtimeArgs`; never passed on.
const OWN_CONFIG_FLAG: &str = "--ctraudit-config";

/// What the wrapper learned from argv.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Call {
    /// argv[1..] as runc must see it.
    pub args: Vec<OsString>,
    pub subcommand: Option<String>,
    pub bundle: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub log_json: bool,
    pub config: Option<PathBuf>,
}

fn flag_name(arg: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let body = arg.strip_prefix(b"--").or_else(|| arg.strip_prefix(b"-"))?;
    if body.is_empty() {
        return None;
    }
    Some(match body.iter().position(|&b| b == b'=') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    })
}

/// Reads runc's argv (without argv[0]).
pub fn parse(argv: Vec<OsString>) -> Call {
    let mut call = Call::default();
    let mut it = argv.into_iter().peekable();
    // global flags, up to the subcommand
    while let Some(arg) = it.next() {
        let bytes = arg.as_bytes();
        if bytes.starts_with(OWN_CONFIG_FLAG.as_bytes()) {
            match bytes.strip_prefix(OWN_CONFIG_FLAG.as_bytes()) {
                Some(b"") => call.config = it.next().map(PathBuf::from),
                Some(v) if v.first() == Some(&b'=') => {
                    call.config = Some(PathBuf::from(OsStr::from_bytes(&v[1..])))
                }
                _ => call.args.push(arg),
            }
            continue;
        }
        if bytes == b"--" {
            // Go's flag parsing ends at "--": the next argument is the subcommand
            call.args.push(arg);
            if let Some(sub) = it.next() {
                call.subcommand = Some(sub.to_string_lossy().into_owned());
                call.args.push(sub);
            }
            break;
        }
        match flag_name(bytes) {
            Some((name, inline)) => {
                let name = String::from_utf8_lossy(name).into_owned();
                let takes_value = GLOBAL_WITH_VALUE.contains(&name.as_str());
                let value = match inline {
                    Some(v) => Some(OsStr::from_bytes(v).to_owned()),
                    None if takes_value => it.peek().cloned(),
                    None => None,
                };
                call.args.push(arg.clone());
                if takes_value && inline.is_none() {
                    if let Some(v) = it.next() {
                        call.args.push(v);
                    }
                }
                match (name.as_str(), value) {
                    ("log", Some(v)) => call.log = Some(v.into()),
                    ("log-format", Some(v)) => call.log_json = v == "json",
                    _ => {}
                }
            }
            None => {
                call.subcommand = Some(arg.to_string_lossy().into_owned());
                call.args.push(arg);
                break;
            }
        }
    }
    // the subcommand's own arguments: only --bundle/-b matters
    let mut bundle_next = false;
    let mut flags_done = false;
    for arg in it {
        if flags_done {
        } else if arg.as_bytes() == b"--" {
            flags_done = true;
        } else if bundle_next {
            call.bundle = Some(PathBuf::from(&arg));
            bundle_next = false;
        } else if let Some((name, inline)) = flag_name(arg.as_bytes()) {
            if name == b"bundle" || name == b"b" {
                match inline {
                    Some(v) => call.bundle = Some(PathBuf::from(OsStr::from_bytes(v))),
                    None => bundle_next = true,
                }
            }
        }
        call.args.push(arg);
    }
    call
}

/// The real runtime: config `runtime.path`, else the first runc found, never
/// this binary itself (a misconfiguration that would loop).
pub fn real_runtime(cfg: &Config) -> Result<PathBuf, String> {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let not_me = |p: &Path| p.canonicalize().ok().is_some_and(|c| Some(c) != me);
    if let Some(p) = &cfg.runtime.path {
        if !not_me(p) {
            return Err(format!(
                "runtime.path {} is ctraudit itself or missing",
                p.display()
            ));
        }
        return Ok(p.clone());
    }
    RUNC_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| not_me(p))
        .ok_or_else(|| {
            format!(
                "no runc in {} (set runtime.path in config.toml)",
                RUNC_PATHS.join(", ")
            )
        })
}

/// Appends one entry to runc's `--log` file in runc's own format, so the
/// caller (containerd, Docker) shows it with runc's messages.
fn log_to_runc(call: &Call, level: &str, msg: &str) {
    let Some(path) = &call.log else { return };
    let time = crate::hook::clock::rfc3339(std::time::SystemTime::now());
    let line = if call.log_json {
        serde_json::json!({"level": level, "msg": format!("ctraudit: {msg}"), "time": time})
            .to_string()
    } else {
        format!(
            "time={time:?} level={level} msg={:?}",
            format!("ctraudit: {msg}")
        )
    };
    use std::io::Write;
    // non-blocking: a FIFO nobody reads must not hold up the container
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

fn report(call: &Call, cfg: &Config, level: &str, msg: &str) {
    crate::sys::stderr::line(&format!("ctraudit-runc: {msg}"));
    log_to_runc(call, level, msg);
    crate::hook::log::syslog(cfg, level == "error", &format!("ctraudit-runc: {msg}"));
}

/// `CTRAUDIT_*` variables to hand to the hooks, so they use the same roots.
pub(crate) fn ctraudit_env() -> Vec<String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("CTRAUDIT_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// The configuration (`explicit`, else the default path) the way the hook
/// reads it: a broken file still says how to fail (`config::salvage`).
pub(crate) fn load_config(explicit: Option<PathBuf>) -> (Config, Option<config::ConfigError>) {
    let path = explicit
        .clone()
        .unwrap_or_else(|| config::DEFAULT_PATH.into());
    let hc =
        crate::hook::HookConfig::load(&path, explicit.is_some(), &config::Overrides::default());
    (hc.config, hc.error)
}

/// Runs the wrapper; returns only when the real runtime could not be exec'd.
pub fn main(argv: Vec<OsString>) -> i32 {
    let call = parse(argv);
    let explicit = call
        .config
        .clone()
        .or_else(|| std::env::var_os("CTRAUDIT_CONFIG").map(PathBuf::from));
    let (cfg, cfg_error) = load_config(explicit);

    // runc runs prestart/createRuntime hooks on create, run and restore
    // (`docker start --checkpoint`)
    let injecting = matches!(
        call.subcommand.as_deref(),
        Some("create" | "run" | "restore")
    );
    if injecting {
        let result = match &cfg_error {
            Some(e) => Err(format!("config: {e}")),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find the ctraudit binary: {e}"))
                .and_then(|binary| {
                    let bundle = call.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
                    let spec = HookSpec {
                        binary,
                        stage: cfg.hooks.stage,
                        timeout: cfg.hooks.timeout,
                        config: call.config.clone(),
                        env: ctraudit_env(),
                    };
                    prepare(&bundle, &spec)
                        .and_then(|injected| injected.write())
                        .map_err(|e| e.to_string())
                }),
        };
        if let Err(msg) = result {
            match cfg.on_error {
                OnError::Allow => report(
                    &call,
                    &cfg,
                    "warning",
                    &format!("{msg}; container runs unaudited (on_error = \"allow\")"),
                ),
                OnError::Deny => {
                    report(
                        &call,
                        &cfg,
                        "error",
                        &format!("{msg}; container start refused (on_error = \"deny\")"),
                    );
                    return 1;
                }
            }
        }
    }

    let runtime = match real_runtime(&cfg) {
        Ok(p) => p,
        Err(msg) => {
            report(&call, &cfg, "error", &msg);
            return 127;
        }
    };
    // argv[0] is the runtime's path: runc names itself by it in its errors
    let err = std::process::Command::new(&runtime)
        .args(&call.args)
        .exec();
    report(
        &call,
        &cfg,
        "error",
        &format!("exec {}: {err}", runtime.display()),
    );
    126
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn docker_create_call() {
        let a = argv(&[
            "--root",
            "/run/docker/runtime-runc/moby",
            "--log",
            "/run/x/log.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            "/run/b",
            "--pid-file",
            "/run/b/init.pid",
            "abc",
        ]);
        let c = parse(a.clone());
        assert_eq!(c.args, a, "passed on unchanged");
        assert_eq!(c.subcommand.as_deref(), Some("create"));
        assert_eq!(c.bundle, Some(PathBuf::from("/run/b")));
        assert_eq!(c.log, Some(PathBuf::from("/run/x/log.json")));
        assert!(c.log_json);
    }

    #[test]
    fn flag_spellings() {
        let c = parse(argv(&["-root=/r", "--log=/l", "run", "-b=/b1", "id"]));
        assert_eq!(
            (c.subcommand.as_deref(), c.bundle, c.log),
            (Some("run"), Some("/b1".into()), Some("/l".into()))
        );
        let c = parse(argv(&["run", "-b", "/b2", "--detach", "id"]));
        assert_eq!(c.bundle, Some("/b2".into()));
        let c = parse(argv(&["create", "id"]));
        assert_eq!((c.subcommand.as_deref(), c.bundle), (Some("create"), None));
        // a value that looks like a subcommand is still the flag's value
        let c = parse(argv(&["--root", "create", "state", "id"]));
        assert_eq!(c.subcommand.as_deref(), Some("state"));
        assert_eq!(c.args, argv(&["--root", "create", "state", "id"]));
    }

    #[test]
    fn double_dash_ends_the_flags() {
        let c = parse(argv(&[
            "--root", "/r", "--", "create", "-b", "/b", "--", "-b",
        ]));
        assert_eq!(c.subcommand.as_deref(), Some("create"));
        assert_eq!(
            c.bundle,
            Some("/b".into()),
            "-b after the second -- is the id, not a flag"
        );
        assert_eq!(
            c.args,
            argv(&["--root", "/r", "--", "create", "-b", "/b", "--", "-b"])
        );
    }

    #[test]
    fn own_flag_is_taken_out_and_nothing_else() {
        let c = parse(argv(&[
            "--ctraudit-config=/etc/x.toml",
            "--root",
            "/r",
            "list",
        ]));
        assert_eq!(c.config, Some("/etc/x.toml".into()));
        assert_eq!(c.args, argv(&["--root", "/r", "list"]));
        let c = parse(argv(&["--ctraudit-config", "/y.toml", "--version"]));
        assert_eq!(c.config, Some("/y.toml".into()));
        assert_eq!(c.args, argv(&["--version"]));
        assert_eq!(c.subcommand, None);
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        let weird = OsString::from_vec(vec![b'i', 0xff, b'd']);
        let c = parse(vec![OsString::from("delete"), weird.clone()]);
        assert_eq!(c.args, vec![OsString::from("delete"), weird]);
    }

    #[test]
    fn runc_log_lines_use_runcs_formats() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        for json in [true, false] {
            let call = Call {
                log: Some(log.clone()),
                log_json: json,
                ..Default::default()
            };
            log_to_runc(&call, "error", "config: bad \"x\"");
        }
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(
            (v["level"].as_str(), v["msg"].as_str()),
            (Some("error"), Some("ctraudit: config: bad \"x\""))
        );
        assert!(
            lines[1].starts_with("time=\"")
                && lines[1].ends_with(" level=error msg=\"ctraudit: config: bad \\\"x\\\"\""),
            "{}",
            lines[1]
        );
    }
}
