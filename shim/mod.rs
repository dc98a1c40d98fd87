//! The runtime wrappers: `ctraudit-runc` (runc-compatible, for Docker and
//! containerd's `BinaryName`), `containerd-shim-ctraudit-v2`, and what they
//! share: the config.json hook injection and the deadline on their work.

pub mod containerd;
pub mod deadline;
pub mod inject;
pub mod runc;
pub mod runc_cli;
