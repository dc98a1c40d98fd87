//! A summary as plain text for a person. Every string and key from the
//! summary goes through [`escape`], so nothing from the container reaches
//! the terminal raw (a value of another type than expected is shown as
//! JSON, escaped the same way).

use std::fmt::Write;

use serde_json::Value;

use super::escape;

/// A value as text: a string escaped, null as `-`, anything else as JSON.
fn s(v: &Value) -> String {
    match v {
        Value::String(s) => escape::text(s).into_owned(),
        Value::Null => "-".into(),
        other => json(other),
    }
}

/// A value as one line of JSON, with nothing hidden raw in it.
fn json(v: &Value) -> String {
    escape::json(&v.to_string()).into_owned()
}

/// One row of `report --runs`: the run's number, when it started (its
/// first exec, else its registration) and stopped, who finalised it, and
/// whether its record is complete.
pub fn run_row(n: u64, v: &Value) -> String {
    let t = &v["times"];
    let started = if t["first_exec"].is_null() {
        &t["registered"]
    } else {
        &t["first_exec"]
    };
    let complete = match &v["loss"]["complete"] {
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        other => s(other),
    };
    let row = format!(
        "{n:>5}  {:<24}  {:<24}  {:<8}  {complete}",
        s(started),
        s(&t["stopped"]),
        s(&v["ctraudit"]["finalised_by"]),
    );
    row.trim_end().to_owned()
}

