//! Kernel side, Rust half: the generated skeleton, the loader, pins and map readers.

#[allow(clippy::all, missing_docs, non_camel_case_types, non_snake_case, dead_code)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/ctraudit.skel.rs"));
}
pub use skel::*;
