//! `ctraudit install containerd` / `uninstall containerd`: the CRI route
//! (Kubernetes). A drop-in defines the runtime handler `ctraudit`
//! (`runtime_type = "io.containerd.runc.v2"`, `options.BinaryName` =
//! ctraudit-runc, the existing runc runtime's options copied), and the main
//! config.toml imports it. config.toml is edited with toml_edit, so its
//! comments, order and formatting stay; a backup is kept; uninstall takes
//! the import out again and, when nothing else changed, puts back the
//! original bytes.

use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, Item, Value};

use super::{InstallError, Outcome};

pub const CONFIG_TOML: &str = "/etc/containerd/config.toml";
pub const CRI: &str = "io.containerd.grpc.v1.cri";
const HEADER: &str = "# Written by `ctraudit install containerd`";

/// `<dir of config.toml>/conf.d/ctraudit.toml`.
pub fn drop_in_path(config: &Path) -> PathBuf {
    config
        .parent()
        .unwrap_or(Path::new("/"))
        .join("conf.d")
        .join("ctraudit.toml")
}

fn backup_path(config: &Path) -> PathBuf {
    let mut name = config.file_name().unwrap_or_default().to_owned();
    name.push(".ctraudit-backup");
    config.with_file_name(name)
}

fn parse(path: &Path, text: &str) -> Result<DocumentMut, InstallError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| {
            let before = &text[..s.start.min(text.len())];
            (
                before.matches('\n').count() + 1,
                before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
            )
        });
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
            message: "no `version = 2`: a version 1 config cannot import drop-ins; \
                      migrate it first (`containerd config migrate`)"
                .into(),
        }),
    }
}

/// The drop-in, with the options of the existing `runc` runtime copied.
pub fn drop_in(config: &DocumentMut, runtime_path: &Path) -> Result<String, InstallError> {
    let path = runtime_path
        .to_str()
        .ok_or_else(|| InstallError::Other(format!("{}: not UTF-8", runtime_path.display())))?;
    let runc_options = config
        .get("plugins")
        .and_then(|p| p.get(CRI))
        .and_then(|c| c.get("containerd"))
        .and_then(|c| c.get("runtimes"))
        .and_then(|r| r.get("runc"))
        .and_then(|r| r.get("options"));
    let mut options = vec![format!("BinaryName = {}", Value::from(path))];
    if let Some(t) = runc_options.and_then(Item::as_table_like) {
        for (k, v) in t.iter() {
            if k == "BinaryName" {
                continue;
            }
            if let Some(v) = v.as_value() {
                let v = v.clone().decorated("", "");
                options.push(format!("{} = {v}", toml_edit::Key::new(k)));
            }
        }
    }
    let base = format!("plugins.\"{CRI}\".containerd.runtimes.ctraudit");
    Ok(format!(
        "{HEADER}: the CRI runtime handler\n\
         # \"ctraudit\" (RuntimeClass handler ctraudit). `ctraudit uninstall containerd` removes it.\n\
         version = 2\n\n[{base}]\n  runtime_type = \"io.containerd.runc.v2\"\n\n[{base}.options]\n{}\n",
        options.iter().map(|o| format!("  {o}")).collect::<Vec<_>>().join("\n")
    ))
}

/// config.toml with the drop-in imported; None when it is there already.
pub fn with_import(
    path: &Path,
    text: &str,
    drop_in: &Path,
) -> Result<Option<String>, InstallError> {
    let mut doc = parse(path, text)?;
    check_version(path, &doc, text)?;
    if doc.get("version").is_none() {
        doc.insert("version", toml_edit::value(2));
    }
    let want = drop_in.to_string_lossy().into_owned();
    let imports = doc
        .entry("imports")
        .or_insert(toml_edit::value(Array::new()));
    let arr = imports.as_array_mut().ok_or_else(|| InstallError::Shape {
        path: path.to_owned(),
        message: "field `imports` is not an array".into(),
    })?;
    if arr.iter().any(|v| v.as_str() == Some(want.as_str())) {
        return Ok(None);
    }
    arr.push(want);
    Ok(Some(doc.to_string()))
}

