//! The OCI state the runtime writes on a hook's stdin
//! (runtime-spec `runtime.md#state`), validated field by field.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use oci_spec::runtime::State;

use crate::id::ContainerId;

/// State JSON larger than this is refused rather than read into memory.
const MAX_STATE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error("state JSON on stdin: {0}")]
    Read(String),
    #[error("state JSON: {0}")]
    Syntax(String),
    #[error("state JSON: field `{0}` is missing")]
    Missing(&'static str),
    #[error("state JSON: field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A field of the wrong type, by its path (`annotations.x`).
    #[error("state JSON: field `{field}`: {message}")]
    Field { field: String, message: String },
}

#[derive(Debug, Clone)]
pub struct HookState {
    pub id: ContainerId,
    /// `creating` (runc at prestart/createRuntime), `created`, `running`, `stopped`.
    pub status: String,
    /// The container's init process; absent or 0 once it has exited.
    pub pid: Option<i32>,
    pub bundle: PathBuf,
    pub annotations: BTreeMap<String, String>,
}

pub fn read_stdin() -> Result<HookState, StateError> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_STATE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| StateError::Read(e.to_string()))?;
    if text.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::Read("larger than 1 MiB".into()));
    }
    parse(&text)
}

pub fn parse(text: &str) -> Result<HookState, StateError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StateError::Syntax(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| StateError::Syntax("not a JSON object".into()))?;
    // oci-spec's State defaults every field; the spec requires these
    const REQUIRED: [&str; 4] = ["ociVersion", "id", "status", "bundle"];
    if let Some(field) = REQUIRED.into_iter().find(|f| !obj.contains_key(*f)) {
        return Err(StateError::Missing(field));
    }
    // serde_path_to_error: serde's own message does not say which field
    // ("invalid type: integer `5`, expected a string")
    let state: State = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let field = e.path().to_string();
        StateError::Field {
            field,
            message: e.into_inner().to_string(),
        }
    })?;
    let id = ContainerId::parse(state.id()).map_err(|e| StateError::Invalid {
        field: "id",
        message: e.to_string(),
    })?;
    let pid = match *state.pid() {
        Some(p) if p < 0 => {
            return Err(StateError::Invalid {
                field: "pid",
                message: format!("{p} is not a process id"),
            })
        }
        Some(0) | None => None,
        Some(p) => Some(p),
    };
    if !state.bundle().is_absolute() {
        return Err(StateError::Invalid {
            field: "bundle",
            message: format!("{} is not an absolute path", state.bundle().display()),
        });
    }
    Ok(HookState {
        id,
        status: obj
            .get("status")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned(),
        pid,
        bundle: state.bundle().clone(),
        annotations: state
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"ociVersion":"1.0.2","id":"c1","status":"created","pid":42,
        "bundle":"/run/b","annotations":{"io.ctraudit.enable":"true"}}"#;

    #[test]
    fn runc_state_parses() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.id.as_str(), "c1");
        assert_eq!(s.pid, Some(42));
        assert_eq!(s.bundle, PathBuf::from("/run/b"));
        assert_eq!(s.annotations["io.ctraudit.enable"], "true");
    }

    #[test]
    fn stopped_state_has_no_pid() {
        let s =
            parse(r#"{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"}"#).unwrap();
        assert_eq!(s.pid, None);
        assert!(s.annotations.is_empty());
    }

    #[test]
    fn bad_state_names_the_field() {
        let cases = [
            (
                r#"{"ociVersion":"1","status":"created","bundle":"/b"}"#,
                "state JSON: field `id` is missing",
            ),
            (
                r#"{"ociVersion":"1","id":"c","status":"created"}"#,
                "state JSON: field `bundle` is missing",
            ),
            (
                r#"{"ociVersion":"1","id":"../x","status":"created","bundle":"/b"}"#,
                "state JSON: field `id`: container id \"../x\": contains '/'",
            ),
            (
                r#"{"ociVersion":"1","id":"..","status":"created","bundle":"/b"}"#,
                "state JSON: field `id`: container id \"..\": contains '..'",
            ),
            (
                r#"{"ociVersion":"1","id":"c","status":"created","pid":-3,"bundle":"/b"}"#,
                "state JSON: field `pid`: -3 is not a process id",
            ),
            (
                r#"{"ociVersion":"1","id":"c","status":"created","bundle":"b"}"#,
                "state JSON: field `bundle`: b is not an absolute path",
            ),
            ("[1]", "state JSON: not a JSON object"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn malformed_json_is_one_line_with_position() {
        let e = parse("{\"id\": ").unwrap_err().to_string();
        assert_eq!(
            e,
            "state JSON: EOF while parsing a value at line 1 column 7"
        );
    }

    /// Any JSON, and JSON cut or spliced at any point: a parse never panics
    /// and every error is one line naming what is wrong.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                ".{0,12}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 24, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                    prop::collection::btree_map(
                        prop_oneof![
                            Just("ociVersion".to_owned()),
                            Just("id".to_owned()),
                            Just("status".to_owned()),
                            Just("pid".to_owned()),
                            Just("bundle".to_owned()),
                            Just("annotations".to_owned()),
                            ".{0,6}"
                        ],
                        inner,
                        0..7
                    )
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_json_gives_a_state_or_a_one_line_error(v in json()) {
                if let Err(e) = parse(&v.to_string()) {
                    let e = e.to_string();
                    prop_assert!(e.starts_with("state JSON"), "{}", e);
                    prop_assert!(!e.contains('\n'), "{}", e);
                }
            }

            #[test]
            fn a_good_state_cut_anywhere_is_a_one_line_error(cut in 0..GOOD.len()) {
                let e = parse(&GOOD[..cut]).unwrap_err().to_string();
                prop_assert!(!e.contains('\n'), "{}", e);
            }

            #[test]
            fn any_bytes_are_refused_cleanly(text in "\\PC{0,64}") {
                if let Err(e) = parse(&text) {
                    prop_assert!(!e.to_string().contains('\n'));
                }
            }
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        let cases = [
            (
                r#"{"ociVersion":"1","id":"c","status":"created","pid":"x","bundle":"/b"}"#,
                "state JSON: field `pid`: invalid type: string \"x\", expected i32",
            ),
            (
                r#"{"ociVersion":"1","id":5,"status":"created","bundle":"/b"}"#,
                "state JSON: field `id`: invalid type: integer `5`, expected a string",
            ),
            (
                r#"{"ociVersion":"1","id":"c","status":"created","bundle":"/b","annotations":{"a":1}}"#,
                "state JSON: field `annotations.a`: invalid type: integer `1`, expected a string",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }
}
