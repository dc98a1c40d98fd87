//! Compiles the kernel side (`bpf/*.bpf.c`) into a libbpf skeleton in OUT_DIR.
//! The build never depends on the build host's kernel: `vmlinux.h` is vendored
//! in `bpf/include/`, and CO-RE relocations adapt the object at load time.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SOURCES: &[(&str, &str)] = &[("bpf/ctraudit.bpf.c", "ctraudit.skel.rs")];
/// Everything the sources include: cargo rescans the whole directory, so a
/// header added there needs no list kept here.
const HEADERS: &str = "bpf/include";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // upgrade tests build a second binary with another ABI number
    println!("cargo:rerun-if-env-changed=CTRAUDIT_ABI");
    let mut args = vec![
        "-Ibpf/include".to_owned(),
        "-mcpu=v3".into(),
        "-Wall".into(),
        "-Wno-unused-function".into(),
    ];
    if let Ok(abi) = env::var("CTRAUDIT_ABI") {
        let n: u32 = abi
            .parse()
            .unwrap_or_else(|_| panic!("CTRAUDIT_ABI={abi:?}: not a number"));
        args.push(format!("-DCT_ABI_OVERRIDE={n}"));
    }
    for (src, skel) in SOURCES {
        SkeletonBuilder::new()
            .source(src)
            .clang_args(&args)
            .build_and_generate(out.join(skel))
            .unwrap_or_else(|e| panic!("building {src}: {e:#}"));
        println!("cargo:rerun-if-changed={src}");
    }
    println!("cargo:rerun-if-changed={HEADERS}");
}
