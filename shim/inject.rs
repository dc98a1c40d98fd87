//! Puts the ctraudit hooks into a bundle's `config.json`, shared by
//! `ctraudit-runc` and `containerd-shim-ctraudit-v2`.
//!
//! The wrapper never changes a byte of config.json that it does not own.
//! The file is edited by span (`sys::json`), never parsed into a tree and
//! printed again: every number, escape, space and field newer than this
//! code stays exactly as it was. What changes is the `hooks` member (added
//! when missing) and, inside it, only the stage lists ctraudit adds to.
//! Only entries that are ctraudit's own ([`is_ours`]) are replaced, which
//! makes injecting twice the same as injecting once.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::config::Stage;
use crate::sys::json::{self as sj, Container, Edits};

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json { path: PathBuf, source: sj::Error },
}

/// What to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSpec {
    /// The ctraudit binary the runtime runs.
    pub binary: PathBuf,
    /// The stage that registers the container.
    pub stage: Stage,
    /// Seconds the runtime gives each hook.
    pub timeout: u32,
    /// `--config <file>` for the hook, when the wrapper was given one.
    pub config: Option<PathBuf>,
    /// `CTRAUDIT_*` variables of the wrapper's environment, for the hook.
    pub env: Vec<String>,
}

fn utf8<'a>(field: &str, p: &'a Path) -> Result<&'a str, sj::Error> {
    p.to_str()
        .ok_or_else(|| sj::shape(field, format!("{}: path is not UTF-8", p.to_string_lossy())))
}

impl HookSpec {
    /// The hook entry for `stage`, as JSON text.
    fn entry(&self, stage: &str) -> Result<String, sj::Error> {
        let field = format!("hooks.{stage}");
        let config = match &self.config {
            Some(c) => Some(utf8(&field, c)?),
            None => None,
        };
        let mut e = Map::new();
        e.insert("path".into(), json!(utf8(&field, &self.binary)?));
        e.insert("args".into(), json!(hook_args(config, stage)));
        if !self.env.is_empty() {
            e.insert("env".into(), json!(self.env));
        }
        e.insert("timeout".into(), json!(self.timeout));
        Ok(Value::Object(e).to_string())
    }
}

/// Every stage a ctraudit hook may have been injected into.
const STAGES: [&str; 3] = ["prestart", "createRuntime", "poststop"];

/// The arguments of a ctraudit hook, `ctraudit [--config FILE] hook
/// STAGE`: what the wrappers inject and the hooks.d file runs.
pub fn hook_args(config: Option<&str>, stage: &str) -> Vec<String> {
    let mut args = vec!["ctraudit".to_owned()];
    if let Some(c) = config {
        args.extend(["--config".to_owned(), c.to_owned()]);
    }
    args.extend(["hook".to_owned(), stage.to_owned()]);
    args
}

/// Whether a hook (an entry of config.json's `hooks`, the `hook` of a
/// hooks.d file) is ctraudit's own: its args have [`hook_args`]' shape.
/// Anything else is someone else's, never replaced or removed.
pub fn is_ours(hook: &Value) -> bool {
    let args = hook.get("args").and_then(Value::as_array);
    let arg = |i: usize| args.and_then(|a| a.get(i)).and_then(Value::as_str);
    arg(0) == Some("ctraudit") && (arg(1) == Some("hook") || arg(3) == Some("hook"))
}

