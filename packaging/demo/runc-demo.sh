#!/bin/sh
# Audits one runc container end to end with the installed defaults
# (/sys/fs/bpf, /run/ctraudit, /var/log/ctraudit) and prints its report.
#   usage: runc-demo.sh [path/to/ctraudit]     (root)
set -eu
BIN=$(readlink -f "${1:-$(command -v ctraudit)}")
ID="ctraudit-demo-$$"
WORK=$(mktemp -d /tmp/ctraudit-demo.XXXXXX)
cleanup() {
    runc delete -f "$ID" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# a busybox-static root filesystem
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp" "$WORK/rootfs/mnt"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in sh ls cat rm nc mount echo; do ln -s busybox "$WORK/rootfs/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$WORK/rootfs/etc/passwd"

WORKLOAD='/bin/ls /etc; /bin/cat /etc/passwd; echo hi > /tmp/f; /bin/rm /tmp/f; '\
'/bin/nc -l -p 8080 >/dev/null & until echo ping | /bin/nc 127.0.0.1 8080; do :; done; wait; '\
'/bin/mount -t tmpfs none /mnt; true'

# the OCI hooks ctraudit's runtime wrappers inject (see docs/summary.md)
cd "$WORK"
runc spec
jq --arg bin "$BIN" --arg w "$WORKLOAD" '
    .process.terminal = false | .process.args = ["sh", "-c", $w] | .root.readonly = false
  | .hostname = "demo"
  | .hooks = {
      prestart: [{path: $bin, args: ["ctraudit", "hook", "prestart"], timeout: 10}],
      poststop: [{path: $bin, args: ["ctraudit", "hook", "poststop"], timeout: 10}]
    }' config.json > config.json.new
mv config.json.new config.json

echo "== runc run $ID"
runc run "$ID" < /dev/null 2>&1 | sed 's/^/   | /'
echo "== ctraudit report $ID   (/var/log/ctraudit/$ID/summary.json)"
"$BIN" report "$ID"
