#!/bin/sh
# Builds target/ctraudit_<version>_amd64.deb with dpkg-deb (no network).
#   usage: packaging/deb/build.sh [BINARY [OUTDIR]]
#   BINARY defaults to target/release/ctraudit; CTRAUDIT_DEB_VERSION
#   overrides the version from Cargo.toml.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/target/release/ctraudit}
out=${2:-$top/target}
version=${CTRAUDIT_DEB_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$top/Cargo.toml" | head -n 1)}
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT INT TERM
pkg=$top/packaging

install -D -m 0755 "$bin" "$stage/usr/bin/ctraudit"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/ctraudit"
ln -s ctraudit "$stage/usr/bin/ctraudit-runc"
ln -s ctraudit "$stage/usr/bin/containerd-shim-ctraudit-v2"
install -D -m 0644 "$top/config/default.toml" "$stage/etc/ctraudit/config.toml"
install -D -m 0644 "$pkg/oci-hooks.d/ctraudit.json" "$stage/usr/share/containers/oci/hooks.d/ctraudit.json"
for u in "$pkg"/systemd/*; do install -D -m 0644 "$u" "$stage/lib/systemd/system/$(basename "$u")"; done

doc=$stage/usr/share/doc/ctraudit
install -D -m 0644 "$pkg/deb/copyright" "$doc/copyright"
sed "s/@VERSION@/$version/" "$pkg/deb/changelog" | gzip -9n > "$doc/changelog.gz"
install -m 0644 "$top/docs/summary.md" "$top/docs/seccomp.md" "$top/docs/design.md" "$doc/"
install -D -m 0644 "$pkg/kubernetes/runtimeclass.yaml" "$doc/examples/runtimeclass.yaml"
# every command's --help, from the binary itself
for cmd in "" hook install "install docker" "install containerd" "install podman" uninstall \
           "uninstall docker" "uninstall containerd" "uninstall podman" report ps watch checkpoint seccomp gc; do
    printf '=== ctraudit %s --help\n' "$cmd"
    # shellcheck disable=SC2086
    "$stage/usr/bin/ctraudit" $cmd --help
    echo
done > "$doc/help.txt"
gzip -9n "$doc/help.txt"
man=$stage/usr/share/man/man1
install -d "$man"
gzip -9n < "$pkg/deb/ctraudit.1" > "$man/ctraudit.1.gz"
for alias in ctraudit-runc containerd-shim-ctraudit-v2; do
    echo ".so man1/ctraudit.1" | gzip -9n > "$man/$alias.1.gz"
done

install -d -m 0755 "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$pkg/deb/control.in" > "$stage/DEBIAN/control"
echo /etc/ctraudit/config.toml > "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$pkg/deb/$s" "$stage/DEBIAN/$s"; done
(cd "$stage" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
mkdir -p "$out"
deb=$out/ctraudit_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
