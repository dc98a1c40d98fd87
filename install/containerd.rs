//! `ctraudit install containerd` / `uninstall containerd`: the CRI route
//! (Kubernetes). config.toml gets the runtime handler `ctraudit`:
//! `runtime_type = "io.containerd.runc.v2"`, `options.BinaryName` =
//! ctraudit-runc, and the existing runc runtime's options copied.
//!
//! Written into config.toml itself, not into an imported drop-in: containerd
//! 1.6 and 1.7 replace a plugin's whole section with an import's
//! (`mergeConfig`: `to.Plugins[k] = v`), so a drop-in defining
//! `plugins."io.containerd.grpc.v1.cri"` would silently drop the operator's
//! CRI settings (sandbox_image, runc's SystemdCgroup, registries, CNI).
//! The edit goes through toml_edit, so comments and layout stay; a backup is
//! kept; uninstall removes exactly the table it added and, when nothing
//! else changed, puts back the original bytes.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table};

use super::{backup_path, InstallError, Outcome};

pub const CONFIG_TOML: &str = "/etc/containerd/config.toml";
pub const CRI: &str = "io.containerd.grpc.v1.cri";
const MARK: &str =
    "# added by `ctraudit install containerd`; `ctraudit uninstall containerd` removes it";

fn parse(path: &Path, text: &str) -> Result<DocumentMut, InstallError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |s| crate::sys::text::line_column(text, s.start));
        InstallError::Toml {
            path: path.to_owned(),
            line,
            column,
            message: e.message().trim().replace('\n', " "),
        }
    })
}

fn check_version(path: &Path, doc: &DocumentMut, text: &str) -> Result<(), InstallError> {
    match doc.get("version").and_then(Item::as_integer) {
        Some(2) => Ok(()),
        None if text.trim().is_empty() => Ok(()),
        Some(v) => Err(InstallError::Shape {
            path: path.to_owned(),
            message: format!(
                "config version {v}: only version 2 (containerd 1.5 to 1.7) is supported"
            ),
        }),
        None => Err(InstallError::Shape {
            path: path.to_owned(),
            message: "no `version = 2`: a version 1 config has another layout; \
                      migrate it first (`containerd config migrate`)"
                .into(),
        }),
    }
}

/// `plugins."io.containerd.grpc.v1.cri".containerd.runtimes`, if present.
fn runtimes(doc: &DocumentMut) -> Option<&Item> {
    doc.get("plugins")?
        .get(CRI)?
        .get("containerd")?
        .get("runtimes")
}

/// The `ctraudit` runtime table: runc's options copied, BinaryName ours.
fn ctraudit_table(doc: &DocumentMut, runtime_path: &str) -> Table {
    let mut options = Table::new();
    let runc_options = runtimes(doc)
        .and_then(|r| r.get("runc"))
        .and_then(|r| r.get("options"))
        .and_then(Item::as_table_like);
    if let Some(t) = runc_options {
        for (k, v) in t.iter() {
            if let Some(v) = v.as_value() {
                options.insert(k, toml_edit::value(v.clone().decorated("", "")));
            }
        }
    }
    options.insert("BinaryName", toml_edit::value(runtime_path));
    let mut t = Table::new();
    t.decor_mut().set_prefix(format!("\n{MARK}\n"));
    t.insert("runtime_type", toml_edit::value("io.containerd.runc.v2"));
    t.insert("options", Item::Table(options));
    t
}

/// config.toml with the ctraudit runtime; None when it is there already.
pub fn with_runtime(
    path: &Path,
    text: &str,
    runtime_path: &Path,
) -> Result<Option<String>, InstallError> {
    let runtime = runtime_path
        .to_str()
        .ok_or_else(|| InstallError::Other(format!("{}: not UTF-8", runtime_path.display())))?;
    let mut doc = parse(path, text)?;
    check_version(path, &doc, text)?;
    if doc.get("version").is_none() {
        doc.insert("version", toml_edit::value(2));
    }
    let want = ctraudit_table(&doc, runtime);
    let same = |t: &Table| {
        t.get("runtime_type").and_then(Item::as_str) == Some("io.containerd.runc.v2")
            && t.get("options")
                .and_then(|o| o.get("BinaryName"))
                .and_then(Item::as_str)
                == Some(runtime)
    };
    let existing = runtimes(&doc)
        .and_then(|r| r.get("ctraudit"))
        .and_then(Item::as_table);
    if existing.is_some_and(same) {
        return Ok(None);
    }
    // walk down, creating implicit tables (no headers of their own) as needed
    let mut table = doc.as_table_mut();
    for key in ["plugins", CRI, "containerd", "runtimes"] {
        let entry = table.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        table = entry.as_table_mut().ok_or_else(|| InstallError::Shape {
            path: path.to_owned(),
            message: format!(
                "`{key}` on the way to plugins.\"{CRI}\".containerd.runtimes is not a table"
            ),
        })?;
    }
    table.insert("ctraudit", Item::Table(want));
    Ok(Some(doc.to_string()))
}

