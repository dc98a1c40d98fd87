//! `ctraudit install docker` / `uninstall docker`: register `ctraudit-runc`
//! as a runtime in Docker's daemon.json.
//!
//! The file is the operator's: it is edited by span (`sys::json`), so every
//! other byte (numbers, escapes, layout, key order) stays as it was; it is
//! never written when nothing changes, backed up before the first change,
//! and refused untouched when it is not valid JSON. A `runtimes.ctraudit`
//! that is not what install writes is replaced only with `--force`.
//! Uninstall removes exactly what install added and, when the result
//! differs from the original only in layout, puts back the original bytes.

use std::path::Path;

use serde_json::{json, Value};

use super::{backup_path, InstallError, Outcome};
use crate::sys::json::{self as sj, Container, Edits};

pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const RUNTIME: &str = "ctraudit";
/// The most of daemon.json install reads: 1 MiB, far more than a daemon
/// configuration holds.
pub const DAEMON_JSON_MAX: u64 = 1 << 20;

fn json_error(path: &Path, e: sj::Error) -> InstallError {
    match e {
        sj::Error::Syntax(e) => InstallError::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        },
        shape => InstallError::Shape {
            path: path.to_owned(),
            message: shape.to_string(),
        },
    }
}

/// The text of daemon.json, None when it is empty or only whitespace.
fn text_of<'a>(path: &Path, bytes: &'a [u8]) -> Result<Option<&'a str>, InstallError> {
    let text = std::str::from_utf8(bytes).map_err(|e| InstallError::Shape {
        path: path.to_owned(),
        message: format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
    })?;
    Ok(Some(text).filter(|t| !t.trim_matches([' ', '\t', '\n', '\r']).is_empty()))
}

fn root_of(path: &Path, text: &str) -> Result<Container, InstallError> {
    let doc = sj::document(text).map_err(|e| json_error(path, e))?;
    Container::object(text, doc, "").map_err(|_| InstallError::Shape {
        path: path.to_owned(),
        message: "not a JSON object".into(),
    })
}

