//! `ctraudit report`: a summary.json for a person to read.
//!
//! [`run`] finds the summary a target names ([`find`]: a path, an id, a
//! unique id prefix or a container name), reads it as a regular file within
//! a cap ([`read`]), refuses a document that is not a
//! `ctraudit.summary/v1` summary, and writes it as text ([`render`]) or
//! as its JSON, with nothing from the container reaching the terminal raw
//! ([`escape`]). docs/summary.md, "How report reads a summary" and "How
//! report shows text", is the operator's version of this.

pub mod escape;
mod find;
pub mod ps;
pub(crate) mod read;
mod render;
pub(crate) mod runs;
pub mod watch;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use find::MAX_ENTRIES;
pub use read::{max_summary_bytes, MIN_CAP};
pub use render::render;

use crate::config::Config;
use crate::id::ContainerId;
use crate::summary::SCHEMA;

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
    #[error(
        "{}: not a ctraudit summary: field `{field}` {problem}",
        shown_path(path)
    )]
    NotSummary {
        path: PathBuf,
        field: &'static str,
        problem: String,
    },
    #[error("the target is empty: give a container id, a unique id prefix, a container name or the path of a summary.json")]
    Empty,
    #[error("no container matches {} under {}: not an id, a unique id prefix, nor a name{}{}", shown(target), shown_path(log), unread(*unreadable), here(target, *file_here))]
    NoMatch {
        target: String,
        log: PathBuf,
        /// Summaries whose name could not be read.
        unreadable: usize,
        /// A file of that name is in the current directory.
        file_here: bool,
    },
    #[error("no container named {} under {}{}, and no file {}", shown(name), shown_path(log), unread(*unreadable), shown(target))]
    NoName {
        target: String,
        name: String,
        log: PathBuf,
        unreadable: usize,
    },
    #[error("{} is ambiguous under {}: the {what} of {} containers: {}", shown(target), shown_path(log), ids.len(), list(ids))]
    Ambiguous {
        target: String,
        log: PathBuf,
        /// `id prefix` or `name`.
        what: &'static str,
        ids: Vec<String>,
    },
    #[error("{}: {error}", shown_path(log))]
    LogRoot { log: PathBuf, error: std::io::Error },
    #[error(
        "{}: more than {limit} entries to look through: give the full container id",
        shown_path(log)
    )]
    TooMany { log: PathBuf, limit: usize },
    #[error("cannot write the report: {0}")]
    Write(std::io::Error),
    #[error(
        "container {}: no run {run} (runs kept: {})",
        shown(id),
        runs::shown(kept)
    )]
    NoRun {
        id: String,
        run: u64,
        kept: Vec<u64>,
    },
    #[error("{}: a path, not a container: --run and --runs take a container id, a unique id prefix or a name", shown(target))]
    RunOfPath { target: String },
    #[error("{}", shown(&error.to_string()))]
    Runs { error: std::io::Error },
}

/// Which of a container's runs to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The latest (`<log>/<id>/summary.json`), or the file named.
    Latest,
    /// Run N (`<log>/<id>/runs/<N>/summary.json`).
    Run(u64),
    /// The list of runs kept.
    Runs,
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

fn unread(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " (1 summary there could not be read for its name)".into(),
        n => format!(" ({n} summaries there could not be read for their names)"),
    }
}

fn here(target: &str, file_here: bool) -> String {
    if file_here {
        format!("; for the file here, write ./{}", shown(target))
    } else {
        String::new()
    }
}

/// The first ten, and how many more.
fn list(ids: &[String]) -> String {
    let mut s = ids.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > 10 {
        s.push_str(&format!(", and {} more", ids.len() - 10));
    }
    s
}

/// `ctraudit report TARGET [--json]`: the summary TARGET names, written to
/// `out` as text, or as its JSON (`json`). Nothing is written unless the
/// whole summary was read and checked, and a failed write is an error
/// (say, stdout on a full disk or a closed pipe), never a panic.
pub fn run(
    cfg: &Config,
    target: &str,
    which: Which,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let (path, text, v) = match which {
        Which::Latest => load(cfg, target)?,
        Which::Run(n) => load_run(cfg, target, n)?,
        Which::Runs => {
            let listed = list_runs(cfg, target)?;
            return out
                .write_all(listed.as_bytes())
                .and_then(|()| out.flush())
                .map_err(ReportError::Write);
        }
    };
    check(&path, &v)?;
    let shown = if json {
        escape::json(&text)
    } else {
        render(&v).into()
    };
    out.write_all(shown.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ReportError::Write)
}

