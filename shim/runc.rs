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
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::deadline::{self, Late, Overdue, Watchdog};
use super::inject::{prepare, HookSpec};
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

/// The verdict of `on_error` on a container start that will not be
/// audited: what the message ends with, and whether the start goes on.
pub(crate) fn verdict(cfg: &Config) -> (&'static str, bool) {
    match cfg.on_error {
        OnError::Allow => ("container runs unaudited (on_error = \"allow\")", true),
        OnError::Deny => ("container start refused (on_error = \"deny\")", false),
    }
}

/// Runs the wrapper; returns only when the real runtime could not be exec'd.
pub fn main(argv: Vec<OsString>) -> i32 {
    let call = Arc::new(runc_cli::read(argv));
    let watched = Arc::clone(&call);
    let wd = Watchdog::start(config::Config::default().hooks.deadline_ms, move |o| {
        overdue(&watched, o)
    });
    let loaded = super::no_panic(|| {
        let (path, explicit) = config_path(&call);
        load_config(explicit.then_some(path))
    });
    let (cfg, result) = match loaded {
        Ok((cfg, cfg_error)) => {
            wd.configure(&cfg);
            let result = super::no_panic(|| audit(&call, &cfg, cfg_error.as_ref(), &wd));
            (cfg, result.and_then(|r| r))
        }
        Err(e) => (Config::default(), Err(e)),
    };
    if let Err(msg) = result {
        let (end, go_on) = verdict(&cfg);
        report(
            &call,
            &cfg,
            if go_on { "warning" } else { "error" },
            &format!("{msg}; {end}"),
        );
        if !go_on {
            return if wd.finish() {
                1
            } else {
                deadline::wait_for_hand_over()
            };
        }
    }
    if !wd.finish() {
        deadline::wait_for_hand_over();
    }
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
    if let Some(e) = cfg_error {
        return Err(format!("config: {e}"));
    }
    let binary =
        std::env::current_exe().map_err(|e| format!("cannot find the ctraudit binary: {e}"))?;
    let spec = HookSpec {
        binary,
        stage: cfg.hooks.stage,
        timeout: cfg.hooks.timeout,
        config: call.config.clone(),
        env: ctraudit_env(),
    };
    let injected = prepare(bundle, &spec).map_err(|e| e.to_string())?;
    if injected.changed() && !wd.begin_write() {
        deadline::wait_for_hand_over();
    }
    injected.write().map_err(|e| e.to_string())
}

/// The deadline passed (`shim::deadline`): hand over to runc as the call
/// came, or refuse the start under `on_error = "deny"`.
fn overdue(call: &Call, o: Overdue) -> Infallible {
    let (cfg, what) = match (o.config, o.late) {
        (None, _) => (
            Config::default(),
            format!(
                "{}: not read within {} ms (the default hooks.deadline_ms)",
                config_path(call).0.display(),
                o.ms
            ),
        ),
        (Some(cfg), Late::Working) => (
            cfg,
            format!("gave up after {} ms (hooks.deadline_ms)", o.ms),
        ),
        (Some(cfg), Late::Writing) => (
            cfg,
            format!(
                "gave up after {} ms (hooks.deadline_ms) while replacing the bundle's config.json, which may or may not have the hooks",
                o.ms
            ),
        ),
    };
    match call.action {
        // nothing to audit: runc does what it was asked
        Action::Other => {
            crate::sys::log::syslog(&cfg, true, &format!("ctraudit-runc: {what}"));
        }
        Action::Start { .. } | Action::Unknown { .. } => {
            let (end, go_on) = verdict(&cfg);
            let level = if go_on { "warning" } else { "error" };
            report(call, &cfg, level, &format!("{what}; {end}"));
            if !go_on {
                std::process::exit(1);
            }
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