/// config.toml without the import; `original` is the backup.
pub fn without_import(
    path: &Path,
    text: &str,
    drop_in: &Path,
    original: Option<&str>,
) -> Result<Option<String>, InstallError> {
    let mut doc = parse(path, text)?;
    let want = drop_in.to_string_lossy().into_owned();
    let Some(arr) = doc.get_mut("imports").and_then(Item::as_array_mut) else {
        return Ok(Some(text.to_owned()));
    };
    let before = arr.len();
    arr.retain(|v| v.as_str() != Some(want.as_str()));
    if arr.len() == before {
        return Ok(Some(text.to_owned()));
    }
    let had_imports = original
        .and_then(|o| o.parse::<DocumentMut>().ok())
        .is_some_and(|d| d.contains_key("imports"));
    if arr.is_empty() && !had_imports {
        doc.remove("imports");
    }
    let new = doc.to_string();
    Ok(match original {
        Some(o)
            if o.parse::<DocumentMut>()
                .map(|d| d.to_string())
                .ok()
                .as_deref()
                == Some(new.as_str()) =>
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
    let doc = parse(config, current)?;
    let drop_in_file = drop_in_path(config);
    let new_drop_in = drop_in(&doc, runtime_path)?;
    let new_config = with_import(config, current, &drop_in_file)?;
    let drop_in_same =
        std::fs::read_to_string(&drop_in_file).ok().as_deref() == Some(new_drop_in.as_str());
    let preview = format!(
        "# {}\n{}\n# {}\n{}",
        drop_in_file.display(),
        new_drop_in,
        config.display(),
        new_config.as_deref().unwrap_or(current)
    )
    .into_bytes();
    if dry_run || (new_config.is_none() && drop_in_same) {
        return Ok(Outcome {
            changed: false,
            preview,
        });
    }
    super::write_file(&drop_in_file, new_drop_in.as_bytes())?;
    if let Some(new) = new_config {
        if let Some(t) = &text {
            let backup = backup_path(config);
            if !backup.exists() {
                super::write_file(&backup, t.as_bytes())?;
            }
        }
        super::write_file(config, new.as_bytes())?;
    }
    Ok(Outcome {
        changed: true,
        preview,
    })
}

pub fn uninstall(config: &Path, dry_run: bool) -> Result<Outcome, InstallError> {
    let drop_in_file = drop_in_path(config);
    let ours = std::fs::read_to_string(&drop_in_file).is_ok_and(|t| t.starts_with(HEADER));
    let text = std::fs::read_to_string(config).ok();
    let backup = backup_path(config);
    let original = std::fs::read_to_string(&backup).ok();
    let new = match &text {
        Some(t) => without_import(config, t, &drop_in_file, original.as_deref())?,
        None => None,
    };
    let config_changes = new.as_deref() != text.as_deref();
    if dry_run || (!config_changes && !ours) {
        return Ok(Outcome {
            changed: false,
            preview: new.unwrap_or_default().into_bytes(),
        });
    }
    if config_changes {
        match &new {
            Some(n) => super::write_file(config, n.as_bytes())?,
            None => std::fs::remove_file(config).map_err(|source| InstallError::Io {
                path: config.to_owned(),
                source,
            })?,
        }
        let _ = std::fs::remove_file(&backup);
    }
    if ours {
        std::fs::remove_file(&drop_in_file).map_err(|source| InstallError::Io {
            path: drop_in_file.clone(),
            source,
        })?;
    }
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
    fn the_drop_in_copies_runcs_options_and_sets_binary_name() {
        let doc: DocumentMut = CONFIG.parse().unwrap();
        let d = drop_in(&doc, Path::new("/usr/bin/ctraudit-runc")).unwrap();
        let parsed: toml::Table = d.parse().unwrap();
        let rt = &parsed["plugins"][CRI]["containerd"]["runtimes"]["ctraudit"];
        assert_eq!(rt["runtime_type"].as_str(), Some("io.containerd.runc.v2"));
        assert_eq!(
            rt["options"]["BinaryName"].as_str(),
            Some("/usr/bin/ctraudit-runc")
        );
        assert_eq!(rt["options"]["SystemdCgroup"].as_bool(), Some(true));
        assert_eq!(parsed["version"].as_integer(), Some(2));
    }

    #[test]
    fn import_is_added_once_and_removed_back_to_the_original_bytes() {
        let p = Path::new("/etc/containerd/config.toml");
        let d = drop_in_path(p);
        assert_eq!(d, Path::new("/etc/containerd/conf.d/ctraudit.toml"));
        let new = with_import(p, CONFIG, &d).unwrap().unwrap();
        assert!(
            new.starts_with("# operator's notes stay\nversion = 2\noom_score = -999\n"),
            "{new}"
        );
        assert!(
            new.contains(r#"imports = ["/etc/containerd/conf.d/ctraudit.toml"]"#),
            "{new}"
        );
        assert!(new.contains("sandbox_image = \"registry.local/pause:3.9\""));
        assert_eq!(
            with_import(p, &new, &d).unwrap(),
            None,
            "a second install changes nothing"
        );
        assert_eq!(
            without_import(p, &new, &d, Some(CONFIG))
                .unwrap()
                .as_deref(),
            Some(CONFIG)
        );
    }

    #[test]
    fn a_created_file_goes_away_and_other_imports_stay() {
        let p = Path::new("/c/config.toml");
        let d = drop_in_path(p);
        let created = with_import(p, "", &d).unwrap().unwrap();
        assert_eq!(without_import(p, &created, &d, None).unwrap(), None);
        let with_other = "version = 2\nimports = [\"/x.toml\"]\n";
        let new = with_import(p, with_other, &d).unwrap().unwrap();
        assert_eq!(
            without_import(p, &new, &d, Some(with_other))
                .unwrap()
                .as_deref(),
            Some(with_other)
        );
    }

    #[test]
    fn version_1_and_broken_files_are_refused() {
        let p = Path::new("/c/config.toml");
        let e = with_import(p, "root = \"/var/lib/containerd\"\n", &drop_in_path(p)).unwrap_err();
        assert!(e.to_string().contains("no `version = 2`"), "{e}");
        let e = with_import(p, "version = 2\n[plugins\n", &drop_in_path(p)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/c/config.toml:2:9: not valid TOML"),
            "{e}"
        );
        assert!(e.to_string().ends_with("; the file was not changed"), "{e}");
    }
}
