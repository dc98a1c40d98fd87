//! Which summary a target names, tried in `docker`'s order (its daemon's
//! `GetContainer`): a path; a full container id; a container name (the
//! summary's `container.name`, with or without Docker's leading `/`); a
//! unique id prefix. A container audited now (a meta file under the run
//! root) is found by its id, name and prefix as a stopped one is, and
//! before it: what runs now is the latest of its id.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{read, ReportError, Result};
use crate::config::Layout;
use crate::id::ContainerId;
use crate::summary::SCHEMA;

/// The most entries of the log root looked through for a name or a prefix:
/// each is a directory name, and for a name its summary is read too, one
/// at a time and within the cap, so a lookup costs at most this many reads.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// A path the operator gave.
    Named(PathBuf),
    /// `<log>/<id>/summary.json`.
    Logged(ContainerId),
    /// A container audited now: its live maps.
    Live(ContainerId),
}

/// A container audited now: its id and name (crate::live).
pub type Running = (ContainerId, Option<String>);

fn plain(name: &str) -> &str {
    name.strip_prefix('/').unwrap_or(name)
}

pub fn find(layout: &Layout, target: &str, cap: u64, live: &[Running]) -> Result<Source> {
    if target.is_empty() {
        return Err(ReportError::Empty);
    }
    let log = layout.log_root();
    let source = |id: ContainerId| {
        if live.iter().any(|(l, _)| *l == id) {
            Source::Live(id)
        } else {
            Source::Logged(id)
        }
    };
    let live_named = |name: &str| -> Vec<ContainerId> {
        live.iter()
            .filter(|(_, n)| n.as_deref().map(plain) == Some(plain(name)))
            .map(|(id, _)| id.clone())
            .collect()
    };
    // "/web" is a Docker name, unless it is a file; any other target with
    // a '/' is a path
    if let Some(name) = docker_name(target) {
        if std::fs::symlink_metadata(target).is_ok() {
            return Ok(Source::Named(target.into()));
        }
        match live_named(name).as_slice() {
            [id] => return Ok(Source::Live(id.clone())),
            [] => {}
            many => return Err(ambiguous(target, log, "name", many)),
        }
        let ids = entries(log, !live.is_empty())?;
        let (named, unreadable) = by_name(layout, &ids, name, cap);
        return match named.as_slice() {
            [id] => Ok(source(id.clone())),
            [] => Err(ReportError::NoName {
                target: target.into(),
                name: name.into(),
                log: log.into(),
                unreadable,
            }),
            _ => Err(ambiguous(target, log, "name", &named)),
        };
    }
    if target.contains('/') {
        return Ok(Source::Named(target.into()));
    }
    if let Ok(id) = ContainerId::parse(target) {
        if live.iter().any(|(l, _)| *l == id) {
            return Ok(Source::Live(id));
        }
        if std::fs::symlink_metadata(layout.log_dir(&id)).is_ok() {
            return Ok(Source::Logged(id));
        }
    }
    match live_named(target).as_slice() {
        [id] => return Ok(Source::Live(id.clone())),
        [] => {}
        many => return Err(ambiguous(target, log, "name", many)),
    }
    let ids = entries(log, !live.is_empty())?;
    let (named, unreadable) = by_name(layout, &ids, target, cap);
    match named.as_slice() {
        [id] => return Ok(source(id.clone())),
        [] => {}
        _ => return Err(ambiguous(target, log, "name", &named)),
    }
    let mut prefixed: Vec<ContainerId> = ids
        .into_iter()
        .chain(live.iter().map(|(id, _)| id.clone()))
        .filter(|id| id.as_str().starts_with(target))
        .collect();
    prefixed.sort();
    prefixed.dedup();
    match prefixed.as_slice() {
        [id] => Ok(source(id.clone())),
        [] => Err(ReportError::NoMatch {
            target: target.into(),
            log: log.into(),
            unreadable,
            file_here: Path::new(target).is_file(),
        }),
        _ => Err(ambiguous(target, log, "id prefix", &prefixed)),
    }
}

