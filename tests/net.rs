//! Network traffic that is not a connect, and io_uring, with real runc and
//! real BPF (root). Names start with `net_` so they can be selected.

mod common;

use common::{file, Bundle, Env};
use serde_json::{json, Value};

/// A bundle running `work` with `args`, sharing the host's network
/// namespace, so 127.0.0.1 and ::1 are up (loopback only).
fn host_net_bundle(env: &Env, id: &str, work: &std::path::Path, args: &[&str]) -> Bundle {
    let b = Bundle::with_work(env, id, work, args);
    b.edit(|cfg| {
        let ns = cfg["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
    });
    b
}

/// Each endpoint as the fields that say what it was, in summary order.
fn endpoints(s: &Value) -> Vec<Value> {
    s["network"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            json!([
                n["op"],
                n["direction"],
                n["family"],
                n["proto"],
                n["address"],
                n["port"],
                n.get("via").cloned().unwrap_or(Value::Null),
                n["count"],
                n["failed"]
            ])
        })
        .collect()
}

#[test]
fn net_datagram_destinations_are_send_endpoints_with_exact_counts() {
    let env = Env::new("");
    let work = common::work::build(env.dir.path());
    let [p1, p2, p3, p4] = [(); 4].map(|_| common::free_port());
    let script = format!(
        "/work udp4 127.0.0.1 {p1} 3 && /work udp6 ::1 {p1} 2 && /work sendmsg4 127.0.0.1 {p2} 4 \
         && /work sendmmsg4 127.0.0.1 {p3} 5 && /work connected4 127.0.0.1 {p4} 2 \
         && /work unixdgram /tmp/dg 2 && /work unixdgram @netabs 3"
    );
    let b = host_net_bundle(&env, "net-dgram", &work, &["/bin/sh", "-c", &script]);
    common::ok(&env.run(&b.dir, "net-dgram"));
    let s = env.summary("net-dgram");

    // a datagram to a closed port on loopback succeeds: an unconnected UDP
    // socket is told of no ICMP error. The connected sends (no address)
    // record nothing beyond the bind and connect that set them up.
    let ep = |op, dir, fam, proto, addr: &str, port: Option<u16>, count| {
        json!([op, dir, fam, proto, addr, port, null, count, 0])
    };
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|e| e.to_string());
        v
    };
    assert_eq!(
        sorted(endpoints(&s)),
        sorted(vec![
            ep("bind", "local", "unix", "dgram", "/tmp/dg", None, 1),
            ep("bind", "local", "unix", "dgram", "@netabs", None, 1),
            ep("bind", "local", "ipv4", "udp", "127.0.0.1", Some(p4), 1),
            ep(
                "connect",
                "outbound",
                "ipv4",
                "udp",
                "127.0.0.1",
                Some(p4),
                1
            ),
            ep("send", "outbound", "unix", "dgram", "/tmp/dg", None, 2),
            ep("send", "outbound", "unix", "dgram", "@netabs", None, 3),
            ep("send", "outbound", "ipv4", "udp", "127.0.0.1", Some(p1), 3),
            ep("send", "outbound", "ipv4", "udp", "127.0.0.1", Some(p2), 4),
            ep("send", "outbound", "ipv4", "udp", "127.0.0.1", Some(p3), 5),
            ep("send", "outbound", "ipv6", "udp", "::1", Some(p1), 2),
        ]),
        "{s:#}"
    );
    let counts = &s["syscalls"]["counts"];
    // sendto: 3 (udp4) + 2 (udp6) + 2 (connected) + 2 + 3 (unix);
    // sendmsg: 4 + 2 (connected); sendmmsg: one call of 5 messages
    assert_eq!(
        [&counts["sendto"], &counts["sendmsg"], &counts["sendmmsg"]],
        [&json!(12), &json!(6), &json!(1)]
    );
    assert_eq!(s["loss"]["complete"], true, "{:#}", s["loss"]);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

