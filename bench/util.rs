//! Timing, statistics and process helpers of the benchmark harness.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd`, failing the benchmark with its stderr when it fails.
pub fn must(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A hook run under `sysloop rss`: wall time and the hook's peak RSS (KiB).
pub fn timed_with_rss(sysloop: &std::path::Path, cmd: &Command, stdin: &[u8]) -> (Duration, u64) {
    let mut run = Command::new(sysloop);
    run.arg("rss").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            run.env(k, v);
        }
    }
    let t = Instant::now();
    let mut child = run
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{run:?}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (elapsed, rss)
}

/// Nearest-rank percentile of `v` (0 < q <= 100).
pub fn pct(v: &[f64], q: f64) -> f64 {
    assert!(!v.is_empty(), "no samples");
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    assert!(n > 0, "no samples");
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Median of the pairwise differences a[i] - b[i] (same round).
pub fn median_delta(a: &[f64], b: &[f64]) -> f64 {
    median(&a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>())
}

/// Median of the pairwise ratios a[i] / b[i] (same round).
pub fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>())
}

/// Waits until something listens on 127.0.0.1:port.
pub fn wait_port(port: u16, what: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes a sysctl-like file and restores its old value on drop.
pub struct Knob {
    path: &'static str,
    old: String,
}

impl Knob {
    pub fn set(path: &'static str, value: &str) -> Knob {
        let old = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::write(path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
        Knob { path, old }
    }
}

impl Drop for Knob {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, self.old.trim());
    }
}

/// Mounts `fstype` at `dir` when nothing is mounted there; unmounts on drop.
pub struct MountIfMissing {
    dir: &'static str,
    mounted: bool,
}

impl MountIfMissing {
    pub fn new(fstype: &str, dir: &'static str) -> MountIfMissing {
        let mounted_already = std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(dir));
        let mut mounted = false;
        if !mounted_already {
            nix::mount::mount(
                Some(fstype),
                dir,
                Some(fstype),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            )
            .unwrap_or_else(|e| panic!("mount {fstype} at {dir}: {e}"));
            mounted = true;
        }
        MountIfMissing { dir, mounted }
    }
}

impl Drop for MountIfMissing {
    fn drop(&mut self) {
        if self.mounted {
            let _ = nix::mount::umount2(self.dir, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// The first line of a command's output, or "unknown".
pub fn version_of(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