/// config.json text with the ctraudit hooks. Lists that held only
/// ctraudit's entries and get none now (the stage changed) are removed.
pub fn inject(text: &str, spec: &HookSpec) -> Result<String, sj::Error> {
    let root = Container::object(text, sj::document(text)?, "")
        .map_err(|_| sj::shape("", "not a JSON object"))?;
    // spec.stage's entry first, as runc runs a list in order
    let wanted = [
        (spec.stage.name(), spec.entry(spec.stage.name())?),
        ("poststop", spec.entry("poststop")?),
    ];
    let want = |stage: &str| wanted.iter().find(|(s, _)| *s == stage).map(|(_, e)| e);
    let new_hooks = || {
        let lists: Vec<String> = wanted
            .iter()
            .map(|(s, e)| format!("{}:[{e}]", sj::quote(s)))
            .collect();
        format!("{{{}}}", lists.join(","))
    };
    let mut edits = Edits::default();
    match root.member("hooks", "hooks")? {
        None => root.edit(text, |_| false, &[(Some("hooks"), new_hooks())], &mut edits),
        Some(h) if sj::is_null(text, &h.value) => edits.replace(h.value.clone(), new_hooks()),
        Some(h) => {
            let hooks = Container::object(text, h.value.clone(), "hooks")?;
            let mut gone = Vec::new();
            let mut added = Vec::new();
            for stage in STAGES {
                let field = format!("hooks.{stage}");
                let entry = want(stage);
                let Some(list) = hooks.member(stage, &field)? else {
                    if let Some(e) = entry {
                        added.push((Some(stage), format!("[{e}]")));
                    }
                    continue;
                };
                if sj::is_null(text, &list.value) {
                    if let Some(e) = entry {
                        edits.replace(list.value.clone(), format!("[{e}]"));
                    }
                    continue;
                }
                let list_c = Container::array(text, list.value.clone(), &field)?;
                let ours: Vec<usize> = list_c
                    .items()
                    .iter()
                    .filter(|i| {
                        serde_json::from_str::<Value>(&text[i.value.clone()])
                            .is_ok_and(|v| is_ours(&v))
                    })
                    .map(|i| i.start)
                    .collect();
                if entry.is_none() && !ours.is_empty() && ours.len() == list_c.items().len() {
                    gone.push(list.start);
                    continue;
                }
                let append: Vec<(Option<&str>, String)> =
                    entry.map(|e| (None, e.clone())).into_iter().collect();
                list_c.edit(text, |i| ours.contains(&i.start), &append, &mut edits);
            }
            // in `wanted`'s order, not STAGES'
            added.sort_by_key(|(s, _)| wanted.iter().position(|(w, _)| Some(*w) == *s));
            hooks.edit(text, |i| gone.contains(&i.start), &added, &mut edits);
        }
    }
    Ok(edits.apply(text))
}

/// A bundle's config.json with the hooks in, ready to replace the old one.
#[derive(Debug)]
pub struct Injected {
    dir: PathBuf,
    path: PathBuf,
    bytes: Vec<u8>,
    old: Metadata,
    changed: bool,
}

impl Injected {
    /// Whether the file must be written (it already has these hooks when not).
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Replaces the bundle's config.json (`sys::file::replace_in_dir`):
    /// a symlinked config.json becomes a regular file in the bundle and
    /// its target is never written.
    pub fn write(self) -> Result<(), InjectError> {
        if !self.changed {
            return Ok(());
        }
        crate::sys::file::replace_in_dir(&self.dir, "config.json", &self.bytes, &self.old).map_err(
            |source| InjectError::Io {
                path: self.path,
                source,
            },
        )
    }
}

