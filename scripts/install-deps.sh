#!/bin/sh
# Installs the Debian packages vigil needs to build, test, demo and bench,
# when any is missing.  Run as root on Debian 12.
set -e
PKGS="build-essential pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
libfuse3-dev fuse3 librsync-dev libssl-dev openssl libcmocka-dev libsqlite3-dev sqlite3
libzstd-dev libxxhash-dev libjansson-dev liburing-dev rsync rdiff restic borgbackup inotify-tools e2fsprogs
util-linux procps psmisc jq netcat-openbsd python3 attr
cryptsetup-bin libcryptsetup-dev
libsystemd-dev libseccomp-dev dbus-daemon python3-dbus python3-gi
mandoc debhelper lintian"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
