//! One line to stderr for code that runs inside a container runtime's
//! call (the wrappers): a failed write is ignored, never a panic.
//!
//! `eprintln!` panics when stderr is a closed pipe (Rust ignores SIGPIPE,
//! so the write fails with EPIPE), and a panic before the hand-over means
//! the real runtime never runs. A write to a full pipe nobody reads would
//! block instead; the wrapper's watchdog must still be able to report and
//! hand over, so a line is written only when poll(2) says the write will
//! not block, and no longer than PIPE_BUF, which a pipe takes whole.

use std::io::Write;

/// PIPE_BUF on Linux, newline included.
const MAX: usize = 4096;

pub fn line(text: &str) {
    let mut n = text.len().min(MAX - 1);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    let mut bytes = Vec::with_capacity(n + 1);
    bytes.extend_from_slice(&text.as_bytes()[..n]);
    bytes.push(b'\n');
    let mut pfd = libc::pollfd {
        fd: libc::STDERR_FILENO,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid, initialised pollfd and a count of 1; a zero
    // timeout only asks.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) } == 1 && pfd.revents & libc::POLLOUT != 0;
    if ready {
        let _ = std::io::stderr().write_all(&bytes);
    }
}
