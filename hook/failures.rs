//! `<log root>/failures.jsonl`: a line for every hook that could not do its
//! job and every container that starts unaudited, so the record is on disk
//! even on a host without syslog, where the runtime drops a successful
//! hook's stderr. Bounded: past `MAX_BYTES` the file moves to
//! `failures.jsonl.1` (the one before is dropped) and a new one starts.

use std::io::Write;
use std::path::Path;

use crate::config::Config;

/// Where the lines go, below the log root.
pub const FILE: &str = "failures.jsonl";
/// The size at which the file is rotated.
pub const MAX_BYTES: u64 = 1 << 20;

/// One line: when, which container (when the hook knew it), the stage, what
/// went wrong, and what became of the container. Best effort: a log root
/// that cannot be written loses the line, never the hook.
pub fn record(cfg: &Config, id: Option<&str>, stage: &str, problem: &str, verdict: &str) {
    let line = serde_json::json!({
        "time": crate::sys::clock::rfc3339_of_boot_ns(crate::sys::clock::boot_ns()),
        "id": id,
        "stage": stage,
        "problem": problem,
        "verdict": verdict,
    });
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    let _ = append(cfg.layout().log_root(), &bytes);
}

fn append(root: &Path, line: &[u8]) -> std::io::Result<()> {
    crate::sys::file::make_dir(root)?;
    let path = root.join(FILE);
    let mut f = open(&path)?;
    if f.metadata()?.len() >= MAX_BYTES {
        use std::os::unix::fs::MetadataExt;
        // only the file we hold: another hook may have rotated it already
        let ours = f.metadata()?.ino();
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.ino() == ours) {
            std::fs::rename(&path, root.join(format!("{FILE}.1")))?;
        }
        f = open(&path)?;
    }
    // one write of one line, appended: lines of concurrent hooks never mix
    f.write_all(line)
}

fn open(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(root: &Path) -> Config {
        let mut c = Config::default();
        c.paths.log = root.to_owned();
        c
    }

    #[test]
    fn lines_are_json_and_the_file_is_rotated_past_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path());
        record(
            &c,
            Some("c1"),
            "prestart",
            "config: bad",
            "container runs unaudited",
        );
        record(&c, None, "poststop", "state JSON: x", "nothing done");
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            (&lines[0]["id"], &lines[0]["stage"], &lines[0]["problem"]),
            (
                &serde_json::json!("c1"),
                &serde_json::json!("prestart"),
                &serde_json::json!("config: bad")
            )
        );
        assert_eq!(lines[1]["id"], serde_json::Value::Null);
        // past the size, the file moves aside and a new one starts
        std::fs::write(dir.path().join(FILE), vec![b'x'; MAX_BYTES as usize]).unwrap();
        record(&c, Some("c2"), "prestart", "p", "v");
        assert_eq!(
            std::fs::metadata(dir.path().join(format!("{FILE}.1")))
                .unwrap()
                .len(),
            MAX_BYTES
        );
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn a_planted_symlink_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(FILE)).unwrap();
        record(&cfg(dir.path()), Some("c1"), "prestart", "p", "v");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }
}
