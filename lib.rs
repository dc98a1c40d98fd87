//! ctraudit: per-container eBPF audit, plugged into the container runtime.
//! See docs/design.md and README.md; the top-level folders are the parts.

pub mod abi;
pub mod bpf;
pub mod config;
pub mod hook;
pub mod id;
pub mod install;
pub mod live;
pub mod meta;
pub mod report;
pub mod seccomp;
pub mod shim;
pub mod summary;
pub mod sys;
