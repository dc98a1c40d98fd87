# ctraudit — the two commands of the README, and their parts.
SHELL := /bin/sh
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup build demo test lint

setup:
	.ci/setup

build: setup
	cargo build --release --locked

# A fresh Debian 12 machine, all the way: packages, build, a runc container
# audited end to end, its report printed.
demo: build
	packaging/demo/runc-demo.sh target/release/ctraudit

# The whole suite: formatting, lints, unit tests, and the integration tests
# that load BPF and run real runc containers (root).
test: setup
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo test --locked
