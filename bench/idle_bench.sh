#!/bin/bash
# bench/idle_bench.sh — what an idle vigild costs (issue 13, "a daemon a
# phone does not notice"): a server on loopback and `vigild run` on a small
# tree (BENCH_IDLE_FILES, default 200 files of 4 KiB); once the first
# backup is on the server and SETTLE_S (default 35: the shipping
# connections beyond shipper 0's close 30 s after their last work) seconds passed, every
# thread's context switches (voluntary + nonvoluntary, from
# /proc/PID/task/*/status) are counted over IDLE_SECONDS (default 300, the
# issue's 5 minutes) with nothing changing, and printed as wakeups per
# minute per thread (by its name: vigild names its threads), with the CPU
# time (utime + stime) the process used meanwhile.  Nothing touches vigild
# during the window (not even `vigild status`, which asks it for a fresh
# status.json).  Then one edit: how long until it is on the server.
#
# The tree lies on a tmpfs of its own (BENCH_IDLE_TMPFS=0: in /tmp): the
# fanotify tracker marks a whole filesystem, and the bpf tracker sees every
# path operation by absolute path on the machine, so writes by other
# programs wake vigild too; the tracker's counters before and after the
# window (events, path_ops) say how many came.
#
# Knobs: IDLE_SECONDS, SETTLE_S, BENCH_IDLE_FILES, BENCH_IDLE_TRACKERS
# (default "bpf fanotify"; "scan" too if wanted: it wakes every
# SCAN_TRACKER_SECS by nature), BENCH_IDLE_TMPFS, VIGIL_BIN (default
# build/bin), BENCH_KEEP=1.
# Needs root (bpf, fanotify), sqlite3, jq.  Only 127.0.0.1.
# Usage: sudo bash bench/idle_bench.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"

IDLE=${IDLE_SECONDS:-300}
SETTLE=${SETTLE_S:-35}
NFILES=${BENCH_IDLE_FILES:-200}
TRACKERS=${BENCH_IDLE_TRACKERS:-bpf fanotify}
BIN=$(cd "${VIGIL_BIN:-$ROOT/build/bin}" && pwd)
[ "$(id -u)" = 0 ] || { echo "idle_bench: needs root (bpf, fanotify)" >&2; exit 1; }
W=$(mktemp -d /tmp/idle-bench.XXXXXX) || exit 1
PIDS=""
cleanup() {
	for p in $PIDS; do stop_pid "$p"; done
	mountpoint -q "$W/data" && umount "$W/data"
	if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { echo "idle_bench: $(date +%T) $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
q() { sqlite3 -readonly -cmd ".timeout 3000" "file:$W/srv/index.db?mode=ro" "$1" 2>/dev/null; }
on_server() { [ "$(q "SELECT count(*) FROM versions WHERE CAST(path AS TEXT) LIKE '$W/data/%'")" -ge "$1" ]; }
vstat() { "$BIN/vigild" status --state "$1" --json 2>/dev/null; }
queue_empty() { [ "$(vstat "$1" | jq -r '.queue.files // -1')" = 0 ]; }

# snap PID: one line per thread: tid name switches (voluntary + nonvoluntary)
snap() {
	local t
	for t in /proc/"$1"/task/*; do
		awk -v tid="${t##*/}" -v name="$(cat "$t/comm" 2>/dev/null)" '
			/^voluntary_ctxt_switches/ { v = $2 }
			/^nonvoluntary_ctxt_switches/ { n = $2 }
			END { if (v != "") printf "%s %s %d\n", tid, name, v + n }' "$t/status" 2>/dev/null
	done
}

# report BEFORE AFTER SECONDS: wakeups per minute by thread, then by name
report() {
	awk -v secs="$3" '
		FNR == NR { b[$1] = $3; next }
		{ d = $3 - ($1 in b ? b[$1] : 0); per = d * 60 / secs; tot += d
		  printf "  thread %-7s %-16s %8d switches  %9.1f /min%s\n", $1, $2, d, per, ($1 in b) ? "" : "  (new)"
		  byname[$2] += d; nth[$2]++ }
		END { printf "  by name:\n"
		      for (k in byname) printf "    %-16s x%-3d %9.1f /min\n", k, nth[k], byname[k] * 60 / secs
		      printf "  whole process: %d switches in %d s = %.2f wakeups/min\n", tot, secs, tot * 60 / secs }
	' "$1" "$2"
}

PORT=$((20000 + RANDOM % 20000))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null || die init
"$BIN/vigil-server" enroll "$W/srv" --device dev1 --out "$W/dev1.bundle" >/dev/null || die enroll
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_port "$PORT" 20 || die "server did not listen"
mkdir -p "$W/data"
if [ "${BENCH_IDLE_TMPFS:-1}" = 1 ]; then
	mount -t tmpfs -o size=64m vigil-idle "$W/data" || die "mount tmpfs"
fi
for i in $(seq "$NFILES"); do
	d=$W/data/d$((i % 10))
	mkdir -p "$d"
	head -c 4096 /dev/urandom >"$d/f$i"
done

echo "== idle_bench $(date -u +%FT%TZ) $NFILES files, idle ${IDLE} s, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   binaries: $BIN (tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
for trk in $TRACKERS; do
	st=$W/st-$trk
	"$BIN/vigild" run --bundle "$W/dev1.bundle" --state "$st" --watch "$W/data" \
		--server "127.0.0.1:$PORT" --tracker "$trk" >"$W/vigild-$trk.log" 2>&1 &
	VP=$!
	PIDS="$PIDS $VP"
	wait_until 300 "first backup ($trk)" on_server "$NFILES"
	wait_until 60 "queue empty ($trk)" queue_empty "$st"
	sleep "$SETTLE"
	tc0=$(vstat "$st" | jq -c '.tracker_counters | {events, path_ops}')
	snap "$VP" >"$W/before"
	c0=$(proc_ticks "$VP")
	sleep "$IDLE"
	snap "$VP" >"$W/after"
	c1=$(proc_ticks "$VP")
	kill -0 "$VP" 2>/dev/null || die "vigild ($trk) exited; log: $(tail -3 "$W/vigild-$trk.log")"
	tc1=$(vstat "$st" | jq -c '.tracker_counters | {events, path_ops}')
	echo "-- tracker $trk: ${IDLE} s idle after the first backup ($(wc -l <"$W/after") threads)"
	echo "  tracker counters before $tc0, after $tc1"
	report "$W/before" "$W/after" "$IDLE"
	echo "  CPU while idle: $(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }') s"
	# waking on data: an edit after the idle period reaches the server
	n0=$(q "SELECT count(*) FROM versions WHERE CAST(path AS TEXT) = '$W/data/d1/f1'")
	t0=$(date +%s%N)
	echo "edit after idle $trk" >>"$W/data/d1/f1"
	edited() { [ "$(q "SELECT count(*) FROM versions WHERE CAST(path AS TEXT) = '$W/data/d1/f1'")" -gt "$n0" ]; }
	wait_until 60 "the edit after idle ($trk)" edited
	echo "  an edit after the idle period was on the server after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	stop_pid "$VP"
done
