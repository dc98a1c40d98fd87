#!/bin/sh
# The README's main job on a fresh machine, after `make install`: register
# ctraudit with Docker, start dockerd if it is not running, run one container
# with --runtime ctraudit, and print its audit report.   (root)
set -eu
PATH=/usr/local/bin:$PATH
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker   # the client that came with docker.io
IMAGE=ctraudit-demo:busybox
WORK=$(mktemp -d /tmp/ctraudit-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM

echo "== ctraudit install docker --restart"
ctraudit install docker --restart

if ! $DOCKER info >/dev/null 2>&1; then
    echo "== starting dockerd"
    if [ -d /run/systemd/system ]; then
        systemctl start docker
    else
        nohup dockerd >/var/log/dockerd.log 2>&1 &
    fi
    i=0
    until $DOCKER info >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 150 ] || { echo "dockerd did not start: see /var/log/dockerd.log" >&2; exit 1; }
        sleep 0.2
    done
fi

if ! $DOCKER image inspect $IMAGE >/dev/null 2>&1; then
    echo "== docker import $IMAGE (busybox-static, no registry needed)"
    mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp" "$WORK/rootfs/mnt"
    cp /bin/busybox "$WORK/rootfs/bin/busybox"
    for a in sh ls cat rm nc mount echo sleep true; do ln -s busybox "$WORK/rootfs/bin/$a"; done
    echo "root:x:0:0:root:/root:/bin/sh" > "$WORK/rootfs/etc/passwd"
    tar -C "$WORK/rootfs" -c . | $DOCKER import - $IMAGE >/dev/null
fi

WORKLOAD='/bin/ls /etc; /bin/cat /etc/passwd; echo hi > /tmp/f; /bin/rm /tmp/f; '\
'/bin/nc -l -p 8080 >/dev/null & until echo ping | /bin/nc 127.0.0.1 8080; do :; done; wait; '\
'/bin/mount -t tmpfs none /mnt; true'
echo "== docker run --runtime ctraudit --network none --name ctraudit-demo $IMAGE sh -c ..."
$DOCKER rm -f ctraudit-demo >/dev/null 2>&1 || true
$DOCKER run --rm --runtime ctraudit --network none --name ctraudit-demo \
    --cidfile "$WORK/cid" $IMAGE sh -c "$WORKLOAD" 2>&1 | sed 's/^/   | /'
ID=$(cat "$WORK/cid")
echo "== ctraudit report $ID"
ctraudit report "$ID"