/// Renders a `ctraudit.summary/v1` document as plain text.
pub fn render(v: &Value) -> String {
    let mut o = String::new();
    let c = &v["container"];
    let _ = writeln!(o, "container {}", s(&c["id"]));
    for key in ["name", "image", "hostname", "runtime", "run"] {
        if !c[key].is_null() {
            let _ = writeln!(o, "  {key:<8} {}", s(&c[key]));
        }
    }
    let _ = writeln!(o, "  cgroup   {}", s(&c["cgroup"]["path"]));
    let t = &v["times"];
    if v["state"] == Value::String(crate::summary::RUNNING.into()) {
        // read live: nothing has stopped, `stopped` is when it was read
        let _ = writeln!(o, "  state    running (read live at {})", s(&t["stopped"]));
        let _ = writeln!(o, "  up since {}", s(&t["registered"]));
    } else {
        let _ = writeln!(
            o,
            "  ran      {} .. {}  ({} s)",
            s(&t["first_exec"]),
            s(&t["stopped"]),
            s(&t["duration_seconds"])
        );
    }
    let x = &v["exit"];
    if x.is_object() {
        let how = if x["signal"].is_null() {
            format!("code {}", s(&x["code"]))
        } else {
            format!("signal {}", s(&x["signal"]))
        };
        let oom = if x["oom_killed"] == Value::Bool(true) {
            ", OOM-killed"
        } else {
            ""
        };
        let _ = writeln!(o, "  exit     {how}{oom}");
    } else if !x.is_null() {
        let _ = writeln!(o, "  exit     {}", s(x));
    }
    let p = &v["processes"];
    let oom = match &p["oom_kills"] {
        Value::Null => String::new(),
        n if n.as_u64() == Some(0) => String::new(),
        n => format!(", {} OOM kills", s(n)),
    };
    let _ = writeln!(
        o,
        "\nprocesses: {} execs, {} forks, {} exits{oom}",
        s(&p["execs"]),
        s(&p["forks"]),
        s(&p["exits"])
    );
    let exec_line = |o: &mut String, e: &Value| {
        let argv: Vec<String> = e["argv"].as_array().into_iter().flatten().map(s).collect();
        // the file that ran, when the path run by is not it
        let binary = e
            .get("binary")
            .filter(|b| !b.is_null())
            .map(|b| format!(" ({})", s(b)))
            .unwrap_or_default();
        let _ = write!(
            o,
            "  {:>4}x  {}{}  [{}]",
            s(&e["count"]),
            s(&e["path"]),
            binary,
            argv.join(" ")
        );
    };
    for e in p["executed"].as_array().into_iter().flatten() {
        exec_line(&mut o, e);
        o.push('\n');
    }
    let failed = p["failed_execs"].as_array().cloned().unwrap_or_default();
    if !failed.is_empty() {
        let _ = writeln!(o, "  failed execs: {}", failed.len());
        for e in &failed {
            exec_line(&mut o, e);
            let _ = writeln!(o, "  {}", s(&e["error"]));
        }
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
        // a link or symlink made: what it points to
        let path = match f.get("target").filter(|t| !t.is_null()) {
            Some(t) => format!("{} -> {}", s(&f["path"]), s(t)),
            None => s(&f["path"]),
        };
        let _ = writeln!(o, "  {:<32} {}{}", path, acc.join(","), failed);
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
                .map(|e| format!(" ({})", escape::text(e)))
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
            json(&e["args"]),
            s(&e["count"]),
            s(&e["failed"]),
            e["last_error"]
                .as_str()
                .map(escape::text)
                .unwrap_or_default()
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
            .map(|(k, n)| format!("{} {n}", escape::text(k)))
            .collect();
        let _ = writeln!(o, "  {}", line.join(", "));
    }
    if let Some(denied) = sc["denied"].as_object().filter(|d| !d.is_empty()) {
        let line: Vec<String> = denied
            .iter()
            .map(|(k, n)| format!("{} {}", escape::text(k), s(n)))
            .collect();
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
    let notes = v["notes"].as_array().cloned().unwrap_or_default();
    if !notes.is_empty() {
        let _ = writeln!(o, "\nnotes: {}", notes.len());
        for n in &notes {
            let _ = writeln!(o, "  {}", s(n));
        }
    }
    let l = &v["loss"];
    if l["complete"] == Value::Bool(false) {
        let _ = writeln!(o, "\nINCOMPLETE: {}", json(l));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The renderer reads the summary by string keys, so that it can show
    /// any file, even one edited by hand with the wrong types (escaped, as
    /// tests/report.rs checks). What ties those keys to the typed model is
    /// this: summary/golden.json is what the model writes (summary/build.rs
    /// checks it byte for byte), and its report shows every field, no `-`
    /// for a field it has. A field renamed in the model, and golden.json
    /// written again, shows up here.
    #[test]
    fn how_the_container_ended_is_shown_and_a_wrong_type_escaped() {
        let mut v: Value = serde_json::from_str(include_str!("../summary/golden.json")).unwrap();
        v["exit"] = serde_json::json!({"code": null, "signal": 9, "oom_killed": true});
        v["processes"]["oom_kills"] = 2.into();
        let text = render(&v);
        assert!(
            text.contains("\n  exit     signal 9, OOM-killed\n"),
            "{text}"
        );
        assert!(
            text.contains("\nprocesses: 2 execs, 1 forks, 2 exits, 2 OOM kills\n"),
            "{text}"
        );
        v["exit"] = "\u{1b}[2J".into();
        assert!(render(&v).contains("\n  exit     \\x1b[2J\n"));
    }

    #[test]
    fn the_report_of_what_the_typed_model_writes_shows_every_field() {
        let golden: Value = serde_json::from_str(include_str!("../summary/golden.json")).unwrap();
        assert_eq!(render(&golden), include_str!("golden.txt"));
    }

    #[test]
    fn an_exec_shows_the_binary_that_ran_and_a_link_what_it_points_to() {
        let v = serde_json::json!({
            "processes": {"executed": [
                {"path": "/proc/self/exe", "binary": "/bin/busybox", "argv": ["cat"], "count": 1}
            ]},
            "files": [
                {"path": "/tmp/innocent", "target": "/etc/\u{1b}[2J", "access": ["link"], "failed": 0}
            ]
        });
        let r = render(&v);
        assert!(
            r.contains("     1x  /proc/self/exe (/bin/busybox)  [cat]\n"),
            "{r}"
        );
        assert!(
            r.contains("  /tmp/innocent -> /etc/\\x1b[2J    link\n"),
            "{r}"
        );
    }
}
