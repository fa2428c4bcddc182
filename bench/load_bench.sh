#!/bin/bash
# bench/load_bench.sh — many device connections against one vigil-server on
# loopback (bench/loadgen*.c): DEVICES x PER_DEV connections (default
# 100 x 5 = 500; the server caps connections per identity), PUSHERS of them
# (default 50) pushing small edits of a SIZE-byte file for DURATION seconds,
# the rest idle, a controller running `vigil ls` every 100 ms.  Prints
# pushes/s, close()-to-durable p50/p99, the server's RSS per idle
# connection, ls p50/p99 and the pushes per pusher, and appends them to
# bench/results-load.txt (RESULTS= to write elsewhere).  Needs make all.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
DEVICES=${DEVICES:-100}
PER_DEV=${PER_DEV:-5}
PUSHERS=${PUSHERS:-50}
DURATION=${DURATION:-60}
SIZE=${SIZE:-4096}
RESULTS=${RESULTS:-$ROOT/bench/results-load.txt}
W=$(mktemp -d /tmp/vigil-load.XXXXXX)
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT INT TERM

make -s -C "$ROOT" build/bench/loadgen >/dev/null
# Each connection is a socket on both ends (loadgen and server run here);
# the server also holds its databases and pack files.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

PORT=$(( (RANDOM % 20000) + 30000 ))
"$BIN/vigil-server" init "$W/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" enroll "$W/srv" --controller bench --out "$W/ctl.bundle" >/dev/null
t=$(date +%s%N)
for d in $(seq 0 $((DEVICES - 1))); do
	"$BIN/vigil-server" enroll "$W/srv" --device "dev$d" --out "$W/dev$d.bundle" >/dev/null
done
enroll_ms=$(( ($(date +%s%N) - t) / 1000000 ))
"$BIN/vigil-server" run "$W/srv" >"$W/server.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do ss -ltnH "sport = :$PORT" | grep -q . && break; sleep 0.1; done

rc=0
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)   # other work on the machine shares its CPUs
"$ROOT/build/bench/loadgen" --server "127.0.0.1:$PORT" --dir "$W" --ctl "$W/ctl.bundle" \
	--vigil "$BIN/vigil" --devices "$DEVICES" --per-dev "$PER_DEV" --pushers "$PUSHERS" \
	--duration "$DURATION" --size "$SIZE" --server-pid "$SPID" >"$W/report.txt" || rc=$?
{
	echo "== load on loopback, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs," \
		"$((DEVICES * PER_DEV)) connections, $PUSHERS pushers, ${SIZE}-byte file, ${DURATION} s"
	echo "enrolling $DEVICES devices: $enroll_ms ms; ulimit -n $(ulimit -n);" \
		"load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
	cat "$W/report.txt"
	[ "$rc" = 0 ] || echo "loadgen exit $rc: a connection failed or died, or a pusher made no progress"
} | tee -a "$RESULTS"
if grep -qE 'refus|too many|cannot' "$W/server.log"; then
	echo "server log (refusals):"
	grep -E 'refus|too many|cannot' "$W/server.log" | sort | uniq -c | sort -rn | head -5
fi
exit "$rc"
