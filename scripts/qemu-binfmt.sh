#!/bin/sh
# qemu-binfmt.sh ARCH: makes the kernel run ARCH's ELF binaries through
# qemu-user-static (make test-arm64), so that a test's children (the unit
# tests start vigil-server, vigild re-executes itself) run emulated too;
# qemu-aarch64-static called by hand would leave those to the host, which
# cannot run them.  Mounts binfmt_misc when a fresh machine has not (no
# systemd-binfmt here) and registers the entry qemu-user-static ships for
# systemd (/usr/lib/binfmt.d, flag F: the interpreter is opened now, so it
# works inside other mount namespaces too).  Needs root; idempotent.
set -eu
case "${1:-}" in
arm64) name=qemu-aarch64 ;;
*) echo "qemu-binfmt: unknown ARCH '${1:-}' (arm64)" >&2; exit 2 ;;
esac
dir=/proc/sys/fs/binfmt_misc
conf=/usr/lib/binfmt.d/$name.conf
[ -r "$conf" ] || { echo "qemu-binfmt: $conf missing (scripts/install-deps.sh cross installs qemu-user-static)" >&2; exit 1; }
if [ ! -e "$dir/register" ]; then
	mount -t binfmt_misc binfmt_misc "$dir" ||
		{ echo "qemu-binfmt: cannot mount binfmt_misc on $dir (root needed)" >&2; exit 1; }
fi
if [ ! -e "$dir/$name" ]; then
	grep -v '^#' "$conf" >"$dir/register" ||
		{ echo "qemu-binfmt: registering $conf failed" >&2; exit 1; }
fi
[ "$(head -1 "$dir/$name")" = enabled ] || echo 1 >"$dir/$name"
