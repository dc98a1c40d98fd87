//! What prestart learns about a container, kept in
//! `<run>/containers/<id>.json` for poststop (which gets no pid and, after
//! `runc delete`, no cgroup to look at). Written before the kernel
//! registration, so a hook killed half-way still leaves a trail; where the
//! container sits in the kernel tables is asked of the kernel itself
//! (`bpf::find_registration`), never of this file.
//!
//! Fields this build does not know (a newer release wrote the file) are
//! kept, not refused: the file is still this container's, and refusing it
//! would leave the container to nobody.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub id: String,
    /// docker, containerd, cri-o, podman, or oci (a plain OCI runtime).
    pub runtime: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    pub abi: u32,
    /// The hook stage that registered it: prestart or createRuntime.
    pub stage: String,
    pub pid: i32,
    pub cgroup: CgroupMeta,
    /// Inode of the container's mount namespace.
    pub mnt_ns: u32,
    pub bundle: PathBuf,
    pub hostname: Option<String>,
    pub args: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    pub registered_at: String,
    pub registered_boot_ns: u64,
    /// Problems met at prestart that did not stop the audit.
    pub notes: Vec<String>,
    /// The global programs as attached when the container was registered
    /// (absent in the meta of ABI 1 containers).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "known_fields_of_programs"
    )]
    pub programs: Vec<crate::bpf::Attached>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupMeta {
    pub id: u64,
    pub path: String,
    pub level: u32,
}

/// What the bundle's config.json says about the workload: process args and
/// hostname. The bundle belongs to the runtime; it is only read.
pub struct BundleInfo {
    pub args: Vec<String>,
    pub hostname: Option<String>,
    /// The whole config.json, for runtime detection.
    pub config: Option<serde_json::Value>,
}

pub fn read_bundle(bundle: &Path) -> Result<BundleInfo, String> {
    let path = bundle.join("config.json");
    // the same bound as the wrappers', and never a FIFO or a device
    let (bytes, _) = crate::sys::file::read_regular(&path, crate::sys::json::CONFIG_JSON_MAX)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let args = match v.pointer("/process/args") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str().map(str::to_owned).ok_or_else(|| {
                    format!("{}: field `process.args`: not all strings", path.display())
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "{}: field `process.args`: not an array",
                path.display()
            ))
        }
    };
    Ok(BundleInfo {
        args,
        hostname: v
            .get("hostname")
            .and_then(|h| h.as_str())
            .map(str::to_owned),
        config: Some(v),
    })
}

/// `Attached` refuses fields it does not know; a newer release's entry is
/// read for the fields this build knows (the rest is named by
/// [`MetaFile::not_understood`]).
fn known_fields_of_programs<'de, D>(de: D) -> Result<Vec<crate::bpf::Attached>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    const KNOWN: &[&str] = &["program", "link_id", "prog_id", "misses"];
    let entries = Vec::<serde_json::Map<String, Value>>::deserialize(de)?;
    entries
        .into_iter()
        .map(|mut e| {
            e.retain(|k, _| KNOWN.contains(&k.as_str()));
            serde_json::from_value(Value::Object(e)).map_err(serde::de::Error::custom)
        })
        .collect()
}

/// A meta file as it is on disk: prestart's [`Meta`], and whatever a newer
/// release added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    #[serde(flatten)]
    pub meta: Meta,
    /// Fields this build does not know, kept as they are when the file is
    /// written again.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
    /// Every field of the file this build did not read (nested ones too),
    /// as dotted paths: what a newer release meant that this one cannot
    /// act on. Filled by [`load`].
    #[serde(skip)]
    pub not_understood: Vec<String>,
}

impl MetaFile {
    /// A summary note naming what this build could not act on, if any.
    pub fn understood_note(&self) -> Option<String> {
        (!self.not_understood.is_empty()).then(|| {
            format!(
                "the meta file has fields this ctraudit does not know (written by a newer release?): {}",
                self.not_understood.join(", ")
            )
        })
    }

    /// The fields of `original` (the file as JSON) that this build did not
    /// read.
    fn unread_fields(&self, original: &Value) -> Vec<String> {
        let understood = serde_json::to_value(MetaFile {
            unknown: BTreeMap::new(),
            ..self.clone()
        })
        .unwrap_or(Value::Null);
        let mut out = Vec::new();
        unread(original, &understood, "", &mut out);
        out
    }
}

