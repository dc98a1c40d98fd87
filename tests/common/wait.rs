//! One way to wait for something in a test: poll a condition at a fixed
//! interval until it holds or a deadline passes. Each caller keeps the
//! timeout and interval its wait had before, so a slow machine fails the
//! same waits it failed then, no more.

use std::time::{Duration, Instant};

/// Calls `f` every `every` until it returns true; false if it still has
/// not by `timeout`. For waits whose caller goes on either way (a Drop, a
/// stop that the next step checks), or that fail with a message of their
/// own.
pub fn poll_until(timeout: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// The same, but a wait in vain fails the test with `what`, which says
/// what never happened.
#[track_caller]
pub fn wait_until(
    what: impl std::fmt::Display,
    timeout: Duration,
    every: Duration,
    f: impl FnMut() -> bool,
) {
    assert!(poll_until(timeout, every, f), "{what}");
}
