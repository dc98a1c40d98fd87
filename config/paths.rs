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

use crate::bpf::ABI_VERSION;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    bpffs: PathBuf,
    run: PathBuf,
    log: PathBuf,
    /// The ABI version whose pins this layout names.
    abi: u32,
}

/// A container id that is safe to use as one path component (see
/// [`ContainerId::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("container id {id:?}: {reason}")]
pub struct BadId {
    pub id: String,
    pub reason: &'static str,
}

impl ContainerId {
    /// The longest id accepted: it must fit in one file name with a suffix.
    pub const MAX_LEN: usize = 200;

    /// Accepts what runc accepts (`[A-Za-z0-9_+.-]`, see runc's
    /// `libcontainer/utils.go` id check), which makes `/`, `..` and NUL
    /// impossible, and refuses ids that would be hidden or special files.
    pub fn parse(id: &str) -> Result<ContainerId, BadId> {
        let bad = |reason| BadId {
            id: id.to_owned(),
            reason,
        };
        if id.is_empty() {
            return Err(bad("is empty"));
        }
        if id.len() > Self::MAX_LEN {
            return Err(bad("is longer than 200 bytes"));
        }
        if id.contains('/') {
            return Err(bad("contains '/'"));
        }
        if id.contains("..") {
            return Err(bad("contains '..'"));
        }
        if id.starts_with('.') {
            return Err(bad("starts with '.'"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b))
        {
            return Err(bad("has a character outside [A-Za-z0-9_+.-]"));
        }
        Ok(ContainerId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_runc_accepts_are_accepted() {
        for id in [
            "a",
            "ctr-1",
            "4f1c0b6c2d8e9a7b",
            "web_1.v2+x",
            &"x".repeat(200),
        ] {
            assert_eq!(ContainerId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn ids_that_could_escape_a_directory_are_refused() {
        let cases = [
            ("", "is empty"),
            ("a/b", "contains '/'"),
            ("/etc", "contains '/'"),
            ("..", "contains '..'"),
            ("a..b", "contains '..'"),
            (".hidden", "starts with '.'"),
            ("a\0b", "has a character outside [A-Za-z0-9_+.-]"),
            ("a b", "has a character outside [A-Za-z0-9_+.-]"),
            ("ä", "has a character outside [A-Za-z0-9_+.-]"),
        ];
        for (id, reason) in cases {
            assert_eq!(ContainerId::parse(id).unwrap_err().reason, reason, "{id:?}");
        }
        assert_eq!(
            ContainerId::parse(&"x".repeat(201)).unwrap_err().reason,
            "is longer than 200 bytes"
        );
    }

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
    }
}