fn unread(original: &Value, understood: &Value, at: &str, out: &mut Vec<String>) {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (original, understood) {
        (Value::Object(o), Value::Object(u)) => {
            for (k, v) in o {
                match u.get(k) {
                    Some(uv) => unread(v, uv, &join(k), out),
                    // left out on writing because empty: read all the same
                    None if is_empty(v) => {}
                    None => out.push(join(k)),
                }
            }
        }
        (Value::Array(o), Value::Array(u)) => {
            for (i, (v, uv)) in o.iter().zip(u).enumerate() {
                unread(v, uv, &join(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a regular file ({kind})")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: larger than {max} bytes: not a meta file ctraudit wrote")]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{path}: {}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        field: Option<String>,
        message: String,
    },
}

/// A meta file holds a container's annotations, which Kubernetes bounds at
/// 256 KiB; far more than that is not a file prestart wrote.
const MAX_META_BYTES: u64 = 4 << 20;

/// Reads a meta file; `None` when there is none. Only a regular file is
/// read: never through a symbolic link (out of ctraudit's directory), and
/// never a FIFO, which would block the reader.
pub fn load(path: &Path) -> Result<Option<MetaFile>, MetaError> {
    let io = |source| MetaError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(MetaError::NotAFile {
                path: path.to_owned(),
                kind: "a symbolic link",
            })
        }
        Err(e) => return Err(io(e)),
    };
    if let Some(kind) = crate::sys::file::not_regular(&file.metadata().map_err(io)?) {
        return Err(MetaError::NotAFile {
            path: path.to_owned(),
            kind,
        });
    }
    let bytes = crate::sys::file::read_bounded(&file, MAX_META_BYTES)
        .map_err(io)?
        .ok_or_else(|| MetaError::TooLarge {
            path: path.to_owned(),
            max: MAX_META_BYTES,
        })?;
    parse(path, &bytes).map(Some)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<MetaFile, MetaError> {
    let err = |field: Option<String>, message: String| MetaError::Parse {
        path: path.to_owned(),
        field,
        message,
    };
    let original: Value = serde_json::from_slice(bytes).map_err(|e| err(None, e.to_string()))?;
    // each part on its own, so that an error names its field (serde
    // loses the path inside a flattened struct)
    let at = |prefix: &str, e: serde_path_to_error::Error<serde_json::Error>| {
        let field = e.path().to_string();
        let field = match (prefix, field.as_str()) {
            ("", ".") => None,
            (p, ".") => Some(p.to_owned()),
            ("", f) => Some(f.to_owned()),
            (p, f) => Some(format!("{p}.{f}")),
        };
        err(field, e.into_inner().to_string())
    };
    serde_path_to_error::deserialize::<_, Meta>(&original).map_err(|e| at("", e))?;
    let mut m = MetaFile::deserialize(&original).map_err(|e| err(None, e.to_string()))?;
    m.not_understood = m.unread_fields(&original);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            id: "c1".into(),
            runtime: "oci".into(),
            name: None,
            image: None,
            pod: None,
            namespace: None,
            abi: 2,
            stage: "prestart".into(),
            pid: 42,
            cgroup: CgroupMeta {
                id: 99,
                path: "/c1".into(),
                level: 1,
            },
            mnt_ns: 4026532000,
            bundle: "/b".into(),
            hostname: None,
            args: vec!["sh".into()],
            annotations: BTreeMap::new(),
            registered_at: "2026-01-01T00:00:00.000Z".into(),
            registered_boot_ns: 1_000_000_000,
            notes: vec![],
            programs: vec![crate::bpf::Attached {
                program: "ct_exec".into(),
                link_id: 3,
                prog_id: 4,
                misses: 0,
            }],
        }
    }

    fn write(dir: &Path, v: &Value) -> PathBuf {
        let p = dir.join("c1.json");
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    }

    #[test]
    fn what_prestart_writes_loads_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), &serde_json::to_value(meta()).unwrap());
        let f = load(&p).unwrap().unwrap();
        assert_eq!(
            (f.meta, f.unknown, f.not_understood),
            (meta(), BTreeMap::new(), Vec::<String>::new())
        );
        assert!(load(&dir.path().join("none.json")).unwrap().is_none());
    }

    #[test]
    fn fields_of_a_newer_release_are_read_past_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = serde_json::to_value(meta()).unwrap();
        v["sandbox"] = serde_json::json!({"kind": "kata"});
        v["cgroup"]["driver"] = "systemd".into();
        v["programs"][0]["run_time_ns"] = 5.into();
        let p = write(dir.path(), &v);
        let f = load(&p).unwrap().unwrap();
        assert_eq!(f.meta, meta());
        assert_eq!(
            f.not_understood,
            ["cgroup.driver", "programs.0.run_time_ns", "sandbox"]
        );
        // written again, the top-level field a newer release needs is kept
        let again = serde_json::to_value(&f).unwrap();
        assert_eq!(again["sandbox"], serde_json::json!({"kind": "kata"}));
    }

    #[test]
    fn only_a_regular_file_is_read_and_errors_name_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sub = d.join("x.json");
        std::fs::create_dir(&sub).unwrap();
        assert_eq!(
            load(&sub).unwrap_err().to_string(),
            format!("{}: not a regular file (a directory)", sub.display())
        );
        let link = d.join("l.json");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        assert_eq!(
            load(&link).unwrap_err().to_string(),
            format!("{}: not a regular file (a symbolic link)", link.display())
        );
        let fifo = d.join("f.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(
            load(&fifo).unwrap_err().to_string(),
            format!("{}: not a regular file (a FIFO)", fifo.display())
        );
        let mut v = serde_json::to_value(meta()).unwrap();
        v["cgroup"]["id"] = "ninety-nine".into();
        let p = write(d, &v);
        assert_eq!(
            load(&p).unwrap_err().to_string(),
            format!(
                "{}: field `cgroup.id`: invalid type: string \"ninety-nine\", expected u64",
                p.display()
            )
        );
        std::fs::write(&p, b"{\"id\": ").unwrap();
        assert!(load(&p)
            .unwrap_err()
            .to_string()
            .starts_with(&format!("{}: EOF while parsing", p.display())));
    }
}
