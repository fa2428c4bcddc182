#!/bin/sh
# Installs the Debian packages vigil needs to build, test, demo and bench,
# when any is missing.  Run as root on Debian 12.
# `install-deps.sh cross` adds what `make cross` and `make test-arm64` need
# (CROSS_PKGS below), which the native build and `make test` never pay for.
# `install-deps.sh scale` adds what `make test-scale` and the scale-out
# benches need (SCALE_PKGS below: Ceph with radosgw, PostgreSQL 15, libcurl,
# HAProxy, s3cmd; 368 MB on disk for Ceph alone), never paid by `make test`.
set -e
PKGS="build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libfuse3-dev fuse3 librsync-dev libssl-dev openssl libcmocka-dev libsqlite3-dev sqlite3
libzstd-dev libxxhash-dev libjansson-dev liburing-dev rsync rdiff restic borgbackup inotify-tools e2fsprogs
util-linux procps psmisc jq netcat-openbsd iproute2 python3 attr
cryptsetup-bin libcryptsetup-dev
libsystemd-dev libseccomp-dev dbus-daemon python3-dbus python3-gi
mandoc debhelper lintian"
# The cross toolchain, qemu-user, and the arm64 twin of every -dev package
# above, through dpkg multiarch.  Each is Multi-Arch: same, so it
# co-installs with the native one at the same version: apt upgrades a
# native library that is older than its :arm64 twin (libssl3, zlib1g...).
CROSS_DEV="libbpf-dev libelf-dev zlib1g-dev libfuse3-dev librsync-dev libssl-dev libcmocka-dev
libsqlite3-dev libzstd-dev libxxhash-dev libjansson-dev liburing-dev libcryptsetup-dev
libsystemd-dev libseccomp-dev"
CROSS_PKGS="gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static file pkgconf:arm64
$(for p in $CROSS_DEV; do printf '%s:arm64 ' "$p"; done)"
# A single-node Ceph with radosgw (tests/scale/ceph.sh), PostgreSQL 15 from a
# temp dir (tests/scale/pg.sh), the S3 client's libraries (libcurl, libxml2
# for the replies: server/objstore/), HAProxy in front of several servers,
# s3cmd beside the client in bench/objstore_bench.sh.
SCALE_PKGS="ceph-mon ceph-osd ceph-mgr radosgw ceph-common postgresql-15 libpq-dev
libcurl4-openssl-dev libxml2-dev haproxy s3cmd"
update=""
if [ "${1:-}" = scale ]; then
	PKGS="$PKGS $SCALE_PKGS"
fi
if [ "${1:-}" = cross ]; then
	PKGS="$PKGS $CROSS_PKGS"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		[ "$(id -u)" = 0 ] || { echo "install-deps: dpkg has no arm64 architecture (run as root to add it)" >&2; exit 1; }
		dpkg --add-architecture arm64
		update=1
	fi
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && [ -z "$update" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
