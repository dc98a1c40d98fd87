//! The stream of first-seen behaviour: when the kernel inserts a new entry
//! into one of a container's sets (an exec, a file, an endpoint, a
//! privileged event), it also writes the entry's key to the global ring
//! buffer `stream` (bpf/include/slots.h, `stream_new`). Repeats of a known
//! entry write nothing. A record the ring has no room for is counted in the
//! container's `loss.stream_dropped`; the entry is in its set all the same.
//!
//! One reader drains the ring at a time, holding `<run>/stream.lock`:
//! `ctraudit watch` while it runs, else `ctraudit checkpoint`. Whoever
//! drains appends every record to its container's `<log>/<id>/events.jsonl`,
//! so what one reader took is never lost to the other.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result};
use libbpf_rs::{MapHandle, RingBufferBuilder};
use serde::Serialize;
use serde_json::Value;

use super::{audited, Audited};
use crate::bpf::{self, types, Snapshot};
use crate::config::{Config, Layout};
use crate::id::ContainerId;
use crate::summary;
use crate::sys::clock;
use crate::sys::file::make_dir;
use crate::sys::lock::{self, Lock};

/// The ring buffer's pin name (a global map of ctraudit.bpf.c).
pub const STREAM_MAP: &str = "stream";

/// The file each container's stream records go to, beside its summary.
pub const EVENTS: &str = "events.jsonl";

/// One first-seen entry of one container, as it goes to events.jsonl and
/// to `watch --json`: the entry as the summary would list it (its counts
/// and kinds are those of its first sight).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: String,
    /// The same time, CLOCK_BOOTTIME in ns, as the kernel took it.
    pub boot_ns: u64,
    pub container: String,
    /// `exec`, `failed_exec`, `file`, `network`, `privileged`, `io_uring`
    pub kind: &'static str,
    pub entry: Value,
}

/// The stream's reader lock, held while the ring is drained.
pub fn lock(layout: &Layout, timeout_ms: u64) -> Result<Lock> {
    let path = layout.run_dir().join("stream.lock");
    lock::acquire(&path, timeout_ms).map_err(|e| {
        anyhow::anyhow!("{e}: another `ctraudit watch` (or checkpoint) is reading the stream")
    })
}

/// Which container each (slot, generation) is now.
fn owners(cfg: &Config) -> Result<HashMap<(u32, u32), Audited>> {
    let layout = cfg.layout();
    let (found, _) = audited(cfg);
    let by_cgroup: HashMap<u64, Audited> =
        found.into_iter().map(|a| (a.meta.cgroup.id, a)).collect();
    Ok(bpf::registered(&layout)?
        .into_iter()
        .filter_map(|(cg, r)| by_cgroup.get(&cg).map(|a| ((r.slot, r.gen), a.clone())))
        .collect())
}

fn seen<V: Default>(time_ns: u64, set: impl FnOnce(&mut V, u64)) -> V {
    let mut v = V::default();
    set(&mut v, time_ns);
    v
}

/// The entry a record's key makes, built as the summary builds one.
fn decode(cfg: &Config, a: &Audited, raw: &[u8]) -> Option<Event> {
    const HDR: usize = std::mem::size_of::<types::ct_stream_hdr>();
    let hdr: types::ct_stream_hdr = bpf::from_bytes("stream record", raw.get(..HDR)?).ok()?;
    let key = raw.get(HDR..HDR + hdr.len as usize)?;
    let t = hdr.time_ns;
    let mut snap = Snapshot::default();
    match hdr.set {
        s if s == types::ct_stream_set::CT_STREAM_EXECS.0 => {
            let v = seen(t, |v: &mut types::ct_exec_val, t| {
                (v.count, v.first_ns, v.last_ns) = (1, t, t);
            });
            snap.execs.push((bpf::from_bytes("exec key", key).ok()?, v));
        }
        s if s == types::ct_stream_set::CT_STREAM_FILES.0 => {
            let v = seen(t, |v: &mut types::ct_file_val, t| {
                (v.count, v.first_ns, v.last_ns) = (1, t, t);
            });
            snap.files.push((bpf::from_bytes("file key", key).ok()?, v));
        }
        s if s == types::ct_stream_set::CT_STREAM_NET.0 => {
            let v = seen(t, |v: &mut types::ct_event_val, t| {
                (v.count, v.first_ns, v.last_ns) = (1, t, t);
            });
            snap.net
                .push((bpf::from_bytes("network key", key).ok()?, v));
        }
        s if s == types::ct_stream_set::CT_STREAM_PRIV.0 => {
            let v = seen(t, |v: &mut types::ct_event_val, t| {
                (v.count, v.first_ns, v.last_ns) = (1, t, t);
            });
            snap.privileged
                .push((bpf::from_bytes("privileged key", key).ok()?, v));
        }
        _ => return None,
    }
    let s = summary::build(&a.meta, &snap, t, super::LIVE, &cfg.redact, Vec::new());
    let (kind, entry): (&'static str, Value) = if let Some(e) = s.processes.executed.first() {
        ("exec", json(e))
    } else if let Some(e) = s.processes.failed_execs.first() {
        ("failed_exec", json(e))
    } else if let Some(e) = s.files.first() {
        ("file", json(e))
    } else if let Some(e) = s.network.first() {
        ("network", json(e))
    } else if let Some(e) = s.privileged.first() {
        ("privileged", json(e))
    } else if let Some(e) = s.io_uring.first() {
        ("io_uring", json(e))
    } else {
        return None;
    };
    Some(Event {
        time: clock::rfc3339_of_boot_ns(t),
        boot_ns: t,
        container: a.id.as_str().to_owned(),
        kind,
        entry,
    })
}

