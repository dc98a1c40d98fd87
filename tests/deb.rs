//! The Debian package: build, lintian, contents, install, an audited
//! `docker run` through the installed binary, remove and purge. Root; it
//! installs into the real system and puts the machine back as it found it
//! (the package purged, /var/log/ctraudit and /etc/ctraudit restored).
//! Names start with `deb_`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::docker::Dockerd;
use common::output::{stdout, text};
use common::{executed, Env, BIN};

/// The ABI of this build (package A) and of the upgrade built here (B).
const ABI_A: u32 = ctraudit::bpf::ABI_VERSION;
const ABI_B: u32 = ABI_A + 1;

fn sh(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

const KEPT: &[&str] = &["/var/log/ctraudit", "/etc/ctraudit"];

/// Both tests install into the real dpkg database: one at a time.
static SYSTEM: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn build_deb(binary: &str, out: &Path, version: &str) -> PathBuf {
    let o = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/deb/build.sh"
    ))
    .args([binary, out.to_str().unwrap()])
    .env("CTRAUDIT_DEB_VERSION", version)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    out.join(format!("ctraudit_{version}_amd64.deb"))
}

/// Registers the installed ctraudit with a private dockerd and waits until
/// dockerd lists the runtime.
fn register(d: &Dockerd) {
    let install = Command::new("/usr/bin/ctraudit")
        .args(["install", "docker", "--restart", "--daemon-json"])
        .arg(&d.daemon_json)
        .arg("--ctraudit-config")
        .arg(&d.ct_config)
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));
    d.wait_for_runtime("ctraudit");
}
const PODMAN_HOOK: &str = "/etc/containers/oci/hooks.d/ctraudit.json";
/// Directories `install podman` may create, deepest first.
const PODMAN_DIRS: &[&str] = &["/etc/containers/oci/hooks.d", "/etc/containers/oci"];

/// Moves what the package's purge would delete out of the way, and puts
/// everything back (package purged) however the test ends.
struct Machine {
    saved: Vec<(PathBuf, PathBuf)>,
    /// Directories that did not exist before the test.
    absent: Vec<&'static str>,
}

impl Machine {
    fn take(backup: &Path) -> Machine {
        assert!(
            !sh("dpkg-query", &["-W", "-f=${Status}", "ctraudit"])
                .stdout
                .starts_with(b"install ok"),
            "a ctraudit package is installed on this machine: the test would replace it"
        );
        let mut saved = Vec::new();
        for (i, p) in KEPT.iter().enumerate() {
            let p = PathBuf::from(p);
            if p.exists() {
                let to = backup.join(format!("saved-{i}"));
                sh("mv", &[p.to_str().unwrap(), to.to_str().unwrap()]);
                saved.push((p, to));
            }
        }
        let absent = PODMAN_DIRS
            .iter()
            .copied()
            .filter(|d| !Path::new(d).exists())
            .collect();
        Machine { saved, absent }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(PODMAN_HOOK);
        for d in &self.absent {
            let _ = std::fs::remove_dir(d); // only if empty
        }
        let _ = sh("dpkg", &["--purge", "ctraudit"]);
        for p in KEPT {
            let _ = std::fs::remove_dir_all(p);
        }
        for (p, from) in &self.saved {
            let _ = sh("mv", &[from.to_str().unwrap(), p.to_str().unwrap()]);
        }
    }
}

