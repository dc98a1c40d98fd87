//! `containerd-shim-ctraudit-v2`: containerd runs it for
//! `--runtime io.containerd.ctraudit.v2`. On `start` (cwd = the bundle,
//! runtime v2 shim protocol) it injects the ctraudit hooks into the bundle's
//! config.json, then execs `containerd-shim-runc-v2` with the same
//! arguments; `delete` and everything else go straight through. The shim's
//! stdout is its protocol with containerd (the `start` action prints the
//! shim address there), so nothing else is ever written to it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use super::inject::{prepare, HookSpec};
use crate::config::{Config, OnError};

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
    crate::hook::log::syslog(cfg, true, &format!("containerd-shim-ctraudit-v2: {msg}"));
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let (cfg, cfg_error) =
        super::runc::load_config(std::env::var_os("CTRAUDIT_CONFIG").map(PathBuf::from));

    // containerd's flag syntax (Go's flag package), parsed by the crate
    // made for it. Unparsable flags (a newer containerd's?) may hide a
    // start: on_error decides, and the real shim reports the flags.
    let (start, id, bundle) = match containerd_shim::parse(&argv) {
        Ok(f) => (f.action == "start", f.id, f.bundle),
        Err(e) => {
            if cfg.on_error == OnError::Deny {
                report(
                    &cfg,
                    &format!("arguments not understood ({e}); refused (on_error = \"deny\")"),
                    true,
                );
                return 1;
            }
            report(
                &cfg,
                &format!("arguments not understood ({e}); not audited (on_error = \"allow\")"),
                false,
            );
            (false, String::new(), String::new())
        }
    };
    if start {
        let bundle = if bundle.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(&bundle)
        };
        let result = match &cfg_error {
            Some(e) => Err(format!("config: {e}")),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find the ctraudit binary: {e}"))
                .and_then(|binary| {
                    let spec = HookSpec {
                        binary,
                        stage: cfg.hooks.stage,
                        timeout: cfg.hooks.timeout,
                        config: None,
                        env: super::runc::ctraudit_env(),
                    };
                    prepare(&bundle, &spec)
                        .and_then(|injected| injected.write())
                        .map_err(|e| e.to_string())
                }),
        };
        if let Err(msg) = result {
            match cfg.on_error {
                OnError::Allow => report(
                    &cfg,
                    &format!(
                        "container {id}: {msg}; container runs unaudited (on_error = \"allow\")"
                    ),
                    false,
                ),
                OnError::Deny => {
                    report(
                        &cfg,
                        &format!(
                            "container {id}: {msg}; container start refused (on_error = \"deny\")"
                        ),
                        true,
                    );
                    return 1;
                }
            }
        }
    }

    let shim = match real_shim(&cfg) {
        Ok(p) => p,
        Err(msg) => {
            report(&cfg, &msg, true);
            return 127;
        }
    };
    // argv[0] is the shim's path, as when containerd runs it
    let err = std::process::Command::new(&shim).args(&argv).exec();
    report(&cfg, &format!("exec {}: {err}", shim.display()), true);
    126
}
