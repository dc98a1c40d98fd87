//! Integration tests with real Podman (runc) and the hooks.d file.
//! Names start with `podman_` so they can be selected.

mod common;

use std::collections::BTreeSet;

use common::podman::Podman;
use common::{executed, file, file_paths, libs_of, strs, Env};

/// The foundation workload (tests/runc.rs).
const WORKLOAD: &str = "/bin/ls /etc; /bin/cat /etc/passwd; echo hi > /tmp/f; /usr/bin/rm /tmp/f; \
    /bin/nc -l -p 7777 >/dev/null & \
    i=0; until echo ping | /bin/nc 127.0.0.1 7777; do i=$((i+1)); [ $i -lt 500 ] || exit 7; done; wait; \
    /bin/mount -t tmpfs none /mnt; true";

fn set(v: Vec<(String, Vec<String>)>) -> BTreeSet<(String, Vec<String>)> {
    v.into_iter().collect()
}

fn argv(path: &str, args: &[&str]) -> (String, Vec<String>) {
    (
        path.to_owned(),
        args.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn podman_run_with_the_hooks_dir_audits_the_workload() {
    let env = Env::new("");
    let p = Podman::start(&env);
    let (out, id) = p.run(&[], &["sh", "-c", WORKLOAD]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(id.len(), 64);
    let s = env.summary(&id);
    assert_eq!(s["container"]["runtime"], "podman");
    assert_eq!(
        set(executed(&s)),
        set(vec![
            argv("/bin/sh", &["sh", "-c", WORKLOAD]),
            argv("/bin/ls", &["/bin/ls", "/etc"]),
            argv("/bin/cat", &["/bin/cat", "/etc/passwd"]),
            argv("/usr/bin/rm", &["/usr/bin/rm", "/tmp/f"]),
            argv("/bin/nc", &["/bin/nc", "-l", "-p", "7777"]),
            argv("/bin/nc", &["/bin/nc", "127.0.0.1", "7777"]),
            argv("/bin/mount", &["/bin/mount", "-t", "tmpfs", "none", "/mnt"]),
        ])
    );
    let mut want: Vec<String> = [
        "/dev/null",
        "/etc",
        "/etc/ld.so.cache",
        "/etc/passwd",
        "/tmp/f",
    ]
    .map(String::from)
    .to_vec();
    want.extend(libs_of("/usr/bin/rm"));
    want.sort();
    assert_eq!(file_paths(&s), want);
    assert_eq!(
        strs(&file(&s, "/tmp/f")["access"]),
        ["write", "create", "delete"]
    );
    let ops: BTreeSet<(&str, u64)> = s["network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["op"].as_str().unwrap(), n["port"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("accept", 7777),
            ("bind", 7777),
            ("connect", 7777),
            ("listen", 7777)
        ]
        .into()
    );
    let pr = s["privileged"].as_array().unwrap();
    assert_eq!(pr.len(), 1, "{pr:?}");
    assert_eq!(
        (pr[0]["kind"].as_str(), pr[0]["last_error"].as_str()),
        (Some("mount"), Some("EPERM"))
    );
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn podman_opt_out_annotation_means_no_summary_and_no_pins() {
    let env = Env::new("");
    let p = Podman::start(&env);
    let (out, id) = p.run(
        &["--annotation", "io.ctraudit.enable=false"],
        &["/bin/cat", "/etc/hostname"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(id.len(), 64);
    assert!(!env.summary_path(&id).exists());
    assert!(!env.bpffs_mounted(), "nothing was loaded for it");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
