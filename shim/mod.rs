//! The runtime wrappers: `ctraudit-runc` (runc-compatible, for Docker and
//! containerd's `BinaryName`), `containerd-shim-ctraudit-v2`, and what they
//! share: the config.json hook injection and the deadline on their work.

pub mod containerd;
pub mod deadline;
pub mod inject;
pub mod runc;
pub mod runc_cli;

/// `f`, with a panic (a bug) turned into an error, so that the real
/// runtime still runs; the panic hook has printed the panic already.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| "internal error (the panic above)".to_owned())
}
