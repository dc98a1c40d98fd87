//! Where the hook reports: stderr (which runc shows when a hook fails, and
//! drops when it succeeds) and syslog, the audit trail that outlives both.

use std::path::Path;

use syslog::{Facility, Formatter3164};

use crate::config::Config;

/// One line to syslog (facility daemon). Syslog being unavailable is not an
/// error worth failing a container over: the summary on disk is the record.
pub fn syslog(cfg: &Config, err: bool, message: &str) {
    if !cfg.syslog {
        return;
    }
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "ctraudit".into(),
        pid: std::process::id(),
    };
    let logger = match &cfg.syslog_socket {
        Some(path) => syslog::unix_custom(formatter, Path::new(path)),
        None => syslog::unix(formatter),
    };
    if let Ok(mut logger) = logger {
        let _ = if err {
            logger.err(message)
        } else {
            logger.info(message)
        };
    }
}

/// A problem: stderr and syslog.
pub fn problem(cfg: &Config, message: &str) {
    eprintln!("ctraudit: {message}");
    syslog(cfg, true, message);
}
