//! A private containerd per test: its own root, state, socket and config
//! (the CRI plugin off), with containerd-shim-ctraudit-v2 on its PATH and
//! CTRAUDIT_CONFIG in its environment (the shims it starts inherit both).
//! The test image is an OCI layout tarball built here and loaded with
//! `ctr image import`, so no registry is needed.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::output::{stderr, stdout};
use super::wait::{poll_until, wait_until};
use super::{make_rootfs, Env, BIN};

pub const IMAGE: &str = "docker.io/library/ctraudit-busybox:test";

pub struct Containerd<'a> {
    pub env: &'a Env,
    pub dir: PathBuf,
    pub sock: PathBuf,
    /// containerd's own config.toml.
    pub config: PathBuf,
    pub ct_config: PathBuf,
    /// ctraudit-runc, for the BinaryName route.
    pub wrapper: PathBuf,
    child: Child,
}

impl<'a> Containerd<'a> {
    pub fn start(env: &'a Env, extra: &str) -> Containerd<'a> {
        let dir = env.path("containerd");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(BIN, bin.join("containerd-shim-ctraudit-v2")).unwrap();
        let wrapper = bin.join("ctraudit-runc");
        std::os::unix::fs::symlink(BIN, &wrapper).unwrap();
        let ct_config = dir.join("ctraudit.toml");
        std::fs::write(
            &ct_config,
            format!(
                "syslog_socket = \"{}\"\n{extra}\n[paths]\nbpffs = \"{}\"\nrun = \"{}\"\nlog = \"{}\"\n",
                env.path("syslog.sock").display(),
                env.path("bpf").display(),
                env.path("run").display(),
                env.path("log").display()
            ),
        )
        .unwrap();
        let sock = dir.join("containerd.sock");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{ttrpc}\"\n",
                root = dir.join("root").display(),
                state = dir.join("state").display(),
                sock = sock.display(),
                ttrpc = dir.join("ttrpc.sock").display()
            ),
        )
        .unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        // daemonized (setsid --fork: its parent becomes PID 1), as init
        // starts it, so `install containerd --restart` may restart it
        // its temporary files (stack dumps) stay below our directory
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let child = Command::new("setsid")
            .env("TMPDIR", dir.join("tmp"))
            .args(["--fork", "containerd"])
            .arg("--config")
            .arg(&config)
            .env("PATH", path)
            .env("CTRAUDIT_CONFIG", &ct_config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd is installed");
        let c = Containerd {
            env,
            dir,
            sock,
            config,
            ct_config,
            wrapper,
            child,
        };
        let up = poll_until(Duration::from_secs(30), Duration::from_millis(100), || {
            c.ctr(&["version"]).status.success()
        });
        assert!(
            up,
            "containerd did not come up: {}",
            std::fs::read_to_string(c.dir.join("containerd.log")).unwrap_or_default()
        );
        c.import_image();
        c
    }

    /// containerd processes reading this fixture's config.
    pub fn daemons(&self) -> Vec<i32> {
        let want = self.config.to_string_lossy().into_owned();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let args: Vec<String> = cmd
                    .split(|&b| b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                args.first().is_some_and(|a| a.ends_with("containerd")) && args.contains(&want)
            })
            .collect()
    }

    /// Waits until the daemon answers again (after a restart).
    pub fn wait_up(&self) {
        wait_until(
            "containerd did not come back",
            Duration::from_secs(30),
            Duration::from_millis(100),
            || self.ctr(&["version"]).status.success(),
        );
    }

    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ctr is installed")
    }

    /// An OCI image layout tarball with the test root filesystem as its one layer.
    fn import_image(&self) {
        let rootfs = self.dir.join("rootfs");
        make_rootfs(&rootfs);
        let layout = self.dir.join("oci");
        let blobs = layout.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let blob = |bytes: &[u8]| -> (String, usize) {
            let digest = format!("{:x}", Sha256::digest(bytes));
            std::fs::write(blobs.join(&digest), bytes).unwrap();
            (format!("sha256:{digest}"), bytes.len())
        };
        let layer = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .output()
            .unwrap();
        assert!(layer.status.success());
        let (layer_digest, layer_size) = blob(&layer.stdout);
        let config = json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
        });
        let (config_digest, config_size) = blob(config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]
        });
        let (manifest_digest, manifest_size) = blob(manifest.to_string().as_bytes());
        let index = json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_size,
                "annotations": {"io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "test"}
            }]
        });
        std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
        std::fs::write(
            layout.join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        let tarball = self.dir.join("image.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&tarball)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        let out = self.ctr(&[
            "image",
            "import",
            "--snapshotter",
            "native",
            tarball.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "ctr image import: {}", stderr(&out));
        let list = self.ctr(&["image", "ls", "-q"]);
        assert!(stdout(&list).contains(IMAGE), "{}", stdout(&list));
    }

    /// An audited container on the shim route: `ctr run` with runtime
    /// io.containerd.ctraudit.v2.
    pub fn run_audited(&self, id: &str, cmd: &[&str]) -> Output {
        self.run(&["--runtime", "io.containerd.ctraudit.v2"], id, cmd)
    }

    /// `ctr run --rm` in the foreground with the native snapshotter.
    pub fn run(&self, flags: &[&str], id: &str, cmd: &[&str]) -> Output {
        let mut args = vec!["run", "--rm", "--snapshotter", "native"];
        args.extend_from_slice(flags);
        args.push(IMAGE);
        args.push(id);
        args.extend_from_slice(cmd);
        self.ctr(&args)
    }
}

impl Drop for Containerd<'_> {
    fn drop(&mut self) {
        // tasks and containers first, then the daemon (its shims exit with it)
        let tasks = self.ctr(&["task", "ls", "-q"]);
        for id in stdout(&tasks).split_whitespace() {
            let _ = self.ctr(&["task", "kill", "-s", "SIGKILL", id]);
            let _ = self.ctr(&["task", "delete", "-f", id]);
        }
        let containers = self.ctr(&["container", "ls", "-q"]);
        for id in stdout(&containers).split_whitespace() {
            let _ = self.ctr(&["container", "delete", id]);
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        // then killed, if it has not exited by then
        poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        let _ = self.child.kill();
        let _ = self.child.wait();
        // a containerd that `install containerd --restart` started again
        for pid in self.daemons() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        super::unmount_below(&self.dir);
    }
}
