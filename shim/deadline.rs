//! The wrappers' deadline for their own work, `hooks.deadline_ms`: the
//! counterpart of the hook's watchdog (`hook::watchdog`). A hook that runs
//! too long is killed by the runtime and fails the container; a wrapper
//! that runs too long holds up the runtime's caller (dockerd, containerd)
//! with no timeout of its own. Past the deadline the watchdog thread calls
//! `overdue`, which hands over to the real runtime unchanged
//! (`on_error = "allow"`) or fails the start (`"deny"`).
//!
//! The deadline starts with the default `hooks.deadline_ms`, since reading
//! config.toml is itself work that may hang (a FIFO at its path), and
//! follows the configuration once it is read.
//!
//! The one step that must not be cut in two is the replacement of
//! config.json: [`Watchdog::begin_write`] claims it, and a watchdog that
//! finds it under way waits [`GRACE`] more before giving up anyway.

use std::convert::Infallible;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::Config;

/// How much longer a watchdog waits for a config.json replacement that is
/// under way at the deadline (a write and a rename; milliseconds normally).
pub const GRACE: Duration = Duration::from_secs(1);

/// What the wrapper was doing when its deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Late {
    /// Reading its configuration or the bundle: nothing written yet.
    Working,
    /// Replacing config.json: it may hold the old text or the new.
    Writing,
}

/// What `overdue` is told.
#[derive(Debug)]
pub struct Overdue {
    /// The configuration, when it was read in time.
    pub config: Option<Config>,
    /// The deadline that passed, in milliseconds.
    pub ms: u64,
    pub late: Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Working,
    Writing,
    Done,
    GaveUp,
}

struct State {
    phase: Phase,
    ms: u64,
    config: Option<Config>,
}

struct Inner {
    start: Instant,
    state: Mutex<State>,
    wake: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // a panic elsewhere must not take the deadline with it
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Watchdog {
    inner: Arc<Inner>,
}

impl Watchdog {
    /// Starts the watch, `ms` from now until [`Watchdog::configure`] says
    /// otherwise. `overdue` never returns: it execs or exits.
    pub fn start<F>(ms: u64, overdue: F) -> Watchdog
    where
        F: FnOnce(Overdue) -> Infallible + Send + 'static,
    {
        let inner = Arc::new(Inner {
            start: Instant::now(),
            state: Mutex::new(State {
                phase: Phase::Working,
                ms,
                config: None,
            }),
            wake: Condvar::new(),
        });
        let watch = Arc::clone(&inner);
        std::thread::spawn(move || {
            let mut st = watch.lock();
            let late = loop {
                let due = watch.start + Duration::from_millis(st.ms);
                let due = match st.phase {
                    Phase::Done | Phase::GaveUp => return,
                    Phase::Working => due,
                    Phase::Writing => due + GRACE,
                };
                let now = Instant::now();
                if now >= due {
                    break match st.phase {
                        Phase::Writing => Late::Writing,
                        _ => Late::Working,
                    };
                }
                st = watch
                    .wake
                    .wait_timeout(st, due - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            };
            st.phase = Phase::GaveUp;
            let told = Overdue {
                config: st.config.clone(),
                ms: st.ms,
                late,
            };
            drop(st);
            let _ = overdue(told);
        });
        Watchdog { inner }
    }

    /// The configuration is read: its `hooks.deadline_ms` counts from the start.
    pub fn configure(&self, cfg: &Config) {
        let mut st = self.inner.lock();
        st.ms = cfg.hooks.deadline_ms;
        st.config = Some(cfg.clone());
        self.inner.wake.notify_all();
    }

    /// Claims the replacement of config.json; false when the watchdog has
    /// already given up (and is handing over): then nothing may be written.
    pub fn begin_write(&self) -> bool {
        self.set(Phase::Writing)
    }

    /// The wrapper's own work is over; false when the watchdog has already
    /// given up.
    pub fn finish(&self) -> bool {
        self.set(Phase::Done)
    }

    fn set(&self, phase: Phase) -> bool {
        let mut st = self.inner.lock();
        if st.phase == Phase::GaveUp {
            return false;
        }
        st.phase = phase;
        self.inner.wake.notify_all();
        true
    }
}

/// For the main thread once the watchdog has given up: it is exec'ing the
/// real runtime or exiting, which ends this thread too.
pub fn wait_for_hand_over() -> ! {
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn watch(ms: u64) -> (Watchdog, mpsc::Receiver<(Option<u64>, u64, Late)>) {
        let (tx, rx) = mpsc::channel();
        let wd = Watchdog::start(ms, move |o| {
            let _ = tx.send((o.config.map(|c| c.hooks.deadline_ms), o.ms, o.late));
            wait_for_hand_over()
        });
        (wd, rx)
    }

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn gives_up_at_the_default_deadline_when_no_config_came() {
        let (wd, rx) = watch(50);
        assert_eq!(rx.recv_timeout(LONG).unwrap(), (None, 50, Late::Working));
        assert!(!wd.begin_write(), "nothing may be written now");
        assert!(!wd.finish());
    }

    #[test]
    fn follows_the_configured_deadline() {
        let (wd, rx) = watch(60_000);
        let mut cfg = Config::default();
        cfg.hooks.deadline_ms = 50;
        wd.configure(&cfg);
        assert_eq!(
            rx.recv_timeout(LONG).unwrap(),
            (Some(50), 50, Late::Working)
        );
    }

    #[test]
    fn work_done_in_time_is_left_alone() {
        let (wd, rx) = watch(100);
        assert!(wd.begin_write());
        assert!(wd.finish());
        assert!(rx.recv_timeout(Duration::from_millis(400)).is_err());
    }

    #[test]
    fn a_write_under_way_gets_the_grace_then_is_given_up() {
        let (wd, rx) = watch(50);
        assert!(wd.begin_write());
        // not at the deadline (50 ms) ...
        assert!(rx.recv_timeout(GRACE / 2).is_err());
        // ... but after the grace
        assert_eq!(rx.recv_timeout(LONG).unwrap(), (None, 50, Late::Writing));
        assert!(!wd.finish());
    }
}
