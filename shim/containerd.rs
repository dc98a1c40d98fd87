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

use super::inject::{inject_bundle, HookSpec};
use crate::config::{self, Config, OnError};

/// The real shim, unless `containerd.shim` in config.toml says otherwise.
const RUNC_SHIM: &str = "containerd-shim-runc-v2";
const SEARCH: &[&str] = &["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin"];

fn real_shim(cfg: &Config) -> Result<PathBuf, String> {
    if let Some(p) = &cfg.containerd.shim {
        return Ok(p.clone());
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SEARCH.iter().map(PathBuf::from))
        .map(|d| d.join(RUNC_SHIM))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "{RUNC_SHIM} not found in PATH or {} (set containerd.shim in config.toml)",
                SEARCH.join(", ")
            )
        })
}

fn report(cfg: &Config, msg: &str) {
    // containerd keeps a shim's stderr in its own log
    eprintln!("containerd-shim-ctraudit-v2: {msg}");
    crate::hook::log::syslog(cfg, true, &format!("containerd-shim-ctraudit-v2: {msg}"));
}

pub fn main(argv: Vec<OsString>) -> i32 {
    let explicit = std::env::var_os("CTRAUDIT_CONFIG").map(PathBuf::from);
    let config_path = explicit
        .clone()
        .unwrap_or_else(|| config::DEFAULT_PATH.into());
    let (cfg, cfg_error) = match Config::load(&config_path, explicit.is_some()) {
        Ok(c) => (c, None),
        Err(e) => (
            config::salvage(&std::fs::read_to_string(&config_path).unwrap_or_default()),
            Some(e),
        ),
    };

    // containerd's flag syntax (Go's flag package), parsed by the crate
    // made for it; a parse failure is the real shim's to report
    if let Ok(flags) = containerd_shim::parse(&argv) {
        if flags.action == "start" {
            let bundle = if flags.bundle.is_empty() {
                PathBuf::from(".")
            } else {
                PathBuf::from(&flags.bundle)
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
                        inject_bundle(&bundle, &spec).map_err(|e| e.to_string())
                    }),
            };
            if let Err(msg) = result {
                let id = &flags.id;
                match cfg.on_error {
                    OnError::Allow => report(&cfg, &format!("container {id}: {msg}; container runs unaudited (on_error = \"allow\")")),
                    OnError::Deny => {
                        report(&cfg, &format!("container {id}: {msg}; container start refused (on_error = \"deny\")"));
                        return 1;
                    }
                }
            }
        }
    }

    let shim = match real_shim(&cfg) {
        Ok(p) => p,
        Err(msg) => {
            report(&cfg, &msg);
            return 127;
        }
    };
    let err = std::process::Command::new(&shim)
        .arg0(RUNC_SHIM)
        .args(&argv)
        .exec();
    report(&cfg, &format!("exec {}: {err}", shim.display()));
    126
}
