# ctraudit — the two commands of the README, and their parts.
SHELL := /bin/sh
export PATH := $(HOME)/.cargo/bin:$(PATH)

PREFIX ?= /usr/local

.PHONY: setup build deb install uninstall demo demo-runc test bench-setup bench bench-quick

setup:
	.ci/setup

build: setup
	cargo build --release --locked

# target/ctraudit_<version>_amd64.deb (packaging/deb/build.sh, dpkg-deb).
deb: build
	packaging/deb/build.sh target/release/ctraudit target

# The binary and its two runtime names (the .deb does this under /usr/bin).
install: build
	install -D -m 755 target/release/ctraudit $(DESTDIR)$(PREFIX)/bin/ctraudit
	ln -sf ctraudit $(DESTDIR)$(PREFIX)/bin/ctraudit-runc
	ln -sf ctraudit $(DESTDIR)$(PREFIX)/bin/containerd-shim-ctraudit-v2

uninstall:
	-$(PREFIX)/bin/ctraudit uninstall docker --restart
	rm -f $(DESTDIR)$(PREFIX)/bin/ctraudit $(DESTDIR)$(PREFIX)/bin/ctraudit-runc \
	      $(DESTDIR)$(PREFIX)/bin/containerd-shim-ctraudit-v2

# A fresh Debian 12 machine, all the way: packages, build, install, register
# with Docker, start dockerd if needed, an audited `docker run`, its report.
demo: install
	packaging/demo/docker-demo.sh

# The same with plain runc and OCI hooks, no Docker.
demo-runc: build
	packaging/demo/runc-demo.sh target/release/ctraudit

# The whole suite: formatting, lints, unit tests, and the integration tests
# that load BPF and run real runc containers (root).
test: setup
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo test --locked

# The benchmark harness (bench/, not part of `make test`): ratios measured
# side by side in one run, written to BENCHMARKS.md. Root; about 11 minutes,
# or under 5 with bench-quick. `cargo bench --bench overhead -- --help`.
bench-setup: setup
	bench/setup.sh

bench: bench-setup
	cargo bench --locked --bench overhead

bench-quick: bench-setup
	cargo bench --locked --bench overhead -- --quick
