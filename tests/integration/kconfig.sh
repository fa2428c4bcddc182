#!/bin/sh
# kconfig.sh — kconfig/check on sample configs: a complete one passes, a
# stock PinePhone-like one names the BPF tracker options it lacks, a
# module where built-in is wanted fails, .gz input works, garbage and
# missing files are refused with exit 2.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
chk=$top/kconfig/check
s=$top/tests/kconfig
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
expect() {   # expect RC PATTERN -- ARGS...
	want=$1; pat=$2; shift 3
	out=$("$chk" "$@" 2>&1); rc=$?
	if [ "$rc" -ne "$want" ] || ! printf '%s\n' "$out" | grep -q -- "$pat"; then
		echo "FAIL: check $* -> rc=$rc (want $want), output:"; printf '%s\n' "$out"
		fails=$((fails + 1))
	else
		echo "ok: check $* -> $rc"
	fi
}
expect 0 "all .* options" -- "$s/complete.config"
expect 1 "missing CONFIG_FTRACE .*costs bpf tracker" -- "$s/pmos-pinephone.config"
expect 1 "missing CONFIG_DEBUG_INFO_BTF" -- "$s/pmos-pinephone.config"
expect 1 "missing CONFIG_FUSE_FS (have: m" -- "$s/pmos-pinephone.config"
expect 1 "missing CONFIG_FUSE_FS (have: n" -- "$s/no-fuse.config"
gzip -c "$s/pmos-pinephone.config" > "$tmp/config.gz"
expect 1 "missing CONFIG_FTRACE_SYSCALLS" -- "$tmp/config.gz"
expect 2 "does not look like a kernel config" -- "$s/garbage.config"
expect 2 "no kernel config" -- "$tmp/nonexistent"
expect 2 "usage" -- a b
# the pmos-like config must not be reported as missing FANOTIFY
if "$chk" "$s/pmos-pinephone.config" | grep -q CONFIG_FANOTIFY; then
	echo "FAIL: FANOTIFY reported missing"; fails=$((fails + 1))
fi
[ $fails -eq 0 ] && echo "kconfig.sh: all passed" || echo "kconfig.sh: $fails failed"
[ $fails -eq 0 ]
