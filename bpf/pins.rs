//! The pin tree under `<bpffs>/ctraudit/v<ABI>/` (see `config::paths`) has
//! one owner: this module opens pinned maps and removes pins. The loader
//! (global maps and links) and the registry (one container's maps) both go
//! through it, and it imports neither of them.

use std::path::{Path, PathBuf};

use libbpf_rs::MapHandle;

use super::{Error, Result};

/// Opens the map pinned at `path`.
pub(crate) fn open_pinned(path: PathBuf) -> Result<MapHandle> {
    MapHandle::from_pinned_path(&path).map_err(|source| Error::Map {
        what: format!("open {}", path.display()),
        source,
    })
}

/// Removes the pins in `dir` (maps and links detach when their last
/// reference goes) and the directory itself.
pub(crate) fn remove_pins(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: dir.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}
