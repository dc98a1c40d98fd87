//! `ctraudit install <runtime>` / `uninstall <runtime>`: register ctraudit
//! with a container engine's configuration, and take it out again.

pub mod docker;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not valid JSON ({message}); the file was not changed")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}; the file was not changed")]
    Shape { path: PathBuf, message: String },
    #[error("{0}")]
    Other(String),
}

/// What an install or uninstall did (or, with --dry-run, would write).
#[derive(Debug)]
pub struct Outcome {
    pub changed: bool,
    pub preview: Vec<u8>,
}

/// Writes a configuration file atomically, keeping its mode.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let io = |source| InstallError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mode = std::fs::metadata(path).ok().map(|m| m.permissions());
    crate::hook::write_atomic(path, bytes).map_err(io)?;
    if let Some(mode) = mode {
        std::fs::set_permissions(path, mode).map_err(io)?;
    }
    Ok(())
}

/// `ctraudit-runc` next to the running binary (the package installs both).
pub fn sibling(name: &str) -> Result<PathBuf, InstallError> {
    let me = std::env::current_exe()
        .map_err(|e| InstallError::Other(format!("cannot find the ctraudit binary: {e}")))?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(InstallError::Other(format!(
            "{} does not exist: create it (ln -s ctraudit {}) or pass --runtime-path",
            path.display(),
            path.display()
        )))
    }
}

/// Applies a daemon's new configuration: `systemctl restart <unit>` where
/// systemd runs, else SIGHUP to the running daemon that reads `config_file`
/// (dockerd reloads `runtimes` and `default-runtime` on SIGHUP without
/// touching running containers). Returns what it did.
pub fn apply(
    unit: &str,
    daemon: &str,
    config_file: &Path,
    default_config: &str,
) -> Result<String, InstallError> {
    if Path::new("/run/systemd/system").exists() {
        let st = std::process::Command::new("systemctl")
            .args(["restart", unit])
            .status()
            .map_err(|e| InstallError::Other(format!("systemctl restart {unit}: {e}")))?;
        return if st.success() {
            Ok(format!("restarted {unit} (systemctl)"))
        } else {
            Err(InstallError::Other(format!(
                "systemctl restart {unit}: {st}"
            )))
        };
    }
    let pids = find_daemon(daemon, config_file, default_config);
    if pids.is_empty() {
        return Ok(format!(
            "{daemon} is not running: the change applies when it starts"
        ));
    }
    for pid in &pids {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGHUP,
        )
        .map_err(|e| InstallError::Other(format!("reload {daemon} (pid {pid}): {e}")))?;
    }
    Ok(format!(
        "reloaded {daemon} (SIGHUP to pid {pids:?}; no systemd)"
    ))
}

/// Running `daemon` processes whose configuration file is `config_file`
/// (`--config-file X` on their command line, or none for the default).
fn find_daemon(daemon: &str, config_file: &Path, default_config: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let want = config_file.to_string_lossy().into_owned();
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args
                .first()
                .and_then(|a| Path::new(a).file_name())
                .and_then(|n| n.to_str())
                != Some(daemon)
            {
                return false;
            }
            let given = args.iter().enumerate().find_map(|(i, a)| {
                a.strip_prefix("--config-file=")
                    .map(str::to_owned)
                    .or_else(|| {
                        (a == "--config-file").then(|| args.get(i + 1).cloned().unwrap_or_default())
                    })
            });
            given.unwrap_or_else(|| default_config.to_owned()) == want
        })
        .collect()
}