fn read(path: &Path) -> Result<Option<Vec<u8>>, InstallError> {
    match crate::sys::file::read_regular(path, DAEMON_JSON_MAX) {
        Ok((b, _)) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InstallError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

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

/// The runtime entry: `ctraudit-runc`, and `--ctraudit-config` when the
/// configuration is not at the default path (Docker passes `runtimeArgs`
/// before runc's own arguments; the wrapper takes that flag out).
fn runtime_entry(runtime_path: &Path, config: Option<&Path>) -> Value {
    match config {
        Some(c) => {
            json!({ "path": runtime_path, "runtimeArgs": [format!("--ctraudit-config={}", c.display())] })
        }
        None => json!({ "path": runtime_path }),
    }
}

/// What [`installed`] did besides adding: the `runtimes.ctraudit` entry it
/// replaced (`--force`), as it was.
pub type Replaced = Option<String>;

/// daemon.json with the ctraudit runtime (and, with `default`, as the
/// default). An existing `runtimes.ctraudit` that differs is an error
/// unless `force`.
pub fn installed(
    path: &Path,
    current: &[u8],
    runtime_path: &Path,
    config: Option<&Path>,
    default: bool,
    force: bool,
) -> Result<(Vec<u8>, Replaced), InstallError> {
    let entry = runtime_entry(runtime_path, config);
    let Some(text) = text_of(path, current)? else {
        let mut m = serde_json::Map::new();
        m.insert("runtimes".into(), json!({ RUNTIME: entry }));
        if default {
            m.insert("default-runtime".into(), json!(RUNTIME));
        }
        let mut out = serde_json::to_vec_pretty(&m).unwrap_or_default();
        out.push(b'\n');
        return Ok((out, None));
    };
    let shape = |e| json_error(path, e);
    let root = root_of(path, text)?;
    let mut edits = Edits::default();
    let mut append = Vec::new();
    let mut replaced = None;
    let entry_text = entry.to_string();
    let runtimes_text = format!("{{{}:{entry_text}}}", sj::quote(RUNTIME));
    match root.member("runtimes", "runtimes").map_err(shape)? {
        None => append.push((Some("runtimes"), runtimes_text)),
        Some(r) if sj::is_null(text, &r.value) => edits.replace(r.value.clone(), runtimes_text),
        Some(r) => {
            let runtimes = Container::object(text, r.value.clone(), "runtimes").map_err(shape)?;
            let field = format!("runtimes.{RUNTIME}");
            match runtimes.key(RUNTIME, &field).map_err(shape)? {
                None => runtimes.edit(
                    text,
                    |_| false,
                    &[(Some(RUNTIME), entry_text.clone())],
                    &mut edits,
                ),
                Some(old) => {
                    let old_text = &text[old.value.clone()];
                    if serde_json::from_str::<Value>(old_text).ok().as_ref() != Some(&entry) {
                        if !force {
                            return Err(InstallError::Taken {
                                path: path.to_owned(),
                                field,
                                current: old_text.to_owned(),
                                wanted: entry_text,
                            });
                        }
                        replaced = Some(old_text.to_owned());
                        edits.replace(old.value.clone(), entry_text);
                    }
                }
            }
        }
    }
    if default {
        let ours = sj::quote(RUNTIME);
        match root
            .member("default-runtime", "default-runtime")
            .map_err(shape)?
        {
            None => append.push((Some("default-runtime"), ours)),
            Some(d) if text[d.value.clone()] == ours => {}
            Some(d) => edits.replace(d.value.clone(), ours),
        }
    }
    root.edit(text, |_| false, &append, &mut edits);
    Ok((edits.apply(text).into_bytes(), replaced))
}

/// daemon.json without what `installed` added; `original` is the backup.
pub fn uninstalled(
    path: &Path,
    current: &[u8],
    original: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, InstallError> {
    let shape = |e| json_error(path, e);
    let Some(text) = text_of(path, current)? else {
        return Ok(Some(current.to_vec()));
    };
    let root = root_of(path, text)?;
    let backup = backup_path(path);
    let before = match original.map(|b| text_of(&backup, b)).transpose()?.flatten() {
        Some(t) => Some((t, root_of(&backup, t)?)),
        None => None,
    };
    let before_member = |name: &str| -> Result<Option<&str>, InstallError> {
        let Some((t, c)) = &before else {
            return Ok(None);
        };
        Ok(c.member(name, name)
            .map_err(shape)?
            .map(|i| &t[i.value.clone()]))
    };
    let mut edits = Edits::default();
    let mut gone = Vec::new();
    let mut touched = false;
    if let Some(r) = root.member("runtimes", "runtimes").map_err(shape)? {
        if sj::kind(text, &r.value) == b'{' {
            let runtimes = Container::object(text, r.value.clone(), "runtimes").map_err(shape)?;
            let field = format!("runtimes.{RUNTIME}");
            if let Some(ours) = runtimes.key(RUNTIME, &field).map_err(shape)? {
                touched = true;
                if runtimes.items().len() == 1 && before_member("runtimes")?.is_none() {
                    gone.push(r.start);
                } else {
                    runtimes.edit(text, |i| i.start == ours.start, &[], &mut edits);
                }
            }
        }
    }
    let ours = sj::quote(RUNTIME);
    if let Some(d) = root
        .member("default-runtime", "default-runtime")
        .map_err(shape)?
    {
        if text[d.value.clone()] == ours {
            touched = true;
            match before_member("default-runtime")?.filter(|prev| *prev != ours) {
                Some(prev) => edits.replace(d.value.clone(), prev.to_owned()),
                None => gone.push(d.start),
            }
        }
    }
    if !touched {
        // nothing of ours: the file stays exactly as it is
        return Ok(Some(current.to_vec()));
    }
    root.edit(text, |i| gone.contains(&i.start), &[], &mut edits);
    let new = edits.apply(text);
    // an empty backup reads as an empty object
    let before_text = before.as_ref().map_or("{}", |(t, _)| *t);
    Ok(match original {
        // back to the operator's own file, byte for byte
        Some(bytes) if sj::same_tokens(&new, before_text) => Some(bytes.to_vec()),
        // the file did not exist and nothing else was added since
        None if sj::same_tokens(&new, "{}") => None,
        _ => Some(new.into_bytes()),
    })
}

pub fn install(
    path: &Path,
    runtime_path: &Path,
    config: Option<&Path>,
    default: bool,
    force: bool,
    dry_run: bool,
) -> Result<(Outcome, Replaced), InstallError> {
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
    let (new, replaced) = installed(
        path,
        current.as_deref().unwrap_or_default(),
        runtime_path,
        config,
        default,
        force,
    )?;
    let unchanged = current.as_deref() == Some(new.as_slice());
    if dry_run || unchanged {
        return Ok((
            Outcome {
                changed: false,
                preview: new,
            },
            replaced,
        ));
    }
    if let Some(c) = &current {
        let backup = backup_path(path);
        if !backup.exists() {
            super::write_file(&backup, c)?;
        }
    }
    super::write_file(path, &new)?;
    Ok((
        Outcome {
            changed: true,
            preview: new,
        },
        replaced,
    ))
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

    fn install_into(current: &[u8], config: Option<&Path>, default: bool) -> String {
        let (new, replaced) = installed(
            Path::new("daemon.json"),
            current,
            Path::new("/usr/bin/ctraudit-runc"),
            config,
            default,
            false,
        )
        .unwrap();
        assert_eq!(replaced, None);
        String::from_utf8(new).unwrap()
    }

    #[test]
    fn install_keeps_every_key_and_uninstall_restores_the_bytes() {
        let new = install_into(ORIGINAL.as_bytes(), None, true);
        assert_eq!(
            new,
            "{\n\t\"log-driver\": \"json-file\",\n\t\"registry-mirrors\": [\"https://m.example\"],\n\t\"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 20000, \"Soft\": 20000}},\n\t\"runtimes\": {\"ctraudit\":{\"path\":\"/usr/bin/ctraudit-runc\"}},\n\t\"default-runtime\": \"ctraudit\"\n}\n"
        );
        let back = uninstalled(
            Path::new("daemon.json"),
            new.as_bytes(),
            Some(ORIGINAL.as_bytes()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), ORIGINAL);
    }

    /// Numbers and escapes serde_json would print differently, odd
    /// whitespace and duplicate keys: every byte but the new members stays.
    #[test]
    fn every_byte_but_ours_stays() {
        let before = "{ \"max-concurrent-downloads\" : -0,\"x-big\":12345678901234567890123,\n\"x-e\": 1E2, \"labels\":[\"\\u00e9\\/\"], \"dup\":1, \"dup\":2";
        let after = " }\r\n";
        let orig = format!("{before}{after}");
        let new = install_into(orig.as_bytes(), None, true);
        assert_eq!(
            new,
            format!("{before}, \"runtimes\":{{\"ctraudit\":{{\"path\":\"/usr/bin/ctraudit-runc\"}}}}, \"default-runtime\":\"ctraudit\"{after}")
        );
        // without a backup too: the span goes, nothing else
        let back = uninstalled(Path::new("d"), new.as_bytes(), None)
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), orig);
        // beside other runtimes
        let orig = "{\"runtimes\": {\"nvidia\": {\"path\": \"/n\", \"x\": -0}}}";
        let new = install_into(orig.as_bytes(), None, false);
        assert_eq!(
            new,
            "{\"runtimes\": {\"nvidia\": {\"path\": \"/n\", \"x\": -0},\"ctraudit\": {\"path\":\"/usr/bin/ctraudit-runc\"}}}"
        );
        let back = uninstalled(Path::new("d"), new.as_bytes(), Some(orig.as_bytes())).unwrap();
        assert_eq!(back.as_deref(), Some(orig.as_bytes()));
    }

    #[test]
    fn a_runtime_of_that_name_that_is_not_ours_needs_force() {
        let p = Path::new("/etc/docker/daemon.json");
        let orig = b"{\"runtimes\":{\"ctraudit\":{\"path\":\"/opt/other/runc\"}}}\n";
        let e = installed(
            p,
            orig,
            Path::new("/usr/bin/ctraudit-runc"),
            None,
            false,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/docker/daemon.json: runtimes.ctraudit is already {\"path\":\"/opt/other/runc\"}, \
             not {\"path\":\"/usr/bin/ctraudit-runc\"}; the file was not changed (--force replaces it)"
        );
        let (new, replaced) = installed(
            p,
            orig,
            Path::new("/usr/bin/ctraudit-runc"),
            None,
            false,
            true,
        )
        .unwrap();
        assert_eq!(replaced.as_deref(), Some("{\"path\":\"/opt/other/runc\"}"));
        assert_eq!(
            new,
            b"{\"runtimes\":{\"ctraudit\":{\"path\":\"/usr/bin/ctraudit-runc\"}}}\n"
        );
        // what install itself wrote is no conflict
        let (again, replaced) = installed(
            p,
            &new,
            Path::new("/usr/bin/ctraudit-runc"),
            None,
            false,
            false,
        )
        .unwrap();
        assert_eq!((again, replaced), (new, None));
    }

    #[test]
    fn a_previous_default_runtime_comes_back() {
        let p = Path::new("daemon.json");
        let orig = br#"{"default-runtime":"nvidia","runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"}}}"#;
        let new = install_into(orig, Some(Path::new("/etc/ct/a.toml")), true);
        assert_eq!(
            new,
            r#"{"default-runtime":"ctraudit","runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"},"ctraudit":{"path":"/usr/bin/ctraudit-runc","runtimeArgs":["--ctraudit-config=/etc/ct/a.toml"]}}}"#
        );
        let back = uninstalled(p, new.as_bytes(), Some(orig)).unwrap().unwrap();
        assert_eq!(back, orig.to_vec());
        // edited since install: our keys go, the operator's edit stays
        let edited = new.replacen('{', "{\"debug\": true, ", 1);
        let back = uninstalled(p, edited.as_bytes(), Some(orig))
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(back).unwrap(),
            r#"{"debug": true, "default-runtime":"nvidia","runtimes":{"nvidia":{"path":"/usr/bin/nvidia-container-runtime"}}}"#
        );
    }

    #[test]
    fn a_file_install_created_is_removed_again() {
        let new = install_into(b"", None, false);
        assert_eq!(
            serde_json::from_str::<Value>(&new).unwrap(),
            json!({"runtimes": {"ctraudit": {"path": "/usr/bin/ctraudit-runc"}}})
        );
        assert_eq!(
            uninstalled(Path::new("d"), new.as_bytes(), None).unwrap(),
            None
        );
        // an empty file install filled comes back empty
        let back = uninstalled(Path::new("d"), new.as_bytes(), Some(b"\n")).unwrap();
        assert_eq!(back.as_deref(), Some(&b"\n"[..]));
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
        assert_eq!(
            install_into(br#"{"runtimes": null}"#, None, false),
            r#"{"runtimes": {"ctraudit":{"path":"/usr/bin/ctraudit-runc"}}}"#
        );
    }

    #[test]
    fn invalid_json_and_wrong_shapes_are_refused_with_the_place() {
        let e = |path: &str, text: &[u8]| {
            installed(Path::new(path), text, Path::new("/x"), None, false, false)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("/etc/docker/daemon.json", b"{\n  \"a\": 1,\n  oops\n}"),
            "/etc/docker/daemon.json:3:3: not valid JSON (key must be a string at line 3 column 3); the file was not changed"
        );
        assert_eq!(
            e("d.json", br#"{"runtimes": []}"#),
            "d.json: field `runtimes`: not an object; the file was not changed"
        );
        assert_eq!(
            e("d.json", br#"[1]"#),
            "d.json: not a JSON object; the file was not changed"
        );
        assert_eq!(
            e("d.json", br#"{"runtimes": {}, "Runtimes": {}}"#),
            "d.json: field `runtimes`: appears 2 times (Go's JSON readers match names case-insensitively and merge them); the file was not changed"
        );
        assert_eq!(
            e("d.json", b"{\"a\": \"\xff\"}"),
            "d.json: not valid UTF-8 (at byte 7); the file was not changed"
        );
    }

    #[test]
    fn a_fifo_or_device_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("daemon.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = install(
            &fifo,
            Path::new("/usr/bin/ctraudit-runc"),
            None,
            false,
            false,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: a FIFO, not a regular file: not read", fifo.display())
        );
        let e = uninstall(Path::new("/dev/zero"), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero: a character device, not a regular file: not read"
        );
    }
}
