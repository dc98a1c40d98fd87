//! `ctraudit-runc`: a runc-compatible wrapper (Docker's `daemon.json`
//! runtimes, containerd's `BinaryName`). When a call will create a
//! container (`runc_cli`: `create`, `run`, `restore`, not their help or a
//! call runc refuses) it injects the ctraudit hooks into the bundle, then
//! execs the real runtime with the same arguments; every other call goes
//! straight through.
//!
//! argv reaches runc exactly as it came, minus the one wrapper-only flag
//! `--ctraudit-config=PATH`, with the runtime's own path as argv[0] (runc
//! names itself by argv[0] in its errors). The wrapper never writes to
//! stdout: runc's stdout belongs to its caller (`runc state`, `list`, ...).
//! Its own problems go to stderr (never a panic, never blocking), syslog
//! and runc's `--log` file. Its work has a deadline (`shim::deadline`).

use std::convert::Infallible;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::deadline::{Overdue, Watchdog};
use super::runc_cli::{self, Action, Call};
use crate::config::{self, Config, OnError};

/// Default search path for the real runtime.
const RUNC_PATHS: &[&str] = &[
    "/usr/bin/runc",
    "/usr/sbin/runc",
    "/usr/local/bin/runc",
    "/usr/local/sbin/runc",
];

/// The real runtime: config `runtime.path`, else the first runc found, never
/// this binary itself (a misconfiguration that would loop).
pub fn real_runtime(cfg: &Config) -> Result<PathBuf, String> {
    super::real_binary(
        cfg.runtime.path.as_ref(),
        "runtime.path",
        RUNC_PATHS.iter().map(PathBuf::from),
        || {
            format!(
                "no runc in {} (set runtime.path in config.toml)",
                RUNC_PATHS.join(", ")
            )
        },
    )
}

/// Appends one entry to runc's `--log` file in runc's own format, so the
/// caller (containerd, Docker) shows it with runc's messages.
fn log_to_runc(call: &Call, level: &str, msg: &str) {
    let Some(path) = &call.log else { return };
    let time = crate::sys::clock::rfc3339(std::time::SystemTime::now());
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
    crate::sys::log::syslog(cfg, level == "error", &format!("ctraudit-runc: {msg}"));
}

/// `CTRAUDIT_*` variables to hand to the hooks, so they use the same roots.
pub(crate) fn ctraudit_env() -> Vec<String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("CTRAUDIT_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// The configuration file the wrapper reads.
fn config_path(call: &Call) -> (PathBuf, bool) {
    match call
        .config
        .clone()
        .or_else(|| std::env::var_os("CTRAUDIT_CONFIG").map(PathBuf::from))
    {
        Some(p) => (p, true),
        None => (config::DEFAULT_PATH.into(), false),
    }
}

/// Runs the wrapper; returns only when the real runtime could not be exec'd.
pub fn main(argv: Vec<OsString>) -> i32 {
    let call = Arc::new(runc_cli::read(argv));
    let watched = Arc::clone(&call);
    let wd = Watchdog::start(config::Config::default().hooks.deadline_ms, move |o| {
        overdue(&watched, o)
    });
    let decided = super::inject_or_decide(
        &wd,
        || {
            let (path, explicit) = config_path(&call);
            super::load_config(explicit.then_some(path))
        },
        |cfg, cfg_error| audit(&call, cfg, cfg_error, &wd),
        |cfg, msg, go_on| report(&call, cfg, if go_on { "warning" } else { "error" }, msg),
    );
    let cfg = match decided {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    exec_runtime(&call, &cfg)
}

/// The wrapper's own work for this call: the hooks into the bundle when
/// runc will create a container. Err is a reason the container would run
/// unaudited.
fn audit(
    call: &Call,
    cfg: &Config,
    cfg_error: Option<&config::ConfigError>,
    wd: &Watchdog,
) -> Result<(), String> {
    let bundle = match &call.action {
        Action::Other => return Ok(()),
        Action::Unknown { subcommand, flag } => {
            let msg = format!(
                "{subcommand}: flag -{flag} is not one ctraudit knows runc to accept; the hooks were not added"
            );
            if cfg.on_error == OnError::Deny {
                return Err(msg);
            }
            // runc may well refuse it and say so itself: syslog only
            crate::sys::log::syslog(cfg, false, &format!("ctraudit-runc: {msg}"));
            return Ok(());
        }
        Action::Start { bundle, .. } => bundle,
    };
    super::add_hooks(bundle, cfg, cfg_error, call.config.clone(), wd)
}

/// The deadline passed (`shim::deadline`): hand over to runc as the call
/// came, or refuse the start under `on_error = "deny"`.
fn overdue(call: &Call, o: Overdue) -> Infallible {
    let what = super::overdue_reason(&o, &config_path(call).0);
    let cfg = o.config.unwrap_or_default();
    match call.action {
        // nothing to audit: runc does what it was asked
        Action::Other => {
            crate::sys::log::syslog(&cfg, true, &format!("ctraudit-runc: {what}"));
        }
        Action::Start { .. } | Action::Unknown { .. } => {
            super::refuse_if_deny(&cfg, &what, |msg, go_on| {
                report(call, &cfg, if go_on { "warning" } else { "error" }, msg)
            });
        }
    }
    std::process::exit(exec_runtime(call, &cfg))
}

/// Execs the real runtime with the call's arguments and its own path as
/// argv[0]; returns the exit code when that failed.
fn exec_runtime(call: &Call, cfg: &Config) -> i32 {
    let runtime = match real_runtime(cfg) {
        Ok(p) => p,
        Err(msg) => {
            report(call, cfg, "error", &msg);
            return 127;
        }
    };
    let err = std::process::Command::new(&runtime).args(&call.args).exec();
    report(
        call,
        cfg,
        "error",
        &format!("exec {}: {err}", runtime.display()),
    );
    126
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_log_lines_use_runcs_formats() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        for json in [true, false] {
            let call = Call {
                args: vec![],
                action: Action::Other,
                log: Some(log.clone()),
                log_json: json,
                config: None,
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
