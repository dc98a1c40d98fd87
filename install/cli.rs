//! The `install` / `uninstall` verbs: arguments and what they print.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{apply, containerd, docker, podman, restart_containerd, sibling};

#[derive(Subcommand)]
pub enum InstallTarget {
    /// containerd's CRI plugin (Kubernetes): the runtime handler "ctraudit"
    /// in /etc/containerd/config.toml
    Containerd(ContainerdInstall),
    /// Docker: runtimes.ctraudit in /etc/docker/daemon.json
    Docker(DockerInstall),
    /// Podman and CRI-O: ctraudit.json in /etc/containers/oci/hooks.d
    /// (one hook for prestart and poststop: `ctraudit hook auto`)
    Podman(HooksDirInstall),
}

#[derive(Subcommand)]
pub enum UninstallTarget {
    /// containerd: take the runtime handler out again
    Containerd(ContainerdArgs),
    /// Docker: take runtimes.ctraudit (and default-runtime) out of daemon.json
    Docker(DockerUninstall),
    /// Podman and CRI-O: remove ctraudit.json from the hooks directory
    Podman(HooksDir),
}

#[derive(Args)]
pub struct DockerInstall {
    /// Also make ctraudit Docker's default runtime
    #[arg(long)]
    default: bool,
    /// Apply now: systemctl reload docker, or SIGHUP to dockerd without
    /// systemd (runtimes reload live; running containers are untouched)
    #[arg(long)]
    restart: bool,
    /// Print the new daemon.json and change nothing
    #[arg(long)]
    dry_run: bool,
    /// Replace a runtimes.ctraudit that is not what install writes (say,
    /// one that runs another binary)
    #[arg(long)]
    force: bool,
    #[arg(long, value_name = "FILE", default_value = docker::DAEMON_JSON)]
    daemon_json: PathBuf,
    /// The runtime Docker runs [default: ctraudit-runc next to this binary]
    #[arg(long, value_name = "FILE")]
    runtime_path: Option<PathBuf>,
    /// A ctraudit config file other than /etc/ctraudit/config.toml, given
    /// to the runtime through daemon.json's runtimeArgs
    #[arg(long, value_name = "FILE")]
    ctraudit_config: Option<PathBuf>,
}

#[derive(Args)]
pub struct ContainerdArgs {
    /// Apply now: systemctl restart containerd, or restart the running
    /// containerd without systemd (containers keep running)
    #[arg(long)]
    restart: bool,
    /// Print the new config.toml and change nothing
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_name = "FILE", default_value = containerd::CONFIG_TOML)]
    config_toml: PathBuf,
}

#[derive(Args)]
pub struct ContainerdInstall {
    #[command(flatten)]
    common: ContainerdArgs,
    /// The BinaryName containerd runs [default: ctraudit-runc next to this binary]
    #[arg(long, value_name = "FILE")]
    runtime_path: Option<PathBuf>,
}

#[derive(Args)]
pub struct DockerUninstall {
    /// Apply now (see install docker --restart)
    #[arg(long)]
    restart: bool,
    /// Print the new daemon.json and change nothing
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_name = "FILE", default_value = docker::DAEMON_JSON)]
    daemon_json: PathBuf,
}

#[derive(Args)]
pub struct HooksDirInstall {
    #[command(flatten)]
    dir: HooksDir,
    /// A ctraudit config file other than /etc/ctraudit/config.toml, for the hook
    #[arg(long, value_name = "FILE")]
    ctraudit_config: Option<PathBuf>,
}

#[derive(Args)]
pub struct HooksDir {
    /// Where Podman and CRI-O read OCI hooks
    #[arg(long, value_name = "DIR", default_value = podman::HOOKS_DIR)]
    hooks_dir: PathBuf,
    /// Print what would be written and change nothing
    #[arg(long)]
    dry_run: bool,
}

/// `install`; `hook_timeout` is config.toml's hooks.timeout.
pub fn install(target: InstallTarget, hook_timeout: u32) -> Result<()> {
    match target {
        InstallTarget::Containerd(a) => install_containerd(a),
        InstallTarget::Docker(a) => install_docker(a),
        InstallTarget::Podman(a) => hooks_dir(a.dir, Some((hook_timeout, a.ctraudit_config))),
    }
}

pub fn uninstall(target: UninstallTarget) -> Result<()> {
    match target {
        UninstallTarget::Containerd(a) => uninstall_containerd(a),
        UninstallTarget::Docker(a) => uninstall_docker(a),
        UninstallTarget::Podman(a) => hooks_dir(a, None),
    }
}

