//! `ctraudit watch [TARGET…]`: the stream of first-seen behaviour
//! (crate::live::stream), one line per new exec, file, endpoint or
//! privileged event, as the kernel records it; `--json` prints each as the
//! JSON line events.jsonl keeps. While it runs it is the stream's reader:
//! it appends what it reads, of every container, to their events.jsonl.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use super::escape;
use super::find::{self, Source};
use crate::config::Config;
use crate::live::stream::{self, Event, Reader};

/// One event for a person; every string from the container escaped.
pub fn line(e: &Event) -> String {
    let s = |v: &Value| match v {
        Value::String(t) => escape::text(t).into_owned(),
        Value::Null => "-".into(),
        other => escape::json(&other.to_string()).into_owned(),
    };
    let x = &e.entry;
    let what = match e.kind {
        "exec" | "failed_exec" => {
            let argv: Vec<String> = x["argv"]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default();
            let err = if e.kind == "failed_exec" {
                format!("  {}", s(&x["error"]))
            } else {
                String::new()
            };
            format!("{}  [{}]{err}", s(&x["path"]), argv.join(" "))
        }
        "file" => s(&x["path"]),
        "network" => match &x["port"] {
            Value::Null => format!("{} {} {}", s(&x["op"]), s(&x["proto"]), s(&x["address"])),
            port => format!(
                "{} {} {}:{}",
                s(&x["op"]),
                s(&x["proto"]),
                s(&x["address"]),
                s(port)
            ),
        },
        "privileged" => format!("{} {}", s(&x["kind"]), s(&x["args"])),
        _ => s(x),
    };
    format!(
        "{}  {}  {:<11} {what}",
        e.time,
        e.container.chars().take(12).collect::<String>(),
        e.kind
    )
}

/// `ctraudit watch`: follows the stream until `count` events were shown
/// (or forever), of the containers `targets` name (each an id, a unique id
/// prefix or a name of a container audited now), or of all.
pub fn run(
    cfg: &Config,
    targets: &[String],
    json: bool,
    count: Option<u64>,
    out: &mut impl Write,
) -> Result<()> {
    let layout = cfg.layout();
    let _lock = stream::lock(&layout, 0)?;
    let wanted: Option<BTreeSet<String>> = if targets.is_empty() {
        None
    } else {
        let (audited, _) = crate::live::audited(cfg);
        let running: Vec<find::Running> = audited
            .iter()
            .map(|a| (a.id.clone(), a.meta.name.clone()))
            .collect();
        let cap = super::max_summary_bytes(&cfg.limits);
        let mut ids = BTreeSet::new();
        for t in targets {
            match find::find(&layout, t, cap, &running)? {
                Source::Live(id) => ids.insert(id.as_str().to_owned()),
                _ => anyhow::bail!(
                    "{}: not a container audited now (`ctraudit ps` lists them)",
                    escape::text(t)
                ),
            };
        }
        Some(ids)
    };
    let mut reader = Reader::open(cfg)?;
    let mut shown = 0u64;
    loop {
        if count.is_some_and(|c| shown >= c) {
            return Ok(());
        }
        let events = reader.next(Duration::from_millis(200))?;
        stream::append(&layout, &events)?;
        for e in &events {
            if wanted.as_ref().is_some_and(|w| !w.contains(&e.container)) {
                continue;
            }
            if count.is_some_and(|c| shown >= c) {
                break;
            }
            let text = if json {
                escape::json(&serde_json::to_string(e)?).into_owned()
            } else {
                line(e)
            };
            writeln!(out, "{text}").context("stdout")?;
            shown += 1;
        }
        out.flush().context("stdout")?;
    }
}
