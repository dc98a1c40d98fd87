//! `.ci/setup` installs every program the tests run: a test that passes
//! here only because someone installed a package by hand (crun, once)
//! would fail on CI's fresh machine. Names start with `setup_`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Programs the tests reach other than through `Command::new("literal")`:
/// named by a constant, handed to a daemon as a runtime, or run by one.
const INDIRECT: &[&str] = &[
    "/usr/bin/docker",
    "/usr/bin/crun",
    "containerd-shim-runc-v2",
    "conmon",
];

/// The packages `.ci/setup` installs (its `PKGS=` line).
fn setup_packages() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join(".ci/setup")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("PKGS=\""))
        .expect(".ci/setup has a PKGS=\"...\" line");
    line.trim_end_matches('"')
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Every `Command::new("...")` literal in the test sources.
fn commands_in_tests() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in ["tests", "tests/common"] {
        for e in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            let p = e.unwrap().path();
            // not this file, whose comments name the pattern
            if p.extension().is_none_or(|x| x != "rs") || p.ends_with("tests/setup.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for piece in text.split("Command::new(\"").skip(1) {
                if let Some((name, _)) = piece.split_once('"') {
                    out.insert(name.to_owned());
                }
            }
        }
    }
    out
}

fn resolve(name: &str) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Path::new(name).exists().then(|| name.into());
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

/// The Debian package that owns `path` (through symlinks), if any.
fn package_of(path: &Path) -> Option<String> {
    let real = std::fs::canonicalize(path).ok()?;
    // merged /usr: dpkg may know a file by its /bin or /sbin name
    let unmerged = |p: &Path| p.strip_prefix("/usr").map(|r| Path::new("/").join(r)).ok();
    let mut tries = vec![path.to_owned(), real.clone()];
    tries.extend(unmerged(path));
    tries.extend(unmerged(&real));
    for p in tries {
        let out = Command::new("dpkg").arg("-S").arg(&p).output().ok()?;
        if out.status.success() {
            // "dash: /bin/sh", after "diversion by ..." lines; a file
            // shared by several packages lists them all: the first will do
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().find(|l| !l.starts_with("diversion "))?;
            let pkgs = line.split_once(": ")?.0;
            let pkg = pkgs.split(", ").next()?.split(':').next()?;
            return Some(pkg.trim().to_owned());
        }
    }
    None
}

/// Packages every Debian system has (priority required or important).
fn always_there(pkg: &str) -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Priority}", pkg])
        .output()
        .unwrap();
    matches!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "required" | "important"
    )
}

#[test]
fn setup_installs_every_program_the_tests_run() {
    let pkgs = setup_packages();
    let mut missing = Vec::new();
    let mut names = commands_in_tests();
    names.extend(INDIRECT.iter().map(|s| s.to_string()));
    for name in &names {
        // the binary under test, and the package the deb tests build
        if name == "/usr/bin/ctraudit" {
            continue;
        }
        let Some(path) = resolve(name) else {
            missing.push(format!("{name}: not installed at all"));
            continue;
        };
        match package_of(&path) {
            Some(pkg) if pkgs.contains(&pkg) || always_there(&pkg) => {}
            Some(pkg) => missing.push(format!(
                "{name}: from package {pkg}, which .ci/setup does not install"
            )),
            // rustup's cargo and friends live outside dpkg
            None if path.starts_with(std::env::var("HOME").unwrap_or_default()) => {}
            None => missing.push(format!("{name}: {} belongs to no package", path.display())),
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}

#[test]
fn setup_installs_what_builds_the_test_workloads() {
    // gcc -static needs libc.a (libc6-dev), not only the compiler
    let pkgs = setup_packages();
    for pkg in ["gcc", "libc6-dev", "crun"] {
        assert!(pkgs.contains(pkg), "{pkg} missing from .ci/setup");
    }
}
