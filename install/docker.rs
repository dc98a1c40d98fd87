//! `ctraudit install docker` / `uninstall docker`: register `ctraudit-runc`
//! as a runtime in Docker's daemon.json.
//!
//! The file is the operator's: it is edited as a JSON tree (every other key
//! and its order kept), never written when nothing changes, backed up before
//! the first change, and refused untouched when it is not valid JSON.
//! Uninstall removes exactly what install added and, when the result equals
//! the original, puts back the original bytes (formatting included).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{InstallError, Outcome};

pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const RUNTIME: &str = "ctraudit";

/// The original daemon.json, kept next to it before the first change.
pub fn backup_path(daemon_json: &Path) -> PathBuf {
    let mut name = daemon_json.file_name().unwrap_or_default().to_owned();
    name.push(".ctraudit-backup");
    daemon_json.with_file_name(name)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Map<String, Value>, InstallError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| InstallError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(InstallError::Shape {
            path: path.to_owned(),
            message: "not a JSON object".into(),
        }),
    }
}

fn read(path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InstallError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn render(m: &Map<String, Value>) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(m).unwrap_or_default();
    out.push(b'\n');
    out
}

/// daemon.json with the ctraudit runtime (and, with `default`, as the default).
/// The runtime entry: `ctraudit-runc`, and `--ctraudit-config` when the
/// configuration is not at the default path (Docker passes `runtimeArgs`
/// before runc's own arguments; the wrapper takes that flag out).
/// Docker (20.10 and later) runs a runtime that has `runtimeArgs` through a
/// generated `#!/bin/sh` script with the path and arguments pasted in
/// unquoted: only plain absolute paths are safe there.
pub fn check_script_safe(what: &str, p: &Path) -> Result<(), InstallError> {
    let s = p
        .to_str()
        .ok_or_else(|| InstallError::Other(format!("{what} {}: not UTF-8", p.display())))?;
    let safe = s.starts_with('/')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+-@%,:".contains(&b));
    if safe {
        Ok(())
    } else {
        Err(InstallError::Other(format!(
            "{what} {s:?}: must be an absolute path of letters, digits and /._+-@%,: only \
             (Docker pastes it unquoted into a shell script)"
        )))
    }
}

fn runtime_entry(runtime_path: &Path, config: Option<&Path>) -> Value {
    match config {
        Some(c) => {
            json!({ "path": runtime_path, "runtimeArgs": [format!("--ctraudit-config={}", c.display())] })
        }
        None => json!({ "path": runtime_path }),
    }
}

pub fn installed(
    path: &Path,
    current: &[u8],
    runtime_path: &Path,
    config: Option<&Path>,
    default: bool,
) -> Result<Vec<u8>, InstallError> {
    let mut m = parse(path, current)?;
    let runtimes = m
        .entry("runtimes")
        .or_insert_with(|| Value::Object(Map::new()));
    if runtimes.is_null() {
        *runtimes = Value::Object(Map::new());
    }
    let runtimes = runtimes
        .as_object_mut()
        .ok_or_else(|| InstallError::Shape {
            path: path.to_owned(),
            message: "field `runtimes` is not an object".into(),
        })?;
    runtimes.insert(RUNTIME.into(), runtime_entry(runtime_path, config));
    if default {
        m.insert("default-runtime".into(), json!(RUNTIME));
    }
    Ok(render(&m))
}

