//! Who a container is, beyond its OCI id: the runtime that started it, and
//! its name and image where that runtime keeps them.
//!
//! Docker: the bundle's config.json carries Docker's `libnetwork-setkey`
//! prestart hook and lives in containerd's `moby` namespace; the name and
//! image are in `<data-root>/containers/<id>/config.v2.json`, written when
//! the container was created, before it starts. Kubernetes (CRI), Podman
//! and CRI-O leave annotations.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::config::Config;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub runtime: String,
    pub name: Option<String>,
    pub image: Option<String>,
    /// Kubernetes pod and namespace, when the runtime annotates them.
    pub pod: Option<String>,
    pub namespace: Option<String>,
    /// Why a name or image is missing, for the summary.
    pub notes: Vec<String>,
}

/// containerd keeps task bundles at `<state>/io.containerd.runtime.v2.task/<namespace>/<id>`.
fn containerd_namespace(bundle: &Path) -> Option<String> {
    let mut parts = bundle
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    parts.find(|p| p == "io.containerd.runtime.v2.task")?;
    parts.next()
}

fn is_docker(bundle: &Path, config: Option<&Value>) -> bool {
    let setkey = config
        .and_then(|c| c.pointer("/hooks/prestart"))
        .and_then(Value::as_array)
        .is_some_and(|hooks| {
            hooks
                .iter()
                .any(|h| h.pointer("/args/0").and_then(Value::as_str) == Some("libnetwork-setkey"))
        });
    setkey || containerd_namespace(bundle).as_deref() == Some("moby")
}

fn runtime_of(annotations: &BTreeMap<String, String>) -> &'static str {
    let has = |prefix: &str| annotations.keys().any(|k| k.starts_with(prefix));
    // the manager says who it is; Podman also sets io.kubernetes.cri-o.* keys
    match annotations.get("io.container.manager").map(String::as_str) {
        Some("libpod") => return "podman",
        Some("cri-o") => return "cri-o",
        _ => {}
    }
    if has("io.podman.") {
        "podman"
    } else if has("io.kubernetes.cri-o.") {
        "cri-o"
    } else if has("io.kubernetes.cri.") || has("io.containerd.") {
        "containerd"
    } else {
        "oci"
    }
}

/// The first of `keys` that is annotated: containerd's CRI plugin and CRI-O
/// (with the kubelet's labels) spell the same facts differently.
fn first(annotations: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| annotations.get(*k).cloned())
}

