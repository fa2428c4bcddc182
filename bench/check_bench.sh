#!/bin/bash
# bench/check_bench.sh — what `vigil-server check` costs and whether ingest
# goes on while it runs (issue 12).  A server holding BENCH_CHECK_MIB (256)
# MiB in one file plus BENCH_CHECK_FILES (2000) files of 4 KiB; then:
#   check             wall and server CPU of one `check`, and of one
#                     `check --read-data`
#   ingest            `vigild once` of a new BENCH_CHECK_NEW_MIB (64) MiB file
#                     alone, then again (another file) with `check` running
#                     back to back meanwhile: wall, server CPU, checks done
# CPU in seconds (user+sys, the server's from /proc/PID/stat); the load
# average is printed with each row (a shared machine inflates walls).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VIGIL_BIN:-$ROOT/build/bin}
. "$ROOT/bench/lib.sh"
MIB=${BENCH_CHECK_MIB:-256}
FILES=${BENCH_CHECK_FILES:-2000}
NEW=${BENCH_CHECK_NEW_MIB:-64}
T=$(mktemp -d /tmp/vigil-checkbench.XXXXXX)
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

PORT=$((20000 + RANDOM % 10000))
"$BIN/vigil-server" init "$T/srv" --listen "127.0.0.1:$PORT" >/dev/null
"$BIN/vigil-server" run "$T/srv" >>"$T/server.log" 2>&1 &
SPID=$!
wait_port "$PORT" 10
"$BIN/vigil-server" enroll "$T/srv" --device phone1 --out "$T/phone1.bundle" >/dev/null
D=$T/data
mkdir -p "$D/small"
head -c "${MIB}M" /dev/urandom >"$D/big.bin"
for i in $(seq 1 "$FILES"); do head -c 4096 /dev/urandom >"$D/small/f$i"; done
once() { "$BIN/vigild" once --bundle "$T/phone1.bundle" --state "$T/state" --watch "$D" >>"$T/vigild.log" 2>&1; }
once
secs() { awk -v t="$1" -v k="$CLK_TCK" 'BEGIN { printf "%.2f", t / k }'; }
load() { cut -d' ' -f1 /proc/loadavg; }

for mode in "" "--read-data"; do
	c0=$(proc_ticks "$SPID"); t0=$(date +%s%N)
	"$BIN/vigil-server" check "$T/srv" $mode >"$T/check.out"
	t1=$(date +%s%N); c1=$(proc_ticks "$SPID")
	echo "check ${mode:-(index)}: wall $(( (t1 - t0) / 1000000 )) ms, server CPU $(secs $((c1 - c0))) s, load $(load): $(tail -1 "$T/check.out")"
done

ingest() {   # ingest NAME WITHCHECK
	head -c "${NEW}M" /dev/urandom >"$D/$1"
	c0=$(proc_ticks "$SPID"); t0=$(date +%s%N)
	once &
	local vp=$! n=0
	if [ "$2" = 1 ]; then
		while kill -0 "$vp" 2>/dev/null; do
			"$BIN/vigil-server" check "$T/srv" >/dev/null || { echo "check found damage during ingest"; exit 1; }
			n=$((n + 1))
		done
	fi
	wait "$vp"
	t1=$(date +%s%N); c1=$(proc_ticks "$SPID")
	echo "ingest $NEW MiB ${3}: wall $(( (t1 - t0) / 1000000 )) ms, server CPU $(secs $((c1 - c0))) s, load $(load), checks during it: $n"
}
ingest new1.bin 0 "alone"
ingest new2.bin 1 "with check looping"
ingest new3.bin 0 "alone"
