#!/bin/sh
# run-unit.sh — the arm64 unit tests under qemu-user (make test-arm64,
# after scripts/qemu-binfmt.sh): every test binary given runs through
# tests/run-unit.sh as on the native build, except those that test a
# kernel interface qemu-user 7.2 does not emulate.  Each of those is named
# with its reason and counted as skipped, never as passed: the native
# `make unit` runs them on the real kernel.
skips="
test_tracker_bpf:bpf(2) is not emulated (ENOSYS): the tracker's BPF programs cannot load
test_tracker_fanotify:fanotify_init is not emulated (ENOSYS)
test_zerofill:test_tib_of_nothing builds a TiB of zeros within a 60 CPU-second budget (RLIMIT_CPU), which emulation, about ten times slower, cannot hold
test_exproc:seccomp(2) is not emulated (qemu refuses PR_SET_SECCOMP): the extractor takes its no-seccomp path, and test_sandboxed checks the filter's Seccomp: 2 in /proc
"
# emulated, the store and content tests take minutes each (ten times
# their native time, more on a loaded machine)
export UNIT_TIMEOUT="${UNIT_TIMEOUT:-1500}"
run="" skipped=0
for t in "$@"; do
	why=$(printf '%s\n' "$skips" | sed -n "s|^${t##*/}:||p")
	if [ -n "$why" ]; then
		echo "== $t: SKIP under qemu-user: $why"
		skipped=$((skipped + 1))
	else
		run="$run $t"
	fi
done
# run-unit.sh's own last line ("unit: P passed, F failed") gets the skips
exec 3>&1
# shellcheck disable=SC2086 # one word per test binary
last=$(tests/run-unit.sh $run | tee /dev/fd/3 | tail -1)
echo "unit-arm64: ${last#unit: }, $skipped skipped"
case "$last" in *" 0 failed") exit 0 ;; *) exit 1 ;; esac
