//! A private dockerd per test: its own data root, exec root, socket,
//! daemon.json and (managed) containerd, no iptables and no bridge, so the
//! host's Docker, if any, is never touched. Drop removes the containers,
//! stops the daemon and unmounts whatever it left.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::output::stdout;
use super::wait::{poll_until, wait_until};
use super::{import_rootfs, Env, BIN};

pub const DOCKER: &str = "/usr/bin/docker";
pub const IMAGE: &str = "ctraudit-busybox:test";

pub struct Dockerd<'a> {
    pub env: &'a Env,
    pub dir: PathBuf,
    pub sock: PathBuf,
    pub daemon_json: PathBuf,
    /// The ctraudit config the runtime is given (--ctraudit-config).
    pub ct_config: PathBuf,
    pub runtime: PathBuf,
    child: Child,
}

impl<'a> Dockerd<'a> {
    /// Starts dockerd with ctraudit registered as runtime "ctraudit" and the
    /// test image imported. `extra` is appended to the ctraudit config.
    pub fn start(env: &'a Env, extra: &str) -> Dockerd<'a> {
        Self::start_with(env, extra, true)
    }

    /// The same, but with `register` false daemon.json has no ctraudit runtime.
    pub fn start_with(env: &'a Env, extra: &str, register: bool) -> Dockerd<'a> {
        let dir = env.path("docker");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let runtime = dir.join("bin/ctraudit-runc");
        std::os::unix::fs::symlink(BIN, &runtime).unwrap();
        let ct_config = dir.join("ctraudit.toml");
        std::fs::write(&ct_config, Self::config_text(env, &dir, extra)).unwrap();
        let daemon_json = dir.join("daemon.json");
        let runtimes = if register {
            serde_json::json!({"ctraudit": {"path": runtime, "runtimeArgs": [format!("--ctraudit-config={}", ct_config.display())]}})
        } else {
            serde_json::json!({})
        };
        std::fs::write(
            &daemon_json,
            serde_json::json!({"runtimes": runtimes}).to_string(),
        )
        .unwrap();
        let sock = dir.join("sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        // its temporary files (and its containerd's stack dumps) stay ours
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let child = Command::new("dockerd")
            .env("TMPDIR", dir.join("tmp"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .arg("--config-file")
            .arg(&daemon_json)
            .args([
                "--iptables=false",
                "--ip-masq=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd is installed (docker.io)");
        let d = Dockerd {
            env,
            dir,
            sock,
            daemon_json,
            ct_config,
            runtime,
            child,
        };
        let up = poll_until(Duration::from_secs(60), Duration::from_millis(200), || {
            d.docker(&["info"]).status.success()
        });
        assert!(
            up,
            "dockerd did not come up: {}",
            std::fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default()
        );
        d.import_image();
        d
    }

    pub fn config_text(env: &Env, dir: &Path, extra: &str) -> String {
        format!(
            "syslog_socket = \"{}\"\n{extra}\n[paths]\nbpffs = \"{}\"\nrun = \"{}\"\nlog = \"{}\"\n[docker]\ndata_root = \"{}\"\n",
            env.path("syslog.sock").display(),
            env.path("bpf").display(),
            env.path("run").display(),
            env.path("log").display(),
            dir.join("data").display()
        )
    }

    fn import_image(&self) {
        let mut import = Command::new(DOCKER);
        import
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(["import", "-", IMAGE]);
        import_rootfs(&self.dir, import);
    }

    /// Registers another runtime (`docker run --runtime NAME`) and reloads
    /// dockerd, waiting until it lists it.
    pub fn add_runtime(&self, name: &str, path: &str) {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&self.daemon_json).unwrap()).unwrap();
        v["runtimes"][name] = serde_json::json!({ "path": path });
        std::fs::write(&self.daemon_json, v.to_string()).unwrap();
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        self.wait_for_runtime(name);
    }

    /// Waits until dockerd lists runtime `name` (after a reload).
    pub fn wait_for_runtime(&self, name: &str) {
        wait_until(
            format_args!("dockerd did not list runtime {name}"),
            Duration::from_secs(20),
            Duration::from_millis(100),
            || {
                let out = self.docker(&["info", "--format", "{{json .Runtimes}}"]);
                stdout(&out).contains(name)
            },
        );
    }

    /// A docker CLI call, limited to 120 s: a container that hangs fails
    /// its test instead of holding up the suite.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .args(["--kill-after=5", "120", DOCKER])
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("docker client")
    }

    /// An audited container, as every test starts one: `docker run FLAGS
    /// --runtime ctraudit --network none IMAGE CMD` (with --cidfile);
    /// returns (output, full container id).
    pub fn run_audited(&self, flags: &[&str], cmd: &[&str]) -> (Output, String) {
        let mut args = flags.to_vec();
        args.extend(["--runtime", "ctraudit", "--network", "none", IMAGE]);
        args.extend_from_slice(cmd);
        self.run(&args)
    }

    /// A container that is not audited: `docker run --rm --network none
    /// FLAGS IMAGE CMD`, on dockerd's default runtime (runc) unless `flags`
    /// name another.
    pub fn run_unaudited(&self, flags: &[&str], cmd: &[&str]) -> Output {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(flags);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.docker(&args)
    }

    /// `docker run` with --cidfile; returns (output, full container id).
    pub fn run(&self, args: &[&str]) -> (Output, String) {
        let cid = self.dir.join(format!("cid-{}", rand_suffix()));
        let mut all = vec!["run", "--cidfile", cid.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.docker(&all);
        let id = std::fs::read_to_string(&cid)
            .unwrap_or_default()
            .trim()
            .to_owned();
        (out, id)
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Drop for Dockerd<'_> {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]);
        for id in stdout(&ids).split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        // then killed, if it has not exited by then
        poll_until(Duration::from_secs(20), Duration::from_millis(50), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        let _ = self.child.kill();
        let _ = self.child.wait();
        // mounts dockerd or containerd left below our directory (netns, shm)
        super::unmount_below(&self.dir);
    }
}
