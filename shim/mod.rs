//! The runtime wrappers: `ctraudit-runc` (runc-compatible, for Docker and
//! containerd's `BinaryName`), `containerd-shim-ctraudit-v2`, and what they
//! share: the config.json hook injection and the deadline on their work.

pub mod containerd;
pub mod deadline;
pub mod inject;
pub mod runc;
pub mod runc_cli;

/// `f`, with a panic (a bug) turned into an error, so that the real
/// runtime still runs; the panic hook has printed the panic already.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "internal error (the panic above)".to_owned())
}

use std::path::{Path, PathBuf};

use crate::config::{self, Config, ConfigError, HookConfig};
use deadline::{Late, Overdue, Watchdog};
use inject::{prepare, HookSpec};

/// The configuration (`explicit`, else the default path) the way the hook
/// reads it: a broken file still says how to fail (`config::salvage`).
pub(crate) fn load_config(explicit: Option<PathBuf>) -> (Config, Option<ConfigError>) {
    let path = explicit
        .clone()
        .unwrap_or_else(|| config::DEFAULT_PATH.into());
    let hc = HookConfig::load(&path, explicit.is_some(), &config::Overrides::default());
    (hc.config, hc.error)
}

/// The verdict of `on_error` on a container start that will not be
/// audited, for `reason`: the message, and whether the start goes on.
fn verdict(cfg: &Config, reason: &str) -> (String, bool) {
    (
        format!("{reason}; {}", cfg.on_error.verdict()),
        cfg.on_error == config::OnError::Allow,
    )
}

/// The deadline passed on a call that starts a container: `report` the
/// reason with on_error's verdict (and whether the start goes on); under
/// `deny` the start fails here, exit 1.
pub(crate) fn refuse_if_deny(cfg: &Config, reason: &str, report: impl FnOnce(&str, bool)) {
    let (msg, go_on) = verdict(cfg, reason);
    report(&msg, go_on);
    if !go_on {
        std::process::exit(1);
    }
}

/// The flow both wrappers share: read the configuration, do the wrapper's
/// work (`audit`, whose Err is a reason the container would run
/// unaudited), and on a failure let `on_error` decide, `report`ing the
/// reason with the verdict (and whether the start goes on). Ok is the
/// configuration to exec the real runtime with; Err the exit code of a
/// start refused. Either way the deadline is over first.
pub(crate) fn inject_or_decide(
    wd: &Watchdog,
    load: impl FnOnce() -> (Config, Option<ConfigError>),
    audit: impl FnOnce(&Config, Option<&ConfigError>) -> Result<(), String>,
    report: impl FnOnce(&Config, &str, bool),
) -> Result<Config, i32> {
    let (cfg, result) = match no_panic(load) {
        Ok((cfg, cfg_error)) => {
            wd.configure(&cfg);
            let result = no_panic(|| audit(&cfg, cfg_error.as_ref()));
            (cfg, result.and_then(|r| r))
        }
        Err(e) => (Config::default(), Err(e)),
    };
    if let Err(msg) = result {
        let (msg, go_on) = verdict(&cfg, &msg);
        report(&cfg, &msg, go_on);
        if !go_on {
            return Err(if wd.finish() {
                1
            } else {
                deadline::wait_for_hand_over()
            });
        }
    }
    if !wd.finish() {
        deadline::wait_for_hand_over();
    }
    Ok(cfg)
}

/// The hooks into `bundle`'s config.json, for a call that will create a
/// container; the wrapper words the errors' context.
pub(crate) fn add_hooks(
    bundle: &Path,
    cfg: &Config,
    cfg_error: Option<&ConfigError>,
    hook_config: Option<PathBuf>,
    wd: &Watchdog,
) -> Result<(), String> {
    if let Some(e) = cfg_error {
        return Err(format!("config: {e}"));
    }
    let binary =
        std::env::current_exe().map_err(|e| format!("cannot find the ctraudit binary: {e}"))?;
    let spec = HookSpec {
        binary,
        stage: cfg.hooks.stage,
        timeout: cfg.hooks.timeout,
        config: hook_config,
        env: runc::ctraudit_env(),
    };
    let injected = prepare(bundle, &spec).map_err(|e| e.to_string())?;
    if injected.changed() && !wd.begin_write() {
        deadline::wait_for_hand_over();
    }
    injected.write().map_err(|e| e.to_string())
}

/// What a wrapper whose deadline passed says, `config` being the file it
/// was reading.
pub(crate) fn overdue_reason(o: &Overdue, config: &Path) -> String {
    match (&o.config, o.late) {
        (None, _) => format!(
            "{}: not read within {} ms (the default hooks.deadline_ms)",
            config.display(),
            o.ms
        ),
        (Some(_), Late::Working) => format!("gave up after {} ms (hooks.deadline_ms)", o.ms),
        (Some(_), Late::Writing) => format!(
            "gave up after {} ms (hooks.deadline_ms) while replacing the bundle's config.json, which may or may not have the hooks",
            o.ms
        ),
    }
}

/// The real program a wrapper hands over to: the one the configuration
/// names (`key`), else the first of `candidates`; never this binary itself
/// (a misconfiguration that would loop, or answer with clap's usage text).
pub(crate) fn real_binary(
    configured: Option<&PathBuf>,
    key: &str,
    candidates: impl Iterator<Item = PathBuf>,
    missing: impl FnOnce() -> String,
) -> Result<PathBuf, String> {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let not_me = |p: &Path| p.canonicalize().ok().is_some_and(|c| Some(c) != me);
    if let Some(p) = configured {
        if !not_me(p) {
            return Err(format!(
                "{key} {} is ctraudit itself or missing",
                p.display()
            ));
        }
        return Ok(p.clone());
    }
    candidates
        .into_iter()
        .find(|p| not_me(p))
        .ok_or_else(missing)
}
