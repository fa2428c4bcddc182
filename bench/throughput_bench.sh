#!/bin/bash
# bench/throughput_bench.sh — issue 11's throughput rows: vigil side by side
# with rsync (daemon on 127.0.0.1), restic (local repository) and dd, in one
# run, as ratios.  Each row starts its own vigil-server (and rsync daemon)
# on loopback inside a private network namespace (as bench/run.sh does).
#
#   a  first backup of BENCH_SMALL_FILES (20000) x 4 KiB random files in
#      BENCH_SMALL_DIRS (20) dirs: `vigild once`, `rsync -a`, `restic backup`
#   b  first backup of one BENCH_BIG_MIB (1024) MiB random file: `vigild
#      once`, rsync, restic, and `dd conv=fsync` of the same bytes onto the
#      server's filesystem (the disk's own durable write)
#   c  a 4 KiB pwrite in the middle of that file, librsync fallback:
#      `vigild once`; rsync --no-whole-file --inplace; `vigild run
#      --tracker fanotify` (close() to the version's recv_ns)
#   d  the same edit with `vigild run --tracker bpf` (shipped as ranges):
#      close() to durable, and the server's CPU for it including background
#      work (sampled until the sha256 is filled and the CPU has not moved
#      for 3 s, at most BENCH_SETTLE_MAX s)
#   e  ranges then restart: a BENCH_MID_MIB (256) MiB file, one 4 KiB edit
#      shipped as ranges, vigild stopped, another 4 KiB edit, `vigild once`:
#      its bytes_sent and shipped_whole / shipped_delta counters
#   f  cold reads of a BENCH_MID_MIB file (page cache dropped before each):
#      `vigil get`, `vigil mount` + cat, `restic restore`, `restic mount` + cat;
#      and two more gets that say where a get's time goes: into /dev/shm
#      (no disk write, no fsync) and over 2 streams (VIGIL_GET_STREAMS=2)
#
# Times: wall seconds; CPU: user+sys seconds (/usr/bin/time for commands,
# /proc/PID/stat utime+stime deltas for daemons: 10 ms resolution); peak
# RSS: ru_maxrss of commands, VmHWM of daemons (each row starts its own).
# The load average is printed per row: on a shared 2-CPU machine a wall
# figure under load is inflated, the CPU figures much less.
#
# Environment: VIGIL_BIN (build/bin; an older tree's build/bin works),
# BENCH_ROWS ("a b c d e f"), BENCH_SMALL_FILES, BENCH_SMALL_DIRS,
# BENCH_BIG_MIB, BENCH_MID_MIB, BENCH_SETTLE_MAX (120), BENCH_LABEL (a
# word for the results block), BENCH_OUT (bench/results-throughput.txt),
# BENCH_PERF=DIR: also `perf record -g` the measured steps (device command
# and server) into DIR/<row>-<what>.data and write DIR/<row>-<what>.txt
# (perf report --stdio --no-children --percent-limit 2); timings of such a
# run are distorted by perf; BENCH_PERF_ARGS (-g) replaces perf record's
# options, e.g. "--call-graph dwarf,16384 -F 499" for stacks through
# libraries built without frame pointers.  BENCH_KEEP=1 keeps the temp dir.
# Needs root (bpf, fanotify, drop_caches, FUSE), rsync, jq, sqlite3,
# openssl, python3; restic optional.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# A private network namespace: fixed ports, nobody else's traffic.
if [ "${BENCH_INNER:-}" != 1 ]; then
	if unshare -n true 2>/dev/null; then
		exec unshare -n env BENCH_INNER=1 BENCH_NETNS=1 "$0" "$@"
	fi
	export BENCH_INNER=1 BENCH_NETNS=0
fi
[ "$BENCH_NETNS" = 1 ] && ip link set lo up

. "$ROOT/bench/lib.sh"

ROWS=${BENCH_ROWS:-a b c d e f}
NSMALL=${BENCH_SMALL_FILES:-20000}
NDIRS=${BENCH_SMALL_DIRS:-20}
BIG_MIB=${BENCH_BIG_MIB:-1024}
MID_MIB=${BENCH_MID_MIB:-256}
SETTLE_MAX=${BENCH_SETTLE_MAX:-120}
OUT=${BENCH_OUT:-$ROOT/bench/results-throughput.txt}
SRCBIN=$(cd "${VIGIL_BIN:-$ROOT/build/bin}" 2>/dev/null && pwd) ||
	{ echo "throughput_bench: no ${VIGIL_BIN:-build/bin}" >&2; exit 1; }
