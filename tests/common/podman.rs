//! Podman with private storage (vfs), run root and tmp dir, runc as the
//! runtime (Debian's crun refuses hybrid cgroup hosts) and the ctraudit
//! hooks.d file written by `ctraudit install podman` into a private
//! hooks directory.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::{import_rootfs, unmount_below, Env, BIN};

pub const IMAGE: &str = "localhost/ctraudit-busybox:test";

pub struct Podman<'a> {
    pub env: &'a Env,
    pub dir: PathBuf,
    pub hooks_dir: PathBuf,
}

impl<'a> Podman<'a> {
    pub fn start(env: &'a Env) -> Podman<'a> {
        let dir = env.path("podman");
        let hooks_dir = dir.join("hooks.d");
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let ct_config = dir.join("ctraudit.toml");
        std::fs::write(
            &ct_config,
            format!(
                "syslog_socket = \"{}\"\n[paths]\nbpffs = \"{}\"\nrun = \"{}\"\nlog = \"{}\"\n",
                env.path("syslog.sock").display(),
                env.path("bpf").display(),
                env.path("run").display(),
                env.path("log").display()
            ),
        )
        .unwrap();
        let out = Command::new(BIN)
            .args(["install", "podman", "--hooks-dir"])
            .arg(&hooks_dir)
            .arg("--ctraudit-config")
            .arg(&ct_config)
            .output()
            .unwrap();
        assert!(out.status.success(), "install podman: {out:?}");
        let p = Podman {
            env,
            dir,
            hooks_dir,
        };
        let import = p.command(&["import", "-", IMAGE]);
        import_rootfs(&p.dir, import);
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .arg("--hooks-dir")
            .arg(&self.hooks_dir)
            .args(args);
        c
    }

    pub fn podman(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("podman is installed")
    }

    /// `podman run --rm` with runc, no network and this machine's limits
    /// (the hard nofile limit here is 20000, below Podman's default).
    pub fn run(&self, flags: &[&str], cmd: &[&str]) -> (Output, String) {
        let cid = self.dir.join(format!("cid-{}", cmd.len() + flags.len()));
        let _ = std::fs::remove_file(&cid);
        let mut args = vec!["run", "--rm", "--runtime", "runc", "--network", "none"];
        args.extend([
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=4096:4096",
        ]);
        args.extend(["--cidfile", cid.to_str().unwrap()]);
        args.extend_from_slice(flags);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        let out = self.podman(&args);
        let id = std::fs::read_to_string(&cid)
            .unwrap_or_default()
            .trim()
            .to_owned();
        (out, id)
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-af"]);
        unmount_below(&self.dir);
    }
}