/// `/NAME` with no other `/`: how Docker writes a container's name.
fn docker_name(target: &str) -> Option<&str> {
    target
        .strip_prefix('/')
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

fn ambiguous(target: &str, log: &Path, what: &'static str, ids: &[ContainerId]) -> ReportError {
    ReportError::Ambiguous {
        target: target.into(),
        log: log.into(),
        what,
        ids: ids.iter().map(|id| id.as_str().to_owned()).collect(),
    }
}

/// The containers under the log root: directories (not links to one) whose
/// name is a valid container id, sorted.
/// With containers audited now (`live`), a log root not made yet holds no
/// container, and is no error.
fn entries(log: &Path, live: bool) -> Result<Vec<ContainerId>> {
    let root_err = |error| ReportError::LogRoot {
        log: log.into(),
        error,
    };
    let dir = match std::fs::read_dir(log) {
        Ok(dir) => dir,
        Err(e) if live && e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(root_err(e)),
    };
    let mut ids = Vec::new();
    for (n, entry) in dir.enumerate() {
        if n == MAX_ENTRIES {
            return Err(ReportError::TooMany {
                log: log.into(),
                limit: MAX_ENTRIES,
            });
        }
        let entry = entry.map_err(root_err)?;
        // file_type() is the entry's own type: a link is not a directory
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let id = entry
            .file_name()
            .to_str()
            .and_then(|n| ContainerId::parse(n).ok());
        if let (true, Some(id)) = (is_dir, id) {
            ids.push(id);
        }
    }
    ids.sort();
    Ok(ids)
}

/// Just what a name lookup needs of a summary.
#[derive(Deserialize)]
struct Head {
    schema: Option<String>,
    container: Option<HeadContainer>,
}

#[derive(Deserialize)]
struct HeadContainer {
    name: Option<String>,
}

/// The containers whose summary gives `name` (Docker's leading `/` or not),
/// and how many summaries could not be read to tell. A directory without
/// a summary (yet) is no container to name.
fn by_name(
    layout: &Layout,
    ids: &[ContainerId],
    name: &str,
    cap: u64,
) -> (Vec<ContainerId>, usize) {
    let name = plain(name);
    let mut found = Vec::new();
    let mut unreadable = 0;
    for id in ids {
        let raw = match read::logged(layout, id, cap) {
            Ok(raw) => raw,
            Err(ReportError::Read { error, .. })
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                continue
            }
            Err(_) => {
                unreadable += 1;
                continue;
            }
        };
        match serde_json::from_slice::<Head>(&raw) {
            Ok(Head {
                schema: Some(schema),
                container: Some(HeadContainer { name: Some(n) }),
            }) if schema == SCHEMA => {
                if plain(&n) == name {
                    found.push(id.clone());
                }
            }
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    }
    (found, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Roots {
        _dir: tempfile::TempDir,
        layout: Layout,
        live: Vec<Running>,
    }

    impl Roots {
        fn new() -> Roots {
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("log");
            std::fs::create_dir(&log).unwrap();
            let layout = Layout::new(&dir.path().join("bpf"), &dir.path().join("run"), &log);
            Roots {
                _dir: dir,
                layout,
                live: Vec::new(),
            }
        }

        fn summary(&self, id: &str, name: Option<&str>) {
            let id = ContainerId::parse(id).unwrap();
            std::fs::create_dir_all(self.layout.log_dir(&id)).unwrap();
            let doc = serde_json::json!({"schema": SCHEMA, "container": {"id": id.as_str(), "name": name}});
            std::fs::write(self.layout.summary_file(&id), doc.to_string()).unwrap();
        }

        fn find(&self, target: &str) -> Result<Source> {
            find(&self.layout, target, 1 << 20, &self.live)
        }

        fn err(&self, target: &str) -> String {
            self.find(target).unwrap_err().to_string()
        }

        fn log(&self) -> String {
            self.layout.log_root().display().to_string()
        }
    }

    fn logged(id: &str) -> Source {
        Source::Logged(ContainerId::parse(id).unwrap())
    }

    #[test]
    fn an_id_a_name_or_a_unique_prefix_names_one_container() {
        let r = Roots::new();
        r.summary("4f1c0b6c2d8e", Some("web"));
        r.summary("4f1d99", Some("db"));
        r.summary("77aa", None);
        assert_eq!(r.find("4f1c0b6c2d8e").unwrap(), logged("4f1c0b6c2d8e"));
        assert_eq!(r.find("4f1c").unwrap(), logged("4f1c0b6c2d8e"));
        assert_eq!(r.find("7").unwrap(), logged("77aa"));
        assert_eq!(r.find("web").unwrap(), logged("4f1c0b6c2d8e"));
        assert_eq!(r.find("/db").unwrap(), logged("4f1d99"));
    }

    fn live(id: &str) -> Source {
        Source::Live(ContainerId::parse(id).unwrap())
    }

    #[test]
    fn a_running_container_is_found_by_id_name_and_prefix_before_a_stopped_one() {
        let mut r = Roots::new();
        r.summary("4f1c0b6c2d8e", Some("web"));
        r.summary("77aa", Some("old"));
        r.live = vec![
            (
                ContainerId::parse("4f1c0b6c2d8e").unwrap(),
                Some("/web".into()),
            ),
            (ContainerId::parse("9b2e").unwrap(), Some("api".into())),
        ];
        // an id that ran before and runs again: the running one
        assert_eq!(r.find("4f1c0b6c2d8e").unwrap(), live("4f1c0b6c2d8e"));
        assert_eq!(r.find("web").unwrap(), live("4f1c0b6c2d8e"));
        assert_eq!(r.find("/web").unwrap(), live("4f1c0b6c2d8e"));
        // no summary yet: by name, id and prefix all the same
        assert_eq!(r.find("api").unwrap(), live("9b2e"));
        assert_eq!(r.find("9b2e").unwrap(), live("9b2e"));
        assert_eq!(r.find("9b").unwrap(), live("9b2e"));
        assert_eq!(r.find("77").unwrap(), logged("77aa"));
        // a prefix of a running and a stopped container is ambiguous
        r.live.push((ContainerId::parse("77bb").unwrap(), None));
        assert!(r
            .err("77")
            .contains("the id prefix of 2 containers: 77aa, 77bb"));
        // two running containers of one name
        r.live
            .push((ContainerId::parse("cc").unwrap(), Some("api".into())));
        assert!(r.err("api").contains("the name of 2 containers: 9b2e, cc"));
        // with containers running, a log root not made yet is no error
        std::fs::remove_dir_all(r.layout.log_root()).unwrap();
        assert_eq!(r.find("9b").unwrap(), live("9b2e"));
    }

    #[test]
    fn a_name_wins_over_a_prefix_and_a_full_id_over_a_name_as_in_docker() {
        let r = Roots::new();
        r.summary("abc123", None);
        r.summary("ffff", Some("abc"));
        r.summary("abc", Some("zzz"));
        r.summary("eeee", Some("abc123"));
        r.summary("dddd", Some("abc12"));
        assert!(r
            .err("ab")
            .contains("the id prefix of 2 containers: abc, abc123"));
        assert_eq!(r.find("abc1").unwrap(), logged("abc123"));
        assert_eq!(r.find("abc12").unwrap(), logged("dddd"), "name over prefix");
        assert_eq!(r.find("abc").unwrap(), logged("abc"), "id over name");
        assert_eq!(r.find("abc123").unwrap(), logged("abc123"), "id over name");
        assert_eq!(r.find("zzz").unwrap(), logged("abc"));
    }

    #[test]
    fn a_target_with_a_slash_is_a_path_unless_it_is_a_docker_name_and_no_file() {
        let r = Roots::new();
        r.summary("c1", Some("tmp"));
        r.summary("c2", Some("web"));
        assert_eq!(
            r.find("./s.json").unwrap(),
            Source::Named("./s.json".into())
        );
        assert_eq!(r.find("/tmp").unwrap(), Source::Named("/tmp".into()));
        assert_eq!(r.find("/web").unwrap(), logged("c2"));
        assert_eq!(
            r.err("/nothing-by-this-name"),
            format!(
                "no container named nothing-by-this-name under {}, and no file /nothing-by-this-name",
                r.log()
            )
        );
    }

    #[test]
    fn what_matches_nothing_or_several_says_what_was_tried() {
        let r = Roots::new();
        r.summary("aa1", Some("twin"));
        r.summary("aa2", Some("twin"));
        r.summary("bb", None);
        assert_eq!(
            r.err("cc"),
            format!(
                "no container matches cc under {}: not an id, a unique id prefix, nor a name",
                r.log()
            )
        );
        assert_eq!(
            r.err("aa"),
            format!(
                "aa is ambiguous under {}: the id prefix of 2 containers: aa1, aa2",
                r.log()
            )
        );
        assert_eq!(
            r.err("/twin"),
            format!(
                "/twin is ambiguous under {}: the name of 2 containers: aa1, aa2",
                r.log()
            )
        );
        assert_eq!(
            r.err(""),
            "the target is empty: give a container id, a unique id prefix, a container name or the path of a summary.json"
        );
        // the target is shown escaped
        assert_eq!(
            r.err("x\x1b[2J"),
            format!(
                "no container matches x\\x1b[2J under {}: not an id, a unique id prefix, nor a name",
                r.log()
            )
        );
    }

    #[test]
    fn a_long_list_of_candidates_is_cut_at_ten() {
        let r = Roots::new();
        for i in 0..12 {
            r.summary(&format!("c{i:02}"), None);
        }
        assert_eq!(
            r.err("c"),
            format!(
                "c is ambiguous under {}: the id prefix of 12 containers: \
                 c00, c01, c02, c03, c04, c05, c06, c07, c08, c09, and 2 more",
                r.log()
            )
        );
    }

    #[test]
    fn unreadable_summaries_are_counted_and_links_are_no_candidates() {
        let r = Roots::new();
        let log = r.layout.log_root();
        std::fs::create_dir(log.join("broken")).unwrap();
        std::fs::write(log.join("broken/summary.json"), "{").unwrap();
        std::fs::create_dir(log.join("running")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(
            outside.path().join("summary.json"),
            serde_json::json!({"schema": SCHEMA, "container": {"id": "x", "name": "ghost"}})
                .to_string(),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), log.join("ghostlink")).unwrap();
        std::fs::write(log.join("notes.txt"), "").unwrap();
        assert_eq!(
            r.err("ghost"),
            format!(
                "no container matches ghost under {}: not an id, a unique id prefix, nor a name \
                 (1 summary there could not be read for its name)",
                r.log()
            )
        );
        assert!(r
            .err("ghostl")
            .starts_with("no container matches ghostl under "));
        // named in full, the link is refused when it is read, not here
        assert_eq!(r.find("ghostlink").unwrap(), logged("ghostlink"));
    }

    #[test]
    fn a_missing_log_root_is_named() {
        let r = Roots::new();
        std::fs::remove_dir(r.layout.log_root()).unwrap();
        assert_eq!(
            r.err("abc"),
            format!("{}: No such file or directory (os error 2)", r.log())
        );
    }
}
