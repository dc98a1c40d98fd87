//! Integration tests with a real (private) containerd and `ctr`.
//! Names start with `containerd_` so they can be selected.

mod common;

use common::containerd::Containerd;
use common::output::stdout;
use common::{argv, assert_workload_summary, executed, file_paths, ok, set, Env, WORKLOAD};
use serde_json::json;

#[test]
fn containerd_shim_audits_the_workload() {
    let env = Env::new("");
    let c = Containerd::start(&env, "");
    let out = c.run_audited("shim-1", &["sh", "-c", WORKLOAD]);
    ok(&out);
    let s = env.summary("shim-1");
    assert_eq!(s["container"]["runtime"], "containerd");
    assert_workload_summary(&s);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn containerd_binary_name_route_and_cri_annotations() {
    let env = Env::new("");
    let c = Containerd::start(&env, "");
    // the CRI route: runtime io.containerd.runc.v2 with BinaryName = ctraudit-runc
    let wrapper = c.wrapper.to_str().unwrap();
    let out = c.run(
        &[
            "--runc-binary",
            wrapper,
            "--annotation",
            "io.kubernetes.cri.sandbox-name=pod-a",
            "--annotation",
            "io.kubernetes.cri.sandbox-namespace=team-a",
            "--annotation",
            "io.kubernetes.cri.container-name=app",
            "--annotation",
            "io.kubernetes.cri.image-name=busybox:test",
        ],
        "cri-1",
        &["/bin/cat", "/etc/hostname"],
    );
    ok(&out);
    let s = env.summary("cri-1");
    let c0 = &s["container"];
    assert_eq!(
        (
            &c0["runtime"],
            &c0["pod"],
            &c0["namespace"],
            &c0["name"],
            &c0["image"]
        ),
        (
            &json!("containerd"),
            &json!("pod-a"),
            &json!("team-a"),
            &json!("app"),
            &json!("busybox:test")
        )
    );
    assert_eq!(
        set(executed(&s)),
        set(vec![argv("/bin/cat", &["/bin/cat", "/etc/hostname"])])
    );
    assert_eq!(file_paths(&s), ["/etc/hostname"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn containerd_install_adds_the_cri_runtime_and_restart_keeps_containerd_working() {
    let env = Env::new("");
    let c = Containerd::start(&env, "");
    // an operator's CRI settings, which the install must keep
    let mut original = std::fs::read_to_string(&c.config).unwrap();
    original.push_str(
        "[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"registry.local/pause:3.9\"\n",
    );
    std::fs::write(&c.config, &original).unwrap();
    let ct = |args: &[&str]| {
        std::process::Command::new(common::BIN)
            .args(args)
            .arg("--config-toml")
            .arg(&c.config)
            .output()
            .unwrap()
    };
    let wrapper = c.wrapper.to_str().unwrap();

    let out = ct(&[
        "install",
        "containerd",
        "--dry-run",
        "--runtime-path",
        wrapper,
    ]);
    ok(&out);
    assert!(stdout(&out).contains("BinaryName = "));
    assert_eq!(
        std::fs::read_to_string(&c.config).unwrap(),
        original,
        "--dry-run changes nothing"
    );

    let old = c.daemons();
    let out = ct(&[
        "install",
        "containerd",
        "--runtime-path",
        wrapper,
        "--restart",
    ]);
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("restarted containerd (pid"), "{text}");
    c.wait_up();
    assert_ne!(c.daemons(), old, "a new containerd process");
    let config = std::fs::read_to_string(&c.config).unwrap();
    assert!(config.starts_with(&original), "only added to: {config}");

    // containerd itself reads both the operator's setting and ours (checked
    // on a copy with the CRI plugin enabled: a disabled plugin's section is
    // left out of the dump)
    let check = c.dir.join("check.toml");
    std::fs::write(
        &check,
        config.replace("disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n", ""),
    )
    .unwrap();
    let dump = std::process::Command::new("containerd")
        .arg("--config")
        .arg(&check)
        .args(["config", "dump"])
        .output()
        .unwrap();
    let dump = stdout(&dump);
    assert!(
        dump.contains("sandbox_image = \"registry.local/pause:3.9\""),
        "{dump}"
    );
    assert!(
        dump.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.ctraudit]"),
        "{dump}"
    );
    assert!(
        dump.contains(&format!("BinaryName = \"{wrapper}\"")),
        "{dump}"
    );

    // the restarted daemon kept its environment: containers are audited
    let out = c.run_audited("after-restart", &["/bin/true"]);
    ok(&out);
    assert_eq!(
        set(executed(&env.summary("after-restart"))),
        set(vec![argv("/bin/true", &["/bin/true"])])
    );

    let out = ct(&["install", "containerd", "--runtime-path", wrapper]);
    ok(&out);
    assert!(stdout(&out).contains("already set up, nothing changed"));

    let out = ct(&["uninstall", "containerd", "--restart"]);
    ok(&out);
    c.wait_up();
    assert_eq!(
        std::fs::read_to_string(&c.config).unwrap(),
        original,
        "byte for byte"
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
