//! Plumbing shared by every part (docs/design.md "Components"): files that
//! belong to someone else, read with a bound and replaced without writing
//! through them; JSON edited by byte span; stderr that can neither panic
//! nor block; syslog; the global lock; the kernel's clock; line:column of a byte offset;
//! where cgroup2 is mounted, and whether a cgroup still has processes.

pub mod cgroup;
pub mod clock;
pub mod file;
pub mod json;
pub mod lock;
pub mod log;
pub mod mounts;
pub mod stderr;
pub mod text;
