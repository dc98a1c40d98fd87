//! The OCI hook: `ctraudit hook <stage>` with the state JSON on stdin.
//!
//! OCI semantics (runtime-spec config.md#posix-platform-hooks): a failing
//! prestart/createRuntime hook fails the container's start, so prestart
//! fails only under `on_error = "deny"`; a poststop hook's failure is only
//! logged by runc, and ctraudit's poststop exits 0 whatever happens.

pub mod cgroup;
pub mod clock;
pub mod identity;
pub mod lock;
pub mod log;
pub mod meta;
mod poststop;
mod prestart;
pub mod state;
pub mod summary;

use std::path::Path;

use crate::config::{Config, ConfigError, OnError};

/// Opt-out annotation: `io.ctraudit.enable=false` means no audit at all.
pub const ENABLE_ANNOTATION: &str = "io.ctraudit.enable";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    Poststop,
}

impl Stage {
    pub fn parse(s: &str) -> Result<Stage, String> {
        match s {
            "prestart" => Ok(Stage::Prestart),
            "createRuntime" => Ok(Stage::CreateRuntime),
            "poststop" => Ok(Stage::Poststop),
            _ => Err(format!(
                "hook stage {s:?}: unknown (expected prestart, createRuntime or poststop)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::Poststop => "poststop",
        }
    }
}

/// The configuration as the hook sees it: a broken file is not fatal by
/// itself; `on_error`, salvaged from the broken file, decides.
pub struct HookConfig {
    pub config: Config,
    pub error: Option<ConfigError>,
}

impl HookConfig {
    pub fn load(path: &Path, explicit: bool, overrides: &crate::config::Overrides) -> HookConfig {
        let (mut config, error) = match Config::load(path, explicit) {
            Ok(c) => (c, None),
            Err(e) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                (crate::config::salvage(&text), Some(e))
            }
        };
        config.apply(overrides);
        HookConfig { config, error }
    }
}

/// Runs one hook stage and returns the process exit code.
pub fn run(stage: &str, hc: HookConfig) -> i32 {
    let cfg = &hc.config;
    let stage = match Stage::parse(stage) {
        Ok(s) => s,
        Err(e) => {
            log::problem(cfg, &e);
            return 2;
        }
    };
    watchdog(stage, cfg);
    match stage {
        Stage::Prestart | Stage::CreateRuntime => {
            let on_error = hc.config.on_error;
            match prestart::run(stage, &hc) {
                Ok(()) => 0,
                Err(e) => {
                    let verdict = match on_error {
                        OnError::Allow => "container runs unaudited (on_error = \"allow\")",
                        OnError::Deny => "container start refused (on_error = \"deny\")",
                    };
                    log::problem(cfg, &format!("{}: {e:#}; {verdict}", stage.name()));
                    i32::from(on_error == OnError::Deny)
                }
            }
        }
        Stage::Poststop => {
            if let Err(e) = poststop::run(&hc) {
                log::problem(cfg, &format!("poststop: {e:#}"));
            }
            0
        }
    }
}

/// Ends the hook at `hooks.deadline_ms`, before the runtime's own hook
/// timeout would: a hook the runtime kills fails the container even under
/// `on_error = "allow"`. Whatever was half done is found again by poststop
/// (the meta file is written before the kernel registration).
fn watchdog(stage: Stage, cfg: &Config) {
    let ms = cfg.hooks.deadline_ms;
    let (code, verdict) = match (stage, cfg.on_error) {
        (Stage::Poststop, _) => (0, "container state kept for `ctraudit gc`"),
        (_, OnError::Allow) => (0, "container runs unaudited (on_error = \"allow\")"),
        (_, OnError::Deny) => (1, "container start refused (on_error = \"deny\")"),
    };
    let cfg = cfg.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        log::problem(
            &cfg,
            &format!(
                "{}: gave up after {ms} ms (hooks.deadline_ms); {verdict}",
                stage.name()
            ),
        );
        std::process::exit(code);
    });
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o640)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Creates one of ctraudit's own directories (never a runtime's), mode 0750.
pub fn make_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_and_unknown_is_named() {
        assert_eq!(Stage::parse("prestart"), Ok(Stage::Prestart));
        assert_eq!(Stage::parse("createRuntime"), Ok(Stage::CreateRuntime));
        assert_eq!(Stage::parse("poststop"), Ok(Stage::Poststop));
        assert_eq!(
            Stage::parse("poststart").unwrap_err(),
            "hook stage \"poststart\": unknown (expected prestart, createRuntime or poststop)"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("summary.json")]);
    }
}
