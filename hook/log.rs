//! Where the hook reports: stderr (which runc copies into its own log and
//! error output) for problems, and syslog for the audit trail.

use syslog::{Facility, Formatter3164};

/// One line to syslog (facility daemon). Syslog being unavailable is not an
/// error worth failing a container over: the summary on disk is the record.
pub fn syslog(enabled: bool, err: bool, message: &str) {
    if !enabled {
        return;
    }
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "ctraudit".into(),
        pid: std::process::id(),
    };
    if let Ok(mut logger) = syslog::unix(formatter) {
        let _ = if err {
            logger.err(message)
        } else {
            logger.info(message)
        };
    }
}

/// A problem: stderr and syslog.
pub fn problem(syslog_enabled: bool, message: &str) {
    eprintln!("ctraudit: {message}");
    syslog(syslog_enabled, true, message);
}