/// daemon.json without what `installed` added; `original` is the backup.
pub fn uninstalled(
    path: &Path,
    current: &[u8],
    original: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, InstallError> {
    let mut m = parse(path, current)?;
    let before = match original {
        Some(b) => Some(parse(path, b)?),
        None => None,
    };
    let mut touched = false;
    if let Some(Value::Object(r)) = m.get_mut("runtimes") {
        touched |= r.shift_remove(RUNTIME).is_some();
        if r.is_empty() && before.as_ref().is_none_or(|b| !b.contains_key("runtimes")) {
            m.shift_remove("runtimes");
        }
    }
    if m.get("default-runtime").and_then(Value::as_str) == Some(RUNTIME) {
        touched = true;
        match before.as_ref().and_then(|b| b.get("default-runtime")) {
            Some(prev) if prev.as_str() != Some(RUNTIME) => {
                m.insert("default-runtime".into(), prev.clone());
            }
            _ => {
                m.shift_remove("default-runtime");
            }
        }
    }
    if !touched {
        // nothing of ours: the file stays exactly as it is
        return Ok(Some(current.to_vec()));
    }
    Ok(match (&before, original) {
        // back to the operator's own file, byte for byte
        (Some(b), Some(bytes)) if *b == m => Some(bytes.to_vec()),
        // the file did not exist and nothing else was added since
        (None, _) if m.is_empty() => None,
        _ => Some(render(&m)),
    })
}

pub fn install(
    path: &Path,
    runtime_path: &Path,
    config: Option<&Path>,
    default: bool,
    dry_run: bool,
) -> Result<Outcome, InstallError> {
    // ctraudit is one binary that acts on the name it is called by
    if runtime_path.file_name().and_then(|n| n.to_str()) != Some("ctraudit-runc") {
        return Err(InstallError::Other(format!(
            "runtime path {}: must be named ctraudit-runc (a link to ctraudit)",
            runtime_path.display()
        )));
    }
    check_script_safe("runtime path", runtime_path)?;
    if let Some(c) = config {
        check_script_safe("--ctraudit-config", c)?;
    }
    let current = read(path)?;
    let new = installed(
        path,
        current.as_deref().unwrap_or_default(),
        runtime_path,
        config,
        default,
    )?;
    let unchanged = current
        .as_deref()
        .is_some_and(|c| parse(path, c).ok() == parse(path, &new).ok());
    if dry_run || unchanged {
        return Ok(Outcome {
            changed: false,
            preview: new,
        });
    }
    if let Some(c) = &current {
        let backup = backup_path(path);
        if !backup.exists() {
            super::write_file(&backup, c)?;
        }
    }
    super::write_file(path, &new)?;
    Ok(Outcome {
        changed: true,
        preview: new,
    })
}

pub fn uninstall(path: &Path, dry_run: bool) -> Result<Outcome, InstallError> {
    let Some(current) = read(path)? else {
        return Ok(Outcome {
            changed: false,
            preview: Vec::new(),
        });
    };
    let backup = backup_path(path);
    let original = read(&backup)?;
    let new = uninstalled(path, &current, original.as_deref())?;
    let changed = new.as_deref() != Some(current.as_slice());
    if dry_run || !changed {
        return Ok(Outcome {
            changed: false,
            preview: new.unwrap_or_default(),
        });
    }
    match &new {
        Some(bytes) => super::write_file(path, bytes)?,
        None => std::fs::remove_file(path).map_err(|source| InstallError::Io {
            path: path.to_owned(),
            source,
        })?,
    }
    if backup.exists() {
        let _ = std::fs::remove_file(&backup);
    }
    Ok(Outcome {
        changed: true,
        preview: new.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "{\n\t\"log-driver\": \"json-file\",\n\t\"registry-mirrors\": [\"https://m.example\"],\n\t\"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 20000, \"Soft\": 20000}}\n}\n";

    #[test]
    fn install_keeps_every_key_and_uninstall_restores_the_bytes() {
        let p = Path::new("daemon.json");
        let new = installed(
            p,
            ORIGINAL.as_bytes(),
            Path::new("/usr/bin/ctraudit-runc"),
            None,
            true,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "log-driver",
                "registry-mirrors",
                "default-ulimits",
                "runtimes",
                "default-runtime"
            ]
        );
        assert_eq!(v["runtimes"]["ctraudit"]["path"], "/usr/bin/ctraudit-runc");
        assert_eq!(v["default-ulimits"]["nofile"]["Hard"], 20000);
        let back = uninstalled(p, &new, Some(ORIGINAL.as_bytes()))
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), ORIGINAL);
    }

    #[test]
    fn a_previous_default_runtime_comes_back() {
        let p = Path::new("daemon.json");
        let orig = br#"{"default-runtime":"nvidia","runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"}}}"#;
        let new = installed(
            p,
            orig,
            Path::new("/x/ctraudit-runc"),
            Some(Path::new("/etc/ct/a.toml")),
            true,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&new).unwrap();
        assert_eq!(
            v["runtimes"]["ctraudit"]["runtimeArgs"],
            json!(["--ctraudit-config=/etc/ct/a.toml"])
        );
        let back = uninstalled(p, &new, Some(orig)).unwrap().unwrap();
        assert_eq!(back, orig.to_vec());
        // edited since install: our keys go, the operator's edit stays
        let mut edited: Value = serde_json::from_slice(&new).unwrap();
        edited["debug"] = json!(true);
        let back = uninstalled(p, edited.to_string().as_bytes(), Some(orig))
            .unwrap()
            .unwrap();
        let back: Value = serde_json::from_slice(&back).unwrap();
        assert_eq!(
            back,
            json!({"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}, "debug": true})
        );
    }

    #[test]
    fn a_file_install_created_is_removed_again() {
        let p = Path::new("daemon.json");
        let new = installed(p, b"", Path::new("/x/ctraudit-runc"), None, false).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&new).unwrap(),
            json!({"runtimes": {"ctraudit": {"path": "/x/ctraudit-runc"}}})
        );
        assert_eq!(uninstalled(p, &new, None).unwrap(), None);
    }

    #[test]
    fn paths_docker_would_paste_into_a_script_must_be_plain() {
        assert!(check_script_safe("x", Path::new("/usr/bin/ctraudit-runc")).is_ok());
        for bad in ["rel/ctraudit-runc", "/a b/c", "/x;rm -rf /", "/$(id)"] {
            assert!(check_script_safe("x", Path::new(bad)).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let e = install(
            &dir.path().join("d.json"),
            Path::new("/usr/bin/runc"),
            None,
            false,
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "runtime path /usr/bin/runc: must be named ctraudit-runc (a link to ctraudit)"
        );
    }

    #[test]
    fn null_runtimes_is_an_empty_table() {
        let new = installed(
            Path::new("d"),
            br#"{"runtimes": null}"#,
            Path::new("/x/ctraudit-runc"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&new).unwrap()["runtimes"]["ctraudit"]["path"],
            "/x/ctraudit-runc"
        );
    }

    #[test]
    fn invalid_json_is_refused_with_position() {
        let e = installed(
            Path::new("/etc/docker/daemon.json"),
            b"{\n  \"a\": 1,\n  oops\n}",
            Path::new("/x"),
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/docker/daemon.json:3:3: not valid JSON (key must be a string at line 3 column 3); the file was not changed"
        );
        let e = installed(
            Path::new("d.json"),
            br#"{"runtimes": []}"#,
            Path::new("/x"),
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.json: field `runtimes` is not an object; the file was not changed"
        );
    }
}
