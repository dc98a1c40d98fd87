//! What prestart learns about a container, kept in
//! `<run>/containers/<id>.json` for poststop (which gets no pid and, after
//! `runc delete`, no cgroup to look at). Written before the kernel
//! registration, so a hook killed half-way still leaves a trail; where the
//! container sits in the kernel tables is asked of the kernel itself
//! (`bpf::find_registration`), never of this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cgroup::Cgroup;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<crate::bpf::Attached>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupMeta {
    pub id: u64,
    pub path: String,
    pub level: u32,
}

impl From<&Cgroup> for CgroupMeta {
    fn from(c: &Cgroup) -> Self {
        CgroupMeta {
            id: c.id,
            path: c.path.clone(),
            level: c.level,
        }
    }
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
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
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

pub fn load(path: &Path) -> std::io::Result<Option<Meta>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
