//! Puts the ctraudit hooks into a bundle's `config.json`, shared by
//! `ctraudit-runc` and `containerd-shim-ctraudit-v2`.
//!
//! The file is edited as a JSON tree, never round-tripped through typed
//! structs: every field survives, including ones newer than this code and
//! hooks others put there. Only entries that are ctraudit's own
//! (`args[0] == "ctraudit"`, `args[1] == "hook"`) are replaced, which makes
//! injecting twice the same as injecting once.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::config::HookStage;

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: field `{field}`: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: &'static str,
    },
}

/// What to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSpec {
    /// The ctraudit binary the runtime runs.
    pub binary: PathBuf,
    /// The stage that registers the container.
    pub stage: HookStage,
    /// Seconds the runtime gives each hook.
    pub timeout: u32,
    /// `--config <file>` for the hook, when the wrapper was given one.
    pub config: Option<PathBuf>,
    /// `CTRAUDIT_*` variables of the wrapper's environment, for the hook.
    pub env: Vec<String>,
}

fn utf8(p: &Path) -> Result<&str, (String, &'static str)> {
    p.to_str()
        .ok_or_else(|| (p.to_string_lossy().into_owned(), "path is not UTF-8"))
}

impl HookSpec {
    fn entry(&self, stage: &str) -> Result<Value, (String, &'static str)> {
        let mut args = vec![json!("ctraudit")];
        if let Some(c) = &self.config {
            args.push(json!("--config"));
            args.push(json!(utf8(c)?));
        }
        args.extend([json!("hook"), json!(stage)]);
        let mut e = Map::new();
        e.insert("path".into(), json!(utf8(&self.binary)?));
        e.insert("args".into(), Value::Array(args));
        if !self.env.is_empty() {
            e.insert("env".into(), json!(self.env));
        }
        e.insert("timeout".into(), json!(self.timeout));
        Ok(Value::Object(e))
    }
}

/// Every stage a ctraudit hook may have been injected into.
const STAGES: [&str; 3] = ["prestart", "createRuntime", "poststop"];

fn is_ours(hook: &Value) -> bool {
    let args = hook.get("args").and_then(Value::as_array);
    let arg = |i: usize| args.and_then(|a| a.get(i)).and_then(Value::as_str);
    arg(0) == Some("ctraudit") && (arg(1) == Some("hook") || arg(3) == Some("hook"))
}

/// Adds the ctraudit hooks to a parsed config.json.
pub fn inject(config: &mut Value, spec: &HookSpec) -> Result<(), (String, &'static str)> {
    let root = config
        .as_object_mut()
        .ok_or_else(|| (String::new(), "not a JSON object"))?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    if hooks.is_null() {
        *hooks = Value::Object(Map::new());
    }
    let hooks = hooks
        .as_object_mut()
        .ok_or_else(|| ("hooks".to_owned(), "not an object"))?;
    let entries = [
        (spec.stage.name(), spec.entry(spec.stage.name())?),
        ("poststop", spec.entry("poststop")?),
    ];
    // lists that held only ctraudit's entries: emptied here, then gone
    // unless they get an entry again below
    let mut emptied = Vec::new();
    for stage in STAGES {
        if let Some(list) = hooks.get_mut(stage) {
            if list.is_null() {
                continue;
            }
            let list = list
                .as_array_mut()
                .ok_or_else(|| (format!("hooks.{stage}"), "not an array"))?;
            let before = list.len();
            list.retain(|h| !is_ours(h));
            if before > 0 && list.is_empty() {
                emptied.push(stage);
            }
        }
    }
    for (stage, entry) in entries {
        let list = hooks
            .entry(stage)
            .or_insert_with(|| Value::Array(Vec::new()));
        if list.is_null() {
            *list = Value::Array(Vec::new());
        }
        if let Some(list) = list.as_array_mut() {
            list.push(entry);
        }
    }
    for stage in emptied {
        if hooks
            .get(stage)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            hooks.shift_remove(stage);
        }
    }
    Ok(())
}

