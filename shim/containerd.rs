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

use super::deadline::{self, Late, Overdue, Watchdog};
use super::inject::{prepare, HookSpec};
use crate::config::Config;

/// The real shim, unless `containerd.shim` in config.toml says otherwise.
const RUNC_SHIM: &str = "containerd-shim-runc-v2";
const SEARCH: &[&str] = &["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin"];

fn real_shim(cfg: &Config) -> Result<PathBuf, String> {
    // never this binary under another name: that would answer containerd
    // with clap's usage text
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let not_me = |p: &PathBuf| p.canonicalize().ok().is_some_and(|c| Some(c) != me);
    if let Some(p) = &cfg.containerd.shim {
        return if not_me(p) {
            Ok(p.clone())
        } else {
            Err(format!(
                "containerd.shim {} is ctraudit itself or missing",
                p.display()
            ))
        };
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SEARCH.iter().map(PathBuf::from))
        .map(|d| d.join(RUNC_SHIM))
        .find(|p| p.is_file() && not_me(p))
        .ok_or_else(|| {
            format!(
                "{RUNC_SHIM} not found in PATH or {} (set containerd.shim in config.toml)",
                SEARCH.join(", ")
            )
        })
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
    let (cfg, result) = match super::no_panic(|| super::runc::load_config(config_path())) {
        Ok((cfg, cfg_error)) => {
            wd.configure(&cfg);
            let result = super::no_panic(|| audit(&argv, &cfg, cfg_error.as_ref(), &wd));
            (cfg, result.and_then(|r| r))
        }
        Err(e) => (Config::default(), Err(e)),
    };
    if let Err(msg) = result {
        let (end, go_on) = super::runc::verdict(&cfg);
        report(&cfg, &format!("{msg}; {end}"), !go_on);
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
    if let Some(e) = cfg_error {
        return Err(format!("container {id}: config: {e}"));
    }
    let binary = std::env::current_exe()
        .map_err(|e| format!("container {id}: cannot find the ctraudit binary: {e}"))?;
    let spec = HookSpec {
        binary,
        stage: cfg.hooks.stage,
        timeout: cfg.hooks.timeout,
        config: None,
        env: super::runc::ctraudit_env(),
    };
    let injected = prepare(&bundle, &spec).map_err(|e| format!("container {id}: {e}"))?;
    if injected.changed() && !wd.begin_write() {
        deadline::wait_for_hand_over();
    }
    injected.write().map_err(|e| format!("container {id}: {e}"))
}

/// The deadline passed (`shim::deadline`): hand over to the real shim as
/// called, or fail under `on_error = "deny"` (a `start` only).
fn overdue(argv: &[OsString], o: Overdue) -> Infallible {
    let loaded = o.config.is_some();
    let cfg = o.config.unwrap_or_default();
    let what = match (loaded, o.late) {
        (false, _) => format!(
            "{}: not read within {} ms (the default hooks.deadline_ms)",
            config_path()
                .unwrap_or_else(|| crate::config::DEFAULT_PATH.into())
                .display(),
            o.ms
        ),
        (true, Late::Working) => format!("gave up after {} ms (hooks.deadline_ms)", o.ms),
        (true, Late::Writing) => format!(
            "gave up after {} ms (hooks.deadline_ms) while replacing the bundle's config.json, which may or may not have the hooks",
            o.ms
        ),
    };
    let start = containerd_shim::parse(argv).map_or(true, |f| f.action == "start");
    let (end, go_on) = super::runc::verdict(&cfg);
    if start {
        report(&cfg, &format!("{what}; {end}"), !go_on);
        if !go_on {
            std::process::exit(1);
        }
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
