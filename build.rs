//! Compiles the kernel side (`bpf/*.bpf.c`) into a libbpf skeleton in OUT_DIR.
//! The build never depends on the build host's kernel: `vmlinux.h` is vendored
//! in `bpf/include/`, and CO-RE relocations adapt the object at load time.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SOURCES: &[(&str, &str)] = &[("bpf/ctraudit.bpf.c", "ctraudit.skel.rs")];
const HEADERS: &[&str] = &["bpf/include/events.h", "bpf/include/vmlinux.h"];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (src, skel) in SOURCES {
        SkeletonBuilder::new()
            .source(src)
            .clang_args(["-Ibpf/include", "-mcpu=v3", "-Wall", "-Wno-unused-function"])
            .build_and_generate(out.join(skel))
            .unwrap_or_else(|e| panic!("building {src}: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
    for h in HEADERS {
        println!("cargo:rerun-if-changed={h}");
    }
}
