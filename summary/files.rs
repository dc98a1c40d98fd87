//! The `files` section: the kernel's entries (ct_file_key) made into paths
//! a reader can take at their word. The kernel gives, per entry, the real
//! path of the file a call worked on, or the directory a relative path
//! starts from beside the path as typed, or the path as given
//! (docs/design.md, "Paths"); here those become one absolute path in the
//! container's filesystem, and entries that name the same file are one.

use std::collections::BTreeMap;

use super::build::{errno_name, file_kinds, hex_unless_utf8};
use super::{Device, File};
use crate::bpf::types::{ct_file_kind as fk, ct_path_flag as pf};
use crate::bpf::{c_bytes, c_str, Snapshot};
use crate::sys::clock::rfc3339_of_boot_ns;

/// What marks a path that was cut: the part kept is its end (a real path)
/// or its start (a path as given).
pub const CUT: &str = "…";

const S_IFMT: u32 = 0o170000;

/// `path` joined to `base` when it is relative (and `base` is known), with
/// `.`, `..` and repeated slashes taken out as the kernel's lookup would
/// when no symlink is on the way. A relative path without a base stays
/// relative.
pub fn normalise(base: Option<&str>, path: &str) -> String {
    let joined;
    let full = match base {
        Some(b) if !path.starts_with('/') => {
            joined = format!("{b}/{path}");
            joined.as_str()
        }
        _ => path,
    };
    let absolute = full.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push(c);
                }
            }
            _ => parts.push(c),
        }
    }
    let body = parts.join("/");
    if absolute {
        format!("/{body}")
    } else if body.is_empty() {
        ".".to_owned()
    } else {
        body
    }
}

/// One kernel entry's path as the summary shows it: the path, what was
/// typed when that differs, whether it was cut.
fn resolved(
    k: &crate::bpf::types::ct_file_key,
    v: &crate::bpf::types::ct_file_val,
) -> (String, Option<String>, bool) {
    let flags = k.flags;
    let path = c_str(&k.path);
    let typed = c_str(&v.typed);
    let typed_cut = v.flags & pf::CT_PATH_TYPED_CUT.0 != 0;
    let typed_shown = (!typed.is_empty()).then(|| {
        if typed_cut {
            format!("{typed}{CUT}")
        } else {
            typed.clone()
        }
    });
    let cut = flags & pf::CT_PATH_CUT.0 != 0;
    let given_cut = flags & pf::CT_PATH_TYPED_CUT.0 != 0;
    if flags & pf::CT_PATH_REAL.0 != 0 {
        if flags & pf::CT_PATH_OUTSIDE.0 != 0 && path == "/" && !typed.is_empty() {
            // a pseudo file (a pipe, a socket): its name is all there is
            return (normalise(None, &typed), None, typed_cut);
        }
        let real = if cut { format!("{CUT}{path}") } else { path };
        let differs = typed_shown.is_some() && (typed_cut || normalise(None, &typed) != real);
        return (real, typed_shown.filter(|_| differs), cut);
    }
    if flags & pf::CT_PATH_BASE.0 != 0 {
        // the kernel joined the relative path to its directory
        let full = normalise(None, &path);
        let full = match (cut, typed_cut) {
            (true, _) => format!("{CUT}{full}"),
            (false, true) => format!("{full}{CUT}"),
            _ => full,
        };
        return (full, typed_shown, cut || typed_cut);
    }
    // as given: absolute, or relative to a directory not known
    let shown = normalise(None, &path);
    let differs = shown != path || given_cut;
    let shown = if given_cut {
        format!("{shown}{CUT}")
    } else {
        shown
    };
    let as_given = if given_cut {
        format!("{path}{CUT}")
    } else {
        path
    };
    (shown, differs.then_some(as_given), given_cut)
}

fn device(mode: u32, dev: u32) -> Device {
    let kind = match mode & S_IFMT {
        0o020000 => "char",
        0o060000 => "block",
        0o010000 => "fifo",
        0o140000 => "socket",
        0o100000 | 0 => "regular",
        _ => "other",
    };
    // old_decode_dev: what mknod(2)'s dev_t becomes in the kernel
    let (major, minor) = if dev & 0xffff_0000 == 0 {
        (dev >> 8 & 0xff, dev & 0xff)
    } else {
        ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00))
    };
    Device {
        kind: kind.to_owned(),
        mode: format!("{:04o}", mode & 0o7777),
        major,
        minor,
    }
}

