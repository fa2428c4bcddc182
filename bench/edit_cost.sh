#!/bin/bash
# bench/edit_cost.sh — what a small edit of a big file costs the server
# and the device.
#
# A BIG file (BENCH_BIG_MIB, default 1024) shipped by `vigild run --tracker
# bpf`, then BENCH_EDITS (default 1) 4 KiB pwrites in its middle, each one
# waited for on the server (shipped as ranges).  Reports the server's CPU
# (utime+stime of vigil-server from /proc/PID/stat, 10 ms ticks) for the
# first upload, for each edit until it is durable, and for a window of
# BENCH_WINDOW_S (default 30) seconds after the last edit (background work:
# the sha256 pass, search indexing); vigild's CPU the same way (issue 3:
# about 0.06 s per edit; its window shows what an idle vigild costs after
# an edit: the slots' release, then nothing); and the server's peak RSS (VmHWM, reset
# through /proc/PID/clear_refs before each phase) during the upload and
# during the edits.  BENCH_PERF=1 records `perf record -g` of the server
# across the edits and the window into $W/perf.data (BENCH_KEEP=1 keeps it;
# BENCH_PERF_ARGS="--call-graph dwarf" for stacks through code built without
# frame pointers).
# VIGIL_TEST_SHAFILL_QUIET_MS, when set, is passed to the server (shortens
# the sha256 pass's quiet period, to measure the pass itself).
# VIGIL_BIN: where vigild and vigil-server come from (default build/bin).
# Needs root (bpf), sqlite3, jq, openssl.  Only 127.0.0.1; every wait bounded.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"

BIG_MIB=${BENCH_BIG_MIB:-1024}
EDITS=${BENCH_EDITS:-1}
WINDOW=${BENCH_WINDOW_S:-30}
[ "$(id -u)" = 0 ] || { echo "edit_cost: needs root (bpf)" >&2; exit 1; }
W=$(mktemp -d /tmp/vigil-edit.XXXXXX) || exit 1
PIDS=""
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "edit_cost: $(date +%T) $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

mkdir -p "$W/bin" "$W/data"
VB=${VIGIL_BIN:-$ROOT/build/bin}
cp "$VB/vigil-server" "$VB/vigild" "$W/bin/" || die "no $VB"
BIN=$W/bin SRV=$W/srv VPORT=$((20000 + RANDOM % 20000))
F=$W/data/big.bin
BIG=$((BIG_MIB * 1048576))
q() { sqlite3 -readonly -cmd ".timeout 3000" "file:$SRV/index.db?mode=ro" "$1" 2>/dev/null; }
nver() { q "SELECT count(*) FROM versions WHERE CAST(path AS TEXT) = '$F'"; }
has() { [ "$(nver)" -ge "$1" ]; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$SPID/status"; }
reset_hwm() { echo 5 >"/proc/$SPID/clear_refs"; }
cpu() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

"$BIN/vigil-server" init "$SRV" --listen "127.0.0.1:$VPORT" >/dev/null || die init
"$BIN/vigil-server" enroll "$SRV" --device dev1 --out "$W/dev1.bundle" >/dev/null || die enroll
"$BIN/vigil-server" run "$SRV" >"$W/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_port "$VPORT" 20 || die "server did not listen"
log "making a $BIG_MIB MiB file"
openssl enc -aes-128-ctr -K 766967696c2d6368672d626967000000 -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null |
	head -c "$BIG" >"$F"

reset_hwm
s0=$(proc_ticks "$SPID")
VIGIL_DEBUG=1 "$BIN/vigild" run --bundle "$W/dev1.bundle" --state "$W/st" --watch "$W/data" \
	--server "127.0.0.1:$VPORT" --tracker bpf >"$W/vigild.log" 2>&1 &
VP=$!
PIDS="$PIDS $VP"
wait_until 900 "first upload" has 1
sleep 5   # the search indexer and the daemon settle
s1=$(proc_ticks "$SPID")
up_hwm=$(hwm_kib)
log "first upload: server CPU $(cpu $((s1 - s0))) s, peak RSS $up_hwm KiB"

PERFPID=""
if [ "${BENCH_PERF:-}" = 1 ]; then
	perf record ${BENCH_PERF_ARGS:--g} -o "$W/perf.data" -p "$SPID" >/dev/null 2>&1 &
	PERFPID=$!
	sleep 1
fi
reset_hwm
e0=$(proc_ticks "$SPID")
v0=$(proc_ticks "$VP")
for i in $(seq "$EDITS"); do
	a=$(proc_ticks "$SPID")
	va=$(proc_ticks "$VP")
	head -c 4096 /dev/urandom | dd of="$F" bs=4096 seek=$((BIG / 8192)) conv=notrunc status=none
	wait_until 120 "edit $i" has $((i + 1))
	b=$(proc_ticks "$SPID")
	vb=$(proc_ticks "$VP")
	log "edit $i: server CPU to durable $(cpu $((b - a))) s, vigild CPU $(cpu $((vb - va))) s"
	sleep 1
done
e1=$(proc_ticks "$SPID")
v1=$(proc_ticks "$VP")
sleep "$WINDOW"
e2=$(proc_ticks "$SPID")
v2=$(proc_ticks "$VP")
ed_hwm=$(hwm_kib)
[ -n "$PERFPID" ] && { kill -INT "$PERFPID"; wait "$PERFPID"; }
sha=$(q "SELECT lower(hex(sha256)), sha_pending FROM versions WHERE CAST(path AS TEXT) = '$F'
	ORDER BY version DESC LIMIT 1")
want=$(sha256sum <"$F" | cut -d' ' -f1)
case $sha in
"$want"*) state="sha256 filled, right" ;;
*"|0") state="sha256 WRONG" ;;
*) state="sha256 pending" ;;
esac
echo "== edit_cost $(date -u +%FT%TZ) ${BIG_MIB} MiB, $EDITS edit(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "first upload: server CPU $(cpu $((s1 - s0))) s, peak RSS $up_hwm KiB"
echo "edits: server CPU $(cpu $((e1 - e0))) s ($(cpu $(((e1 - e0) / EDITS))) s per edit) to durable;" \
	"+$(cpu $((e2 - e1))) s in the ${WINDOW} s after; peak RSS $ed_hwm KiB; $state"
echo "edits: vigild CPU $(cpu $((v1 - v0))) s ($(cpu $(((v1 - v0) / EDITS))) s per edit, 1 s pause after each" \
	"included) +$(cpu $((v2 - v1))) s in the ${WINDOW} s after"