fn install_containerd(a: ContainerdInstall) -> Result<()> {
    let runtime = match a.runtime_path {
        Some(p) => p,
        None => sibling("ctraudit-runc")?,
    };
    let c = a.common;
    let out = containerd::install(&c.config_toml, &runtime, c.dry_run)?;
    if c.dry_run {
        print!("{}", String::from_utf8_lossy(&out.preview));
        return Ok(());
    }
    if out.changed {
        println!(
            "{}: runtime handler \"ctraudit\" -> {}",
            c.config_toml.display(),
            runtime.display()
        );
    } else {
        println!(
            "{}: already set up, nothing changed",
            c.config_toml.display()
        );
    }
    finish_containerd(&c, out.changed)
}

fn uninstall_containerd(c: ContainerdArgs) -> Result<()> {
    let out = containerd::uninstall(&c.config_toml, c.dry_run)?;
    if c.dry_run {
        print!("{}", String::from_utf8_lossy(&out.preview));
        return Ok(());
    }
    if out.changed {
        println!(
            "{}: runtime handler \"ctraudit\" removed",
            c.config_toml.display()
        );
    } else {
        println!(
            "{}: ctraudit is not registered, nothing changed",
            c.config_toml.display()
        );
    }
    finish_containerd(&c, out.changed)
}

fn finish_containerd(c: &ContainerdArgs, changed: bool) -> Result<()> {
    if c.restart {
        println!(
            "{}",
            restart_containerd(&c.config_toml, containerd::CONFIG_TOML)?
        );
    } else if changed {
        println!("containerd reads its config at start: restart it (run again with --restart)");
    }
    Ok(())
}

fn install_docker(a: DockerInstall) -> Result<()> {
    let runtime = match a.runtime_path {
        Some(p) => p,
        None => sibling("ctraudit-runc")?,
    };
    let (out, replaced) = docker::install(
        &a.daemon_json,
        &runtime,
        a.ctraudit_config.as_deref(),
        a.default,
        a.force,
        a.dry_run,
    )?;
    if a.dry_run {
        print!("{}", String::from_utf8_lossy(&out.preview));
        return Ok(());
    }
    let f = a.daemon_json.display();
    if let Some(old) = replaced {
        println!("{f}: runtimes.ctraudit was {old}, replaced (--force)");
    }
    if out.changed {
        let default = if a.default { " (default runtime)" } else { "" };
        println!(
            "{f}: runtime \"ctraudit\" -> {}{default}",
            runtime.display()
        );
        println!(
            "backup of the previous file: {}",
            super::backup_path(&a.daemon_json).display()
        );
    } else {
        println!("{f}: already set up, nothing changed");
    }
    apply_docker(a.restart, out.changed, &a.daemon_json)
}

fn uninstall_docker(a: DockerUninstall) -> Result<()> {
    let out = docker::uninstall(&a.daemon_json, a.dry_run)?;
    if a.dry_run {
        print!("{}", String::from_utf8_lossy(&out.preview));
        return Ok(());
    }
    let f = a.daemon_json.display();
    if out.changed {
        println!("{f}: runtime \"ctraudit\" removed");
    } else {
        println!("{f}: ctraudit is not registered, nothing changed");
    }
    apply_docker(a.restart, out.changed, &a.daemon_json)
}

fn apply_docker(restart: bool, changed: bool, daemon_json: &Path) -> Result<()> {
    if restart {
        println!(
            "{}",
            apply("docker", "dockerd", daemon_json, docker::DAEMON_JSON)?
        );
    } else if changed {
        println!("dockerd must reload (systemctl reload docker, or kill -HUP) to use it: run again with --restart");
    }
    Ok(())
}

/// install (with the hook timeout) or uninstall (None) the hooks.d file.
fn hooks_dir(a: HooksDir, install: Option<(u32, Option<PathBuf>)>) -> Result<()> {
    let path = a.hooks_dir.join(podman::FILE);
    let f = path.display();
    match install {
        Some((timeout, config)) => {
            let binary = std::env::current_exe()?.canonicalize()?;
            let out =
                podman::install(&a.hooks_dir, &binary, timeout, config.as_deref(), a.dry_run)?;
            if a.dry_run {
                print!("{}", String::from_utf8_lossy(&out.preview));
            } else if out.changed {
                println!(
                    "{f}: written; Podman and CRI-O use it for containers created from now on"
                );
            } else {
                println!("{f}: already set up, nothing changed");
            }
        }
        None => {
            let out = podman::uninstall(&a.hooks_dir, a.dry_run)?;
            if a.dry_run {
                println!("would remove {f}");
            } else if out.changed {
                println!("{f}: removed");
            } else {
                println!("{f}: not there, nothing changed");
            }
        }
    }
    Ok(())
}