/// Name and image from Docker's config.v2.json.
pub fn docker_metadata(
    data_root: &Path,
    id: &str,
) -> Result<(Option<String>, Option<String>), String> {
    let path = data_root.join("containers").join(id).join("config.v2.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = v["Name"]
        .as_str()
        .map(|n| n.trim_start_matches('/').to_owned())
        .filter(|n| !n.is_empty());
    // the reference the user gave (busybox:latest), else the image id
    let image = v
        .pointer("/Config/Image")
        .and_then(Value::as_str)
        .filter(|i| !i.is_empty())
        .or_else(|| v["Image"].as_str())
        .map(str::to_owned);
    Ok((name, image))
}

pub fn detect(
    cfg: &Config,
    id: &str,
    bundle: &Path,
    config: Option<&Value>,
    annotations: &BTreeMap<String, String>,
) -> Identity {
    if is_docker(bundle, config) {
        return match docker_metadata(&cfg.docker.data_root, id) {
            Ok((name, image)) => Identity {
                runtime: "docker".into(),
                name,
                image,
                ..Default::default()
            },
            Err(e) => Identity {
                runtime: "docker".into(),
                notes: vec![format!(
                    "Docker name and image not read (docker.data_root in config.toml?): {e}"
                )],
                ..Default::default()
            },
        };
    }
    let runtime = match runtime_of(annotations) {
        "oci" if containerd_namespace(bundle).is_some() => "containerd",
        r => r,
    };
    let ann = |keys: &[&str]| first(annotations, keys);
    Identity {
        runtime: runtime.into(),
        name: ann(&[
            "io.kubernetes.cri.container-name",
            "io.kubernetes.container.name",
        ]),
        image: ann(&[
            "io.kubernetes.cri.image-name",
            "io.kubernetes.cri-o.ImageName",
        ]),
        pod: ann(&["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]),
        namespace: ann(&[
            "io.kubernetes.cri.sandbox-namespace",
            "io.kubernetes.pod.namespace",
        ]),
        notes: vec![],
    }
}

/// The `[exclude]` pattern a container matches, if any.
pub fn excluded_by(cfg: &Config, who: &Identity) -> Option<String> {
    let matches = |pats: &[String], value: &Option<String>| {
        let v = value.as_deref()?;
        pats.iter()
            .find(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(v)))
            .cloned()
    };
    if let Some(p) = matches(&cfg.exclude.names, &who.name) {
        return Some(format!(
            "name {:?} matches exclude.names {p:?}",
            who.name.as_deref().unwrap_or("")
        ));
    }
    matches(&cfg.exclude.images, &who.image).map(|p| {
        format!(
            "image {:?} matches exclude.images {p:?}",
            who.image.as_deref().unwrap_or("")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_is_recognised_and_its_metadata_read() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("containers/abc");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(
            c.join("config.v2.json"),
            r#"{"Name":"/web","Image":"sha256:1234","Config":{"Image":"busybox:latest"}}"#,
        )
        .unwrap();
        let mut cfg = Config::default();
        cfg.docker.data_root = dir.path().to_owned();
        let conf = json!({"hooks": {"prestart": [{"path": "/proc/1/exe", "args": ["libnetwork-setkey", "-exec-root=/x"]}]}});
        let who = detect(&cfg, "abc", Path::new("/b"), Some(&conf), &BTreeMap::new());
        assert_eq!(
            who,
            Identity {
                runtime: "docker".into(),
                name: Some("web".into()),
                image: Some("busybox:latest".into()),
                ..Default::default()
            }
        );
        // no metadata: recorded, not fatal
        let moby = "/run/containerd/io.containerd.runtime.v2.task/moby/zzz";
        let who = detect(&cfg, "zzz", Path::new(moby), None, &BTreeMap::new());
        assert_eq!(who.runtime, "docker");
        assert_eq!(who.name, None);
        assert!(
            who.notes[0].starts_with("Docker name and image not read"),
            "{:?}",
            who.notes
        );
    }

    #[test]
    fn cri_annotations_name_the_container() {
        let ann: BTreeMap<String, String> = [
            ("io.kubernetes.cri.container-name", "app"),
            ("io.kubernetes.cri.image-name", "nginx:1.25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let who = detect(&Config::default(), "x", Path::new("/b"), None, &ann);
        assert_eq!(
            (
                who.runtime.as_str(),
                who.name.as_deref(),
                who.image.as_deref()
            ),
            ("containerd", Some("app"), Some("nginx:1.25"))
        );
        assert_eq!(
            detect(
                &Config::default(),
                "x",
                Path::new("/b"),
                None,
                &BTreeMap::new()
            )
            .runtime,
            "oci"
        );
        let ctr = Path::new("/run/containerd/io.containerd.runtime.v2.task/default/x");
        assert_eq!(
            detect(&Config::default(), "x", ctr, None, &BTreeMap::new()).runtime,
            "containerd"
        );
    }

    #[test]
    fn podman_and_cri_o_are_told_apart() {
        let ann = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let podman = ann(&[
            ("io.container.manager", "libpod"),
            ("io.kubernetes.cri-o.TTY", "false"),
        ]);
        assert_eq!(
            detect(&Config::default(), "x", Path::new("/b"), None, &podman).runtime,
            "podman"
        );
        let crio = ann(&[
            ("io.container.manager", "cri-o"),
            ("io.kubernetes.pod.name", "web-0"),
            ("io.kubernetes.pod.namespace", "shop"),
            ("io.kubernetes.container.name", "nginx"),
        ]);
        let who = detect(&Config::default(), "x", Path::new("/b"), None, &crio);
        assert_eq!(
            (
                who.runtime.as_str(),
                who.pod.as_deref(),
                who.namespace.as_deref(),
                who.name.as_deref()
            ),
            ("cri-o", Some("web-0"), Some("shop"), Some("nginx"))
        );
    }

    #[test]
    fn exclusion_by_name_or_image_pattern() {
        let mut cfg = Config::default();
        cfg.exclude.names = vec!["*-debug".into()];
        cfg.exclude.images = vec!["registry.local/trusted/*".into()];
        let who = |name: &str, image: &str| Identity {
            runtime: "docker".into(),
            name: Some(name.into()),
            image: Some(image.into()),
            ..Default::default()
        };
        assert_eq!(
            excluded_by(&cfg, &who("web-debug", "busybox")),
            Some("name \"web-debug\" matches exclude.names \"*-debug\"".into())
        );
        assert_eq!(
            excluded_by(&cfg, &who("web", "registry.local/trusted/app:1")),
            Some("image \"registry.local/trusted/app:1\" matches exclude.images \"registry.local/trusted/*\"".into())
        );
        assert_eq!(excluded_by(&cfg, &who("web", "busybox")), None);
    }
}
