//! `ctraudit install podman` / `uninstall podman`: the OCI hooks.d file
//! Podman and CRI-O read (containers/common `pkg/hooks`, schema 1.0.0).
//!
//! One hook for both stages: hooks.d gives every listed stage the same
//! arguments, so the hook runs as `ctraudit hook auto` and takes the stage
//! from the state's status.

use std::path::Path;

use serde_json::{json, Value};

use super::{InstallError, Outcome};
use crate::shim::inject::{self, hook_args};

pub const HOOKS_DIR: &str = "/etc/containers/oci/hooks.d";
pub const FILE: &str = "ctraudit.json";

/// The hooks.d file for `binary`, each stage given `timeout` seconds.
pub fn hook_file(
    binary: &Path,
    timeout: u32,
    config: Option<&Path>,
) -> Result<Vec<u8>, InstallError> {
    let utf8 = |p: &Path| {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| InstallError::Other(format!("{}: not UTF-8", p.display())))
    };
    let config = match config {
        Some(c) => Some(utf8(c)?),
        None => None,
    };
    let args = hook_args(config.as_deref(), "auto");
    let v = json!({
        "version": "1.0.0",
        "hook": {"path": utf8(binary)?, "args": args, "timeout": timeout},
        "when": {"always": true},
        "stages": ["prestart", "poststop"]
    });
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

/// A hooks.d file whose hook is ctraudit's, as the wrappers tell their own
/// entries in config.json (`shim::inject::is_ours`).
fn is_ours(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("hook").map(inject::is_ours))
        .unwrap_or(false)
}

pub fn install(
    dir: &Path,
    binary: &Path,
    timeout: u32,
    config: Option<&Path>,
    dry_run: bool,
) -> Result<Outcome, InstallError> {
    let path = dir.join(FILE);
    let new = hook_file(binary, timeout, config)?;
    let current = std::fs::read(&path).ok();
    if let Some(c) = &current {
        if !is_ours(c) {
            return Err(InstallError::Other(format!(
                "{}: exists and is not ctraudit's; not replaced",
                path.display()
            )));
        }
    }
    if dry_run || current.as_deref() == Some(new.as_slice()) {
        return Ok(Outcome {
            changed: false,
            preview: new,
        });
    }
    super::write_file(&path, &new)?;
    Ok(Outcome {
        changed: true,
        preview: new,
    })
}

pub fn uninstall(dir: &Path, dry_run: bool) -> Result<Outcome, InstallError> {
    let path = dir.join(FILE);
    let Ok(current) = std::fs::read(&path) else {
        return Ok(Outcome {
            changed: false,
            preview: Vec::new(),
        });
    };
    if !is_ours(&current) {
        return Err(InstallError::Other(format!(
            "{}: is not ctraudit's; not removed",
            path.display()
        )));
    }
    if !dry_run {
        std::fs::remove_file(&path).map_err(|source| InstallError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(Outcome {
        changed: !dry_run,
        preview: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_file_is_what_install_writes_for_usr_bin() {
        let packaged = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packaging/oci-hooks.d/ctraudit.json"
        ))
        .unwrap();
        assert_eq!(
            String::from_utf8(packaged).unwrap(),
            String::from_utf8(hook_file(Path::new("/usr/bin/ctraudit"), 10, None).unwrap())
                .unwrap()
        );
    }

    #[test]
    fn install_uninstall_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let bin = Path::new("/usr/local/bin/ctraudit");
        assert!(install(dir.path(), bin, 10, None, false).unwrap().changed);
        assert!(
            !install(dir.path(), bin, 10, None, false).unwrap().changed,
            "second install changes nothing"
        );
        assert!(uninstall(dir.path(), false).unwrap().changed);
        assert!(!dir.path().join(FILE).exists());
        std::fs::write(
            dir.path().join(FILE),
            br#"{"version":"1.0.0","hook":{"path":"/x","args":["x"]}}"#,
        )
        .unwrap();
        assert!(install(dir.path(), bin, 10, None, false).is_err());
        assert!(uninstall(dir.path(), false).is_err());
    }
}
