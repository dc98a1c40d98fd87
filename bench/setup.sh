#!/bin/sh
# Installs the peers and servers the benchmark harness measures (Debian 12):
# redis and nginx (the servers), wrk (nginx's load), auditd and bpftrace (the
# peers), libc's static archive (sysloop). Their services are not started by
# the install: a temporary policy-rc.d refuses it, unless the host has its
# own policy-rc.d, which is left alone. Idempotent; run as root.
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="redis-server redis-tools nginx-light wrk auditd bpftrace libc6-dev gcc"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "ctraudit bench setup: installing$missing"
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    ours=1
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
[ -z "$ours" ] || rm -f "$policy"
