//! Every path ctraudit reads or writes is formatted here and nowhere else.
//!
//! ```text
//! <bpffs>/ctraudit/v<ABI>/maps/<map>              global maps
//! <bpffs>/ctraudit/v<ABI>/links/<program>         global links
//! <bpffs>/ctraudit/v<ABI>/containers/<id>/<map>   one container's maps
//! <run>/lock                                      global lock
//! <run>/containers/<id>.json                      meta written at prestart
//! <log>/<id>/summary.json                         written at poststop
//! <log>/<id>/seccomp.json                         written at poststop
//! ```

use std::path::{Path, PathBuf};

use crate::abi::ABI_VERSION;
use crate::id::ContainerId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    bpffs: PathBuf,
    run: PathBuf,
    log: PathBuf,
    /// The ABI version whose pins this layout names.
    abi: u32,
}

impl Layout {
    pub fn new(bpffs: &Path, run: &Path, log: &Path) -> Layout {
        Layout {
            bpffs: bpffs.to_owned(),
            run: run.to_owned(),
            log: log.to_owned(),
            abi: ABI_VERSION,
        }
    }

    /// The same roots, naming the pins of another ABI version: a container
    /// started under an older ctraudit is read where it was registered.
    pub fn with_abi(&self, abi: u32) -> Layout {
        Layout {
            abi,
            ..self.clone()
        }
    }

    pub fn bpffs(&self) -> &Path {
        &self.bpffs
    }

    /// The ABI version whose pins this layout names.
    pub fn abi(&self) -> u32 {
        self.abi
    }

    /// `<bpffs>/ctraudit`: one directory per ABI version below it.
    pub fn abi_root(&self) -> PathBuf {
        self.bpffs.join("ctraudit")
    }

    /// `<bpffs>/ctraudit/v<ABI>`: everything this ABI version pinned.
    pub fn abi_dir(&self) -> PathBuf {
        self.abi_root().join(format!("v{}", self.abi))
    }

    pub fn global_maps_dir(&self) -> PathBuf {
        self.abi_dir().join("maps")
    }

    pub fn global_map(&self, name: &str) -> PathBuf {
        self.global_maps_dir().join(name)
    }

    pub fn global_links_dir(&self) -> PathBuf {
        self.abi_dir().join("links")
    }

    pub fn global_link(&self, name: &str) -> PathBuf {
        self.global_links_dir().join(name)
    }

    pub fn containers_pin_dir(&self) -> PathBuf {
        self.abi_dir().join("containers")
    }

    pub fn container_pin_dir(&self, id: &ContainerId) -> PathBuf {
        self.containers_pin_dir().join(id.as_str())
    }

    pub fn container_map(&self, id: &ContainerId, name: &str) -> PathBuf {
        self.container_pin_dir(id).join(name)
    }

    pub fn run_dir(&self) -> &Path {
        &self.run
    }

    pub fn lock_file(&self) -> PathBuf {
        self.run.join("lock")
    }

    pub fn meta_dir(&self) -> PathBuf {
        self.run.join("containers")
    }

    pub fn meta_file(&self, id: &ContainerId) -> PathBuf {
        self.meta_dir().join(format!("{id}.json"))
    }

    pub fn log_root(&self) -> &Path {
        &self.log
    }

    pub fn log_dir(&self, id: &ContainerId) -> PathBuf {
        self.log.join(id.as_str())
    }

    pub fn summary_file(&self, id: &ContainerId) -> PathBuf {
        self.log_dir(id).join("summary.json")
    }

    pub fn seccomp_file(&self, id: &ContainerId) -> PathBuf {
        self.log_dir(id).join("seccomp.json")
    }

    /// The last checkpoint of a running container's audit (crate::live):
    /// `<log>/<id>/checkpoint.json`, removed when it is finalised.
    pub fn checkpoint_file(&self, id: &ContainerId) -> PathBuf {
        self.log_dir(id).join("checkpoint.json")
    }

    /// Every run of the container id kept: `<log>/<id>/runs/`.
    pub fn runs_dir(&self, id: &ContainerId) -> PathBuf {
        self.log_dir(id).join("runs")
    }

    /// Run `n` (1, 2, ...): its summary.json and seccomp.json.
    pub fn run_log_dir(&self, id: &ContainerId, n: u64) -> PathBuf {
        self.runs_dir(id).join(n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_formats_every_path_below_its_roots() {
        let l = Layout::new("/b".as_ref(), "/r".as_ref(), "/l".as_ref());
        let id = ContainerId::parse("c1").unwrap();
        let abi = format!("/b/ctraudit/v{ABI_VERSION}");
        assert_eq!(
            l.global_map("containers"),
            PathBuf::from(format!("{abi}/maps/containers"))
        );
        assert_eq!(
            l.global_link("ct_exec"),
            PathBuf::from(format!("{abi}/links/ct_exec"))
        );
        assert_eq!(
            l.container_map(&id, "files"),
            PathBuf::from(format!("{abi}/containers/c1/files"))
        );
        assert_eq!(l.meta_file(&id), PathBuf::from("/r/containers/c1.json"));
        assert_eq!(l.lock_file(), PathBuf::from("/r/lock"));
        assert_eq!(l.summary_file(&id), PathBuf::from("/l/c1/summary.json"));
        assert_eq!(l.run_log_dir(&id, 12), PathBuf::from("/l/c1/runs/12"));
    }
}