/// The files, one entry per file (and, for links, per target), sorted by
/// path.
pub fn files(snap: &Snapshot) -> Vec<File> {
    let mut by_path: BTreeMap<(String, Option<String>), Merged> = BTreeMap::new();
    for (k, v) in &snap.files {
        let (path, typed, cut) = resolved(k, v);
        let target = (v.target[0] != 0).then(|| {
            let t = c_str(&v.target);
            if v.flags & pf::CT_PATH_TARGET_CUT.0 != 0 {
                format!("{t}{CUT}")
            } else {
                t
            }
        });
        let hex = if k.flags & (pf::CT_PATH_REAL.0 | pf::CT_PATH_BASE.0) == 0 {
            hex_unless_utf8(&c_bytes(&k.path))
        } else {
            None
        };
        let entry = File {
            relative: !path.starts_with('/') && !path.starts_with(CUT),
            path_hex: hex,
            path: path.clone(),
            typed: typed.into_iter().collect(),
            target: target.clone(),
            cut,
            access: file_kinds(v.kinds).into_iter().map(str::to_owned).collect(),
            failed_access: file_kinds(v.failed_kinds)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            device: (v.kinds & fk::CT_FILE_MKNOD.0 != 0).then(|| device(v.node_mode, v.node_dev)),
            count: v.count,
            failed: v.failed,
            last_error: (v.failed > 0).then(|| errno_name(v.last_errno)),
            first: rfc3339_of_boot_ns(v.first_ns),
            last: rfc3339_of_boot_ns(v.last_ns),
        };
        match by_path.entry((path, target)) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(Merged {
                    file: entry,
                    last_ns: v.last_ns,
                    kinds: v.kinds,
                    failed_kinds: v.failed_kinds,
                });
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                slot.get_mut().add(entry, v);
            }
        }
    }
    by_path.into_values().map(|m| m.file).collect()
}

/// Kernel entries that name one file (typed differently) as one entry.
struct Merged {
    file: File,
    last_ns: u64,
    kinds: u32,
    failed_kinds: u32,
}

impl Merged {
    fn add(&mut self, e: File, v: &crate::bpf::types::ct_file_val) {
        let m = &mut self.file;
        self.kinds |= v.kinds;
        self.failed_kinds |= v.failed_kinds;
        m.access = file_kinds(self.kinds)
            .into_iter()
            .map(str::to_owned)
            .collect();
        m.failed_access = file_kinds(self.failed_kinds)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for t in e.typed {
            if !m.typed.contains(&t) {
                m.typed.push(t);
            }
        }
        m.typed.sort();
        m.cut |= e.cut;
        m.count = m.count.saturating_add(e.count);
        m.failed = m.failed.saturating_add(e.failed);
        m.first = m.first.clone().min(e.first);
        let newer = v.last_ns > self.last_ns;
        if newer {
            self.last_ns = v.last_ns;
            m.last = e.last;
        }
        if e.last_error.is_some() && (newer || m.last_error.is_none()) {
            m.last_error = e.last_error;
        }
        if e.device.is_some() && (newer || m.device.is_none()) {
            m.device = e.device;
        }
        if m.path_hex.is_none() {
            m.path_hex = e.path_hex;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_the_way_a_lookup_without_symlinks_goes() {
        assert_eq!(normalise(None, "/etc/passwd"), "/etc/passwd");
        assert_eq!(normalise(None, "/././etc//passwd"), "/etc/passwd");
        assert_eq!(normalise(None, "/../../etc/./passwd"), "/etc/passwd");
        assert_eq!(normalise(Some("/tmp"), "relfile"), "/tmp/relfile");
        assert_eq!(normalise(Some("/tmp"), "./relfile2"), "/tmp/relfile2");
        assert_eq!(normalise(Some("/tmp"), "../etc/passwd"), "/etc/passwd");
        assert_eq!(normalise(Some("/"), "a/b/../c"), "/a/c");
        assert_eq!(normalise(Some("/tmp"), "/abs"), "/abs");
        assert_eq!(normalise(None, "rel/../.."), "..");
        assert_eq!(normalise(None, "a/./b"), "a/b");
        assert_eq!(normalise(None, "."), ".");
        assert_eq!(normalise(None, "/"), "/");
    }

    #[test]
    fn device_numbers_decode_as_mknod_encodes_them() {
        let d = device(0o020666, (1 << 8) | 3);
        assert_eq!(
            (d.kind.as_str(), d.mode.as_str(), d.major, d.minor),
            ("char", "0666", 1, 3)
        );
        let d = device(0o060600, (8 << 8) | 1);
        assert_eq!((d.kind.as_str(), d.major, d.minor), ("block", 8, 1));
        let d = device(0o010644, 0);
        assert_eq!((d.kind.as_str(), d.major, d.minor), ("fifo", 0, 0));
    }
}
