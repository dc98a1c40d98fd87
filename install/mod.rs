//! `ctraudit install <runtime>` / `uninstall <runtime>`: register ctraudit
//! with a container engine's configuration, and take it out again.

pub mod cli;
pub mod containerd;
pub mod docker;
pub mod podman;

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
    #[error("{path}:{line}:{column}: not valid TOML ({message}); the file was not changed")]
    Toml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}; the file was not changed")]
    Shape { path: PathBuf, message: String },
    #[error(
        "{path}: {field} is already {current}, not {wanted}; the file was not changed (--force replaces it)"
    )]
    Taken {
        path: PathBuf,
        field: String,
        current: String,
        wanted: String,
    },
    #[error("{0}")]
    Other(String),
}

/// What an install or uninstall did (or, with --dry-run, would write).
#[derive(Debug)]
pub struct Outcome {
    pub changed: bool,
    pub preview: Vec<u8>,
}

/// The original of a daemon's configuration file, kept next to it before
/// ctraudit's first change (daemon.json, containerd's config.toml).
pub fn backup_path(config: &Path) -> PathBuf {
    let mut name = config.file_name().unwrap_or_default().to_owned();
    name.push(".ctraudit-backup");
    config.with_file_name(name)
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
    crate::sys::file::replace_file(path, bytes, crate::sys::file::Persist::Durable).map_err(io)
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

/// Applies dockerd's new configuration without stopping containers:
/// `systemctl reload <unit>` where systemd runs (docker.service's reload is
/// a SIGHUP), else SIGHUP to the dockerd that reads `config_file`. dockerd
/// reloads `runtimes` and `default-runtime` live. Returns what it did.
pub fn apply(
    unit: &str,
    daemon: &str,
    config_file: &Path,
    default_config: &str,
) -> Result<String, InstallError> {
    if Path::new("/run/systemd/system").exists() {
        let st = std::process::Command::new("systemctl")
            .args(["reload", unit])
            .status()
            .map_err(|e| InstallError::Other(format!("systemctl reload {unit}: {e}")))?;
        return if st.success() {
            Ok(format!("reloaded {unit} (systemctl reload)"))
        } else {
            Err(InstallError::Other(format!(
                "systemctl reload {unit}: {st}"
            )))
        };
    }
    let pids = find_daemon(daemon, &["config-file"], config_file, default_config);
    if pids.is_empty() {
        return Ok(format!(
            "{daemon} is not running: the change applies when it starts"
        ));
    }
    let mut failed = Vec::new();
    for pid in &pids {
        let sighup = nix::sys::signal::Signal::SIGHUP;
        if let Err(e) = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), sighup) {
            failed.push(format!("pid {pid}: {e}"));
        }
    }
    if !failed.is_empty() {
        return Err(InstallError::Other(format!(
            "reload {daemon}: {}",
            failed.join(", ")
        )));
    }
    Ok(format!(
        "reloaded {daemon} (SIGHUP to pid {pids:?}; no systemd)"
    ))
}

/// Running `daemon` processes whose configuration file is `config_file`
/// (`--config-file X` on their command line, or none for the default):
/// root-owned, in this mount namespace (a daemon in another one, such as
/// docker-in-docker, reads another file of that name), paths canonical.
fn find_daemon(daemon: &str, flags: &[&str], config_file: &Path, default_config: &str) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let want = canon(config_file);
    let my_ns = std::fs::metadata("/proc/self/ns/mnt").map(|m| m.ino()).ok();
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let args = proc_strings(*pid, "cmdline");
            let name = args
                .first()
                .and_then(|a| Path::new(a).file_name())
                .and_then(|n| n.to_str());
            let root_here = std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == 0)
                && std::fs::metadata(format!("/proc/{pid}/ns/mnt"))
                    .map(|m| m.ino())
                    .ok()
                    == my_ns;
            if name != Some(daemon) || !root_here {
                return false;
            }
            // Go flags: one or two dashes, "=value" or a separate value
            let given = args.iter().enumerate().find_map(|(i, a)| {
                let body = a.strip_prefix("--").or_else(|| a.strip_prefix('-'))?;
                flags.iter().find_map(|f| match body.strip_prefix(f) {
                    Some(v) if v.starts_with('=') => Some(v[1..].to_owned()),
                    Some("") => Some(args.get(i + 1).cloned().unwrap_or_default()),
                    _ => None,
                })
            });
            canon(Path::new(
                &given.unwrap_or_else(|| default_config.to_owned()),
            )) == want
        })
        .collect()
}