/// Injects into `<bundle>/config.json`, rewritten atomically with its mode.
pub fn inject_bundle(bundle: &Path, spec: &HookSpec) -> Result<(), InjectError> {
    let path = bundle.join("config.json");
    let io = |source| InjectError::Io {
        path: path.clone(),
        source,
    };
    let text = std::fs::read(&path).map_err(io)?;
    let mut config: Value = serde_json::from_slice(&text).map_err(|source| InjectError::Json {
        path: path.clone(),
        source,
    })?;
    inject(&mut config, spec).map_err(|(field, message)| InjectError::Field {
        path: path.clone(),
        field,
        message,
    })?;
    let out = serde_json::to_vec(&config).map_err(|source| InjectError::Json {
        path: path.clone(),
        source,
    })?;
    crate::hook::replace_file(&path, &out, crate::hook::Persist::Volatile).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HookSpec {
        HookSpec {
            binary: "/usr/bin/ctraudit".into(),
            stage: HookStage::Prestart,
            timeout: 10,
            config: None,
            env: vec![],
        }
    }

    #[test]
    fn unknown_fields_and_other_hooks_are_kept_in_order() {
        let mut c: Value = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","zzz-future":{"x":[1,2]},"process":{"args":["sh"]},
                "hooks":{"prestart":[{"path":"/usr/bin/netns-hook","args":["netns-hook","up"]}],
                         "createContainer":[{"path":"/x"}]},
                "annotations":{"a":"b"}}"#,
        )
        .unwrap();
        inject(&mut c, &spec()).unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"ociVersion":"1.0.2","zzz-future":{"x":[1,2]},"process":{"args":["sh"]},"hooks":{"prestart":[{"path":"/usr/bin/netns-hook","args":["netns-hook","up"]},{"path":"/usr/bin/ctraudit","args":["ctraudit","hook","prestart"],"timeout":10}],"createContainer":[{"path":"/x"}],"poststop":[{"path":"/usr/bin/ctraudit","args":["ctraudit","hook","poststop"],"timeout":10}]},"annotations":{"a":"b"}}"#
        );
    }

    #[test]
    fn injecting_twice_equals_injecting_once() {
        let mut once: Value = serde_json::from_str(r#"{"ociVersion":"1.0.2"}"#).unwrap();
        inject(&mut once, &spec()).unwrap();
        let mut twice = once.clone();
        inject(&mut twice, &spec()).unwrap();
        assert_eq!(once, twice);
        // switching the stage moves the entry rather than adding one
        let mut moved = once.clone();
        inject(
            &mut moved,
            &HookSpec {
                stage: HookStage::CreateRuntime,
                ..spec()
            },
        )
        .unwrap();
        assert_eq!(
            moved["hooks"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["poststop", "createRuntime"]
        );
    }

    #[test]
    fn config_and_env_reach_the_hook() {
        let mut c = json!({});
        let s = HookSpec {
            config: Some("/etc/ct/alt.toml".into()),
            env: vec!["CTRAUDIT_LOG_ROOT=/l".into()],
            ..spec()
        };
        inject(&mut c, &s).unwrap();
        assert_eq!(
            c["hooks"]["prestart"][0],
            json!({"path": "/usr/bin/ctraudit", "args": ["ctraudit", "--config", "/etc/ct/alt.toml", "hook", "prestart"],
                   "env": ["CTRAUDIT_LOG_ROOT=/l"], "timeout": 10})
        );
        // and are recognised as ours next time
        inject(&mut c, &s).unwrap();
        assert_eq!(c["hooks"]["prestart"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_operators_empty_lists_stay() {
        let mut c = json!({"hooks": {"createContainer": [], "startContainer": []}});
        inject(&mut c, &spec()).unwrap();
        assert_eq!(c["hooks"]["createContainer"], json!([]));
        assert_eq!(c["hooks"]["startContainer"], json!([]));
    }

    #[test]
    fn non_utf8_paths_are_an_error_not_a_panic() {
        use std::os::unix::ffi::OsStringExt;
        let bad = PathBuf::from(std::ffi::OsString::from_vec(vec![b'/', 0xff]));
        let e = inject(
            &mut json!({}),
            &HookSpec {
                binary: bad,
                ..spec()
            },
        )
        .unwrap_err();
        assert_eq!(e.1, "path is not UTF-8");
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        assert_eq!(
            inject(&mut json!([1]), &spec()).unwrap_err(),
            (String::new(), "not a JSON object")
        );
        assert_eq!(
            inject(&mut json!({"hooks": 3}), &spec()).unwrap_err(),
            ("hooks".into(), "not an object")
        );
        assert_eq!(
            inject(&mut json!({"hooks": {"poststop": {}}}), &spec()).unwrap_err(),
            ("hooks.poststop".into(), "not an array")
        );
        let mut null_hooks = json!({"hooks": null});
        inject(&mut null_hooks, &spec()).unwrap();
        assert_eq!(null_hooks["hooks"]["poststop"].as_array().unwrap().len(), 1);
    }
}
