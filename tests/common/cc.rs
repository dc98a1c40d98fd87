//! The C test programs (work.c, paths.c, proc.c), built with gcc.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::output::stderr;

/// Writes `code` to `src` and builds it with `gcc -O2 -static`, then
/// `extra_flags`, into `out`; returns `out`. Panics naming the source and
/// with gcc's stderr when gcc fails.
pub fn static_program(src: &Path, code: &str, out: &Path, extra_flags: &[&str]) -> PathBuf {
    std::fs::write(src, code).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut gcc = Command::new("gcc");
    gcc.args(["-O2", "-static"])
        .args(extra_flags)
        .arg("-o")
        .arg(out)
        .arg(src);
    let res = gcc.output().expect("gcc is installed (.ci/setup)");
    assert!(
        res.status.success(),
        "building {} failed ({}): {gcc:?}\n{}",
        src.display(),
        res.status,
        stderr(&res)
    );
    out.to_owned()
}