/// config.toml without the ctraudit runtime; `original` is the backup.
pub fn without_runtime(
    path: &Path,
    text: &str,
    original: Option<&str>,
) -> Result<Option<String>, InstallError> {
    let mut doc = parse(path, text)?;
    let removed = doc
        .get_mut("plugins")
        .and_then(|p| p.get_mut(CRI))
        .and_then(|c| c.get_mut("containerd"))
        .and_then(|c| c.get_mut("runtimes"))
        .and_then(Item::as_table_like_mut)
        .and_then(|r| r.remove("ctraudit"))
        .is_some();
    if !removed {
        return Ok(Some(text.to_owned()));
    }
    let new = doc.to_string();
    let normalised = |t: &str| t.parse::<DocumentMut>().map(|d| d.to_string()).ok();
    Ok(match original {
        // back to the operator's own file, byte for byte
        Some(o)
            if normalised(o).as_deref() == Some(new.as_str())
                || normalised(o) == normalised(&new) =>
        {
            Some(o.to_owned())
        }
        // install created the file: nothing but its version line is left
        None if new.trim() == "version = 2" => None,
        _ => Some(new),
    })
}

pub fn install(config: &Path, runtime_path: &Path, dry_run: bool) -> Result<Outcome, InstallError> {
    if runtime_path.file_name().and_then(|n| n.to_str()) != Some("ctraudit-runc") {
        return Err(InstallError::Other(format!(
            "runtime path {}: must be named ctraudit-runc (a link to ctraudit)",
            runtime_path.display()
        )));
    }
    let text = match std::fs::read_to_string(config) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(InstallError::Io {
                path: config.to_owned(),
                source,
            })
        }
    };
    let current = text.as_deref().unwrap_or("");
    let new = with_runtime(config, current, runtime_path)?;
    let preview = new
        .clone()
        .unwrap_or_else(|| current.to_owned())
        .into_bytes();
    let Some(new) = new.filter(|_| !dry_run) else {
        return Ok(Outcome {
            changed: false,
            preview,
        });
    };
    if let Some(t) = &text {
        let backup = backup_path(config);
        if !backup.exists() {
            super::write_file(&backup, t.as_bytes())?;
        }
    }
    super::write_file(config, new.as_bytes())?;
    Ok(Outcome {
        changed: true,
        preview,
    })
}

pub fn uninstall(config: &Path, dry_run: bool) -> Result<Outcome, InstallError> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(Outcome {
            changed: false,
            preview: Vec::new(),
        });
    };
    let backup = backup_path(config);
    let original = std::fs::read_to_string(&backup).ok();
    let new = without_runtime(config, &text, original.as_deref())?;
    let changed = new.as_deref() != Some(text.as_str());
    if dry_run || !changed {
        return Ok(Outcome {
            changed: false,
            preview: new.unwrap_or_default().into_bytes(),
        });
    }
    match &new {
        Some(n) => super::write_file(config, n.as_bytes())?,
        None => std::fs::remove_file(config).map_err(|source| InstallError::Io {
            path: config.to_owned(),
            source,
        })?,
    }
    let _ = std::fs::remove_file(&backup);
    Ok(Outcome {
        changed: true,
        preview: new.unwrap_or_default().into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"# operator's notes stay
version = 2
oom_score = -999

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.local/pause:3.9"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
        BinaryName = "/usr/sbin/runc"
"#;

    #[test]
    fn the_runtime_copies_runcs_options_and_keeps_everything_else() {
        let p = Path::new("/etc/containerd/config.toml");
        let new = with_runtime(p, CONFIG, Path::new("/usr/bin/ctraudit-runc"))
            .unwrap()
            .unwrap();
        assert!(
            new.starts_with(CONFIG),
            "the operator's text is untouched: {new}"
        );
        let parsed: toml::Table = new.parse().unwrap();
        let cri = &parsed["plugins"][CRI];
        assert_eq!(
            cri["sandbox_image"].as_str(),
            Some("registry.local/pause:3.9")
        );
        let rt = &cri["containerd"]["runtimes"]["ctraudit"];
        assert_eq!(rt["runtime_type"].as_str(), Some("io.containerd.runc.v2"));
        assert_eq!(
            rt["options"]["BinaryName"].as_str(),
            Some("/usr/bin/ctraudit-runc")
        );
        assert_eq!(rt["options"]["SystemdCgroup"].as_bool(), Some(true));
        assert!(new.contains(MARK));
        assert_eq!(
            with_runtime(p, &new, Path::new("/usr/bin/ctraudit-runc")).unwrap(),
            None,
            "a second install changes nothing"
        );
        assert_eq!(
            without_runtime(p, &new, Some(CONFIG)).unwrap().as_deref(),
            Some(CONFIG),
            "byte for byte"
        );
    }

    #[test]
    fn a_created_file_goes_away_and_a_file_without_ctraudit_stays() {
        let p = Path::new("/c/config.toml");
        let created = with_runtime(p, "", Path::new("/x/ctraudit-runc"))
            .unwrap()
            .unwrap();
        let parsed: toml::Table = created.parse().unwrap();
        assert_eq!(parsed["version"].as_integer(), Some(2));
        assert_eq!(without_runtime(p, &created, None).unwrap(), None);
        let other = "version = 2\n# mine\n";
        assert_eq!(
            without_runtime(p, other, None).unwrap().as_deref(),
            Some(other)
        );
    }

    #[test]
    fn version_1_and_broken_files_are_refused() {
        let p = Path::new("/c/config.toml");
        let e = with_runtime(
            p,
            "root = \"/var/lib/containerd\"\n",
            Path::new("/x/ctraudit-runc"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no `version = 2`"), "{e}");
        let e =
            with_runtime(p, "version = 2\n[plugins\n", Path::new("/x/ctraudit-runc")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/c/config.toml:2:9: not valid TOML"),
            "{e}"
        );
        assert!(e.to_string().ends_with("; the file was not changed"), "{e}");
    }
}
