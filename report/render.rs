//! `ctraudit report`: a summary.json for a person to read.

use std::fmt::Write;

use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Renders a `ctraudit.summary/v1` document as plain text.
pub fn render(v: &Value) -> String {
    let mut o = String::new();
    let c = &v["container"];
    let _ = writeln!(o, "container {}", s(&c["id"]));
    for key in ["name", "image", "hostname", "runtime"] {
        if !c[key].is_null() {
            let _ = writeln!(o, "  {key:<8} {}", s(&c[key]));
        }
    }
    let _ = writeln!(o, "  cgroup   {}", s(&c["cgroup"]["path"]));
    let t = &v["times"];
    let _ = writeln!(
        o,
        "  ran      {} .. {}  ({} s)",
        s(&t["first_exec"]),
        s(&t["stopped"]),
        s(&t["duration_seconds"])
    );
    let p = &v["processes"];
    let _ = writeln!(
        o,
        "\nprocesses: {} execs, {} forks, {} exits",
        s(&p["execs"]),
        s(&p["forks"]),
        s(&p["exits"])
    );
    for e in p["executed"].as_array().into_iter().flatten() {
        let argv: Vec<String> = e["argv"].as_array().into_iter().flatten().map(s).collect();
        let _ = writeln!(
            o,
            "  {:>4}x  {}  [{}]",
            s(&e["count"]),
            s(&e["path"]),
            argv.join(" ")
        );
    }
    let files = v["files"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\nfiles: {}", files.len());
    for f in &files {
        let acc: Vec<String> = f["access"]
            .as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect();
        let failed = if f["failed"].as_u64().unwrap_or(0) > 0 {
            format!("  ({} failed, {})", s(&f["failed"]), s(&f["last_error"]))
        } else {
            String::new()
        };
        let _ = writeln!(o, "  {:<32} {}{}", s(&f["path"]), acc.join(","), failed);
    }
    let net = v["network"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\nnetwork: {}", net.len());
    for n in &net {
        let port = n["port"]
            .as_u64()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {:<8} {} {}{}  {}x{}",
            s(&n["op"]),
            s(&n["proto"]),
            s(&n["address"]),
            port,
            s(&n["count"]),
            n["last_error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    let pr = v["privileged"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\nprivileged: {}", pr.len());
    for e in &pr {
        let _ = writeln!(
            o,
            "  {:<12} {}  {}x, {} failed {}",
            s(&e["kind"]),
            e["args"],
            s(&e["count"]),
            s(&e["failed"]),
            e["last_error"].as_str().unwrap_or("")
        );
    }
    let sc = &v["syscalls"];
    let _ = writeln!(
        o,
        "\nsyscalls: {} calls, {} distinct",
        s(&sc["total"]),
        s(&sc["distinct"])
    );
    if let Some(counts) = sc["counts"].as_object() {
        let mut top: Vec<(&String, u64)> = counts
            .iter()
            .map(|(k, n)| (k, n.as_u64().unwrap_or(0)))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let line: Vec<String> = top
            .iter()
            .take(12)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(o, "  {}", line.join(", "));
    }
    if let Some(denied) = sc["denied"].as_object().filter(|d| !d.is_empty()) {
        let line: Vec<String> = denied.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(o, "  refused by seccomp: {}", line.join(", "));
    }
    let alerts = v["alerts"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\nalerts: {}", alerts.len());
    for a in &alerts {
        let _ = writeln!(
            o,
            "  [{}] {}: {}",
            s(&a["severity"]),
            s(&a["rule"]),
            s(&a["message"])
        );
    }
    let l = &v["loss"];
    if l["complete"] == Value::Bool(false) {
        let _ = writeln!(o, "\nINCOMPLETE: {}", l);
    }
    o
}
