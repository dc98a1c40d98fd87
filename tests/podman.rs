//! Integration tests with real Podman (runc) and the hooks.d file.
//! Names start with `podman_` so they can be selected.

mod common;

use common::output::stderr;
use common::podman::Podman;
use common::{assert_workload_summary, Env, WORKLOAD};

#[test]
fn podman_run_with_the_hooks_dir_audits_the_workload() {
    let env = Env::new("");
    let p = Podman::start(&env);
    let (out, id) = p.run(&[], &["sh", "-c", WORKLOAD]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(id.len(), 64);
    let s = env.summary(&id);
    assert_eq!(s["container"]["runtime"], "podman");
    assert_workload_summary(&s);
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
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(id.len(), 64);
    assert!(!env.summary_path(&id).exists());
    assert!(!env.bpffs_mounted(), "nothing was loaded for it");
    assert_eq!(env.leftovers(), Vec::<String>::new());
}
