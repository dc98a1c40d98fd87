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