#[test]
fn deb_builds_installs_audits_and_purges_cleanly() {
    let env = Env::new("");
    let build = env.path("deb");
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/deb/build.sh"
    ))
    .args([BIN, build.to_str().unwrap()])
    .env("CTRAUDIT_DEB_VERSION", "0.1.0")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let deb = build.join("ctraudit_0.1.0_amd64.deb");
    let deb_s = deb.to_str().unwrap();

    // lintian: no errors (warnings go to the issue note)
    let lint = sh("lintian", &["--tag-display-limit", "0", deb_s]);
    let errors: Vec<String> = text(&lint)
        .lines()
        .filter(|l| l.starts_with("E:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(errors, Vec::<String>::new());

    // exactly the expected files
    let listing = sh("dpkg-deb", &["-c", deb_s]);
    let mut files: Vec<String> = stdout(&listing)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .map(|l| {
            l.split_whitespace()
                .nth(5)
                .unwrap()
                .trim_start_matches('.')
                .to_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "/etc/ctraudit/config.toml",
            "/lib/systemd/system/ctraudit-checkpoint.service",
            "/lib/systemd/system/ctraudit-checkpoint.timer",
            "/lib/systemd/system/ctraudit-gc.service",
            "/lib/systemd/system/ctraudit-gc.timer",
            "/lib/systemd/system/sys-fs-bpf.mount",
            "/usr/bin/containerd-shim-ctraudit-v2",
            "/usr/bin/ctraudit",
            "/usr/bin/ctraudit-runc",
            "/usr/share/containers/oci/hooks.d/ctraudit.json",
            "/usr/share/doc/ctraudit/changelog.gz",
            "/usr/share/doc/ctraudit/copyright",
            "/usr/share/doc/ctraudit/design.md",
            "/usr/share/doc/ctraudit/examples/runtimeclass.yaml",
            "/usr/share/doc/ctraudit/help.txt.gz",
            "/usr/share/doc/ctraudit/seccomp.md",
            "/usr/share/doc/ctraudit/summary.md",
            "/usr/share/man/man1/containerd-shim-ctraudit-v2.1.gz",
            "/usr/share/man/man1/ctraudit-runc.1.gz",
            "/usr/share/man/man1/ctraudit.1.gz",
        ]
    );

    let _machine = Machine::take(&env.path(""));
    let out = sh("dpkg", &["-i", deb_s]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("ctraudit install docker --restart"),
        "postinst says what to do next"
    );
    assert_eq!(
        std::fs::read_link("/usr/bin/ctraudit-runc").unwrap(),
        Path::new("ctraudit")
    );
    assert!(Path::new("/var/log/ctraudit").is_dir());

    // the installed binary, registered with a dockerd, audits a container
    let d = Dockerd::start_with(&env, "", false);
    let install = Command::new("/usr/bin/ctraudit")
        .args(["install", "docker", "--restart", "--daemon-json"])
        .arg(&d.daemon_json)
        .arg("--ctraudit-config")
        .arg(&d.ct_config)
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&d.daemon_json).unwrap()).unwrap();
    assert_eq!(v["runtimes"]["ctraudit"]["path"], "/usr/bin/ctraudit-runc");
    let (out, id) = d.run_audited(&["--rm"], &["/bin/cat", "/etc/hostname"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = env.summary(&id);
    assert_eq!(
        executed(&s),
        [(
            "/bin/cat".to_owned(),
            vec!["/bin/cat".to_owned(), "/etc/hostname".to_owned()]
        )]
    );
    drop(d);

    // remove is refused while an engine still points at the package
    let reg = sh(
        "/usr/bin/ctraudit",
        &[
            "install",
            "podman",
            "--hooks-dir",
            "/etc/containers/oci/hooks.d",
        ],
    );
    assert!(reg.status.success(), "{}", text(&reg));
    let refused = sh("dpkg", &["-r", "ctraudit"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("ctraudit is still registered with: podman"),
        "{}",
        text(&refused)
    );
    assert!(
        text(&refused).contains("run: ctraudit uninstall podman --restart"),
        "{}",
        text(&refused)
    );
    let unreg = sh(
        "/usr/bin/ctraudit",
        &[
            "uninstall",
            "podman",
            "--hooks-dir",
            "/etc/containers/oci/hooks.d",
        ],
    );
    assert!(unreg.status.success(), "{}", text(&unreg));

    // remove keeps the logs and the configuration; purge removes both
    std::fs::write("/var/log/ctraudit/kept-by-remove", "x").unwrap();
    let out = sh("dpkg", &["-r", "ctraudit"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!Path::new("/usr/bin/ctraudit").exists());
    assert!(Path::new("/var/log/ctraudit/kept-by-remove").exists());
    assert!(Path::new("/etc/ctraudit/config.toml").exists());
    let out = sh("dpkg", &["-P", "ctraudit"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!Path::new("/var/log/ctraudit").exists());
    assert!(!Path::new("/etc/ctraudit").exists());
}

/// Upgrading while a container runs: version A (this build's ABI) audits
/// it; version B (the next ABI, built here) is installed over A; the running
/// container keeps its audit under A's ABI and ends with a correct summary
/// from B, new containers use B's programs under B's ABI, and gc then
/// removes A's.
#[test]
fn deb_upgrade_keeps_a_running_container_audited_across_an_abi_bump() {
    let _one = SYSTEM.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new("");
    let deb_a = build_deb(BIN, &env.path("deb-a"), "0.1.0");
    // B: the same sources with the next ABI, in a target directory of its own
    let target_b = env.path("target-b");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let b = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "--bin",
            "ctraudit",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        ])
        .env("CARGO_TARGET_DIR", &target_b)
        .env("CTRAUDIT_ABI", ABI_B.to_string())
        .output()
        .unwrap();
    assert!(b.status.success(), "{}", text(&b));
    let bin_b = target_b.join("debug/ctraudit");
    let deb_b = build_deb(bin_b.to_str().unwrap(), &env.path("deb-b"), "0.1.1");

    let _machine = Machine::take(&env.path(""));
    let out = sh("dpkg", &["-i", deb_a.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    // programs stay loaded when idle, so the old ABI's are left for gc to
    // remove (with the default, the last poststop of A's ABI unloads them)
    let d = Dockerd::start_with(&env, "detach_when_idle = false", false);
    register(&d);
    let (out, old) = d.run_audited(&["-d"], &["/bin/sleep", "60"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        env.path(&format!("bpf/ctraudit/v{ABI_A}/containers/{old}"))
            .is_dir(),
        "audited under A's ABI"
    );

    let out = sh("dpkg", &["-i", deb_b.to_str().unwrap()]);
    assert!(out.status.success(), "upgrade: {}", text(&out));
    assert!(stdout(&sh("dpkg-query", &["-W", "-f=${Version}", "ctraudit"])) == "0.1.1");

    // a new container: B's programs, under B's ABI
    let (out, new) = d.run_audited(&["--rm"], &["/bin/cat", "/etc/hostname"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = env.summary(&new);
    assert_eq!(s["ctraudit"]["abi"], ABI_B);
    assert_eq!(
        executed(&s),
        [(
            "/bin/cat".to_owned(),
            vec!["/bin/cat".to_owned(), "/etc/hostname".to_owned()]
        )]
    );

    // the old one is still audited by A's programs, and B finishes it
    let out = d.docker(&["exec", &old, "/bin/cat", "/etc/passwd"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(d.docker(&["stop", "-t", "1", &old]).status.success());
    assert!(d.docker(&["rm", &old]).status.success());
    let s = env.summary(&old);
    assert_eq!(s["ctraudit"]["abi"], ABI_A);
    assert_eq!(s["loss"]["complete"], true, "{}", s["loss"]);
    let mut ex = executed(&s);
    ex.sort();
    assert_eq!(
        ex,
        [
            (
                "/bin/cat".to_owned(),
                vec!["/bin/cat".to_owned(), "/etc/passwd".to_owned()]
            ),
            (
                "/bin/sleep".to_owned(),
                vec!["/bin/sleep".to_owned(), "60".to_owned()]
            ),
        ]
    );
    assert_eq!(s["notes"], serde_json::json!([]));

    // nothing uses A's ABI any more: gc removes it, and its programs with it
    let gc = Command::new("/usr/bin/ctraudit")
        .arg("gc")
        .env("CTRAUDIT_CONFIG", &d.ct_config)
        .output()
        .unwrap();
    assert!(gc.status.success(), "{}", text(&gc));
    assert_eq!(
        stdout(&gc),
        format!("remove ABI v{ABI_A}: no container uses it (its programs detach)\n")
    );
    assert!(!env.path(&format!("bpf/ctraudit/v{ABI_A}")).exists());
    assert!(env
        .path(&format!("bpf/ctraudit/v{ABI_B}/links/ct_sys_enter"))
        .exists());
    let out = Command::new("/usr/bin/ctraudit")
        .args(["uninstall", "docker", "--daemon-json"])
        .arg(&d.daemon_json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