/// Reads `<bundle>/config.json` (a regular file of at most
/// [`CONFIG_JSON_MAX`](crate::sys::json::CONFIG_JSON_MAX) bytes) and puts the hooks in; writes nothing.
pub fn prepare(bundle: &Path, spec: &HookSpec) -> Result<Injected, InjectError> {
    let path = bundle.join("config.json");
    let io = |source| InjectError::Io {
        path: path.clone(),
        source,
    };
    let (bytes, old) =
        crate::sys::file::read_regular(&path, crate::sys::json::CONFIG_JSON_MAX).map_err(io)?;
    let json = |source| InjectError::Json {
        path: path.clone(),
        source,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        json(sj::shape(
            "",
            format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        ))
    })?;
    let out = inject(text, spec).map_err(json)?;
    let changed = out.as_bytes() != bytes.as_slice();
    Ok(Injected {
        dir: bundle.to_owned(),
        path: path.clone(),
        bytes: out.into_bytes(),
        old,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HookSpec {
        HookSpec {
            binary: "/usr/bin/ctraudit".into(),
            stage: Stage::Prestart,
            timeout: 10,
            config: None,
            env: vec![],
        }
    }

    const PRE: &str =
        r#"{"path":"/usr/bin/ctraudit","args":["ctraudit","hook","prestart"],"timeout":10}"#;
    const POST: &str =
        r#"{"path":"/usr/bin/ctraudit","args":["ctraudit","hook","poststop"],"timeout":10}"#;

    fn inj(text: &str) -> String {
        inject(text, &spec()).unwrap()
    }

    #[test]
    fn unknown_fields_and_other_hooks_are_kept_in_order() {
        let c = r#"{"ociVersion":"1.0.2","zzz-future":{"x":[1,2]},"process":{"args":["sh"]},
                "hooks":{"prestart":[{"path":"/usr/bin/netns-hook","args":["netns-hook","up"]}],
                         "createContainer":[{"path":"/x"}]},
                "annotations":{"a":"b"}}"#;
        assert_eq!(
            inj(c),
            format!(
                r#"{{"ociVersion":"1.0.2","zzz-future":{{"x":[1,2]}},"process":{{"args":["sh"]}},
                "hooks":{{"prestart":[{{"path":"/usr/bin/netns-hook","args":["netns-hook","up"]}},{PRE}],
                         "createContainer":[{{"path":"/x"}}],
                         "poststop":[{POST}]}},
                "annotations":{{"a":"b"}}}}"#
            )
        );
    }

    /// The bytes outside the edited span, for numbers serde_json would
    /// print differently, escapes, odd whitespace and duplicate keys.
    #[test]
    fn every_byte_outside_hooks_stays() {
        let head = "\u{feff}"; // not JSON: refused below, not silently kept
        assert!(inject(&format!("{head}{{}}"), &spec()).is_err());
        let before = " {\r\n \"ociVersion\" :\t\"1.0.2\" ,\"process\":{\"oomScoreAdj\": -0,\n\"x\": 12345678901234567890123,\"y\":1E2,\"z\":-1.50e-7,\"s\":\"\\u00e9\\ud83d\\ude00\\/\"},\n \"annotations\":{\"a\":\"1\",\"a\":\"2\"}";
        let after = "\n}\n\n";
        let text = format!("{before}{after}");
        assert_eq!(
            inj(&text),
            format!("{before},\n \"hooks\":{{\"prestart\":[{PRE}],\"poststop\":[{POST}]}}{after}")
        );
        // an existing hooks member: only its inside changes
        let hooks_at = "{\"x-\\u0041\":[-0, 1E400],\"hooks\" : {\"poststop\" : [ ] } ,\"y\":-0}";
        assert_eq!(
            inj(hooks_at),
            format!("{{\"x-\\u0041\":[-0, 1E400],\"hooks\" : {{\"poststop\" : [{POST} ],\"prestart\" : [{PRE}] }} ,\"y\":-0}}")
        );
    }

    #[test]
    fn injecting_twice_equals_injecting_once() {
        let once = inj(r#"{"ociVersion":"1.0.2"}"#);
        assert_eq!(
            once,
            format!(
                r#"{{"ociVersion":"1.0.2","hooks":{{"prestart":[{PRE}],"poststop":[{POST}]}}}}"#
            )
        );
        assert_eq!(inj(&once), once);
        // switching the stage moves the entry rather than adding one
        let moved = inject(
            &once,
            &HookSpec {
                stage: Stage::CreateRuntime,
                ..spec()
            },
        )
        .unwrap();
        let v: Value = serde_json::from_str(&moved).unwrap();
        assert_eq!(
            v["hooks"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["poststop", "createRuntime"]
        );
        assert_eq!(
            moved,
            format!(
                r#"{{"ociVersion":"1.0.2","hooks":{{"poststop":[{POST}],"createRuntime":[{}]}}}}"#,
                PRE.replace("prestart", "createRuntime")
            )
        );
    }

    #[test]
    fn others_entries_beside_ours_stay_where_they_are() {
        let text = format!(
            "{{\"hooks\": {{\"prestart\": [\n  {{\"path\": \"/a\"}},\n  {PRE},\n  {{\"path\": \"/b\", \"timeout\": -0}}\n]}}}}"
        );
        // ours is taken out with its comma, the new one goes last
        assert_eq!(
            inj(&text),
            format!(
                "{{\"hooks\": {{\"prestart\": [\n  {{\"path\": \"/a\"}},\n  {{\"path\": \"/b\", \"timeout\": -0}},\n  {PRE}\n],\"poststop\": [{POST}]}}}}"
            )
        );
    }

    #[test]
    fn config_and_env_reach_the_hook() {
        let s = HookSpec {
            config: Some("/etc/ct/alt.toml".into()),
            env: vec!["CTRAUDIT_LOG_ROOT=/l".into()],
            ..spec()
        };
        let c = inject("{}", &s).unwrap();
        let v: Value = serde_json::from_str(&c).unwrap();
        assert_eq!(
            v["hooks"]["prestart"][0],
            json!({"path": "/usr/bin/ctraudit", "args": ["ctraudit", "--config", "/etc/ct/alt.toml", "hook", "prestart"],
                   "env": ["CTRAUDIT_LOG_ROOT=/l"], "timeout": 10})
        );
        // and are recognised as ours next time
        assert_eq!(inject(&c, &s).unwrap(), c);
    }

    #[test]
    fn the_operators_empty_lists_stay() {
        let c = r#"{"hooks": {"createContainer": [], "startContainer": []}}"#;
        assert_eq!(
            inj(c),
            format!(
                r#"{{"hooks": {{"createContainer": [], "startContainer": [], "prestart": [{PRE}], "poststop": [{POST}]}}}}"#
            )
        );
    }

    #[test]
    fn names_are_matched_as_runc_reads_them() {
        // Go's encoding/json takes "Hooks" and "PRESTART" for hooks.prestart
        let c = r#"{"Hooks":{"PRESTART":[{"path":"/a"}]}}"#;
        assert_eq!(
            inj(c),
            format!(r#"{{"Hooks":{{"PRESTART":[{{"path":"/a"}},{PRE}],"poststop":[{POST}]}}}}"#)
        );
        // two of them would be merged by runc: not guessed at
        for (c, field) in [
            (r#"{"hooks":{},"HOOKS":{}}"#, "hooks"),
            (
                r#"{"hooks":{"poststop":[],"postStop":[]}}"#,
                "hooks.poststop",
            ),
        ] {
            assert_eq!(
                inject(c, &spec()).unwrap_err().to_string(),
                format!("field `{field}`: appears 2 times (Go's JSON readers match names case-insensitively and merge them)")
            );
        }
    }

    #[test]
    fn non_utf8_paths_are_an_error_not_a_panic() {
        use std::os::unix::ffi::OsStringExt;
        let bad = PathBuf::from(std::ffi::OsString::from_vec(vec![b'/', 0xff]));
        let e = inject(
            "{}",
            &HookSpec {
                binary: bad,
                ..spec()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `hooks.prestart`: /\u{fffd}: path is not UTF-8"
        );
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let err = |c: &str| inject(c, &spec()).unwrap_err().to_string();
        assert_eq!(err("[1]"), "not a JSON object");
        assert_eq!(err(r#"{"hooks": 3}"#), "field `hooks`: not an object");
        assert_eq!(
            err(r#"{"hooks": {"poststop": {}}}"#),
            "field `hooks.poststop`: not an array"
        );
        assert_eq!(
            err("{\"a\":1,}"),
            "not valid JSON: key must be a string at line 1 column 8"
        );
        assert_eq!(
            inj(r#"{"hooks": null}"#),
            format!(r#"{{"hooks": {{"prestart":[{PRE}],"poststop":[{POST}]}}}}"#)
        );
        assert_eq!(
            inj(r#"{"hooks": {"poststop": null}}"#),
            format!(r#"{{"hooks": {{"poststop": [{POST}],"prestart": [{PRE}]}}}}"#)
        );
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn ws() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", "\r\n"]), 0..3)
                .prop_map(|v| v.concat())
        }

        /// Scalars serde_json would print differently, and escapes.
        fn scalar() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "-0",
                "0",
                "1E2",
                "-1.50e-7",
                "12345678901234567890123",
                "1E400",
                "true",
                "null",
                r#""\u00e9""#,
                r#""a\"b""#,
                r#""\ud83d\ude00\/""#,
            ])
            .prop_map(String::from)
        }

        fn key() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                r#""a""#,
                r#""process""#,
                r#""x\u0041""#,
                r#""""#,
                r#""annotations""#,
            ])
            .prop_map(String::from)
        }

        fn value() -> impl Strategy<Value = String> {
            scalar().prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec((ws(), inner.clone(), ws()), 0..4).prop_map(|v| {
                        let items: Vec<String> =
                            v.iter().map(|(a, b, c)| format!("{a}{b}{c}")).collect();
                        format!("[{}]", items.join(","))
                    }),
                    prop::collection::vec((ws(), key(), ws(), inner, ws()), 0..4).prop_map(|v| {
                        let items: Vec<String> = v
                            .iter()
                            .map(|(a, k, b, val, c)| format!("{a}{k}{b}:{val}{c}"))
                            .collect();
                        format!("{{{}}}", items.join(","))
                    }),
                ]
            })
        }

        /// A top-level object, and where in it a `"hooks"` member goes.
        fn config() -> impl Strategy<Value = (Vec<(String, String, String, String)>, usize)> {
            (
                prop::collection::vec((ws(), key(), ws(), value()), 0..5),
                0usize..6,
            )
                .prop_map(|(members, at)| {
                    let at = at.min(members.len());
                    (members, at)
                })
        }

        fn render(members: &[(String, String, String, String)]) -> String {
            let items: Vec<String> = members
                .iter()
                .map(|(a, k, b, v)| format!("{a}{k}:{b}{v}"))
                .collect();
            format!("{{{}}}", items.join(","))
        }

        /// The last entries of hooks.prestart and hooks.poststop, as text
        /// (serde_json's Value cannot hold 1E400).
        fn ours(out: &str) -> (String, String) {
            let root = Container::object(out, sj::document(out).unwrap(), "").unwrap();
            let hooks = root.member("hooks", "").unwrap().unwrap().value.clone();
            let hooks = Container::object(out, hooks, "").unwrap();
            let last = |stage: &str| {
                let list = hooks.member(stage, "").unwrap().unwrap().value.clone();
                let list = Container::array(out, list, "").unwrap();
                out[list.items().last().unwrap().value.clone()].to_owned()
            };
            (last("prestart"), last("poststop"))
        }

        fn expected() -> (String, String) {
            (PRE.to_owned(), POST.to_owned())
        }

        proptest! {
            #[test]
            fn without_hooks_the_input_survives_around_one_insertion((members, _) in config()) {
                let input = render(&members);
                let out = inj(&input);
                let prefix = input.bytes().zip(out.bytes()).take_while(|(a, b)| a == b).count();
                let suffix = input.bytes().rev().zip(out.bytes().rev()).take_while(|(a, b)| a == b).count();
                prop_assert!(prefix + suffix >= input.len(), "{input}\n{out}");
                prop_assert_eq!(ours(&out), expected());
                prop_assert_eq!(inj(&out), out);
            }

            #[test]
            fn with_hooks_only_the_hooks_value_changes(
                (mut members, at) in config(),
                others in prop::collection::vec(value(), 0..3),
                sp in ws(),
            ) {
                let hooks = format!(
                    "{{{sp}\"createContainer\":{sp}[{}],\"prestart\":[{}{sp}]{sp}}}",
                    others.join(","),
                    others.join(",")
                );
                members.insert(at, (sp.clone(), "\"hooks\"".into(), sp.clone(), hooks.clone()));
                let input = render(&members);
                let root = Container::object(&input, sj::document(&input).unwrap(), "").unwrap();
                let span = root.member("hooks", "hooks").unwrap().unwrap().value.clone();
                let out = inj(&input);
                prop_assert_eq!(&out[..span.start], &input[..span.start]);
                prop_assert!(out.ends_with(&input[span.end..]), "{input}\n{out}");
                prop_assert_eq!(ours(&out), expected());
                prop_assert_eq!(inj(&out), out);
            }
        }
    }
}
