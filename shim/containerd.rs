//! `containerd-shim-ctraudit-v2`: containerd runs it for
//! `--runtime io.containerd.ctraudit.v2`. On `start` (cwd = the bundle,
//! runtime v2 shim protocol) it injects the ctraudit hooks into the bundle's
//! config.json, then execs `containerd-shim-runc-v2` with the same
//! arguments; `delete` and everything else go straight through. The shim's
//! stdout is its protocol with containerd (the `start` action prints the
//! shim address there), so nothing else is ever written to it.

use std::convert::Infallible;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use super::deadline::{Overdue, Watchdog};
use crate::config::Config;

/// The real shim, unless `containerd.shim` in config.toml says otherwise.
const RUNC_SHIM: &str = "containerd-shim-runc-v2";
const SEARCH: &[&str] = &["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin"];

fn real_shim(cfg: &Config) -> Result<PathBuf, String> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let candidates = path_dirs
        .into_iter()
        .chain(SEARCH.iter().map(PathBuf::from))
        .map(|d| d.join(RUNC_SHIM))
        .filter(|p| p.is_file());
    super::real_binary(
        cfg.containerd.shim.as_ref(),
        "containerd.shim",
        candidates,
        || {
            format!(
                "{RUNC_SHIM} not found in PATH or {} (set containerd.shim in config.toml)",
                SEARCH.join(", ")
            )
        },
    )
}

/// containerd reads everything `start` prints, stdout and stderr together,
/// as the shim's address: while the container can still start, problems
/// go to syslog only; stderr too when the shim is about to fail anyway.
fn report(cfg: &Config, msg: &str, failing: bool) {
    if failing {
        crate::sys::stderr::line(&format!("containerd-shim-ctraudit-v2: {msg}"));
    }
    crate::sys::log::syslog(cfg, true, &format!("containerd-shim-ctraudit-v2: {msg}"));
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let watched = argv.clone();
    let wd = Watchdog::start(Config::default().hooks.deadline_ms, move |o| {
        overdue(&watched, o)
    });
    let decided = super::inject_or_decide(
        &wd,
        || super::load_config(config_path()),
        |cfg, cfg_error| audit(&argv, cfg, cfg_error, &wd),
        |cfg, msg, go_on| report(cfg, msg, !go_on),
    );
    let cfg = match decided {
        Ok(cfg) => cfg,
        Err(code) => return code,
    };
    exec_shim(&argv, &cfg)
}

fn config_path() -> Option<PathBuf> {
    std::env::var_os("CTRAUDIT_CONFIG").map(PathBuf::from)
}

/// The hooks into the bundle on `start`. Err is a reason the container
/// would run unaudited.
fn audit(
    argv: &[OsString],
    cfg: &Config,
    cfg_error: Option<&crate::config::ConfigError>,
    wd: &Watchdog,
) -> Result<(), String> {
    // containerd's flag syntax (Go's flag package), parsed by the crate
    // made for it. Unparsable flags (a newer containerd's?) may hide a
    // start: on_error decides, and the real shim reports the flags.
    let flags =
        containerd_shim::parse(argv).map_err(|e| format!("arguments not understood ({e})"))?;
    if flags.action != "start" {
        return Ok(());
    }
    let id = flags.id;
    let bundle = if flags.bundle.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(&flags.bundle)
    };
    super::add_hooks(&bundle, cfg, cfg_error, None, wd).map_err(|e| format!("container {id}: {e}"))
}

/// The deadline passed (`shim::deadline`): hand over to the real shim as
/// called, or fail under `on_error = "deny"` (a `start` only).
fn overdue(argv: &[OsString], o: Overdue) -> Infallible {
    let config = config_path().unwrap_or_else(|| crate::config::DEFAULT_PATH.into());
    let what = super::overdue_reason(&o, &config);
    let cfg = o.config.unwrap_or_default();
    let start = containerd_shim::parse(argv).map_or(true, |f| f.action == "start");
    if start {
        super::refuse_if_deny(&cfg, &what, |msg, go_on| report(&cfg, msg, !go_on));
    } else {
        report(&cfg, &what, false);
    }
    std::process::exit(exec_shim(argv, &cfg))
}

fn exec_shim(argv: &[OsString], cfg: &Config) -> i32 {
    let shim = match real_shim(cfg) {
        Ok(p) => p,
        Err(msg) => {
            report(cfg, &msg, true);
            return 127;
        }
    };
    // argv[0] is the shim's path, as when containerd runs it
    let err = std::process::Command::new(&shim).args(argv).exec();
    report(cfg, &format!("exec {}: {err}", shim.display()), true);
    126
}
