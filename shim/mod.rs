//! The runtime wrappers: `ctraudit-runc` (runc-compatible, for Docker and
//! containerd's `BinaryName`) and the shared config.json hook injection.

pub mod containerd;
pub mod inject;
pub mod runc;