/// An entry as JSON.
fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Appends `events` to each one's container's events.jsonl.
pub fn append(layout: &Layout, events: &[Event]) -> Result<()> {
    let mut by: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events {
        by.entry(e.container.as_str()).or_default().push(e);
    }
    for (id, list) in by {
        let id = ContainerId::parse(id).map_err(|e| anyhow::anyhow!("{e}"))?;
        make_dir(&layout.log_dir(&id))?;
        let path = layout.log_dir(&id).join(EVENTS);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .with_context(|| path.display().to_string())?;
        let mut text = String::new();
        for e in list {
            text.push_str(&serde_json::to_string(e)?);
            text.push('\n');
        }
        f.write_all(text.as_bytes())
            .with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// A reader of the stream: the ring buffer of the current ABI's programs.
pub struct Reader<'a> {
    cfg: &'a Config,
    ring: libbpf_rs::RingBuffer<'static>,
    _map: MapHandle,
    raw: Rc<RefCell<Vec<Vec<u8>>>>,
    owners: HashMap<(u32, u32), Audited>,
    /// Records of no container audited now (finalised since), skipped.
    pub unknown: u64,
}

impl<'a> Reader<'a> {
    pub fn open(cfg: &'a Config) -> Result<Reader<'a>> {
        let layout = cfg.layout();
        let path = layout.global_map(STREAM_MAP);
        let map = MapHandle::from_pinned_path(&path).with_context(|| {
            format!("{}: the stream (are the programs loaded?)", path.display())
        })?;
        let raw: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let sink = raw.clone();
        let mut b = RingBufferBuilder::new();
        b.add(&map, move |data: &[u8]| {
            sink.borrow_mut().push(data.to_vec());
            0
        })?;
        let ring = b.build()?;
        Ok(Reader {
            cfg,
            ring,
            _map: map,
            raw,
            owners: owners(cfg)?,
            unknown: 0,
        })
    }

    /// The records there are now (`wait` for the first), decoded.
    pub fn next(&mut self, wait: Duration) -> Result<Vec<Event>> {
        if wait.is_zero() {
            self.ring.consume()?;
        } else {
            self.ring.poll(wait)?;
        }
        let raw = std::mem::take(&mut *self.raw.borrow_mut());
        let mut out = Vec::with_capacity(raw.len());
        let mut refreshed = false;
        for r in raw {
            let key = match r.get(..8) {
                Some(b) => (
                    u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                    u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
                ),
                None => continue,
            };
            if !self.owners.contains_key(&key) && !refreshed {
                // a container registered since
                self.owners = owners(self.cfg)?;
                refreshed = true;
            }
            match self.owners.get(&key).and_then(|a| decode(self.cfg, a, &r)) {
                Some(e) => out.push(e),
                None => self.unknown += 1,
            }
        }
        Ok(out)
    }
}

/// Everything the stream holds now, appended to events.jsonl: for
/// `checkpoint`, unless a watch holds the stream (it appends as it reads).
/// Returns how many records were appended and how many were of no
/// container audited now, or None when a watch had the stream.
pub fn drain(cfg: &Config) -> Result<Option<(usize, u64)>> {
    let layout = cfg.layout();
    let Ok(_lock) = lock(&layout, 0) else {
        return Ok(None);
    };
    let mut reader = Reader::open(cfg)?;
    let mut n = 0;
    loop {
        let events = reader.next(Duration::ZERO)?;
        if events.is_empty() {
            break;
        }
        n += events.len();
        append(&layout, &events)?;
    }
    Ok(Some((n, reader.unknown)))
}