/// Restarts containerd, which has no live reload: `systemctl restart` where
/// systemd runs it (the default config), else the running containerd that
/// reads `config_file` is stopped (SIGTERM) and started again the way it
/// ran: same argv, environment, working directory, resource limits,
/// cgroups, oom_score_adj, stdout/stderr where they were files, in a session
/// of its own. A containerd whose parent is a supervisor (not PID 1) is left
/// to it: the supervisor would start a second one. Running containers live
/// on: their shims are separate processes.
pub fn restart_containerd(
    config_file: &Path,
    default_config: &str,
) -> Result<String, InstallError> {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    if Path::new("/run/systemd/system").exists()
        && canon(config_file) == canon(Path::new(default_config))
    {
        let st = std::process::Command::new("systemctl")
            .args(["restart", "containerd"])
            .status()
            .map_err(|e| InstallError::Other(format!("systemctl restart containerd: {e}")))?;
        return if st.success() {
            Ok("restarted containerd (systemctl restart)".into())
        } else {
            Err(InstallError::Other(format!(
                "systemctl restart containerd: {st}"
            )))
        };
    }
    let pids = find_daemon("containerd", &["config", "c"], config_file, default_config);
    if pids.is_empty() {
        return Ok("containerd is not running: the change applies when it starts".into());
    }
    let mut done = Vec::new();
    for pid in pids {
        let proc_ = |f: &str| format!("/proc/{pid}/{f}");
        let ppid = std::fs::read_to_string(proc_("stat"))
            .ok()
            .and_then(|st| {
                st.rsplit(')')
                    .next()?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<i32>()
                    .ok()
            })
            .unwrap_or(0);
        if ppid != 1 {
            let parent = std::fs::read_to_string(format!("/proc/{ppid}/comm")).unwrap_or_default();
            return Err(InstallError::Other(format!(
                "containerd (pid {pid}) runs under {} (pid {ppid}), which would start it again: restart it through that",
                parent.trim()
            )));
        }
        let argv = proc_strings(pid, "cmdline");
        let environ = proc_strings(pid, "environ");
        let cwd = std::fs::read_link(proc_("cwd")).unwrap_or_else(|_| "/".into());
        let limits = rlimits_of(pid);
        let oom = std::fs::read_to_string(proc_("oom_score_adj")).unwrap_or_default();
        let cgroups = std::fs::read_to_string(proc_("cgroup")).unwrap_or_default();
        let output = |fd: u32| -> std::process::Stdio {
            std::fs::read_link(proc_(&format!("fd/{fd}")))
                .ok()
                .filter(|t| t.is_file())
                .and_then(|t| std::fs::OpenOptions::new().append(true).open(t).ok())
                .map_or_else(std::process::Stdio::null, std::process::Stdio::from)
        };
        let (out, err) = (output(1), output(2));
        let Some((exe, args)) = argv.split_first() else {
            continue;
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .map_err(|e| InstallError::Other(format!("stop containerd (pid {pid}): {e}")))?;
        // gone, or a zombie its parent has not reaped yet: either way stopped
        let running = || {
            std::fs::read_to_string(proc_("stat")).is_ok_and(|st| {
                st.rsplit(')')
                    .next()
                    .is_some_and(|r| !r.trim_start().starts_with('Z'))
            })
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while running() {
            if Instant::now() > deadline {
                return Err(InstallError::Other(format!(
                    "containerd (pid {pid}) did not stop within 20 s"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut cmd = std::process::Command::new(exe);
        cmd.args(args)
            .env_clear()
            .envs(environ.iter().filter_map(|kv| kv.split_once('=')))
            .current_dir(cwd)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: between fork and exec only async-signal-safe calls:
        // setsid(2) and setrlimit(2) on values read before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let _ = nix::unistd::setsid();
                for (res, lim) in &limits {
                    libc::setrlimit(*res, lim);
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| InstallError::Other(format!("start {exe}: {e}")))?;
        let new = child.id();
        let _ = std::fs::write(format!("/proc/{new}/oom_score_adj"), oom.trim());
        join_cgroups(new, &cgroups);
        done.push(format!("{pid} -> {new}"));
    }
    Ok(format!(
        "restarted containerd (pid {}; no systemd)",
        done.join(", ")
    ))
}

/// /proc/<pid>/cmdline or environ: NUL-separated and NUL-terminated, so
/// only the last piece is not an entry (empty arguments are kept).
fn proc_strings(pid: i32, file: &str) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
    let mut v: Vec<String> = bytes
        .split(|&c| c == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if v.last().is_some_and(String::is_empty) {
        v.pop();
    }
    v
}

/// Every resource limit of `pid` (prlimit(2) reads another process's).
fn rlimits_of(pid: i32) -> Vec<(libc::__rlimit_resource_t, libc::rlimit)> {
    use libc::*;
    [
        RLIMIT_CPU,
        RLIMIT_FSIZE,
        RLIMIT_DATA,
        RLIMIT_STACK,
        RLIMIT_CORE,
        RLIMIT_RSS,
        RLIMIT_NPROC,
        RLIMIT_NOFILE,
        RLIMIT_MEMLOCK,
        RLIMIT_AS,
        RLIMIT_LOCKS,
        RLIMIT_SIGPENDING,
        RLIMIT_MSGQUEUE,
        RLIMIT_NICE,
        RLIMIT_RTPRIO,
        RLIMIT_RTTIME,
    ]
    .into_iter()
    .filter_map(|res| {
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid resource number and a pointer to a live rlimit;
        // new_limit is null, so nothing changes.
        let rc = unsafe { libc::prlimit(pid, res, std::ptr::null(), &mut old) };
        (rc == 0).then_some((res, old))
    })
    .collect()
}

/// Puts `pid` into the cgroups listed in /proc/<old>/cgroup text (v2 and
/// v1 hierarchies), so it runs where the old daemon ran. Best effort.
fn join_cgroups(pid: u32, cgroups: &str) {
    let v2_root = crate::sys::mounts::v2_root();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let dir = if ctrl.is_empty() {
            match &v2_root {
                Some(r) => Path::new(r).join(path.trim_start_matches('/')),
                None => continue,
            }
        } else {
            let name = ctrl.strip_prefix("name=").unwrap_or(ctrl);
            Path::new("/sys/fs/cgroup")
                .join(name)
                .join(path.trim_start_matches('/'))
        };
        let _ = std::fs::write(dir.join("cgroup.procs"), pid.to_string());
    }
}
