//! `ctraudit report`: a summary.json for a person to read.
//!
//! [`run`] reads the summary a target names as a regular file within a
//! cap ([`read`]) and writes it as text ([`render`]) or as its JSON, with
//! nothing from the container reaching the terminal raw ([`escape`]).
//! docs/summary.md, "How report reads a summary" and "How report shows
//! text", is the operator's version of this.

pub mod escape;
mod read;
mod render;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use read::{max_summary_bytes, MIN_CAP};
pub use render::render;

use crate::config::paths::{BadId, ContainerId};
use crate::config::Config;

/// What went wrong, in one line that names the file or field. The io
/// errors are in the message, not a `source`, so a chain printed with
/// `{:#}` does not say them twice.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {error}", shown_path(path))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{}: {kind}, not a regular file: a summary is a regular file",
        shown_path(path)
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{}: larger than {}, the most a summary can be (docs/summary.md, \"How report reads\")",
        shown_path(path),
        bytes(*cap)
    )]
    TooLarge { path: PathBuf, cap: u64 },
    #[error(
        "{}: a symbolic link below the log root: not followed",
        shown_path(path)
    )]
    Link { path: PathBuf },
    #[error("{}: not JSON: {message}", shown_path(path))]
    Json { path: PathBuf, message: String },
    #[error(transparent)]
    Id(#[from] BadId),
    #[error("cannot write the report: {0}")]
    Write(std::io::Error),
}

pub type Result<T> = std::result::Result<T, ReportError>;

/// Text from a file or the command line, for an error message.
fn shown(s: &str) -> String {
    escape::text(s).into_owned()
}

fn shown_path(path: &Path) -> String {
    shown(&path.to_string_lossy())
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// `ctraudit report TARGET [--json]`: the summary TARGET names, written to
/// `out` as text, or as its JSON (`json`). Nothing is written unless the
/// whole summary was read, and a failed write is an error (say, stdout on
/// a full disk or a closed pipe), never a panic.
pub fn run(cfg: &Config, target: &str, json: bool, out: &mut impl Write) -> Result<()> {
    let layout = cfg.layout();
    let cap = max_summary_bytes(&cfg.limits);
    let (path, raw) = if target.contains('/') {
        let path = PathBuf::from(target);
        let raw = read::named(&path, cap)?;
        (path, raw)
    } else {
        let id = ContainerId::parse(target)?;
        (layout.summary_file(&id), read::logged(&layout, &id, cap)?)
    };
    let text = std::str::from_utf8(&raw).map_err(|e| ReportError::Json {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let v: Value = serde_json::from_str(text).map_err(|e| ReportError::Json {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let shown = if json {
        escape::json(text)
    } else {
        render(&v).into()
    };
    out.write_all(shown.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ReportError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stdout that is full, or a pipe nobody reads.
    struct Refuses(std::io::ErrorKind);

    impl Write for Refuses {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(self.0.into())
        }
    }

    fn roots() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::default();
        cfg.paths.log = dir.path().join("log");
        let summary = json!({
            "schema": "ctraudit.summary/v1", "container": {"id": "c1"}, "times": {}, "processes": {},
            "files": [], "network": [], "privileged": [], "syscalls": {}, "alerts": [],
            "loss": {}, "notes": []
        });
        std::fs::create_dir_all(dir.path().join("log/c1")).unwrap();
        std::fs::write(dir.path().join("log/c1/summary.json"), summary.to_string()).unwrap();
        (dir, cfg)
    }

    #[test]
    fn an_output_that_refuses_the_report_is_an_error() {
        let (_dir, cfg) = roots();
        for json in [false, true] {
            let err = run(
                &cfg,
                "c1",
                json,
                &mut Refuses(std::io::ErrorKind::BrokenPipe),
            );
            assert_eq!(
                err.unwrap_err().to_string(),
                "cannot write the report: broken pipe"
            );
        }
        let mut out = Vec::new();
        run(&cfg, "c1", true, &mut out).unwrap();
        assert!(out.starts_with(b"{\"schema\":"));
    }
}