/// The JSON document TARGET names, found and read as `report` does (a
/// regular file within the cap, no link below the log root), with its
/// path and text; not yet checked to be a summary ([`check`]), so other
/// readers of summaries and profiles (say, `seccomp`) can use it.
pub fn load(cfg: &Config, target: &str) -> Result<(PathBuf, String, Value)> {
    let layout = cfg.layout();
    let cap = max_summary_bytes(&cfg.limits);
    let (audited, _) = crate::live::audited(cfg);
    let (path, raw) = match find::find(&layout, target, cap, &running(&audited))? {
        find::Source::Named(path) => {
            let raw = read::named(&path, cap)?;
            (path, raw)
        }
        find::Source::Logged(id) => (layout.summary_file(&id), read::logged(&layout, &id, cap)?),
        find::Source::Live(id) => {
            let path = layout.meta_file(&id);
            let Some(a) = audited.iter().find(|a| a.id == id) else {
                return Err(ReportError::Read {
                    path,
                    error: std::io::ErrorKind::NotFound.into(),
                });
            };
            let s = crate::live::summary(cfg, a);
            let mut json = serde_json::to_vec_pretty(&s).map_err(|e| ReportError::Json {
                path: path.clone(),
                message: e.to_string(),
            })?;
            json.push(b'\n');
            (path, json)
        }
    };
    parsed(path, raw)
}

/// The ids and names of the containers audited now, for [`find::find`].
fn running(audited: &[crate::live::Audited]) -> Vec<find::Running> {
    audited
        .iter()
        .map(|a| (a.id.clone(), a.meta.name.clone()))
        .collect()
}

/// A summary's bytes as text and JSON; an error names `path`.
fn parsed(path: PathBuf, raw: Vec<u8>) -> Result<(PathBuf, String, Value)> {
    let not_json = |message: String| ReportError::Json {
        path: path.clone(),
        message,
    };
    let text = String::from_utf8(raw).map_err(|e| not_json(e.to_string()))?;
    let v = serde_json::from_str(&text).map_err(|e| not_json(e.to_string()))?;
    Ok((path, text, v))
}

/// The container (not a path) TARGET names, found as [`load`] finds it.
pub fn container(cfg: &Config, target: &str) -> Result<ContainerId> {
    let layout = cfg.layout();
    let (audited, _) = crate::live::audited(cfg);
    match find::find(
        &layout,
        target,
        max_summary_bytes(&cfg.limits),
        &running(&audited),
    )? {
        find::Source::Logged(id) | find::Source::Live(id) => Ok(id),
        find::Source::Named(_) => Err(ReportError::RunOfPath {
            target: target.into(),
        }),
    }
}

/// The runs kept of a container, oldest first (hook/runs.rs).
pub fn runs_of(cfg: &Config, id: &ContainerId) -> Result<Vec<u64>> {
    runs::list(&cfg.layout(), id).map_err(|error| ReportError::Runs { error })
}

/// Run `n` of the container TARGET names, read as [`load`] reads the
/// latest; a run not kept is an error that lists those that are.
pub fn load_run(cfg: &Config, target: &str, n: u64) -> Result<(PathBuf, String, Value)> {
    let id = container(cfg, target)?;
    run_of(cfg, &id, n)
}

