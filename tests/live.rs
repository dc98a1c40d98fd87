//! The live side, with real runc and real BPF (root): `ctraudit ps`, and
//! `ctraudit report` of a container that runs. Names start with `live_`.

mod common;

use common::output::{stderr, stdout};
use common::{argv, executed, Env};
use serde_json::{json, Value};

fn ok_out(env: &Env, args: &[&str]) -> String {
    let out = env.cli(args);
    assert!(out.status.success(), "ctraudit {args:?}: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "ctraudit {args:?}");
    stdout(&out)
}

fn json_of(env: &Env, args: &[&str]) -> Value {
    let text = ok_out(env, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

fn paths(s: &Value) -> Vec<String> {
    common::typed(s).files.into_iter().map(|f| f.path).collect()
}

#[test]
fn live_ps_with_nothing_audited_says_so_and_exits_0() {
    let env = Env::new("");
    assert_eq!(ok_out(&env, &["ps"]), "no container is audited now\n");
    assert_eq!(json_of(&env, &["ps", "--json"]), json!([]));
}

#[test]
fn live_report_of_a_running_container_is_its_audit_so_far_and_ps_lists_it() {
    let env = Env::new("");
    let id = "live-web-1";
    env.sleeper(id, "/etc/hostname");

    let s = json_of(&env, &["report", "--json", id]);
    assert_eq!(s["state"], "running");
    assert_eq!(s["ctraudit"]["finalised_by"], "live");
    assert_eq!(s["times"]["stopped_source"], "running");
    let execs = vec![
        argv(
            "/bin/sh",
            &[
                "/bin/sh",
                "-c",
                "/bin/cat /etc/hostname >/dev/null; exec /bin/sleep 1000",
            ],
        ),
        argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
        argv("/bin/sleep", &["/bin/sleep", "1000"]),
    ];
    assert_eq!(executed(&s), execs);
    assert_eq!(paths(&s), ["/dev/null", "/etc/hostname"]);
    assert_eq!(s["loss"]["complete"], true);

    // by a unique prefix, as text
    let text = ok_out(&env, &["report", "live-web"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("  state    running (read live at ")),
        "{text}"
    );
    assert!(text.contains("processes: 3 execs"), "{text}");

    let rows = json_of(&env, &["ps", "--json"]);
    assert_eq!(
        rows,
        json!([{
            "id": id, "name": null, "image": null, "runtime": "oci",
            "state": "running", "up_since": s["times"]["registered"],
            "execs": 3, "files": 2, "endpoints": 0, "privileged": 0, "alerts": 0,
            "complete": true, "kernel_data": "complete", "lost": {}
        }])
    );
    let table = ok_out(&env, &["ps"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("ID  "), "{table}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "live-web-1",
            "-",
            "-",
            "oci",
            "running",
            s["times"]["registered"].as_str().unwrap(),
            "3",
            "2",
            "0",
            "0",
            "0",
            "complete"
        ]
    );

    // an idle container's live audit is what its summary says at stop
    env.stop(id);
    let done = env.summary(id);
    assert_eq!(done["state"], "stopped");
    assert_eq!(executed(&done), execs);
    assert_eq!(paths(&done), ["/dev/null", "/etc/hostname"]);
    assert_eq!(ok_out(&env, &["ps"]), "no container is audited now\n");
    let after = json_of(&env, &["report", "--json", id]);
    assert_eq!(after["state"], "stopped");
    assert_eq!(after["ctraudit"]["finalised_by"], "poststop");
}

/// Docker names a container, and `report` finds a running one by its name
/// (with or without Docker's `/`) as `docker` does.
#[test]
fn live_report_finds_a_running_docker_container_by_name() {
    let env = Env::new("");
    let d = common::docker::Dockerd::start(&env, "");
    let (out, id) = d.run_audited(
        &["-d", "--name", "live-web"],
        &[
            "sh",
            "-c",
            "/bin/cat /etc/hostname >/dev/null; exec /bin/sleep 1000",
        ],
    );
    common::ok(&out);
    common::wait::wait_until(
        "the container's init becomes sleep",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        || {
            let pid = d.docker(&["inspect", "-f", "{{.State.Pid}}", &id]);
            std::fs::read_to_string(format!("/proc/{}/comm", stdout(&pid).trim()))
                .is_ok_and(|c| c.trim() == "sleep")
        },
    );
    for target in ["live-web", "/live-web"] {
        let s = json_of(&env, &["report", "--json", target]);
        assert_eq!(s["state"], "running", "{target}");
        assert_eq!(s["container"]["id"], id.as_str());
        assert_eq!(s["container"]["name"], "live-web");
        assert_eq!(
            executed(&s),
            [
                argv(
                    "/bin/sh",
                    &[
                        "sh",
                        "-c",
                        "/bin/cat /etc/hostname >/dev/null; exec /bin/sleep 1000"
                    ]
                ),
                argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
                argv("/bin/sleep", &["/bin/sleep", "1000"]),
            ]
        );
    }
    let rows = json_of(&env, &["ps", "--json"]);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["name"], "live-web");
    assert_eq!(rows[0]["runtime"], "docker");
    assert_eq!(rows[0]["execs"], 3);
    common::ok(&d.docker(&["rm", "-f", &id]));
}

fn sleeper_execs() -> Vec<(String, Vec<String>)> {
    vec![
        argv(
            "/bin/sh",
            &[
                "/bin/sh",
                "-c",
                "/bin/cat /etc/hostname >/dev/null; exec /bin/sleep 1000",
            ],
        ),
        argv("/bin/cat", &["/bin/cat", "/etc/hostname"]),
        argv("/bin/sleep", &["/bin/sleep", "1000"]),
    ]
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A checkpoint, then a crash: the run root and the registration are lost
/// while the container runs, and no poststop finishes it. gc finalises it
/// from the checkpoint, and says what is lost and from when.
#[test]
fn live_gc_finalises_a_container_whose_registration_was_lost_from_its_checkpoint() {
    let env = Env::new("");
    let id = "live-cp";
    env.sleeper(id, "/etc/hostname");
    let out = ok_out(&env, &["checkpoint"]);
    let cp_path = env.path("log").join(id).join("checkpoint.json");
    let cp = read_json(&cp_path);
    assert_eq!(
        out,
        format!(
            "checkpoint {id}: 3 execs, 2 files, 0 endpoints, 0 privileged events at {}\n\
             stream: 5 first-seen entries appended to events.jsonl\n",
            cp["times"]["stopped"].as_str().unwrap()
        )
    );
    assert_eq!(cp["state"], "running");
    assert_eq!(executed(&cp), sleeper_execs());

    // the crash: /run is gone, so no poststop knows the container
    std::fs::remove_file(env.path("run/containers").join(format!("{id}.json"))).unwrap();
    env.stop(id);
    assert!(!env.summary_path(id).exists());

    let out = ok_out(&env, &["gc"]);
    let taken = cp["times"]["stopped"].as_str().unwrap();
    assert!(
        out.lines().any(|l| l
            == format!(
                "finalise container {id} from its checkpoint of {taken}: it is not audited any more (no meta file)"
            )),
        "{out}"
    );
    let s = env.summary(id);
    assert_eq!(s["state"], "stopped");
    assert_eq!(s["ctraudit"]["finalised_by"], "gc");
    assert_eq!(s["times"]["checkpoint"], taken);
    assert_eq!(s["times"]["stopped_source"], "checkpoint");
    assert_eq!(s["container"]["run"], 1);
    assert_eq!(s["loss"]["complete"], false);
    assert_eq!(s["loss"]["kernel_data"], "partial");
    let problems = s["loss"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].as_str().unwrap().starts_with(&format!(
            "the kernel's record after the checkpoint of {taken} is lost: "
        )),
        "{problems:?}"
    );
    assert_eq!(executed(&s), sleeper_execs());
    assert_eq!(paths(&s), ["/dev/null", "/etc/hostname"]);
    assert!(env
        .path("log")
        .join(id)
        .join("runs/1/seccomp.json")
        .exists());
    assert!(!cp_path.exists());
    // done once
    let again = ok_out(&env, &["gc"]);
    assert!(!again.contains("checkpoint"), "{again}");
    assert_eq!(env.summary(id), s);
}

/// A container stopped as usual: its summary supersedes its checkpoint,
/// which poststop removes, and gc has nothing to finalise.
#[test]
fn live_poststop_removes_the_checkpoint_its_summary_supersedes() {
    let env = Env::new("");
    let id = "live-cp2";
    env.sleeper(id, "/etc/hostname");
    ok_out(&env, &["checkpoint"]);
    let cp_path = env.path("log").join(id).join("checkpoint.json");
    assert!(cp_path.exists());
    env.stop(id);
    assert!(!cp_path.exists());
    let s = env.summary(id);
    assert_eq!(s["ctraudit"]["finalised_by"], "poststop");
    assert_eq!(s["loss"]["complete"], true);
    assert_eq!(s["times"].get("checkpoint"), None);
    assert_eq!(executed(&s), sleeper_execs());
    let out = ok_out(&env, &["gc"]);
    assert!(!out.contains("checkpoint"), "{out}");
    // with nothing running, checkpoint writes nothing and says nothing
    assert_eq!(ok_out(&env, &["checkpoint"]), "");
}

/// A container whose processes are gone but that no poststop finished yet
/// (runc killed it; nobody ran delete) is listed as stopped, not running,
/// and its report says gc will finalise it.
#[test]
fn live_ps_tells_a_stopped_container_that_awaits_gc_from_a_running_one() {
    let env = Env::new("");
    env.sleeper("live-dead", "/etc/hostname");
    env.sleeper("live-alive", "/etc/hostname");
    common::ok(&env.runc(&["kill", "live-dead", "KILL"]));
    common::wait::wait_until(
        "runc sees live-dead stopped",
        std::time::Duration::from_secs(5),
        std::time::Duration::from_millis(20),
        || stdout(&env.runc(&["state", "live-dead"])).contains("\"stopped\""),
    );
    let rows = json_of(&env, &["ps", "--json"]);
    let states: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("live-alive", "running"), ("live-dead", "stopped")]
    );
    let s = json_of(&env, &["report", "--json", "live-dead"]);
    assert_eq!(s["state"], "stopped");
    assert_eq!(s["ctraudit"]["finalised_by"], "live");
    assert!(
        s["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("`ctraudit gc` finalises it")),
        "{}",
        s["notes"]
    );
    assert_eq!(executed(&s), sleeper_execs());
    env.stop("live-dead");
    env.stop("live-alive");
}

/// A checkpoint that is not one (a truncated write by something else, a
/// hand edit) is kept, and gc says which file, and fails.
#[test]
fn live_gc_keeps_a_checkpoint_it_cannot_read_and_names_it() {
    let env = Env::new("");
    let dir = env.path("log").join("live-bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("checkpoint.json"), "{\"schema\": ").unwrap();
    let out = env.cli(&["gc"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("error: container live-bad: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!(
            "{}: not a checkpoint: kept",
            dir.join("checkpoint.json").display()
        )),
        "{line}"
    );
    assert!(dir.join("checkpoint.json").exists());
    assert!(!dir.join("summary.json").exists());
    // a link in its place is none of ctraudit's: not read, not followed
    std::fs::remove_file(dir.join("checkpoint.json")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("checkpoint.json")).unwrap();
    let out = env.cli(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.join("summary.json").exists());
}

/// After a reboot, a restart policy brings a container of the same id back
/// before any gc: its prestart finalises the checkpoint of the lost
/// registration as run 1, so the new run neither overwrites nor drops it.
#[test]
fn live_a_new_container_of_the_id_first_finalises_the_checkpoint_of_the_lost_one() {
    let env = Env::new("");
    let id = "live-again";
    env.sleeper(id, "/etc/hostname");
    ok_out(&env, &["checkpoint"]);
    let cp = read_json(&env.path("log").join(id).join("checkpoint.json"));
    // the reboot: /run and the pins are gone
    std::fs::remove_file(env.path("run/containers").join(format!("{id}.json"))).unwrap();
    env.stop(id);
    std::fs::remove_dir_all(env.abi_dir().join("containers").join(id)).unwrap();

    let b = common::Bundle::new(&env, "live-again-2", &["/bin/echo", "back"]);
    let out = env.run(&b.dir, id);
    assert!(out.status.success(), "{}", stderr(&out));
    let one = read_json(&env.path("log").join(id).join("runs/1/summary.json"));
    assert_eq!(one["ctraudit"]["finalised_by"], "prestart");
    assert_eq!(one["times"]["checkpoint"], cp["times"]["stopped"]);
    assert_eq!(one["times"]["registered"], cp["times"]["registered"]);
    assert_eq!(executed(&one), sleeper_execs());
    let two = env.summary(id);
    let listing: Vec<String> = std::fs::read_dir(env.path("log").join(id).join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(two["container"]["run"], 2, "runs {listing:?}: {two}");
    assert_eq!(two["ctraudit"]["finalised_by"], "poststop");
    assert_eq!(executed(&two), [argv("/bin/echo", &["/bin/echo", "back"])]);
    assert!(!env.path("log").join(id).join("checkpoint.json").exists());
}

/// The stream's records of a container: (kind, path) of each event line.
fn events_of(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                v["kind"].as_str().unwrap().to_owned(),
                v["entry"]["path"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

fn sleeper_events() -> Vec<(String, String)> {
    let mut want: Vec<(String, String)> = [
        ("exec", "/bin/sh"),
        ("exec", "/bin/cat"),
        ("exec", "/bin/sleep"),
        ("file", "/dev/null"),
        ("file", "/etc/hostname"),
    ]
    .iter()
    .map(|(k, p)| (k.to_string(), p.to_string()))
    .collect();
    want.sort();
    want
}

/// Each entry new to a set is one record on the stream, once: watch shows
/// exactly the container's entries, a checkpoint after it finds nothing
/// more, and a second reader is refused.
#[test]
fn live_watch_shows_each_first_seen_entry_once_and_keeps_it_in_events_jsonl() {
    let env = Env::new("");
    let id = "live-watch";
    env.sleeper(id, "/etc/hostname");
    // a second container, whose records the filter leaves out
    env.sleeper("live-other", "/etc/passwd");
    let lines = ok_out(&env, &["watch", "--json", "--count", "5", id]);
    let mut seen: Vec<(String, String)> = lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["container"], id, "{l}");
            (
                v["kind"].as_str().unwrap().to_owned(),
                v["entry"]["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, sleeper_events());
    // what watch read is in events.jsonl, for both containers
    let mut kept = events_of(&env.path("log").join(id).join("events.jsonl"));
    kept.sort();
    assert_eq!(kept, sleeper_events());
    let other = events_of(&env.path("log").join("live-other").join("events.jsonl"));
    assert!(
        other.contains(&("file".to_owned(), "/etc/passwd".to_owned())),
        "{other:?}"
    );
    // repeats write nothing: a checkpoint finds the stream empty
    let out = ok_out(&env, &["checkpoint"]);
    assert!(
        out.ends_with("stream: 0 first-seen entries appended to events.jsonl\n"),
        "{out}"
    );
    // one reader at a time
    let mut first = std::process::Command::new(common::BIN);
    first.args(["watch"]);
    for kv in env.hook_env() {
        let (k, v) = kv.split_once('=').unwrap();
        first.env(k, v);
    }
    let mut first = first.stdout(std::process::Stdio::null()).spawn().unwrap();
    let lock = env.path("run").join("stream.lock");
    common::wait::wait_until(
        "the first watch holds the stream",
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(20),
        || {
            // flock(1) cannot take it while the watch holds it
            !std::process::Command::new("flock")
                .args(["-n", "-s"])
                .arg(&lock)
                .arg("true")
                .status()
                .unwrap()
                .success()
        },
    );
    let o = env.cli(&["watch", "--count", "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("another `ctraudit watch` (or checkpoint) is reading the stream"),
        "{}",
        stderr(&o)
    );
    let _ = first.kill();
    let _ = first.wait();
    env.stop(id);
    env.stop("live-other");
    assert_eq!(env.summary(id)["loss"]["stream_dropped"], 0);
}

/// More new entries than the ring holds, with nobody reading: what did
/// not fit is counted per container, and what is on the stream plus what
/// was dropped is exactly the entries the sets hold.
#[test]
fn live_a_full_stream_counts_what_it_dropped_exactly() {
    let env = Env::new("[limits]\nfiles = 16384\n");
    let id = "live-flood";
    let script =
        "i=0; while [ $i -lt 16000 ]; do : > /tmp/f$i; i=$((i+1)); done; exec /bin/sleep 1000";
    let b = common::Bundle::new(&env, id, &["/bin/sh", "-c", script]);
    env.run_detached(&b.dir, id);
    // 16000 audited creates take a while on a busy machine
    let pid = env.init_pid(id);
    common::wait::wait_until(
        format_args!("{id}: its init never became sleep"),
        std::time::Duration::from_secs(120),
        std::time::Duration::from_millis(50),
        || {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                == "sleep"
        },
    );
    let live = json_of(&env, &["report", "--json", id]);
    let entries = common::typed(&live).files.len()
        + common::typed(&live).processes.executed.len()
        + common::typed(&live).network.len()
        + common::typed(&live).privileged.len();
    assert!(entries > 16000, "{entries}");
    let dropped = live["loss"]["stream_dropped"].as_u64().unwrap();
    assert!(
        dropped > 0,
        "a 4 MiB ring holds fewer than 16000 file records"
    );
    assert_eq!(live["loss"]["complete"], true, "the sets are whole");
    ok_out(&env, &["checkpoint"]);
    let streamed = events_of(&env.path("log").join(id).join("events.jsonl")).len();
    assert_eq!(streamed as u64 + dropped, entries as u64);
    env.stop(id);
}
