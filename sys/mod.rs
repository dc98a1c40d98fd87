//! Plumbing shared by every part (DESIGN.md "Components"): files that
//! belong to someone else, read with a bound and replaced without writing
//! through them; JSON edited by byte span; stderr that can neither panic
//! nor block.

pub mod file;
pub mod json;
pub mod stderr;
