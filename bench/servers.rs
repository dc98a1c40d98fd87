//! Real servers for the throughput benchmark: redis-server and nginx from
//! the host's Debian packages, copied with their libraries into a root
//! filesystem, loaded from the host over loopback by redis-benchmark and wrk.

use std::path::Path;
use std::process::Command;

use super::common::copy_with_libs;
use super::util::must;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Server {
    Redis,
    Nginx,
}

impl Server {
    pub const ALL: [Server; 2] = [Server::Redis, Server::Nginx];

    pub fn name(self) -> &'static str {
        match self {
            Server::Redis => "redis",
            Server::Nginx => "nginx",
        }
    }

    /// The load generator, for the method section.
    pub fn load_name(self) -> &'static str {
        match self {
            Server::Redis => "redis-benchmark (SET and GET, 32 connections)",
            Server::Nginx => "wrk (1 thread, 32 connections, a 612-byte static file)",
        }
    }

    /// Builds the server's root filesystem at `rootfs`, serving on `port`.
    pub fn make_rootfs(self, rootfs: &Path, port: u16) {
        for d in [
            "etc",
            "tmp",
            "proc",
            "dev",
            "sys",
            "www",
            "var/log/nginx",
            "var/lib/nginx",
        ] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        std::fs::copy("/etc/ld.so.cache", rootfs.join("etc/ld.so.cache")).unwrap();
        match self {
            Server::Redis => copy_with_libs("/usr/bin/redis-server", rootfs),
            Server::Nginx => {
                copy_with_libs("/usr/sbin/nginx", rootfs);
                std::fs::write(rootfs.join("www/index.html"), [b'x'; 612]).unwrap();
                std::fs::write(
                    rootfs.join("etc/nginx.conf"),
                    format!(
                        "daemon off;\nmaster_process off;\nworker_processes 1;\npid /tmp/nginx.pid;\n\
                         events {{ worker_connections 1024; }}\n\
                         http {{\n  access_log off;\n  client_body_temp_path /tmp/body;\n\
                         \x20 server {{ listen 127.0.0.1:{port}; root /www; }}\n}}\n"
                    ),
                )
                .unwrap();
            }
        }
    }

    /// The container's process, serving on 127.0.0.1:`port`.
    pub fn args(self, port: u16) -> Vec<String> {
        match self {
            Server::Redis => [
                "/usr/bin/redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--dir",
                "/tmp",
            ]
            .map(String::from)
            .to_vec(),
            Server::Nginx => ["/usr/sbin/nginx", "-e", "stderr", "-c", "/etc/nginx.conf"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// Requests per second against 127.0.0.1:`port`, the client on `cpu`.
    pub fn load(self, port: u16, cpu: &str, quick: bool) -> f64 {
        match self {
            Server::Redis => {
                let n = if quick { "100000" } else { "300000" };
                let out = must(Command::new("taskset").args([
                    "-c",
                    cpu,
                    "redis-benchmark",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-n",
                    n,
                    "-c",
                    "32",
                    "-t",
                    "set,get",
                    "--csv",
                ]));
                // "test","rps",...: one line per test after the header
                let text = String::from_utf8_lossy(&out.stdout);
                let rps: Vec<f64> = text
                    .lines()
                    .filter_map(|l| {
                        let mut f = l.split(',').map(|f| f.trim_matches('"'));
                        let test = f.next()?;
                        (test == "SET" || test == "GET").then(|| f.next()?.parse().ok())?
                    })
                    .collect();
                assert_eq!(rps.len(), 2, "redis-benchmark output: {text}");
                rps.iter().sum::<f64>() / 2.0
            }
            Server::Nginx => {
                let d = if quick { "3s" } else { "8s" };
                let out = must(Command::new("taskset").args([
                    "-c",
                    cpu,
                    "wrk",
                    "-t1",
                    "-c32",
                    "-d",
                    d,
                    &format!("http://127.0.0.1:{port}/index.html"),
                ]));
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(
                    !text.contains("Non-2xx"),
                    "nginx answered with errors: {text}"
                );
                text.lines()
                    .find_map(|l| l.strip_prefix("Requests/sec:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or_else(|| panic!("wrk output: {text}"))
            }
        }
    }
}