PERF=${BENCH_PERF:-}
PERF_ARGS=${BENCH_PERF_ARGS:--g}
[ "$(id -u)" = 0 ] || { echo "throughput_bench: needs root" >&2; exit 1; }
for t in rsync jq sqlite3 openssl python3; do
	command -v $t >/dev/null || { echo "throughput_bench: needs $t" >&2; exit 1; }
done
HAVE_RESTIC=0
command -v restic >/dev/null && HAVE_RESTIC=1
if [ "$BENCH_NETNS" = 1 ]; then
	VPORT=7445 RPORT=8730
else
	VPORT=$((20000 + RANDOM % 20000)) RPORT=$((40000 + RANDOM % 20000))
fi

WROOT=$(mktemp -d /tmp/vigil-tput.XXXXXX) || exit 1
WROOT=$(realpath "$WROOT")
W=$WROOT
DONE=0
cleanup() {
	# an interrupted run still leaves the rows it finished in $OUT
	[ "$DONE" = 1 ] || [ ! -s "$REPORT" ] || {
		echo "== throughput_bench ${BENCH_LABEL:-} INTERRUPTED $(date -u +%FT%TZ)  vigil ${TREE_after:-?}${BEFORE:+, before ${TREE_before:-?}}"
		cat "$REPORT"
		echo
	} >>"$OUT"
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $WROOT" >&2; else rm -rf "$WROOT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
REPORT=$WROOT/report
RES=$WROOT/res   # key=value lines rows leave for later rows (per pass)
: >"$REPORT"
: >"$RES"
put() { echo "${PASS}_$1=$2" >>"$RES"; }
get() { sed -n "s/^${PASS}_$1=//p" "$RES" | tail -1; }
log() { echo "throughput_bench: $(date +%T) ${ROW:+($ROW${PASS:+ $PASS}) }$*" >&2; }
say() { echo "$*" >>"$REPORT"; }

# tree_of BINDIR: the commit of the tree BINDIR was built in (+dirty)
tree_of() {
	local t
	t=$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo "?")
	git -C "$1" diff --quiet HEAD -- 2>/dev/null || t="$t+dirty"
	echo "$t"
}
# a private copy of the programs: a rebuild elsewhere cannot swap them.
# BENCH_BEFORE_BIN: every row runs first with that build ("before"), then
# with VIGIL_BIN ("after"), peers again in each pass, each in its own dirs
copy_bin() { # SRC PASS
	mkdir -p "$WROOT/bin-$2"
	cp "$1/vigil" "$1/vigil-server" "$1/vigild" "$WROOT/bin-$2/" ||
		{ echo "throughput_bench: $1 lacks vigil, vigil-server or vigild" >&2; exit 1; }
	eval "TREE_$2=\$(tree_of "$1")"
}
PASSES=after
copy_bin "$SRCBIN" after
if [ -n "${BENCH_BEFORE_BIN:-}" ]; then
	BEFORE=$(cd "$BENCH_BEFORE_BIN" && pwd) || { echo "throughput_bench: no $BENCH_BEFORE_BIN" >&2; exit 1; }
	copy_bin "$BEFORE" before
	PASSES="before after"
fi
BIN=$WROOT/bin-after
PASS=""

. "$ROOT/bench/throughput_lib.sh"
. "$ROOT/bench/throughput_rows.sh"

# --- main -------------------------------------------------------------------

T0=$(date +%s)
LOAD0=$(loadavg)
[ -n "$PERF" ] && mkdir -p "$PERF"
for r in $ROWS; do
	declare -F "row_$r" >/dev/null || { log "no row $r"; continue; }
	run_row "$r"
done
{
	echo "== throughput_bench ${BENCH_LABEL:-} $(date -u +%FT%TZ)  vigil $TREE_after ($SRCBIN)"
	[ -n "${BEFORE:-}" ] && echo "   before: vigil $TREE_before ($BEFORE); each row: before, then after"
	echo "   $(uname -r), $(nproc) CPUs; load average at start $LOAD0, at end $(loadavg);" \
		"$(($(date +%s) - T0)) s; rows: $ROWS${PERF:+; UNDER PERF (timings distorted)}"
	cat "$REPORT"
	echo
} | tee -a "$OUT"
DONE=1
