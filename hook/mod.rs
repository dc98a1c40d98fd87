//! The OCI hook: `ctraudit hook <stage>` with the state JSON on stdin.
//!
//! OCI semantics (runtime-spec config.md#posix-platform-hooks): a failing
//! prestart/createRuntime hook fails the container's start, so prestart
//! fails only under `on_error = "deny"`; a poststop hook's failure is only
//! logged by runc, and ctraudit's poststop exits 0 whatever happens.

pub mod cgroup;
pub mod failures;
pub mod gc;
pub mod identity;
mod poststop;
mod prestart;
pub mod runs;
pub mod state;

use std::sync::atomic::{AtomicU8, Ordering};

use crate::config::{Config, HookConfig, OnError, Stage};
use crate::sys::log;

/// Opt-out annotation: `io.ctraudit.enable=false` means no audit at all.
pub const ENABLE_ANNOTATION: &str = "io.ctraudit.enable";

/// Runs one hook stage and returns the process exit code.
pub fn run(stage: &str, hc: HookConfig) -> i32 {
    let cfg = &hc.config;
    let fixed = match Stage::parse(stage) {
        Ok(s) => s,
        Err(e) => {
            log::problem(cfg, &e);
            return 2;
        }
    };
    // until `auto` knows its stage, failing follows prestart's rules
    let provisional = fixed.unwrap_or(Stage::Prestart);
    RESOLVED.store(provisional as u8, Ordering::Relaxed);
    watchdog(cfg);
    let state = match (fixed, &hc.error) {
        // a broken config is the first thing a prestart reports
        (Some(Stage::Prestart | Stage::CreateRuntime), Some(_)) => None,
        _ => match state::read_stdin() {
            Ok(s) => {
                let _ = CONTAINER.set(s.id.to_string());
                Some(s)
            }
            Err(e) => return fail(provisional, cfg, &anyhow::Error::from(e)),
        },
    };
    let stage = match (fixed, &state) {
        (Some(s), _) => s,
        (None, Some(st)) => match Stage::of_status(&st.status) {
            Some(s) => s,
            None => {
                log::problem(cfg, &format!("hook auto: state status {:?} is not a stage ctraudit handles; nothing done", st.status));
                return 0;
            }
        },
        (None, None) => provisional,
    };
    RESOLVED.store(stage as u8, Ordering::Relaxed);
    match stage {
        Stage::Prestart | Stage::CreateRuntime => {
            let result = match &state {
                Some(st) => prestart::run(stage, &hc, st),
                None => Err(anyhow::anyhow!(
                    "config: {}",
                    hc.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
                )),
            };
            match result {
                Ok(()) => 0,
                Err(e) => fail(stage, cfg, &e),
            }
        }
        Stage::Poststop => {
            if let Some(st) = &state {
                if let Err(e) = poststop::run(&hc, st) {
                    return fail(stage, cfg, &e);
                }
            }
            0
        }
    }
}

/// A hook that could not do its job: poststop never fails the container;
/// prestart does only under `on_error = "deny"`.
fn fail(stage: Stage, cfg: &Config, e: &anyhow::Error) -> i32 {
    let problem = format!("{e:#}");
    if stage == Stage::Poststop {
        log::problem(cfg, &format!("poststop: {problem}"));
        record_failure(
            cfg,
            stage,
            &problem,
            "not finished: `ctraudit gc` finishes what is left",
        );
        return 0;
    }
    let verdict = cfg.on_error.verdict();
    log::problem(cfg, &format!("{}: {problem}; {verdict}", stage.name()));
    record_failure(cfg, stage, &problem, verdict);
    i32::from(cfg.on_error == OnError::Deny)
}

/// The container the hook is for, once its state is read.
static CONTAINER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A line in `<log>/failures.jsonl` for this hook's container.
pub(crate) fn record_failure(cfg: &Config, stage: Stage, problem: &str, verdict: &str) {
    let id = CONTAINER.get().map(String::as_str);
    failures::record(cfg, id, stage.name(), problem, verdict);
}

/// Ends the hook at `hooks.deadline_ms`, before the runtime's own hook
/// timeout would: a hook the runtime kills fails the container even under
/// `on_error = "allow"`. Whatever was half done is found again by poststop
/// (the meta file is written before the kernel registration).
fn watchdog(cfg: &Config) {
    let ms = cfg.hooks.deadline_ms;
    let cfg = cfg.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(ms));
        // the stage known by now (`auto` resolves it from the state)
        let stage = match RESOLVED.load(Ordering::Relaxed) {
            s if s == Stage::Poststop as u8 => Stage::Poststop,
            s if s == Stage::CreateRuntime as u8 => Stage::CreateRuntime,
            _ => Stage::Prestart,
        };
        give_up(stage, &cfg, ms);
    });
}

/// The stage the hook runs, for the watchdog (an `auto` hook learns it late).
static RESOLVED: AtomicU8 = AtomicU8::new(Stage::Prestart as u8);

/// Set once prestart has registered the container: a deadline reached
/// after that (the syslog line, the exit) must not say it runs unaudited.
static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// prestart: the kernel audits the container from now on.
pub(crate) fn registered() {
    REGISTERED.store(true, Ordering::SeqCst);
}

/// The exit code and the words of a hook that reached its deadline.
fn deadline_verdict(stage: Stage, on_error: OnError, registered: bool) -> (i32, &'static str) {
    match (stage, on_error) {
        (Stage::Poststop, _) => (0, "container state kept for `ctraudit gc`"),
        (_, _) if registered => (0, "the container was registered before: it is audited"),
        (_, on_error) => (i32::from(on_error == OnError::Deny), on_error.verdict()),
    }
}

fn give_up(stage: Stage, cfg: &Config, ms: u64) -> ! {
    let (code, verdict) = deadline_verdict(stage, cfg.on_error, REGISTERED.load(Ordering::SeqCst));
    let problem = format!("gave up after {ms} ms (hooks.deadline_ms)");
    log::problem(cfg, &format!("{}: {problem}; {verdict}", stage.name()));
    record_failure(cfg, stage, &problem, verdict);
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_and_unknown_is_named() {
        assert_eq!(Stage::parse("prestart"), Ok(Some(Stage::Prestart)));
        assert_eq!(
            Stage::parse("createRuntime"),
            Ok(Some(Stage::CreateRuntime))
        );
        assert_eq!(Stage::parse("poststop"), Ok(Some(Stage::Poststop)));
        assert_eq!(Stage::parse("auto"), Ok(None));
        assert_eq!(
            Stage::parse("poststart").unwrap_err(),
            "hook stage \"poststart\": unknown (expected prestart, createRuntime, poststop or auto)"
        );
        assert_eq!(Stage::of_status("creating"), Some(Stage::Prestart));
        assert_eq!(Stage::of_status("stopped"), Some(Stage::Poststop));
        assert_eq!(Stage::of_status("running"), None);
    }

    #[test]
    fn a_deadline_after_the_registration_says_the_container_is_audited() {
        use OnError::*;
        for policy in [Allow, Deny] {
            assert_eq!(
                deadline_verdict(Stage::Prestart, policy, true),
                (0, "the container was registered before: it is audited")
            );
        }
        assert_eq!(deadline_verdict(Stage::CreateRuntime, Deny, false).0, 1);
        assert_eq!(
            deadline_verdict(Stage::Prestart, Allow, false),
            (0, "container runs unaudited (on_error = \"allow\")")
        );
        assert_eq!(deadline_verdict(Stage::Poststop, Deny, true).0, 0);
    }
}