#[test]
fn net_io_uring_submissions_are_recorded_per_opcode_with_their_file_and_address() {
    let env = Env::new("");
    let work = common::work::build(env.dir.path());
    let port = common::free_port();
    let b = host_net_bundle(
        &env,
        "net-uring",
        &work,
        &["/work", "uring", &port.to_string()],
    );
    common::ok(&env.run(&b.dir, "net-uring"));
    let s = env.summary("net-uring");

    let ops: Vec<Value> = s["io_uring"]
        .as_array()
        .expect("an io_uring section")
        .iter()
        .map(|o| json!([o["op"], o["count"]]))
        .collect();
    assert_eq!(
        ops,
        vec![
            json!(["IORING_OP_CONNECT", 1]),
            json!(["IORING_OP_OPENAT", 1])
        ]
    );
    let f = file(&s, "/etc/hostname");
    assert_eq!(
        [&f["access"], &f["count"], &f["failed"]],
        [&json!(["read", "io_uring"]), &json!(1), &json!(0)]
    );
    // the connect was submitted through the ring, never called
    assert_eq!(
        endpoints(&s),
        vec![json!([
            "connect",
            "outbound",
            "ipv4",
            "tcp",
            "127.0.0.1",
            port,
            "io_uring",
            1,
            0
        ])]
    );
    assert_eq!(s["syscalls"]["counts"].get("connect"), None);
    let setup: Vec<&Value> = s["privileged"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "io_uring_setup")
        .collect();
    assert_eq!(setup.len(), 1);
    assert_eq!(
        [&setup[0]["count"], &setup[0]["failed"]],
        [&json!(1), &json!(0)]
    );
    assert_eq!(s["loss"]["complete"], true, "{:#}", s["loss"]);

    // the profile learned from it lets the ring connect although the
    // profile has no connect: `seccomp` says so, and offers one that
    // refuses io_uring
    let summary = env.summary_path("net-uring");
    let learned = ctraudit(&["seccomp", summary.to_str().unwrap()]);
    common::ok(&learned);
    assert_eq!(
        common::output::stderr(&learned),
        format!(
            "ctraudit seccomp: {}: the workload used io_uring (2 submissions: CONNECT 1, OPENAT 1); \
             io_uring operations are not filtered by seccomp, so this profile lets every one of \
             them through: --deny-io-uring writes a profile that refuses io_uring_setup, \
             io_uring_enter and io_uring_register\n",
            summary.display()
        )
    );
    let run_under = |id: &str, profile: &[u8]| {
        let b = host_net_bundle(&env, id, &work, &["/work", "uring", &port.to_string()]);
        let p: Value = serde_json::from_slice(profile).unwrap();
        b.edit(|c| c["linux"]["seccomp"] = p);
        env.run(&b.dir, id).status.code()
    };
    assert_eq!(run_under("net-uring-learned", &learned.stdout), Some(0));
    let learned_s = env.summary("net-uring-learned");
    assert_eq!(learned_s["syscalls"]["counts"].get("connect"), None);
    assert_eq!(
        endpoints(&learned_s),
        endpoints(&s),
        "the ring still connects"
    );

    let denied = ctraudit(&["seccomp", "--deny-io-uring", summary.to_str().unwrap()]);
    common::ok(&denied);
    let p: Value = serde_json::from_slice(&denied.stdout).unwrap();
    let allowed: Vec<&str> = p["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["names"].as_array().unwrap())
        .filter_map(|n| n.as_str())
        .filter(|n| n.starts_with("io_uring"))
        .collect();
    assert_eq!(
        allowed,
        Vec::<&str>::new(),
        "no io_uring call is in any rule"
    );
    assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
    // `work uring` exits 20 when io_uring_setup fails
    assert_eq!(run_under("net-uring-denied", &denied.stdout), Some(20));
    let denied_s = env.summary("net-uring-denied");
    assert_eq!(denied_s["io_uring"], Value::Null, "nothing was submitted");
    assert_eq!(denied_s["network"], json!([]));
    assert_eq!(denied_s["syscalls"]["denied"]["io_uring_setup"], 1);
    assert_eq!(env.leftovers(), Vec::<String>::new());
}

/// `ctraudit ARGS`, its output.
fn ctraudit(args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::BIN)
        .args(args)
        .output()
        .unwrap()
}