/// Run `n` of container `id`.
pub fn run_of(cfg: &Config, id: &ContainerId, n: u64) -> Result<(PathBuf, String, Value)> {
    let layout = cfg.layout();
    let path = layout.run_log_dir(id, n).join(runs::SUMMARY);
    let no_run = || -> ReportError {
        match runs_of(cfg, id) {
            Ok(kept) => ReportError::NoRun {
                id: id.to_string(),
                run: n,
                kept,
            },
            Err(e) => e,
        }
    };
    if n == 0 {
        return Err(no_run());
    }
    let raw = match read::below(&layout, &path, max_summary_bytes(&cfg.limits)) {
        Ok(raw) => raw,
        Err(ReportError::Read { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(no_run())
        }
        Err(e) => return Err(e),
    };
    parsed(path, raw)
}

/// `report TARGET --runs`: one line per run kept, read one at a time.
fn list_runs(cfg: &Config, target: &str) -> Result<String> {
    let id = container(cfg, target)?;
    let kept = runs_of(cfg, &id)?;
    let mut o = format!(
        "container {}: {} run{} kept (retention.runs = {})\n",
        shown(id.as_str()),
        kept.len(),
        if kept.len() == 1 { "" } else { "s" },
        cfg.retention.runs
    );
    if kept.is_empty() {
        return Ok(o);
    }
    o.push_str("  run  started                   stopped                   ended by  complete\n");
    for n in kept {
        let row = run_of(cfg, &id, n).and_then(|(path, _, v)| {
            check(&path, &v)?;
            Ok(render::run_row(n, &v))
        });
        match row {
            Ok(row) => o.push_str(&row),
            Err(e) => o.push_str(&format!("{n:>5}  unreadable: {e}")),
        }
        o.push('\n');
    }
    Ok(o)
}

/// Refuses what is not a summary: the schema, then each section's type,
/// and the container id the report starts with. Sections were all there
/// from the first summary of this schema on.
pub fn check(path: &Path, v: &Value) -> Result<()> {
    let bad = |field, problem: String| ReportError::NotSummary {
        path: path.to_owned(),
        field,
        problem,
    };
    let Some(doc) = v.as_object() else {
        return Err(bad(
            "schema",
            format!("is missing: the document is {}", kind(v)),
        ));
    };
    match doc.get("schema") {
        None => return Err(bad("schema", "is missing".into())),
        Some(Value::String(s)) if s == SCHEMA => {}
        Some(other) => {
            return Err(bad(
                "schema",
                format!("is {}, not \"{SCHEMA}\"", escape::json(&other.to_string())),
            ))
        }
    }
    const SECTIONS: [(&str, bool); 10] = [
        ("container", true),
        ("times", true),
        ("processes", true),
        ("files", false),
        ("network", false),
        ("privileged", false),
        ("syscalls", true),
        ("alerts", false),
        ("loss", true),
        ("notes", false),
    ];
    for (field, object) in SECTIONS {
        let want = if object { "an object" } else { "an array" };
        match doc.get(field) {
            None => return Err(bad(field, "is missing".into())),
            Some(s) if (object && s.is_object()) || (!object && s.is_array()) => {}
            Some(s) => return Err(bad(field, format!("is {}, not {want}", kind(s)))),
        }
    }
    match v["container"].get("id") {
        Some(Value::String(_)) => Ok(()),
        None => Err(bad("container.id", "is missing".into())),
        Some(other) => Err(bad(
            "container.id",
            format!("is {}, not a string", kind(other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
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
            "schema": SCHEMA, "container": {"id": "c1"}, "times": {}, "processes": {},
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
                Which::Latest,
                json,
                &mut Refuses(std::io::ErrorKind::BrokenPipe),
            );
            assert_eq!(
                err.unwrap_err().to_string(),
                "cannot write the report: broken pipe"
            );
        }
        let mut out = Vec::new();
        run(&cfg, "c1", Which::Latest, true, &mut out).unwrap();
        assert!(out.starts_with(b"{\"schema\":"));
    }

    #[test]
    fn a_run_is_read_from_its_directory_and_one_not_kept_is_named() {
        let (dir, cfg) = roots();
        let text = std::fs::read_to_string(dir.path().join("log/c1/summary.json")).unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["times"] = json!({"registered": "R", "first_exec": null, "stopped": "S"});
        v["ctraudit"] = json!({"finalised_by": "gc"});
        v["loss"] = json!({"complete": false});
        for n in [2, 3] {
            let run = dir.path().join(format!("log/c1/runs/{n}"));
            std::fs::create_dir_all(&run).unwrap();
            std::fs::write(run.join("summary.json"), v.to_string()).unwrap();
        }
        let out = |which| {
            let mut out = Vec::new();
            run(&cfg, "c1", which, false, &mut out).map(|()| String::from_utf8(out).unwrap())
        };
        assert_eq!(
            out(Which::Runs).unwrap(),
            "container c1: 2 runs kept (retention.runs = 20)\n\
             \x20 run  started                   stopped                   ended by  complete\n\
             \x20   2  R                         S                         gc        no\n\
             \x20   3  R                         S                         gc        no\n"
        );
        assert!(out(Which::Run(3)).unwrap().starts_with("container c1\n"));
        for n in [0, 1, 4] {
            assert_eq!(
                out(Which::Run(n)).unwrap_err().to_string(),
                format!("container c1: no run {n} (runs kept: 2, 3)")
            );
        }
        let path = dir.path().join("log/c1/summary.json");
        let err = run(
            &cfg,
            path.to_str().unwrap(),
            Which::Runs,
            false,
            &mut Vec::new(),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            format!(
                "{}: a path, not a container: --run and --runs take a container id, a unique id prefix or a name",
                path.display()
            )
        );
    }

    #[test]
    fn a_document_is_a_summary_by_its_schema_and_sections() {
        let p = Path::new("s.json");
        let (dir, _) = roots();
        let good: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("log/c1/summary.json")).unwrap())
                .unwrap();
        check(p, &good).unwrap();
        let with = |f: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            f(&mut v);
            check(p, &v).unwrap_err().to_string()
        };
        assert_eq!(
            with(&|v| v["schema"] = json!(1)),
            "s.json: not a ctraudit summary: field `schema` is 1, not \"ctraudit.summary/v1\""
        );
        assert_eq!(
            with(&|v| v["loss"] = json!([])),
            "s.json: not a ctraudit summary: field `loss` is an array, not an object"
        );
        assert_eq!(
            with(&|v| v["container"] = json!({})),
            "s.json: not a ctraudit summary: field `container.id` is missing"
        );
        assert_eq!(
            with(&|v| v["container"]["id"] = json!(null)),
            "s.json: not a ctraudit summary: field `container.id` is null, not a string"
        );
        assert_eq!(
            check(p, &json!("ctraudit.summary/v1"))
                .unwrap_err()
                .to_string(),
            "s.json: not a ctraudit summary: field `schema` is missing: the document is a string"
        );
    }
}
