//! `ctraudit`: thin dispatch to the library. Each verb loads its input,
//! calls one library function and adds context.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use ctraudit::config::{self, Config, HookConfig, Overrides};
use ctraudit::hook;

#[derive(Parser)]
#[command(
    name = "ctraudit",
    version,
    about = "Per-container eBPF audit, run by the container runtime"
)]
struct Cli {
    /// Configuration file [default: /etc/ctraudit/config.toml]
    #[arg(long, global = true, env = "CTRAUDIT_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// bpffs root (pins go below <DIR>/ctraudit/v<ABI>/)
    #[arg(long, global = true, env = "CTRAUDIT_BPFFS_ROOT", value_name = "DIR")]
    bpffs_root: Option<PathBuf>,
    /// Run-time state root (locks, per-container metadata)
    #[arg(long, global = true, env = "CTRAUDIT_RUN_ROOT", value_name = "DIR")]
    run_root: Option<PathBuf>,
    /// Log root (<DIR>/<container-id>/summary.json)
    #[arg(long, global = true, env = "CTRAUDIT_LOG_ROOT", value_name = "DIR")]
    log_root: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// OCI hook entry point: reads the container state JSON on stdin.
    ///
    /// prestart/createRuntime register the container with the kernel;
    /// poststop writes <log>/<id>/runs/<n>/summary.json (and the latest as
    /// <log>/<id>/summary.json) and always exits 0.
    Hook {
        /// prestart, createRuntime, poststop, or auto (from the state's status)
        stage: String,
    },
    /// Register ctraudit with a container engine.
    ///
    /// docker: adds runtimes.ctraudit to daemon.json (every other key kept,
    /// a backup written next to it); `docker run --runtime ctraudit ...`
    /// then audits the container. podman: writes the OCI hooks.d file that
    /// Podman and CRI-O read.
    Install {
        #[command(subcommand)]
        target: ctraudit::install::cli::InstallTarget,
    },
    /// Undo exactly what `install` added.
    Uninstall {
        #[command(subcommand)]
        target: ctraudit::install::cli::UninstallTarget,
    },
    /// Print the seccomp profile a container earned (OCI/Docker format).
    ///
    /// Each TARGET is a container id (the union of its runs kept under the
    /// log root), a summary.json or a seccomp profile. Use the output with
    /// `docker run --security-opt seccomp=FILE`.
    Seccomp {
        #[arg(required = true, value_name = "TARGET")]
        targets: Vec<String>,
        /// Only run N of each container TARGET (without it: every run kept)
        #[arg(long, value_name = "N")]
        run: Option<u64>,
        /// One profile for several targets: the union (say, several runs of one image)
        #[arg(long)]
        merge: bool,
        /// What this profile blocks stays blocked (a Docker-format profile)
        #[arg(long, value_name = "FILE")]
        base: Option<PathBuf>,
        /// Refuse io_uring (io_uring_setup, io_uring_enter,
        /// io_uring_register), whose operations no seccomp filter sees
        #[arg(long)]
        deny_io_uring: bool,
    },
    /// Finish what a missing poststop left, and remove what nothing uses.
    ///
    /// Containers whose cgroup is gone but whose poststop never ran get
    /// their summary (finalised_by "gc") and are unpinned; orphaned pins
    /// and older ABI versions no container uses are removed, and the
    /// oldest runs of a container id beyond `[retention] runs`. Running
    /// containers are never touched.
    Gc {
        /// List what would be done and change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the audit so far of every running audited container.
    ///
    /// To <log>/<id>/checkpoint.json, a summary with state "running". After
    /// a crash or a reboot, `ctraudit gc` finalises such a container from
    /// its last checkpoint. The .deb's ctraudit-checkpoint.timer runs it
    /// every 5 minutes.
    Checkpoint,
    /// Follow what audited containers do for the first time, live.
    ///
    /// One line per exec, file, endpoint or privileged event the kernel
    /// records for the first time (repeats are not shown), of the
    /// containers named (ids, unique prefixes or names), or of all. It
    /// also appends each event to its container's events.jsonl.
    Watch {
        #[arg(value_name = "TARGET")]
        targets: Vec<String>,
        /// JSON lines, as events.jsonl keeps them
        #[arg(long)]
        json: bool,
        /// Stop after N events
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// List the containers audited now, one line each.
    ///
    /// Read from the meta files under the run root and a live read of each
    /// container's maps: id, name, image, runtime, since when, the execs,
    /// files, endpoints, privileged events and alerts so far, and whether
    /// its record is complete (or which loss counter says not).
    Ps {
        /// A JSON array, one object per container
        #[arg(long)]
        json: bool,
    },
    /// Print a container's audit summary for a person to read.
    ///
    /// A running container's is read live from the kernel (`state:
    /// running`). Text from the container is escaped (`\x1b`, `\n`, `\u{202e}`,
    /// `\\`: docs/summary.md, "How report shows text").
    Report {
        /// Container id, unique id prefix or name (looked up under the log
        /// root, as docker does), or the path of a summary.json (with a '/')
        target: String,
        /// Print the summary JSON instead
        #[arg(long)]
        json: bool,
        /// Show run N of the container (every start is a run of its own;
        /// without it, the latest)
        #[arg(long, value_name = "N", conflicts_with = "runs")]
        run: Option<u64>,
        /// List the container's runs kept: number, started, stopped, who
        /// finalised it, whether its record is complete
        #[arg(long, conflicts_with = "json")]
        runs: bool,
    },
}

fn main() -> ExitCode {
    // one binary, several names (docs/design.md, "Source layout"): dispatch on argv[0]
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    match name.as_deref() {
        Some("ctraudit-runc") => {
            return ExitCode::from(ctraudit::shim::runc::main(args.collect()) as u8)
        }
        Some("containerd-shim-ctraudit-v2") => {
            return ExitCode::from(ctraudit::shim::containerd::main(args.collect()) as u8)
        }
        _ => {}
    }
    let cli = Cli::parse();
    let explicit = cli.config.is_some();
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(|| config::DEFAULT_PATH.into());
    let overrides = Overrides {
        bpffs: cli.bpffs_root.clone(),
        run: cli.run_root.clone(),
        log: cli.log_root.clone(),
    };
    // the commands a person runs refuse a broken configuration; the hook
    // salvages what it can and lets on_error decide (config::HookConfig)
    let load = || Config::load_cli(&config_path, explicit, &overrides).map_err(anyhow::Error::from);
    match cli.cmd {
        Cmd::Hook { stage } => {
            let hc = HookConfig::load(&config_path, explicit, &overrides);
            ExitCode::from(hook::run(&stage, hc) as u8)
        }
        Cmd::Install { target } => {
            // the hooks.d timeout follows config.toml (hooks.timeout)
            let result =
                load().and_then(|cfg| ctraudit::install::cli::install(target, cfg.hooks.timeout));
            done("install", result)
        }
        Cmd::Uninstall { target } => done("uninstall", ctraudit::install::cli::uninstall(target)),
        Cmd::Seccomp {
            targets,
            run,
            merge,
            base,
            deny_io_uring,
        } => {
            let result = load().and_then(|cfg| {
                seccomp(&cfg, &targets, run, merge, base.as_deref(), deny_io_uring)
            });
            done("seccomp", result)
        }
        Cmd::Gc { dry_run } => {
            let result = load().and_then(|cfg| {
                let report = ctraudit::hook::gc::run(&cfg, dry_run)?;
                let mut out = std::io::stdout().lock();
                if report.lines.is_empty() {
                    writeln!(out, "nothing to do").context("stdout")?;
                }
                for line in &report.lines {
                    writeln!(out, "{line}").context("stdout")?;
                }
                out.flush().context("stdout")?;
                match report.errors {
                    0 => Ok(()),
                    n => Err(anyhow::anyhow!(
                        "{n} step(s) failed (the lines starting \"error:\")"
                    )),
                }
            });
            done("gc", result)
        }
        Cmd::Checkpoint => {
            let result = load().and_then(|cfg| {
                let report = ctraudit::live::checkpoint::run(&cfg)?;
                let mut out = std::io::stdout().lock();
                for line in &report.lines {
                    writeln!(out, "{}", ctraudit::report::escape::text(line)).context("stdout")?;
                }
                out.flush().context("stdout")?;
                match report.errors {
                    0 => Ok(()),
                    n => Err(anyhow::anyhow!(
                        "{n} container(s) failed (the lines starting \"error:\")"
                    )),
                }
            });
            done("checkpoint", result)
        }
        Cmd::Watch {
            targets,
            json,
            count,
        } => {
            let result = load().and_then(|cfg| {
                let mut out = std::io::stdout().lock();
                ctraudit::report::watch::run(&cfg, &targets, json, count, &mut out)
            });
            done("watch", result)
        }
        Cmd::Ps { json } => {
            let result = load().and_then(|cfg| {
                let mut out = std::io::stdout().lock();
                let problems = ctraudit::report::ps::run(&cfg, json, &mut out)?;
                for p in problems {
                    ctraudit::sys::stderr::line(&format!(
                        "ctraudit ps: {}",
                        ctraudit::report::escape::text(&p)
                    ));
                }
                Ok(())
            });
            done("ps", result)
        }
        Cmd::Report {
            target,
            json,
            run,
            runs,
        } => {
            use ctraudit::report::Which;
            let which = match (run, runs) {
                (Some(n), _) => Which::Run(n),
                (None, true) => Which::Runs,
                (None, false) => Which::Latest,
            };
            let result = load().and_then(|cfg| {
                let mut out = std::io::stdout().lock();
                Ok(ctraudit::report::run(&cfg, &target, which, json, &mut out)?)
            });
            done("report", result)
        }
    }
}

/// The exit of a CLI verb: its error on stderr (which may itself be
/// closed or full: nothing more can be done then, and no panic either).
fn done(verb: &str, r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ctraudit::sys::stderr::line(&format!("ctraudit {verb}: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The summaries or profile a target names: a target with a `/` or
/// ending in `.json` is a path (`ctraudit seccomp a.json`); anything else
/// a container, found as `report` finds it (id, unique id prefix, name):
/// each of its runs kept, or run `run`, or (none kept: a log from before
/// runs were kept) its summary. Read within a bound, one at a time; a
/// note says which runs when there was a choice.
fn read_target(
    cfg: &Config,
    target: &str,
    run: Option<u64>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    use ctraudit::report;
    let is_path = target.contains('/') || target.ends_with(".json");
    if is_path && run.is_none() {
        let path = std::path::Path::new(target);
        return Ok(vec![(target.to_owned(), read_json(path)?)]);
    }
    let id = match report::container(cfg, target) {
        Ok(id) => id,
        // a path, or a container by name: read as before runs were kept
        Err(report::ReportError::RunOfPath { .. }) if run.is_none() => {
            let (path, _, v) = report::load(cfg, target)?;
            return Ok(vec![(path.display().to_string(), v)]);
        }
        Err(e) => return Err(e.into()),
    };
    let kept = report::runs_of(cfg, &id)?;
    let one = |n| -> anyhow::Result<(String, serde_json::Value)> {
        let (path, _, v) = report::run_of(cfg, &id, n)?;
        Ok((path.display().to_string(), v))
    };
    if let Some(n) = run {
        let got = one(n)?;
        notes.push(format!(
            "container {id}: run {n} only ({} run{} kept)",
            kept.len(),
            if kept.len() == 1 { "" } else { "s" }
        ));
        return Ok(vec![got]);
    }
    if kept.is_empty() {
        let (path, _, v) = report::load(cfg, id.as_str())?;
        return Ok(vec![(path.display().to_string(), v)]);
    }
    if kept.len() > 1 {
        notes.push(format!(
            "container {id}: the union of {} runs ({})",
            kept.len(),
            ctraudit::hook::runs::shown(&kept)
        ));
    }
    kept.iter().map(|&n| one(n)).collect()
}

/// A JSON document the operator named by path, read within a bound.
fn read_json(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let (bytes, _) = ctraudit::sys::file::read_regular(path, 64 << 20)
        .with_context(|| path.display().to_string())?;
    serde_json::from_slice(&bytes).with_context(|| path.display().to_string())
}

fn seccomp(
    cfg: &Config,
    targets: &[String],
    run: Option<u64>,
    merge: bool,
    base: Option<&std::path::Path>,
    deny_io_uring: bool,
) -> anyhow::Result<()> {
    use ctraudit::seccomp;
    use std::io::Write;
    if targets.len() > 1 && !merge {
        anyhow::bail!(
            "{} targets: pass --merge for one profile that runs them all",
            targets.len()
        );
    }
    // notes are worth a line each, not a panic when stderr has gone
    let note = |notes: &[String]| {
        let mut err = std::io::stderr().lock();
        for n in notes {
            let _ = writeln!(err, "ctraudit seccomp: {n}");
        }
    };
    let mut profiles = Vec::new();
    for t in targets {
        let mut which = Vec::new();
        for (what, v) in read_target(cfg, t, run, &mut which)? {
            let (p, notes) = seccomp::load(&what, &v)?;
            note(&notes);
            profiles.push((what, p));
        }
        note(&which);
    }
    let (mut profile, notes) = seccomp::merge(&profiles)?;
    note(&notes);
    if let Some(base) = base {
        let v = read_json(base)?;
        let (b, _) = seccomp::load(&base.display().to_string(), &v)?;
        let (p, notes) = seccomp::within(&profile, &b)?;
        note(&notes);
        profile = p;
    }
    if deny_io_uring {
        profile = seccomp::deny_io_uring(&profile);
    }
    // a reader that has gone (`| head`) is an error to report, not a panic
    let mut out = std::io::stdout().lock();
    out.write_all(profile.to_json().as_bytes())
        .and_then(|()| out.flush())
        .context("writing the profile to stdout")?;
    Ok(())
}
