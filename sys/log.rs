//! Where the hook and the wrappers report: stderr (which runc shows when a
//! hook fails, and drops when it succeeds) and syslog, the audit trail that
//! outlives both.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use syslog::{Facility, Formatter3164, LogFormat, Severity};

/// Where syslog lines go: whether they are sent, and to which socket
/// (`None`: the usual ones). The configuration implements it, so that this
/// plumbing does not depend on `config/`.
pub trait Target {
    fn syslog_enabled(&self) -> bool;
    fn syslog_socket(&self) -> Option<&Path>;
}

/// Where syslog daemons listen, in the order the syslog crate tries them.
const SOCKETS: &[&str] = &["/dev/log", "/var/run/syslog", "/var/run/log"];

/// One line to syslog (facility daemon), formatted as RFC 3164.
///
/// Sent without blocking: a datagram socket whose reader is slow or stuck
/// blocks senders once its queue is full, and a hook that blocks holds up a
/// container start. A line that does not fit is dropped; the summary on
/// disk is the record.
pub fn syslog(cfg: &impl Target, err: bool, message: &str) {
    if !cfg.syslog_enabled() {
        return;
    }
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "ctraudit".into(),
        pid: std::process::id(),
    };
    let severity = if err {
        Severity::LOG_ERR
    } else {
        Severity::LOG_INFO
    };
    let mut line = Vec::new();
    if formatter.format(&mut line, severity, message).is_err() {
        return;
    }
    let candidates: Vec<PathBuf> = match cfg.syslog_socket() {
        Some(p) => vec![p.to_owned()],
        None => SOCKETS.iter().map(PathBuf::from).collect(),
    };
    for path in candidates {
        if send_nonblocking(&path, &line) {
            return;
        }
    }
}

fn send_nonblocking(path: &Path, line: &[u8]) -> bool {
    let Ok(sock) = UnixDatagram::unbound() else {
        return false;
    };
    sock.set_nonblocking(true).is_ok() && sock.connect(path).is_ok() && sock.send(line).is_ok()
}

/// A problem: stderr and syslog. A stderr that cannot be written (closed,
/// full, stuck) loses the line there, never the hook (`sys::stderr`):
/// logging is not worth a container.
pub fn problem(cfg: &impl Target, message: &str) {
    crate::sys::stderr::line(&format!("ctraudit: {message}"));
    syslog(cfg, true, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct To(PathBuf);

    impl Target for To {
        fn syslog_enabled(&self) -> bool {
            true
        }
        fn syslog_socket(&self) -> Option<&Path> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_full_syslog_queue_never_blocks_the_hook() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let reader = UnixDatagram::bind(&path).unwrap();
        let cfg = To(path);
        // far more lines than a datagram queue holds, nobody reading
        let start = std::time::Instant::now();
        for i in 0..200 {
            syslog(&cfg, false, &format!("line {i}"));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        let mut buf = [0u8; 512];
        let n = reader.recv(&mut buf).unwrap();
        let first = String::from_utf8_lossy(&buf[..n]);
        assert!(first.starts_with("<30>"), "daemon.info: {first}");
        assert!(
            first.contains(" ctraudit[") && first.ends_with("]: line 0"),
            "{first}"
        );
    }
}
